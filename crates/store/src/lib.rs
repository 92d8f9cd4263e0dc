//! The storage interface every backend implements: SQLite embedded at a site, PostgreSQL at a hub.
//!
//! Callers (the command line, the web server, linkage) see only [`Store`]; a backend owns its
//! schema and migrations. The conformance suite in [`conformance`] is run against every backend,
//! so they cannot drift apart.

pub mod conformance;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use peywand_access::Role;
use peywand_access::audit::{AuditEntry, AuditEvent};
use uuid::Uuid;

use peywand_domain::{
    CandidateStatus, CaseEvent, CaseStatus, Derived, Household, HouseholdId, LegalBasis,
    LinkDecision, MatchRecord, Need, Person, PersonId, PfifNote, PfifPerson, Purpose,
    RawRegistration, Relationship, ReturnType, ReunificationStep, ReunificationStepDraft,
    ScoredPair, Sex, Site, TracingCandidate, TracingRequest, TracingRequestDraft, Vulnerability,
};

/// What a store can fail with. Messages name the operation, never personal data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database could not be opened at {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("database error during {operation}: {reason}")]
    Database {
        operation: &'static str,
        reason: String,
    },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(Conflict),
    #[error("import aborted: nothing was written")]
    ImportAborted,
    #[error("{0}")]
    Key(String),
}

/// Why a change was refused because of what is already recorded: typed, so that each
/// interface can word it for its reader (the web pages in Dari, Pashto or English).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("{0} already exists")]
    FileExists(String),
    #[error("a member's record id is already registered")]
    RecordIdTaken,
    #[error("the username {0} is taken")]
    UsernameTaken(String),
    #[error("the case is {0}: reopen it before deciding again")]
    CaseFinished(CaseStatus),
    #[error("another candidate is already confirmed: reject it first")]
    OtherCandidateConfirmed,
    #[error(
        "a {from} case cannot be moved to {to}: close it, reopen it, or decide on its candidates"
    )]
    CaseCannotMove { from: CaseStatus, to: CaseStatus },
    #[error("the family is already reunified: the case is finished")]
    AlreadyReunified,
    #[error("the case is closed: reopen it before recording steps")]
    CaseClosed,
    #[error("no match is confirmed yet: confirm the person found first")]
    NoMatchConfirmed,
}

impl StoreError {
    /// Wraps a backend error with the operation it happened in.
    pub fn db(operation: &'static str, e: impl std::fmt::Display) -> Self {
        StoreError::Database {
            operation,
            reason: e.to_string(),
        }
    }
}

/// One message of a streamed import.
#[derive(Debug)]
pub enum ImportMessage {
    /// A validated row with its derived values.
    Row(Box<(RawRegistration, Derived)>),
    /// The file turned out invalid: roll everything back.
    Abort,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    pub new: u64,
    pub already_present: u64,
}

/// A household member as entered at a desk.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberDraft {
    /// The typed values; `record_id` may be empty (Peywand then makes one).
    pub raw: RawRegistration,
    pub relationship: Option<Relationship>,
    #[serde(default)]
    pub vulnerabilities: Vec<Vulnerability>,
}

/// A household as entered at a desk, with its members.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HouseholdDraft {
    pub site_code: Option<String>,
    pub destination_province: Option<String>,
    pub destination_district: Option<String>,
    pub return_type: Option<ReturnType>,
    #[serde(default)]
    pub needs: Vec<Need>,
    pub legal_basis: Option<LegalBasis>,
    #[serde(default)]
    pub purposes: Vec<Purpose>,
    pub members: Vec<MemberDraft>,
}

/// A household with its members, as read back.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HouseholdRecord {
    pub household: Household,
    pub members: Vec<Person>,
}

/// Filters for listing registrations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PersonFilter {
    pub site_code: Option<String>,
    pub sex: Option<Sex>,
    pub province_code: Option<String>,
    /// Matches the folded given, father's or family name containing this folded text.
    pub name: Option<String>,
    pub registered_from: Option<chrono::NaiveDate>,
    pub registered_to: Option<chrono::NaiveDate>,
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

/// Who is writing, for `registered_by` and, later, the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub username: String,
    pub at: DateTime<Utc>,
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

/// The storage interface.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Imports a stream of rows in one transaction; rows whose record id exists are skipped and
    /// counted. An `Abort` message, or any error, leaves the database as it was.
    async fn import(
        &self,
        rows: mpsc::Receiver<ImportMessage>,
        actor: &Actor,
    ) -> Result<ImportOutcome, StoreError>;
    /// Streams every registration as typed, oldest first. Returns how many were sent.
    async fn export(&self, sink: mpsc::Sender<RawRegistration>) -> Result<u64, StoreError>;

    async fn sites(&self) -> Result<Vec<Site>, StoreError>;
    async fn upsert_site(&self, site: &Site) -> Result<(), StoreError>;

    async fn create_household(
        &self,
        draft: &HouseholdDraft,
        actor: &Actor,
    ) -> Result<HouseholdRecord, StoreError>;
    /// Replaces a household's details and members; members keep their ids by record id.
    async fn update_household(
        &self,
        id: HouseholdId,
        draft: &HouseholdDraft,
        actor: &Actor,
    ) -> Result<HouseholdRecord, StoreError>;
    async fn household(&self, id: HouseholdId) -> Result<Option<HouseholdRecord>, StoreError>;

    async fn person(&self, id: PersonId) -> Result<Option<Person>, StoreError>;
    /// One registration by its record id.
    async fn person_by_record(&self, record_id: &str) -> Result<Option<Person>, StoreError>;
    async fn persons(&self, filter: &PersonFilter, page: Page)
    -> Result<Paged<Person>, StoreError>;
    async fn count_persons(&self) -> Result<u64, StoreError>;

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
    async fn identity_records(&self, record_id: &str) -> Result<Vec<String>, StoreError>;
    /// The uncertain pairs of the latest run, most likely first.
    async fn review_queue(&self, page: Page) -> Result<Paged<ScoredPair>, StoreError>;
    /// Records a reviewer's decision; it is never overridden by a re-run. Both records must
    /// exist.
    async fn record_link_decision(&self, decision: &LinkDecision) -> Result<(), StoreError>;
    /// Every reviewer decision, oldest first.
    async fn link_decisions(&self) -> Result<Vec<LinkDecision>, StoreError>;

    /// Creates an account; `Conflict` if the username is taken.
    async fn create_user(&self, user: &NewUser) -> Result<(), StoreError>;
    async fn user(&self, username: &str) -> Result<Option<UserAccount>, StoreError>;
    /// Counts a failed sign-in, in one statement so that parallel guesses all count; the
    /// failure that reaches `max_failures` locks the account until `lock_until`.
    async fn login_failed(
        &self,
        username: &str,
        max_failures: u32,
        lock_until: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Clears the failed sign-in count, unless the account is locked at `now` (a lock set by
    /// a parallel guess while the password was checked). Returns whether it was cleared.
    async fn login_succeeded(&self, username: &str, now: DateTime<Utc>)
    -> Result<bool, StoreError>;
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// The session with this digest and its user, if it has not expired.
    async fn session(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(SessionRecord, UserAccount)>, StoreError>;
    async fn delete_session(&self, digest: &str) -> Result<(), StoreError>;
    async fn create_token(&self, token: &ApiToken) -> Result<(), StoreError>;
    /// The user a token (by digest) acts for, unless it was revoked.
    async fn token_user(&self, digest: &str) -> Result<Option<UserAccount>, StoreError>;
    /// Tokens, newest first, of one user or of everyone.
    async fn tokens(&self, username: Option<&str>) -> Result<Vec<ApiToken>, StoreError>;
    /// Revokes a token by id; `NotFound` if there is none.
    async fn revoke_token(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Erases one registration: its row, its identity, review pairs and reviewers' decisions,
    /// and its household when no one else is left in it. Returns whether it existed. Deleted
    /// content is overwritten, not merely unlinked.
    async fn purge_person(&self, record_id: &str) -> Result<bool, StoreError>;
    /// Erases every registration recorded before `cutoff` (a retention period's end), with
    /// the same effects as [`Store::purge_person`]. Returns how many.
    async fn purge_registered_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Assigns a case to one caseworker, or gives it back to the site's caseworkers (`None`),
    /// with a history entry when it changes.
    async fn assign_case(
        &self,
        id: Uuid,
        caseworker: Option<&str>,
        actor: &Actor,
    ) -> Result<TracingCase, StoreError>;
    /// Erases the tracing cases that ended (reunified, or closed without result) before
    /// `cutoff`, by the date of their last step, with their candidates, history, reunification
    /// steps, links and PFIF records: a retention period for what requesters told. Open cases
    /// are kept however old, since a family may still be looking. Returns how many.
    async fn purge_cases_ended_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Records a tracing request: urgent when the person sought is a separated child.
    async fn create_tracing_request(
        &self,
        draft: &TracingRequestDraft,
        actor: &Actor,
    ) -> Result<TracingRequest, StoreError>;
    /// A case: the request, its candidates (best first) and its history (oldest first).
    async fn tracing_case(&self, id: Uuid) -> Result<Option<TracingCase>, StoreError>;
    /// Requests, urgent first, then oldest first; of one status if given; of one site if given,
    /// with the requests that belong to no site (received from another system) shared by all;
    /// assigned to one caseworker if given.
    async fn tracing_requests(
        &self,
        status: Option<CaseStatus>,
        site_code: Option<&str>,
        assigned_to: Option<&str>,
        page: Page,
    ) -> Result<Paged<TracingRequest>, StoreError>;
    /// Offers registrations found for a request. A registration already offered keeps its
    /// status: one rejected is never offered again. An open case with new candidates moves to
    /// candidates found. Returns how many were new.
    async fn offer_candidates(
        &self,
        id: Uuid,
        found: &[(String, f64)],
        actor: &Actor,
    ) -> Result<u64, StoreError>;
    /// Records that two requests seek each other's requesters (two relatives looking for each
    /// other), on both cases. Returns whether the link is new.
    async fn link_requests(
        &self,
        a: Uuid,
        b: Uuid,
        score: f64,
        actor: &Actor,
    ) -> Result<bool, StoreError>;
    /// A caseworker's decision on one candidate, with the case's status following it.
    async fn decide_candidate(
        &self,
        id: Uuid,
        record_id: &str,
        status: CandidateStatus,
        actor: &Actor,
        reason: &str,
    ) -> Result<TracingCase, StoreError>;
    /// Moves a case (closing it, say); `Conflict` if the move is not allowed.
    async fn move_case(
        &self,
        id: Uuid,
        to: CaseStatus,
        actor: &Actor,
        reason: &str,
    ) -> Result<TracingCase, StoreError>;

    /// Records a reunification step on a case whose match is confirmed. The step `reunified`
    /// marks the confirmed candidate reunited, which makes the case reunified. `Conflict` when
    /// no match is confirmed yet or the case is closed.
    async fn record_reunification_step(
        &self,
        id: Uuid,
        step: &ReunificationStepDraft,
        actor: &Actor,
    ) -> Result<TracingCase, StoreError>;

    /// Imports PFIF person records, each as a tracing request, and notes, all or nothing. A
    /// person already imported keeps its record (PFIF records are never overwritten) and gains
    /// its new notes; a note already held is skipped. `notes` are notes about persons imported
    /// earlier: `NotFound` if one is about a person this registry does not hold.
    async fn import_pfif(
        &self,
        persons: &[(PfifPerson, TracingRequestDraft)],
        notes: &[PfifNote],
        actor: &Actor,
    ) -> Result<PfifImported, StoreError>;
    /// Every tracing case, oldest first, with the PFIF record it was imported from (notes
    /// included), for a PFIF export.
    async fn pfif_cases(&self) -> Result<Vec<(TracingCase, Option<PfifPerson>)>, StoreError>;

    /// Flow-monitoring figures over registrations (and tracing cases) matching the filter,
    /// as exact counts: suppressing small cells is the caller's job.
    async fn flow_statistics(&self, filter: &StatsFilter) -> Result<FlowStatistics, StoreError>;

    /// Appends an event to the audit chain and returns the stored entry.
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

/// Every registration in the form the linkage engine reads, collected from
/// [`Store::match_records`].
pub async fn collect_match_records(store: &dyn Store) -> Result<Vec<MatchRecord>, StoreError> {
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

/// A tracing case as a caseworker sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TracingCase {
    pub request: TracingRequest,
    pub candidates: Vec<TracingCandidate>,
    /// Other requests made by the person this one seeks, for this one's requester.
    pub counterparts: Vec<RequestLink>,
    /// Reunification steps, oldest first.
    pub steps: Vec<ReunificationStep>,
    pub events: Vec<CaseEvent>,
}

/// Which registrations statistics count: registered (arrived) within the dates, at the site
/// (and tracing cases opened within the dates, at the site).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsFilter {
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
    pub site_code: Option<String>,
}

/// The age groups flow monitoring reports.
pub const AGE_GROUPS: [(&str, u32, u32); 5] = [
    ("0-4", 0, 4),
    ("5-11", 5, 11),
    ("12-17", 12, 17),
    ("18-59", 18, 59),
    ("60+", 60, 200),
];

/// Flow-monitoring figures, exact.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowStatistics {
    pub people: u64,
    pub households: u64,
    /// People per arrival day and site code (empty when the site is not known), by day.
    pub arrivals: Vec<(chrono::NaiveDate, String, u64)>,
    /// People per age group (an [`AGE_GROUPS`] name, or empty when the age is not known) and
    /// sex.
    pub pyramid: Vec<(String, Option<Sex>, u64)>,
    /// People per vulnerability code.
    pub vulnerabilities: Vec<(String, u64)>,
    /// People per intended destination province code (empty when not known).
    pub destinations: Vec<(String, u64)>,
    /// Tracing cases per status code.
    pub cases: Vec<(String, u64)>,
    /// Days from request to confirmed match, for every case that reached one.
    pub days_to_match: Vec<f64>,
}

/// What a PFIF import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PfifImported {
    /// The tracing requests made for persons not held before.
    pub new_requests: Vec<Uuid>,
    /// Persons already held (their records kept as they were).
    pub persons_already_present: u64,
    pub new_notes: u64,
    pub notes_already_present: u64,
}

/// Another request that looks for this one's requester.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestLink {
    pub request_id: Uuid,
    /// How well the names agree both ways, 0 to 1.
    pub score: f64,
}

/// An account as created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub role: Role,
    /// The site a site-bound role works at.
    pub site_code: Option<String>,
    pub password_hash: String,
}

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccount {
    pub username: String,
    pub role: Role,
    pub site_code: Option<String>,
    pub password_hash: String,
    pub failed_logins: u32,
    pub locked_until: Option<DateTime<Utc>>,
}

/// A signed-in browser: the digests of its session id and CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub digest: String,
    pub username: String,
    pub csrf_digest: String,
    pub expires_at: DateTime<Utc>,
}

/// A bearer token for programs, bound to a user; only its digest is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: String,
    #[serde(skip)]
    pub digest: String,
    pub username: String,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Filters for browsing the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}
