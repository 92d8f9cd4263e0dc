//! The rules a tracing case follows, above every backend: given a case as it is stored, each
//! function says what a caseworker's action changes, or why it is refused. A backend reads the
//! case in a transaction, asks these rules, writes the changes in order with
//! [`CaseChange`]'s meaning, and commits; the rules themselves never touch a database.

use peywand_domain::{
    CandidateStatus, CaseEventKind, CaseStatus, Priority, RecordId, ReunificationStepDraft,
    ReunificationStepKind, TracingRequest, TracingRequestDraft, TracingRequestId,
};

use crate::{Actor, Conflict, StoreError, TracingCase};

/// One change to a stored case, to be written in order. Logged as written, so that another
/// registry writes the same (see [`received`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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

/// What changes made on a case elsewhere do to the case as this registry holds it. Every
/// person's decision and step is written as theirs; what matching did is written only where
/// it still holds: a registration already offered, or not held here (erased, say), is not
/// offered again, and the move an offer makes from open to candidates found is made only on
/// an open case. A status a person set is set, and the history says from what it moved here.
pub fn received(
    case: &TracingCase,
    changes: &[CaseChange],
    held: impl Fn(&RecordId) -> bool,
) -> Vec<CaseChange> {
    let mut status = case.request.status;
    let mut offered: Vec<&RecordId> = case.candidates.iter().map(|c| &c.record_id).collect();
    let mut skipped_offers: Vec<&RecordId> = Vec::new();
    let mut out = Vec::new();
    let mut i = 0;
    while i < changes.len() {
        match &changes[i] {
            CaseChange::Offer { record_id, .. } => {
                if offered.contains(&record_id) || !held(record_id) {
                    skipped_offers.push(record_id);
                } else {
                    offered.push(record_id);
                    out.push(changes[i].clone());
                }
            }
            CaseChange::Record(CaseEventKind::CandidateFound { record_id, .. }, _)
                if skipped_offers.contains(&record_id) => {}
            CaseChange::SetCandidate { record_id, .. } if !offered.contains(&record_id) => {}
            CaseChange::SetStatus(to) => {
                let made_from = match changes.get(i + 1) {
                    Some(CaseChange::Record(CaseEventKind::StatusChanged { from, .. }, why)) => {
                        i += 1;
                        Some((*from, why.clone()))
                    }
                    _ => None,
                };
                let automatic = made_from.as_ref().map(|(f, _)| *f) == Some(CaseStatus::Open)
                    && *to == CaseStatus::CandidatesFound;
                if *to != status && (!automatic || status == CaseStatus::Open) {
                    let why = made_from.map(|(_, w)| w).unwrap_or_default();
                    push_status(&mut out, status, *to, &why);
                    status = *to;
                }
            }
            other => out.push(other.clone()),
        }
        i += 1;
    }
    out
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

    #[test]
    fn received_offers_are_written_once_and_only_for_registrations_held_here() {
        let here = case(CaseStatus::Open, &[("r-1", CandidateStatus::Potential)]);
        let elsewhere = case(CaseStatus::Open, &[]);
        let found = [
            (record("r-1"), 0.9),
            (record("r-2"), 0.8),
            (record("r-3"), 0.7),
        ];
        let made = offer(&elsewhere, &found);
        let written = received(&here, &made, |r| r.as_str() != "r-3");
        let offers: Vec<&str> = written
            .iter()
            .filter_map(|c| match c {
                CaseChange::Offer { record_id, .. } => Some(record_id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(offers, ["r-2"], "r-1 is held already, r-3 is not here");
        assert_eq!(
            written
                .iter()
                .filter(|c| matches!(
                    c,
                    CaseChange::Record(CaseEventKind::CandidateFound { .. }, _)
                ))
                .count(),
            1
        );
        // The case here is open: the offer moves it, as it did there.
        assert!(written.contains(&CaseChange::SetStatus(CaseStatus::CandidatesFound)));
    }

    #[test]
    fn an_offer_from_elsewhere_does_not_reopen_a_case_closed_here() {
        let here = case(CaseStatus::ClosedWithoutResult, &[]);
        let made = offer(&case(CaseStatus::Open, &[]), &[(record("r-2"), 0.8)]);
        let written = received(&here, &made, |_| true);
        assert!(
            written
                .iter()
                .any(|c| matches!(c, CaseChange::Offer { .. }))
        );
        assert!(
            !written
                .iter()
                .any(|c| matches!(c, CaseChange::SetStatus(_))),
            "{written:?}"
        );
    }

    #[test]
    fn a_persons_move_made_elsewhere_is_made_here_from_the_status_held_here() {
        // Closed there while it was open; here matching has found candidates meanwhile.
        let here = case(
            CaseStatus::CandidatesFound,
            &[("r-1", CandidateStatus::Potential)],
        );
        let made = move_case(
            &case(CaseStatus::Open, &[]),
            CaseStatus::ClosedWithoutResult,
            "the family found him",
        )
        .unwrap();
        let written = received(&here, &made, |_| true);
        assert_eq!(
            written,
            [
                CaseChange::SetStatus(CaseStatus::ClosedWithoutResult),
                CaseChange::Record(
                    CaseEventKind::StatusChanged {
                        from: CaseStatus::CandidatesFound,
                        to: CaseStatus::ClosedWithoutResult
                    },
                    "the family found him".into()
                )
            ]
        );
    }

    #[test]
    fn a_decision_made_elsewhere_is_kept_in_the_history_even_on_a_candidate_not_held_here() {
        let there = case(
            CaseStatus::CandidatesFound,
            &[("r-9", CandidateStatus::Potential)],
        );
        let made = decide_candidate(
            &there,
            &record("r-9"),
            CandidateStatus::NotThePerson,
            "not her",
        )
        .unwrap();
        let written = received(&case(CaseStatus::Open, &[]), &made, |_| false);
        assert!(
            !written
                .iter()
                .any(|c| matches!(c, CaseChange::SetCandidate { .. }))
        );
        assert!(written.iter().any(|c| matches!(
            c,
            CaseChange::Record(CaseEventKind::CandidateDecided { .. }, why) if why == "not her"
        )));
    }
}
