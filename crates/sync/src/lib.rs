//! How a site and the hub exchange what each of them did: the change log's entries, the
//! hybrid logical clock that orders them whatever a laptop's clock says, and the bundles that
//! carry them on a USB stick where no link exists (docs/deployment.md, docs/formats.md).
//!
//! Each origin (a site, or the hub) is the only writer of its own log, numbered 1, 2, 3… with
//! no gaps, so logs never conflict; what two origins did to one household is settled when the
//! changes meet, by the store, and shown to a person where two edits crossed.

pub mod bundle;
pub mod clock;
pub mod heads;

pub use bundle::{Bundle, BundleError};
pub use clock::{ClockError, Hlc, HybridClock, MAX_AHEAD_MS};
pub use heads::Heads;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A household was registered or edited; the body is the household as saved, members
    /// included (a `HouseholdRecord` as JSON).
    HouseholdSaved,
    /// An information manager set an assistance programme; the entity is the programme's id,
    /// the body the programme (JSON). Distributions name their programme, so it goes first.
    ProgrammeSet,
    /// Assistance was handed over; the entity is the household given to (so that erasing the
    /// household erases it from the log too), the body the distribution (JSON).
    DistributionGiven,
    /// A reviewer decided whether two registrations are one person (a `LinkDecision`).
    LinkDecided,
    /// A tracing request was taken; the body carries the request and its first history entry.
    TracingRequestOpened,
    /// A tracing case changed: candidates offered, a caseworker's decision, a move, a step.
    /// The body is what the case's rules wrote, with who and when.
    TracingCaseChanged,
    /// An entry of the origin's audit log, for the hub to keep beside the origin's other
    /// entries. It never flows down to another site.
    AuditRecorded,
    /// Registrations were erased: the body names the record ids, no personal data. What was
    /// erased is removed everywhere and never taken again.
    HouseholdErased,
}

impl ChangeKind {
    pub fn code(self) -> &'static str {
        match self {
            ChangeKind::HouseholdSaved => "household_saved",
            ChangeKind::ProgrammeSet => "programme_set",
            ChangeKind::DistributionGiven => "distribution_given",
            ChangeKind::LinkDecided => "link_decided",
            ChangeKind::TracingRequestOpened => "tracing_request_opened",
            ChangeKind::TracingCaseChanged => "tracing_case_changed",
            ChangeKind::AuditRecorded => "audit_recorded",
            ChangeKind::HouseholdErased => "household_erased",
        }
    }

    pub fn from_code(code: &str) -> Option<ChangeKind> {
        match code {
            "household_saved" => Some(ChangeKind::HouseholdSaved),
            "programme_set" => Some(ChangeKind::ProgrammeSet),
            "distribution_given" => Some(ChangeKind::DistributionGiven),
            "link_decided" => Some(ChangeKind::LinkDecided),
            "tracing_request_opened" => Some(ChangeKind::TracingRequestOpened),
            "tracing_case_changed" => Some(ChangeKind::TracingCaseChanged),
            "audit_recorded" => Some(ChangeKind::AuditRecorded),
            "household_erased" => Some(ChangeKind::HouseholdErased),
            _ => None,
        }
    }
}

impl ChangeKind {
    /// Whether the hub passes changes of this kind on to the sites. A site's audit trail is
    /// for the hub's auditors, not for the other sites.
    pub fn flows_down(self) -> bool {
        !matches!(self, ChangeKind::AuditRecorded)
    }
}

/// One entry of an origin's change log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Who made it: a site's code, or `hub`.
    pub origin: String,
    /// 1, 2, 3… within the origin, with no gaps.
    pub seq: i64,
    /// A UUIDv7, unique across every origin.
    pub id: Uuid,
    /// When, on the hybrid logical clock, in [`Hlc`]'s text form (which sorts as the clock
    /// does): later than everything its origin had seen when it was made.
    pub at: String,
    pub kind: ChangeKind,
    /// What it changed: a household id, a tracing request id, the pair of a link decision,
    /// an audit entry's number.
    pub entity: String,
    /// The change this one was made on (the entity's version as its origin saw it); none for a
    /// creation. Two changes made on the same base by two origins crossed.
    pub base: Option<Uuid>,
    /// The entity as saved, as JSON.
    pub body: String,
    /// SHA-256 of every field above (see [`Change::content_hash`]), in hex: the same key with
    /// another hash is another change, refused.
    pub hash: String,
}

impl Change {
    /// The hash of the change's content: each field length-prefixed, so no two different
    /// changes hash alike.
    pub fn content_hash(&self) -> String {
        let mut h = Sha256::new();
        let seq = self.seq.to_string();
        let id = self.id.to_string();
        let base = self.base.map(|b| b.to_string()).unwrap_or_default();
        for field in [
            self.origin.as_str(),
            &seq,
            &id,
            &self.at,
            self.kind.code(),
            &self.entity,
            &base,
            &self.body,
        ] {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// `at` read as a clock time.
    pub fn at_hlc(&self) -> Result<Hlc, ClockError> {
        self.at.parse()
    }

    /// Whether the stored hash is the content's.
    pub fn is_intact(&self) -> bool {
        self.hash == self.content_hash()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change() -> Change {
        let mut c = Change {
            origin: "torkham".into(),
            seq: 1,
            id: Uuid::now_v7(),
            at: "0000001733500000000.000000".into(),
            kind: ChangeKind::HouseholdSaved,
            entity: "h-1".into(),
            base: None,
            body: "{}".into(),
            hash: String::new(),
        };
        c.hash = c.content_hash();
        c
    }

    #[test]
    fn any_field_changed_changes_the_hash() {
        let c = change();
        assert!(c.is_intact());
        let mut other = c.clone();
        other.body = "{\"x\":1}".into();
        assert!(!other.is_intact());
        let mut moved = c.clone();
        moved.origin = "torkha".into();
        moved.entity = "mh-1".into();
        assert!(!moved.is_intact(), "length prefixes keep fields apart");
    }

    #[test]
    fn at_reads_as_a_clock_time() {
        let c = change();
        assert_eq!(c.at_hlc().map(|h| h.wall_ms()), Ok(1_733_500_000_000));
        let mut wrong = c;
        wrong.at = "2024-12-06T15:46:40Z".into();
        assert!(matches!(wrong.at_hlc(), Err(ClockError::Malformed { .. })));
    }

    #[test]
    fn every_kind_reads_back_from_its_code_and_only_audit_stays_at_the_hub() {
        for kind in [
            ChangeKind::HouseholdSaved,
            ChangeKind::LinkDecided,
            ChangeKind::TracingRequestOpened,
            ChangeKind::TracingCaseChanged,
            ChangeKind::AuditRecorded,
            ChangeKind::HouseholdErased,
        ] {
            assert_eq!(ChangeKind::from_code(kind.code()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.code())
            );
            assert_eq!(kind.flows_down(), kind != ChangeKind::AuditRecorded);
        }
        assert_eq!(ChangeKind::from_code("household_saved "), None);
    }
}
