//! What a store can fail with, typed so that each interface can word it for its reader.

use peywand_domain::CaseStatus;

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
    /// `kind` is an assistance kind's code (`winter_kit`); `site` a site code, empty when
    /// the distribution named none.
    #[error("{kind} was already given to this household, at {site} on {on} by {by}")]
    AlreadyGiven {
        kind: String,
        site: String,
        on: chrono::NaiveDate,
        by: String,
    },
    #[error("the household is entitled to at most {entitled} of {kind} this season")]
    MoreThanEntitled { kind: String, entitled: u32 },
    #[error("no programme gives {kind} on {on}: an information manager sets one first")]
    NoProgramme { kind: String, on: chrono::NaiveDate },
    /// `criterion`: `registered_at`, `arrived_after` or `vulnerable`.
    #[error("this household does not meet the {kind} programme's criterion {criterion}")]
    NotEligible { kind: String, criterion: String },
    #[error("another {kind} programme covers part of this season")]
    ProgrammeOverlaps { kind: String },
    #[error("change {seq} of {origin} does not match its hash: it was altered, and is refused")]
    ChangeAltered { origin: String, seq: i64 },
    #[error(
        "change {seq} of {origin} is already held with other content: refused; tell the administrator"
    )]
    ChangeHeldOtherwise { origin: String, seq: i64 },
    #[error("change {seq} says it was made here ({origin}) but is not held here: refused")]
    NotMadeHere { origin: String, seq: i64 },
    #[error(
        "a change is dated {at}, more than seven days ahead of this registry's clock or not a time: check the sending laptop's clock"
    )]
    ChangeTime { at: String },
    #[error("this registry's changes are already those of {0}")]
    OriginAlreadySet(String),
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
