//! Family tracing: a relative asks for someone separated at the border; the request meets the
//! registration of the person sought, a caseworker confirms it, and the family is reunited.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::RawRegistration;

coded!(
    /// Where a tracing case stands.
    CaseStatus {
        /// Nothing found yet; matching goes on as registrations arrive.
        Open = "open",
        /// Possible matches wait for a caseworker.
        CandidatesFound = "candidates_found",
        /// A caseworker confirmed the person sought.
        MatchConfirmed = "match_confirmed",
        Reunified = "reunified",
        /// Closed without finding the person (withdrawn, or no longer sought).
        ClosedWithoutResult = "closed_without_result"
    }
);

coded!(
    /// What a caseworker decided about one candidate registration.
    CandidateStatus {
        Potential = "potential",
        Confirmed = "confirmed",
        /// Not the person sought: never offered again for this request.
        NotThePerson = "not_the_person",
        Reunited = "reunited",
        /// The person was found and reunited through another case or organisation.
        ReunitedElsewhere = "reunited_elsewhere"
    }
);

coded!(
    /// Which cases come first.
    Priority {
        /// An unaccompanied or separated child.
        Urgent = "urgent",
        Normal = "normal"
    }
);

impl CaseStatus {
    /// The status a working case has, given its candidates' statuses: reunified once anyone is
    /// reunited, confirmed once a match is, waiting while a candidate waits, open otherwise.
    pub fn from_candidates(statuses: impl IntoIterator<Item = CandidateStatus>) -> CaseStatus {
        use self::CandidateStatus as C;
        let mut status = CaseStatus::Open;
        for s in statuses {
            status = match (s, status) {
                (C::Reunited | C::ReunitedElsewhere, _) => return CaseStatus::Reunified,
                (C::Confirmed, _) => CaseStatus::MatchConfirmed,
                (C::Potential, CaseStatus::Open) => CaseStatus::CandidatesFound,
                (_, current) => current,
            };
        }
        status
    }

    /// Whether the case is finished: reunified, or closed without result.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CaseStatus::Reunified | CaseStatus::ClosedWithoutResult
        )
    }

    /// Whether matching still looks for the person.
    pub fn is_active(self) -> bool {
        matches!(self, CaseStatus::Open | CaseStatus::CandidatesFound)
    }
}

/// A tracing request as taken at a desk.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TracingRequestDraft {
    /// Who asks, their relationship to the person sought, and how to reach them.
    pub requester_name: String,
    pub requester_relationship: String,
    pub requester_contact: String,
    /// The site where the request was made.
    pub site_code: Option<String>,
    /// The person sought, typed like a registration: names in any script, sex, age or birth
    /// date, province of origin, last residence. `record_id` and `household_id` are unused.
    pub sought: RawRegistration,
    /// Where and when the person was last seen.
    pub last_seen_place: String,
    pub last_seen_on: Option<NaiveDate>,
    /// How they were separated (put on another truck, detained at the crossing, …).
    pub circumstances: String,
    /// What would recognise them: scars, clothes, what they carry.
    pub distinguishing_details: String,
    /// An unaccompanied or separated child: the case comes first.
    #[serde(default)]
    pub separated_child: bool,
}

/// A stored tracing request.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TracingRequest {
    pub id: Uuid,
    #[serde(flatten)]
    pub draft: TracingRequestDraft,
    pub priority: Priority,
    pub status: CaseStatus,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The caseworker the case is assigned to; none: the site's caseworkers share it.
    #[serde(default)]
    pub assigned_to: Option<String>,
}

/// A registration that may be the person a request seeks.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TracingCandidate {
    pub record_id: String,
    /// The estimated probability that this registration is the person sought.
    pub score: f64,
    pub status: CandidateStatus,
    pub found_at: DateTime<Utc>,
}

/// One step in a case's history: who did what, when, and why.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseEvent {
    pub at: DateTime<Utc>,
    pub actor: String,
    /// e.g. `status open → candidates_found`, `candidate R-1 not_the_person`.
    pub what: String,
    pub why: String,
}

coded!(
    /// A step towards bringing a family together, after a match is confirmed.
    ReunificationStepKind {
        /// The family (the requester) was told and reached.
        FamilyContacted = "family_contacted",
        /// Both sides confirmed who they are to each other.
        Verified = "verified",
        /// They are together again: the case closes as reunified.
        Reunified = "reunified"
    }
);

/// A reunification step as a caseworker records it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReunificationStepDraft {
    pub step: ReunificationStepKind,
    /// Where it happened (a site, a village, a phone call).
    pub place: String,
    pub on: NaiveDate,
    #[serde(default)]
    pub note: String,
}

/// A recorded reunification step.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReunificationStep {
    #[serde(flatten)]
    pub draft: ReunificationStepDraft,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// A person record exchanged in PFIF (People Finder Interchange Format): the fields as another
/// tracing tool wrote them, by PFIF field name, with its notes. Peywand keeps them whole so that
/// what it imported can be exported again unchanged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PfifPerson {
    pub fields: std::collections::BTreeMap<String, String>,
    pub notes: Vec<PfifNote>,
}

/// A PFIF note: one claim about a person (seen alive, still missing, made contact).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PfifNote {
    pub fields: std::collections::BTreeMap<String, String>,
}

impl PfifPerson {
    /// The `domain/id` that names this record in every repository holding it.
    pub fn record_id(&self) -> &str {
        self.field("person_record_id")
    }

    /// A field's value, empty when absent.
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

impl PfifNote {
    pub fn record_id(&self) -> &str {
        self.field("note_record_id")
    }

    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_follows_its_candidates() {
        use CandidateStatus as C;
        assert_eq!(CaseStatus::from_candidates([]), CaseStatus::Open);
        assert_eq!(
            CaseStatus::from_candidates([C::NotThePerson, C::Potential]),
            CaseStatus::CandidatesFound
        );
        assert_eq!(
            CaseStatus::from_candidates([C::Potential, C::Confirmed]),
            CaseStatus::MatchConfirmed
        );
        assert_eq!(
            CaseStatus::from_candidates([C::Confirmed, C::ReunitedElsewhere]),
            CaseStatus::Reunified
        );
        assert_eq!(
            CaseStatus::from_candidates([C::NotThePerson]),
            CaseStatus::Open,
            "every candidate rejected: the search goes on"
        );
        assert!(CaseStatus::Reunified.is_final() && !CaseStatus::MatchConfirmed.is_final());
    }
}
