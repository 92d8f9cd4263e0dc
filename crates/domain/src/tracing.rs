//! Family tracing: a relative asks for someone separated at the border; the request meets the
//! registration of the person sought, a caseworker confirms it, and the family is reunited.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{RawRegistration, RecordId, TracingRequestId};

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
    pub id: TracingRequestId,
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
    pub record_id: RecordId,
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
    /// What happened, typed: each interface words it in its reader's language.
    pub event: CaseEventKind,
    /// The reason a person gave, as typed.
    pub why: String,
}

/// What happened in a case. Stored as itself, never as a sentence that later code would have
/// to parse back.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaseEventKind {
    /// The request was taken (at a desk, through the API, or from PFIF).
    RequestOpened,
    /// Matching offered a registration as a possible match.
    CandidateFound { record_id: RecordId, score: f64 },
    /// A caseworker decided on a candidate.
    CandidateDecided {
        record_id: RecordId,
        status: CandidateStatus,
    },
    /// The case moved from one status to another.
    StatusChanged { from: CaseStatus, to: CaseStatus },
    /// Another request looks for this request's requester.
    CounterpartFound {
        request_id: TracingRequestId,
        score: f64,
    },
    /// Another site has a request that may concern the same family, as a caseworker bound
    /// to this site is told of a [`CaseEventKind::CounterpartFound`] there: without its id.
    /// An information manager sees the link itself.
    CounterpartAtAnotherSite,
    /// The case was given to one caseworker, or back to the site's caseworkers (`None`).
    Assigned { caseworker: Option<String> },
    /// A reunification step was recorded.
    StepRecorded {
        step: ReunificationStepKind,
        place: String,
        on: NaiveDate,
    },
    /// A history entry written before events were typed, whose wording was not understood:
    /// kept as it was written, never lost.
    Noted { text: String },
}

impl CaseEventKind {
    /// The stable code of the event's kind (`status_changed`), for storage and translations.
    pub fn code(&self) -> &'static str {
        match self {
            CaseEventKind::RequestOpened => "request_opened",
            CaseEventKind::CandidateFound { .. } => "candidate_found",
            CaseEventKind::CandidateDecided { .. } => "candidate_decided",
            CaseEventKind::StatusChanged { .. } => "status_changed",
            CaseEventKind::CounterpartFound { .. } => "counterpart_found",
            CaseEventKind::CounterpartAtAnotherSite => "counterpart_at_another_site",
            CaseEventKind::Assigned { .. } => "assigned",
            CaseEventKind::StepRecorded { .. } => "step_recorded",
            CaseEventKind::Noted { .. } => "noted",
        }
    }

    /// The case's new status, for an event that changed it.
    pub fn status_reached(&self) -> Option<CaseStatus> {
        match self {
            CaseEventKind::StatusChanged { to, .. } => Some(*to),
            _ => None,
        }
    }

    /// Reads a history entry written as an English sentence by an earlier Peywand (before
    /// events were typed), so that registries upgraded in place keep a typed history. What
    /// cannot be read is kept word for word as [`CaseEventKind::Noted`].
    pub fn from_legacy_text(text: &str) -> CaseEventKind {
        Self::parse_legacy(text).unwrap_or_else(|| CaseEventKind::Noted {
            text: text.to_string(),
        })
    }

    fn parse_legacy(text: &str) -> Option<CaseEventKind> {
        if text == "request opened" {
            return Some(CaseEventKind::RequestOpened);
        }
        if text == "shared by the site's caseworkers" {
            return Some(CaseEventKind::Assigned { caseworker: None });
        }
        if let Some(name) = text.strip_prefix("assigned to ") {
            return Some(CaseEventKind::Assigned {
                caseworker: Some(name.to_string()),
            });
        }
        if let Some(rest) = text.strip_prefix("status ") {
            let (from, to) = rest.split_once(" → ")?;
            return Some(CaseEventKind::StatusChanged {
                from: CaseStatus::from_code(from)?,
                to: CaseStatus::from_code(to)?,
            });
        }
        if let Some(rest) = text.strip_prefix("request ") {
            let (id, score) = rest.split_once(" looks for this request's requester (score ")?;
            return Some(CaseEventKind::CounterpartFound {
                request_id: id.parse().ok()?,
                score: score.strip_suffix(')')?.parse().ok()?,
            });
        }
        if let Some(rest) = text.strip_prefix("step ") {
            let (step, rest) = rest.split_once(" at ")?;
            let (place, on) = rest.rsplit_once(" on ")?;
            return Some(CaseEventKind::StepRecorded {
                step: ReunificationStepKind::from_code(step)?,
                place: place.to_string(),
                on: on.parse().ok()?,
            });
        }
        let rest = text.strip_prefix("candidate ")?;
        if let Some((record, score)) = rest.rsplit_once(" found (score ") {
            return Some(CaseEventKind::CandidateFound {
                record_id: RecordId::parse(record).ok()?,
                score: score.strip_suffix(')')?.parse().ok()?,
            });
        }
        let (record, status) = rest.rsplit_once(' ')?;
        Some(CaseEventKind::CandidateDecided {
            record_id: RecordId::parse(record).ok()?,
            status: CandidateStatus::from_code(status)?,
        })
    }
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

/// What a PFIF partner's credential may write: records of these domains only (the part of a
/// record id before its `/`, `example.org` in `example.org/person.1234`), and notes saying
/// `believed_dead` only when it may report a death.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PfifPartner {
    pub domains: Vec<String>,
    pub may_report_death: bool,
}

impl PfifPartner {
    /// Whether this partner may write the record named `record_id`. Domains are compared
    /// without regard to case, as domain names are.
    pub fn may_write(&self, record_id: &str) -> bool {
        let domain = record_id.split_once('/').map_or("", |(d, _)| d);
        !domain.is_empty()
            && self
                .domains
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(domain))
    }
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

    /// Every sentence an earlier Peywand wrote into a case's history reads back as its event;
    /// an unknown one is kept word for word.
    #[test]
    fn histories_written_as_sentences_read_back_typed() {
        use CaseEventKind as K;
        let id: TracingRequestId = "0190f0e8-7b1a-7c3e-9d2a-1234567890ab".parse().unwrap();
        let record = |s: &str| RecordId::parse(s).unwrap();
        let cases = [
            ("request opened", K::RequestOpened),
            (
                "candidate pw-1 found (score 0.87)",
                K::CandidateFound {
                    record_id: record("pw-1"),
                    score: 0.87,
                },
            ),
            (
                "candidate R 7 not_the_person",
                K::CandidateDecided {
                    record_id: record("R 7"),
                    status: CandidateStatus::NotThePerson,
                },
            ),
            (
                "status open → candidates_found",
                K::StatusChanged {
                    from: CaseStatus::Open,
                    to: CaseStatus::CandidatesFound,
                },
            ),
            (
                &format!("request {id} looks for this request's requester (score 0.91)"),
                K::CounterpartFound {
                    request_id: id,
                    score: 0.91,
                },
            ),
            (
                "assigned to karima",
                K::Assigned {
                    caseworker: Some("karima".into()),
                },
            ),
            (
                "shared by the site's caseworkers",
                K::Assigned { caseworker: None },
            ),
            (
                "step family_contacted at Spin Boldak on 2025-10-03",
                K::StepRecorded {
                    step: ReunificationStepKind::FamilyContacted,
                    place: "Spin Boldak".into(),
                    on: NaiveDate::from_ymd_opt(2025, 10, 3).unwrap(),
                },
            ),
            (
                "status open → somewhere",
                K::Noted {
                    text: "status open → somewhere".into(),
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(K::from_legacy_text(text), expected, "{text}");
        }
    }

    #[test]
    fn events_serialise_with_their_kind() {
        let e = CaseEventKind::StatusChanged {
            from: CaseStatus::Open,
            to: CaseStatus::MatchConfirmed,
        };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"status_changed","from":"open","to":"match_confirmed"}"#
        );
        assert_eq!(serde_json::from_str::<CaseEventKind>(&json).unwrap(), e);
        assert_eq!(e.code(), "status_changed");
    }
}
