//! The rules a tracing case follows, above every backend: given a case as it is stored, each
//! function says what a caseworker's action changes, or why it is refused. A backend reads the
//! case in a transaction, asks these rules, writes the changes in order with
//! [`CaseChange`]'s meaning, and commits; the rules themselves never touch a database.

use peywand_domain::{
    CandidateStatus, CaseEventKind, CaseStatus, Priority, RecordId, ReunificationStepDraft,
    ReunificationStepKind, TracingRequest, TracingRequestDraft, TracingRequestId,
};

use crate::{Actor, Conflict, StoreError, TracingCase};

/// One change to a stored case, to be written in order.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseChange {
    /// A registration becomes a candidate, waiting for a caseworker.
    Offer { record_id: RecordId, score: f64 },
    /// A candidate's status is set.
    SetCandidate {
        record_id: RecordId,
        status: CandidateStatus,
    },
    /// The case's status is set.
    SetStatus(CaseStatus),
    /// The case is given to a caseworker, or back to the site (`None`).
    Assign(Option<String>),
    /// A reunification step is stored.
    AddStep(ReunificationStepDraft),
    /// An entry is added to the case's history, with the reason given.
    Record(CaseEventKind, String),
}

/// A new request as stored, with the history entry that opens it: a separated child's case
/// comes first.
pub fn open_request(
    draft: &TracingRequestDraft,
    actor: &Actor,
    why: &str,
) -> (TracingRequest, CaseChange) {
    let request = TracingRequest {
        id: TracingRequestId::new(),
        draft: draft.clone(),
        priority: if draft.separated_child {
            Priority::Urgent
        } else {
            Priority::Normal
        },
        status: CaseStatus::Open,
        created_by: actor.username.clone(),
        created_at: actor.at,
        assigned_to: None,
    };
    (
        request,
        CaseChange::Record(CaseEventKind::RequestOpened, why.to_string()),
    )
}

/// Registrations matching found for a case. Only registrations not offered before are
/// offered (one a caseworker rejected is never offered again); an open case with new
/// candidates moves to candidates found. `found` must hold only registrations that exist.
pub fn offer(case: &TracingCase, found: &[(RecordId, f64)]) -> Vec<CaseChange> {
    let mut changes = Vec::new();
    let mut offered: Vec<&RecordId> = case.candidates.iter().map(|c| &c.record_id).collect();
    for (record_id, score) in found {
        if offered.contains(&record_id) {
            continue;
        }
        offered.push(record_id);
        changes.push(CaseChange::Offer {
            record_id: record_id.clone(),
            score: *score,
        });
        changes.push(CaseChange::Record(
            CaseEventKind::CandidateFound {
                record_id: record_id.clone(),
                score: *score,
            },
            String::new(),
        ));
    }
    if !changes.is_empty() && case.request.status == CaseStatus::Open {
        push_status(
            &mut changes,
            CaseStatus::Open,
            CaseStatus::CandidatesFound,
            "",
        );
    }
    changes
}

/// How many registrations a list of changes offers.
pub fn offered(changes: &[CaseChange]) -> u64 {
    changes
        .iter()
        .filter(|c| matches!(c, CaseChange::Offer { .. }))
        .count() as u64
}

/// A caseworker's decision on one candidate; the case's status follows its candidates. A
/// finished case must be reopened first, and only one candidate can be confirmed at a time.
pub fn decide_candidate(
    case: &TracingCase,
    record_id: &RecordId,
    status: CandidateStatus,
    reason: &str,
) -> Result<Vec<CaseChange>, StoreError> {
    let id = case.request.id;
    if !case.candidates.iter().any(|c| &c.record_id == record_id) {
        return Err(StoreError::NotFound(format!(
            "candidate {record_id} of request {id}"
        )));
    }
    let from = case.request.status;
    if from.is_final() {
        return Err(StoreError::Conflict(Conflict::CaseFinished(from)));
    }
    if status == CandidateStatus::Confirmed
        && case
            .candidates
            .iter()
            .any(|c| &c.record_id != record_id && c.status == CandidateStatus::Confirmed)
    {
        return Err(StoreError::Conflict(Conflict::OtherCandidateConfirmed));
    }
    let mut changes = vec![
        CaseChange::SetCandidate {
            record_id: record_id.clone(),
            status,
        },
        CaseChange::Record(
            CaseEventKind::CandidateDecided {
                record_id: record_id.clone(),
                status,
            },
            reason.to_string(),
        ),
    ];
    let to = CaseStatus::from_candidates(case.candidates.iter().map(|c| {
        if &c.record_id == record_id {
            status
        } else {
            c.status
        }
    }));
    if to != from {
        push_status(&mut changes, from, to, reason);
    }
    Ok(changes)
}

/// A caseworker closes a working case or reopens a closed one; every other status follows
/// from the decisions on candidates. A reopened case takes the status its candidates give it.
pub fn move_case(
    case: &TracingCase,
    to: CaseStatus,
    reason: &str,
) -> Result<Vec<CaseChange>, StoreError> {
    let from = case.request.status;
    let to = match (from, to) {
        (f, CaseStatus::ClosedWithoutResult) if !f.is_final() => to,
        (CaseStatus::ClosedWithoutResult, CaseStatus::Open) => {
            CaseStatus::from_candidates(case.candidates.iter().map(|c| c.status))
        }
        _ => return Err(StoreError::Conflict(Conflict::CaseCannotMove { from, to })),
    };
    let mut changes = Vec::new();
    push_status(&mut changes, from, to, reason);
    Ok(changes)
}

/// A reunification step, on a case whose match is confirmed. The step `reunified` marks the
/// confirmed candidate reunited, which makes the case reunified.
pub fn record_step(
    case: &TracingCase,
    step: &ReunificationStepDraft,
) -> Result<Vec<CaseChange>, StoreError> {
    let from = case.request.status;
    let confirmed = case
        .candidates
        .iter()
        .find(|c| c.status == CandidateStatus::Confirmed);
    let confirmed = match (from, confirmed) {
        (CaseStatus::MatchConfirmed, Some(c)) => c.record_id.clone(),
        (CaseStatus::Reunified, _) => return Err(StoreError::Conflict(Conflict::AlreadyReunified)),
        (CaseStatus::ClosedWithoutResult, _) => {
            return Err(StoreError::Conflict(Conflict::CaseClosed));
        }
        _ => return Err(StoreError::Conflict(Conflict::NoMatchConfirmed)),
    };
    let mut changes = vec![
        CaseChange::AddStep(step.clone()),
        CaseChange::Record(
            CaseEventKind::StepRecorded {
                step: step.step,
                place: step.place.clone(),
                on: step.on,
            },
            step.note.clone(),
        ),
    ];
    if step.step == ReunificationStepKind::Reunified {
        changes.push(CaseChange::SetCandidate {
            record_id: confirmed.clone(),
            status: CandidateStatus::Reunited,
        });
        changes.push(CaseChange::Record(
            CaseEventKind::CandidateDecided {
                record_id: confirmed,
                status: CandidateStatus::Reunited,
            },
            step.note.clone(),
        ));
        push_status(&mut changes, from, CaseStatus::Reunified, &step.note);
    }
    Ok(changes)
}

/// Gives a case to one caseworker, or back to the site's caseworkers; nothing when that is
/// already so.
pub fn assign(case: &TracingCase, caseworker: Option<&str>) -> Vec<CaseChange> {
    if case.request.assigned_to.as_deref() == caseworker {
        return Vec::new();
    }
    let caseworker = caseworker.map(str::to_string);
    vec![
        CaseChange::Assign(caseworker.clone()),
        CaseChange::Record(CaseEventKind::Assigned { caseworker }, String::new()),
    ]
}

/// The history entry of one side of a new link between two requests.
pub fn counterpart_found(other: TracingRequestId, score: f64) -> CaseChange {
    CaseChange::Record(
        CaseEventKind::CounterpartFound {
            request_id: other,
            score,
        },
        String::new(),
    )
}

fn push_status(changes: &mut Vec<CaseChange>, from: CaseStatus, to: CaseStatus, why: &str) {
    changes.push(CaseChange::SetStatus(to));
    changes.push(CaseChange::Record(
        CaseEventKind::StatusChanged { from, to },
        why.to_string(),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use peywand_domain::TracingCandidate;

    fn actor() -> Actor {
        Actor {
            username: "karima".into(),
            at: chrono::Utc::now(),
        }
    }

    fn record(s: &str) -> RecordId {
        RecordId::parse(s).unwrap()
    }

    fn case(status: CaseStatus, candidates: &[(&str, CandidateStatus)]) -> TracingCase {
        let (mut request, _) = open_request(&TracingRequestDraft::default(), &actor(), "");
        request.status = status;
        TracingCase {
            request,
            candidates: candidates
                .iter()
                .map(|(r, s)| TracingCandidate {
                    record_id: record(r),
                    score: 0.9,
                    status: *s,
                    found_at: chrono::Utc::now(),
                })
                .collect(),
            counterparts: Vec::new(),
            steps: Vec::new(),
            events: Vec::new(),
        }
    }

    fn statuses(changes: &[CaseChange]) -> Vec<CaseStatus> {
        changes
            .iter()
            .filter_map(|c| match c {
                CaseChange::SetStatus(s) => Some(*s),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_separated_childs_request_comes_first() {
        let draft = TracingRequestDraft {
            separated_child: true,
            ..TracingRequestDraft::default()
        };
        let (request, first) = open_request(&draft, &actor(), "");
        assert_eq!(request.priority, Priority::Urgent);
        assert_eq!(request.status, CaseStatus::Open);
        assert_eq!(
            first,
            CaseChange::Record(CaseEventKind::RequestOpened, String::new())
        );
    }

    #[test]
    fn a_rejected_candidate_is_never_offered_again() {
        use CandidateStatus as C;
        let c = case(CaseStatus::Open, &[("R-1", C::NotThePerson)]);
        let changes = offer(&c, &[(record("R-1"), 0.9), (record("R-2"), 0.8)]);
        assert_eq!(offered(&changes), 1);
        assert_eq!(statuses(&changes), [CaseStatus::CandidatesFound]);
        assert!(offer(&c, &[(record("R-1"), 0.99)]).is_empty());
        let waiting = case(CaseStatus::CandidatesFound, &[("R-1", C::Potential)]);
        assert!(statuses(&offer(&waiting, &[(record("R-3"), 0.5)])).is_empty());
    }

    #[test]
    fn decisions_move_the_case_and_guard_it() {
        use CandidateStatus as C;
        let c = case(
            CaseStatus::CandidatesFound,
            &[("R-1", C::Potential), ("R-2", C::Potential)],
        );
        let changes = decide_candidate(&c, &record("R-1"), C::Confirmed, "same mother").unwrap();
        assert_eq!(statuses(&changes), [CaseStatus::MatchConfirmed]);
        assert!(matches!(
            decide_candidate(&c, &record("R-9"), C::Confirmed, ""),
            Err(StoreError::NotFound(_))
        ));
        let confirmed = case(
            CaseStatus::MatchConfirmed,
            &[("R-1", C::Confirmed), ("R-2", C::Potential)],
        );
        assert!(matches!(
            decide_candidate(&confirmed, &record("R-2"), C::Confirmed, ""),
            Err(StoreError::Conflict(Conflict::OtherCandidateConfirmed))
        ));
        let closed = case(CaseStatus::ClosedWithoutResult, &[("R-1", C::Potential)]);
        assert!(matches!(
            decide_candidate(&closed, &record("R-1"), C::Confirmed, ""),
            Err(StoreError::Conflict(Conflict::CaseFinished(_)))
        ));
        let rejected = decide_candidate(&c, &record("R-1"), C::NotThePerson, "").unwrap();
        assert!(
            statuses(&rejected).is_empty(),
            "another candidate still waits"
        );
    }

    #[test]
    fn a_case_closes_and_reopens_to_what_its_candidates_say() {
        use CandidateStatus as C;
        let c = case(CaseStatus::CandidatesFound, &[("R-1", C::Potential)]);
        let closing = move_case(&c, CaseStatus::ClosedWithoutResult, "withdrawn").unwrap();
        assert_eq!(statuses(&closing), [CaseStatus::ClosedWithoutResult]);
        let closed = case(CaseStatus::ClosedWithoutResult, &[("R-1", C::Potential)]);
        let reopening = move_case(&closed, CaseStatus::Open, "new details").unwrap();
        assert_eq!(statuses(&reopening), [CaseStatus::CandidatesFound]);
        assert!(matches!(
            move_case(&c, CaseStatus::Reunified, ""),
            Err(StoreError::Conflict(Conflict::CaseCannotMove { .. }))
        ));
    }

    #[test]
    fn reunification_needs_a_confirmed_match_and_finishes_the_case() {
        use CandidateStatus as C;
        let step = |kind| ReunificationStepDraft {
            step: kind,
            place: "Jalalabad".into(),
            on: "2025-10-05".parse().unwrap(),
            note: String::new(),
        };
        let waiting = case(CaseStatus::CandidatesFound, &[("R-1", C::Potential)]);
        assert!(matches!(
            record_step(&waiting, &step(ReunificationStepKind::FamilyContacted)),
            Err(StoreError::Conflict(Conflict::NoMatchConfirmed))
        ));
        let confirmed = case(CaseStatus::MatchConfirmed, &[("R-1", C::Confirmed)]);
        let contact =
            record_step(&confirmed, &step(ReunificationStepKind::FamilyContacted)).unwrap();
        assert!(statuses(&contact).is_empty());
        let together = record_step(&confirmed, &step(ReunificationStepKind::Reunified)).unwrap();
        assert_eq!(statuses(&together), [CaseStatus::Reunified]);
        assert!(together.contains(&CaseChange::SetCandidate {
            record_id: record("R-1"),
            status: C::Reunited
        }));
        let done = case(CaseStatus::Reunified, &[("R-1", C::Reunited)]);
        assert!(matches!(
            record_step(&done, &step(ReunificationStepKind::Verified)),
            Err(StoreError::Conflict(Conflict::AlreadyReunified))
        ));
    }

    #[test]
    fn assigning_twice_changes_nothing() {
        let mut c = case(CaseStatus::Open, &[]);
        assert_eq!(assign(&c, Some("karima")).len(), 2);
        c.request.assigned_to = Some("karima".into());
        assert!(assign(&c, Some("karima")).is_empty());
        assert_eq!(
            assign(&c, None)[1],
            CaseChange::Record(CaseEventKind::Assigned { caseworker: None }, String::new())
        );
    }
}
