//! Erasure: one person on request, everyone past a retention period, and what requesters told
//! about cases that ended. Erased content is overwritten, not merely unlinked.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use peywand_domain::RecordId;

use crate::StoreError;

/// Erasing people's data.
#[async_trait]
pub trait RetentionStore: Send + Sync + 'static {
    /// Erases one registration: its row, its identity, review pairs and reviewers' decisions,
    /// and its household when no one else is left in it. Returns whether it existed.
    async fn purge_person(&self, record_id: &RecordId) -> Result<bool, StoreError>;
    /// Erases every registration recorded before `cutoff` (a retention period's end), with
    /// the same effects as [`RetentionStore::purge_person`]. Returns how many.
    async fn purge_registered_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Erases the tracing cases that ended (reunified, or closed without result) before
    /// `cutoff`, by the date of their last step, with their candidates, history, reunification
    /// steps, links and PFIF records: a retention period for what requesters told. Open cases
    /// are kept however old, since a family may still be looking. Returns how many.
    async fn purge_cases_ended_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;
}
