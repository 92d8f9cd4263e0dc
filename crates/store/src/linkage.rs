//! What deduplication reads and writes: every registration in the linkage engine's form, the
//! identities and review pairs of the latest run, and reviewers' decisions, which no run
//! overrides.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use peywand_domain::{
    LinkDecision, MatchRecord, RecordId, ScoredPair, Sex, known_birth_date, place_key,
};

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

/// Decodes a page of registrations for matching that a backend built as one JSON array of
/// arrays, each `[record_id, household, given_name, father_name, grandfather_name,
/// family_name, sex, birth_year_min, birth_year_max, raw_birth_date, province_code,
/// raw_province_of_origin, last_residence_code, raw_last_residence, document_number,
/// phone_e164, raw_given_name, district_code, registered_on]`, with the raw place only where
/// no code was derived and the raw given name only where neither a given nor a father's name
/// was. A million rows handed over one value at a time cost several times reading them; one
/// text per page does not.
pub fn decode_match_page(page: &str) -> Result<Vec<MatchRecord>, StoreError> {
    let rows: Vec<MatchRow> =
        serde_json::from_str(page).map_err(|e| StoreError::db("decode for matching", e))?;
    Ok(rows.into_iter().map(MatchRow::into_match_record).collect())
}

/// A registration's matching fields as a backend pages them for [`decode_match_page`], in
/// this order.
#[derive(serde::Deserialize)]
struct MatchRow {
    record_id: String,
    household: String,
    given_name: Option<String>,
    father_name: Option<String>,
    grandfather_name: Option<String>,
    family_name: Option<String>,
    sex: Option<String>,
    birth_year_min: Option<i32>,
    birth_year_max: Option<i32>,
    raw_birth_date: String,
    province_code: Option<String>,
    /// Only where the gazetteer did not know the place: a million copies cost a second.
    raw_province_of_origin: Option<String>,
    last_residence_code: Option<String>,
    raw_last_residence: Option<String>,
    document_number: Option<String>,
    phone_e164: Option<String>,
    /// Only where no given and no father's name was derived: it may name her husband.
    raw_given_name: Option<String>,
    district_code: Option<String>,
    /// As the backend writes a date; one it cannot read is left out, not refused.
    registered_on: Option<String>,
}

impl MatchRow {
    fn into_match_record(self) -> MatchRecord {
        // The number alone, as `MatchRecord::from` has it, in today's canonical form: a
        // registry imported earlier kept the card's name in some numbers.
        let document = self
            .document_number
            .as_deref()
            .and_then(peywand_names::document::canonical);
        MatchRecord {
            record_id: self.record_id,
            household: self.household,
            given_name: self.given_name,
            father_name: self.father_name,
            grandfather_name: self.grandfather_name,
            family_name: self.family_name,
            sex: self.sex.as_deref().and_then(Sex::from_code),
            birth_year_min: self.birth_year_min,
            birth_year_max: self.birth_year_max,
            birth_date: known_birth_date(&self.raw_birth_date),
            province_code: place_key(
                self.province_code,
                self.raw_province_of_origin.as_deref().unwrap_or_default(),
            ),
            residence_code: place_key(
                self.last_residence_code,
                self.raw_last_residence.as_deref().unwrap_or_default(),
            ),
            document,
            phone_e164: self.phone_e164,
            district_code: self.district_code,
            husband_name: self
                .raw_given_name
                .as_deref()
                .and_then(peywand_domain::husband_named),
            registered_on: self
                .registered_on
                .as_deref()
                .and_then(|d| d.get(..10)?.parse().ok()),
        }
    }
}
