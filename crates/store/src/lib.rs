//! The storage interface every backend implements: SQLite embedded at a site, PostgreSQL at a hub.
//!
//! Callers (the command line, the web server, linkage) see only [`Store`], which combines one
//! trait per concern: registrations, linkage, accounts, tracing cases, audit, statistics,
//! retention, submissions from field phones, assistance and its targeting. A backend owns its schema and migrations and
//! only reads and writes: the rules of
//! a tracing case, household defaults and the statistics' arithmetic live here, above every
//! backend ([`cases`], [`registrations::complete_members`], [`statistics::FlowTally`]), so that
//! two backends cannot disagree on them. The conformance suite in [`conformance`] is run
//! against every backend, one test per behaviour.

pub mod accounts;
pub mod assistance;
pub mod audit;
pub mod cases;
pub mod conformance;
mod error;
pub mod linkage;
pub mod registrations;
pub mod retention;
pub mod statistics;
pub mod submissions;
pub mod sync;
pub mod targeting;
pub mod tracing;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use accounts::{AccountStore, ApiToken, NewUser, SessionRecord, UserAccount};
pub use assistance::{
    AssistanceKind, AssistanceStore, Criteria, Distribution, DistributionDay, DistributionDraft,
    DistributionFilter, DoubledDistribution, Entitlement, Plan, Programme, ProgrammeDraft,
    StockLine, StockReceipt,
};
pub use audit::{AuditFilter, AuditStore};
pub use error::{Conflict, StoreError};
pub use linkage::{LinkageRun, LinkageStore, collect_match_records};
pub use registrations::{
    HouseholdDraft, HouseholdRecord, ImportMessage, ImportOutcome, MemberDraft, PersonFilter,
    RegistrationStore,
};
pub use retention::RetentionStore;
pub use statistics::{AGE_GROUPS, FlowStatistics, StatisticsStore, StatsFilter};
pub use submissions::{Reservation, Submission, SubmissionStore};
pub use sync::{CrossedField, Received, SavedHousehold, SyncStore};
pub use targeting::{DistributionList, TargetingStore, Weights, WeightsRecord};
pub use tracing::{
    DeathReport, LinkAcrossSites, PfifImported, RegisteredShare, RequestLink, TracingCase,
    TracingStore, may_write_case, note_about_unknown_person, valid_registered_share,
};

/// Every concern's trait, for callers that hold a concrete store: `use peywand_store::prelude::*`.
pub mod prelude {
    pub use crate::{
        AccountStore, AssistanceStore, AuditStore, Lifecycle, LinkageStore, RegistrationStore,
        RetentionStore, StatisticsStore, Store, SubmissionStore, SyncStore, TargetingStore,
        TracingStore,
    };
}

/// Opening and closing, whatever the backend.
#[async_trait::async_trait]
pub trait Lifecycle: Send + Sync + 'static {
    /// Waits for statements in flight to finish and closes every connection. An encrypted
    /// SQLite file must be closed before the process exits.
    async fn close(&self);
}

/// The whole storage interface: every concern a registry keeps. Implemented for any type that
/// implements each concern's trait; callers hold an `Arc<dyn Store>` and need not know which
/// backend is behind it.
pub trait Store:
    Lifecycle
    + RegistrationStore
    + LinkageStore
    + AccountStore
    + TracingStore
    + AuditStore
    + StatisticsStore
    + RetentionStore
    + SyncStore
    + SubmissionStore
    + AssistanceStore
    + TargetingStore
{
}

impl<T> Store for T where
    T: Lifecycle
        + RegistrationStore
        + LinkageStore
        + AccountStore
        + TracingStore
        + AuditStore
        + StatisticsStore
        + RetentionStore
        + SyncStore
        + SubmissionStore
        + AssistanceStore
        + TargetingStore
{
}

/// A page request: newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: u64,
    pub limit: u64,
}

impl Page {
    pub const MAX_LIMIT: u64 = 500;
    pub fn new(offset: u64, limit: u64) -> Self {
        Self {
            offset,
            limit: limit.clamp(1, Self::MAX_LIMIT),
        }
    }
}

/// A page of results with the total that matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
}

/// Who is writing, for `registered_by` and, later, the audit log. Backends keep times to the
/// microsecond.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub username: String,
    pub at: DateTime<Utc>,
}
