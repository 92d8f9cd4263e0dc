//! The audit log: a hash chain, appended to before each access is served, never edited.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio::sync::mpsc;

use peywand_access::audit::{AuditEntry, AuditEvent};

use crate::{Page, Paged, StoreError};

/// The audit chain.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Appends an event to the audit chain and returns the stored entry. Two appends never
    /// read the same last entry.
    async fn append_audit(&self, event: &AuditEvent) -> Result<AuditEntry, StoreError>;
    /// Audit entries matching the filter, newest first.
    async fn audit_entries(
        &self,
        filter: &AuditFilter,
        page: Page,
    ) -> Result<Paged<AuditEntry>, StoreError>;
    /// Streams the whole audit chain in order, for verification. Returns how many.
    async fn audit_chain(&self, sink: mpsc::Sender<AuditEntry>) -> Result<u64, StoreError>;
}

/// Filters for browsing the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    /// Entries whose answer showed this registration (a record id): who looked at a person,
    /// and how they found them.
    pub record_shown: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}
