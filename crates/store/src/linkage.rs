//! What deduplication reads and writes: every registration in the linkage engine's form, the
//! identities and review pairs of the latest run, and reviewers' decisions, which no run
//! overrides.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use peywand_domain::{LinkDecision, MatchRecord, RecordId, ScoredPair};

use crate::{Page, Paged, StoreError};

/// Deduplication runs, identities and reviewers' decisions.
#[async_trait]
pub trait LinkageStore: Send + Sync + 'static {
    /// Streams every registration in the form the linkage engine reads. Returns how many.
    async fn match_records(&self, sink: mpsc::Sender<MatchRecord>) -> Result<u64, StoreError>;
    /// Stores a deduplication run in one transaction, replacing the previous one.
    async fn save_linkage(&self, run: &LinkageRun) -> Result<(), StoreError>;
    /// The model of the latest deduplication run, as JSON.
    async fn linkage_model(&self) -> Result<Option<String>, StoreError>;
    /// The identity of every registration, as (record id, identity), in record order.
    async fn identities(&self) -> Result<Vec<(String, String)>, StoreError>;
    /// Every record of the identity `record_id` belongs to, itself included; empty when the
    /// record is unknown or deduplication has not run since it was saved.
    async fn identity_records(&self, record_id: &RecordId) -> Result<Vec<String>, StoreError>;
    /// The uncertain pairs of the latest run, most likely first.
    async fn review_queue(&self, page: Page) -> Result<Paged<ScoredPair>, StoreError>;
    /// Records a reviewer's decision; it is never overridden by a re-run. Both records must
    /// exist.
    async fn record_link_decision(&self, decision: &LinkDecision) -> Result<(), StoreError>;
    /// Every reviewer decision, oldest first.
    async fn link_decisions(&self) -> Result<Vec<LinkDecision>, StoreError>;
}

/// The result of a deduplication run, stored as a whole: it replaces the previous run's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkageRun {
    /// (record id, identity) for every registration.
    pub identities: Vec<(String, String)>,
    /// Uncertain pairs for reviewers.
    pub review: Vec<ScoredPair>,
    /// The trained model as JSON, for explanations and search.
    pub model: String,
    /// The run's counts as JSON.
    pub stats: String,
    pub finished_at: DateTime<Utc>,
}

/// Every registration in the form the linkage engine reads, collected from
/// [`LinkageStore::match_records`].
pub async fn collect_match_records(
    store: &(impl LinkageStore + ?Sized),
) -> Result<Vec<MatchRecord>, StoreError> {
    let (tx, mut rx) = mpsc::channel(8192);
    let collector = tokio::spawn(async move {
        let mut v = Vec::new();
        while let Some(r) = rx.recv().await {
            v.push(r);
        }
        v
    });
    store.match_records(tx).await?;
    collector
        .await
        .map_err(|e| StoreError::db("read for matching", e))
}
