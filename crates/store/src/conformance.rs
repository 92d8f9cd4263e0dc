//! The behaviour every backend must have, written once and run against each of them.
//!
//! A backend's tests call [`run_all`] with a fresh, empty store. Each check panics with a message
//! on failure, like any test assertion.

// Conformance checks are assertions: a failed expectation is the test failing.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use chrono::Utc;
use tokio::sync::mpsc;

use peywand_domain::{
    LegalBasis, LinkDecision, MatchRecord, Need, Purpose, RawRegistration, RecordId, Relationship,
    ReturnType, ScoredPair, Sex, Site, SiteKind, Vulnerability,
};

use crate::{
    Actor, ApiToken, AuditFilter, HouseholdDraft, ImportMessage, LinkageRun, MemberDraft, NewUser,
    Page, PersonFilter, SessionRecord, Store, StoreError,
};

/// The time now, to the microsecond: every backend keeps times to the microsecond
/// (PostgreSQL's resolution), so a time read back equals the time written at that precision.
pub fn now() -> chrono::DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

/// A record id typed in a test.
pub fn rid(s: &str) -> RecordId {
    RecordId::parse(s).expect("a record id")
}

fn actor() -> Actor {
    Actor {
        username: "conformance".into(),
        at: now(),
    }
}

/// A registration row as a desk might type it, in Dari with Persian digits.
pub fn sample_row(record_id: &str, household: &str) -> RawRegistration {
    RawRegistration {
        record_id: record_id.into(),
        household_id: household.into(),
        site: "Torkham".into(),
        registered_on: "2025-10-02".into(),
        given_name: "ذبیح‌الله".into(),
        father_name: "عبدالغنی".into(),
        grandfather_name: "Haji Mohammad Nabi".into(),
        family_name: "Shinwari".into(),
        sex: "M".into(),
        birth_date: "۱۳۸۵".into(),
        age: "".into(),
        province_of_origin: "ننگرهار".into(),
        district_of_origin: "Momand Dara".into(),
        last_residence: "Peshawar".into(),
        document_type: "PoR card".into(),
        document_number: "۱۲۳-۴۵۶".into(),
        phone: "0300 1234567".into(),
    }
}

async fn import_rows(
    store: &dyn Store,
    rows: Vec<RawRegistration>,
    abort: bool,
) -> Result<crate::ImportOutcome, StoreError> {
    let (tx, rx) = mpsc::channel(16);
    let feeder = tokio::spawn(async move {
        for r in rows {
            let d = r.derive().0;
            if tx.send(ImportMessage::Row(Box::new((r, d)))).await.is_err() {
                return;
            }
        }
        if abort {
            let _ = tx.send(ImportMessage::Abort).await;
        }
    });
    let out = store.import(rx, &actor()).await;
    let _ = feeder.await;
    out
}

async fn export_all(store: &dyn Store) -> Vec<RawRegistration> {
    let (tx, mut rx) = mpsc::channel(16);
    let collector = tokio::spawn(async move {
        let mut v = Vec::new();
        while let Some(r) = rx.recv().await {
            v.push(r);
        }
        v
    });
    store.export(tx).await.expect("export");
    collector.await.expect("collector")
}

/// Declares one test per behaviour against a backend: `conformance_tests!(fresh)`, where
/// `fresh().await` gives a fixture holding a new, empty store, with
/// `store(&self) -> Option<&dyn Store>` (`None`: the backend is not available here and the
/// test says so itself) and `async close(self)`. A backend's test file calls it once per way of opening a store
/// (plain, encrypted, PostgreSQL).
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:path) => {
        $crate::conformance_tests!(@each $fresh;
            import_round_trips_raw_values,
            import_is_idempotent,
            aborted_import_writes_nothing,
            households_are_created_read_and_updated,
            persons_filter_and_page,
            sites_upsert,
            linkage_runs_replace_and_decisions_stay,
            accounts_sessions_and_tokens,
            accounts_are_disabled_reset_and_their_access_ended,
            the_audit_log_is_a_chain,
            the_audit_log_keeps_what_was_asked_and_shown,
            tracing_cases_follow_their_lifecycle,
            links_across_sites_are_listed_once,
            saving_a_household_appends_to_the_change_log,
            changes_from_elsewhere_are_applied_once,
            crossed_edits_are_settled_at_the_hub,
            an_edit_after_a_change_from_a_clock_ahead_stays_after_it,
            tracing_cases_travel_in_the_change_log,
            link_decisions_and_audit_entries_travel_in_the_change_log,
            erasure_travels_as_a_tombstone_and_nothing_comes_back,
            imports_are_logged_once_per_household,
            reunification_steps_close_a_confirmed_case,
            the_registered_share_is_set_and_learnt_from_ended_cases,
            pfif_imports_are_whole_and_idempotent,
            pfif_imports_write_only_within_the_importers_site,
            pfif_partners_and_death_reports,
            flow_statistics_count_arrivals,
            erased_people_are_gone,
            ended_cases_are_erased_open_ones_kept,
            submissions_are_taken_once_by_instance_id,
            assistance_is_given_once_per_family_across_sites,
            two_distributions_at_once_give_one_kit,
            the_ranked_list_follows_the_weights,
            programme_criteria_and_stock_per_site,
            kits_given_at_two_offline_sites_are_flagged_and_counted_once,
        );
    };
    (@each $fresh:path; $($behaviour:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $behaviour() {
                let fixture = $fresh().await;
                if let Some(store) = fixture.store() {
                    $crate::conformance::$behaviour(store).await;
                }
                fixture.close().await;
            }
        )*
    };
}

fn sync_draft(given: &str) -> HouseholdDraft {
    HouseholdDraft {
        site_code: Some("torkham".into()),
        destination_province: Some("AF06".into()),
        members: vec![crate::MemberDraft {
            raw: sample_row("", ""),
            ..crate::MemberDraft::default()
        }]
        .into_iter()
        .map(|mut m| {
            m.raw.given_name = given.into();
            m
        })
        .collect(),
        ..HouseholdDraft::default()
    }
}

/// A change another registry made: `saved` as `origin`'s change number `seq`, on `base`.
fn change_from(
    origin: &str,
    seq: i64,
    base: Option<uuid::Uuid>,
    saved: &crate::SavedHousehold,
) -> peywand_sync::Change {
    let at = peywand_sync::Hlc::new(crate::sync::physical_ms(), 0).expect("a time");
    crate::sync::new_change(origin, seq, &at, base, saved)
}

/// Every household saved appends a change in the same transaction: numbered per origin, each
/// made on the version before it, intact; at enrolment the changes made before take the
/// site's name.
pub async fn saving_a_household_appends_to_the_change_log(store: &dyn Store) {
    let created = store
        .create_household(&sync_draft("Gul"), &actor())
        .await
        .expect("create");
    let mut edit = sync_draft("Gul Bibi");
    edit.members[0].raw.record_id = created.members[0].record_id.to_string();
    store
        .update_household(created.household.id, &edit, &actor())
        .await
        .expect("edit");
    assert_eq!(
        store.origin().await.expect("origin"),
        crate::sync::NOT_ENROLLED
    );
    store.set_origin("torkham").await.expect("enrol");
    let heads = store.heads().await.expect("heads");
    assert_eq!(heads.get("torkham"), 2, "{heads:?}");
    let log = store.changes_after("torkham", 0, 10).await.expect("log");
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|c| c.is_intact()));
    assert_eq!(log[0].base, None);
    assert_eq!(
        log[1].base,
        Some(log[0].id),
        "the edit was made on the first version"
    );
    assert!(log[0].at < log[1].at);
    let saved: crate::SavedHousehold = serde_json::from_str(&log[1].body).expect("body");
    assert_eq!(saved.draft.members[0].raw.given_name, "Gul Bibi");
    assert!(matches!(
        store.set_origin("spin-boldak").await,
        Err(StoreError::Conflict(crate::Conflict::OriginAlreadySet(_)))
    ));
}

/// A household another site registered, as its log carries it: `members` are (record id,
/// given name).
fn household_from(site: &str, members: &[(&str, &str)]) -> crate::SavedHousehold {
    let elsewhere = crate::HouseholdRecord {
        household: peywand_domain::Household {
            id: peywand_domain::HouseholdId::new(),
            reference: format!("HH-{site}"),
            site_code: Some(site.into()),
            destination_province: Some("AF01".into()),
            destination_district: None,
            return_type: None,
            needs: vec![],
            legal_basis: None,
            purposes: vec![],
            registered_by: Some("nasir".into()),
            registered_at: Utc::now(),
        },
        members: vec![],
    };
    let mut saved = crate::SavedHousehold::of(&elsewhere, &actor());
    saved.draft.members = members
        .iter()
        .map(|(record, given)| {
            let mut m = sync_draft(given).members.remove(0);
            m.raw.record_id = (*record).into();
            m.raw.site = site.into();
            m
        })
        .collect();
    saved
}

/// Another origin's change number `seq`, logging `logged`.
fn logged_from(origin: &str, seq: i64, logged: crate::sync::Logged) -> peywand_sync::Change {
    let at = peywand_sync::Hlc::new(crate::sync::physical_ms(), 0).expect("a time");
    crate::sync::logged_change(origin, seq, &at, logged)
}

/// Every change this registry holds, of every origin.
async fn whole_log(store: &dyn Store) -> Vec<peywand_sync::Change> {
    let mut all = Vec::new();
    for origin in store.heads().await.expect("heads").0.keys() {
        all.extend(store.changes_after(origin, 0, 10_000).await.expect("log"));
    }
    all
}

/// A tracing case opened at one site, a candidate offered and confirmed by a caseworker at
/// another: the hub writes each as it was done, by whom, even when the case's changes arrive
/// before the case itself; a retry changes nothing; a case opened or decided here is logged.
/// What matching did elsewhere does not reopen a case a person closed here.
pub async fn tracing_cases_travel_in_the_change_log(store: &dyn Store) {
    use crate::cases::{CaseChange, open_request};
    use crate::sync::Logged;
    use peywand_domain::{CandidateStatus, CaseEventKind, CaseStatus, TracingRequestDraft};
    store.set_origin("hub").await.expect("hub");
    let girl = household_from("spin-boldak", &[("SPB-7", "زرمینه")]);
    store
        .receive(&[change_from("spin-boldak", 1, None, &girl)])
        .await
        .expect("a registration");
    let karima = Actor {
        username: "karima".into(),
        at: now(),
    };
    let draft = TracingRequestDraft {
        requester_name: "Shakila".into(),
        requester_relationship: "mother".into(),
        site_code: Some("torkham".into()),
        sought: sample_row("", ""),
        separated_child: true,
        ..TracingRequestDraft::default()
    };
    let (request, opened) = open_request(&draft, &karima, "");
    let spb7 = rid("SPB-7");
    let offered = vec![
        CaseChange::Offer {
            record_id: spb7.clone(),
            score: 0.93,
        },
        CaseChange::Record(
            CaseEventKind::CandidateFound {
                record_id: spb7.clone(),
                score: 0.93,
            },
            String::new(),
        ),
        CaseChange::SetStatus(CaseStatus::CandidatesFound),
        CaseChange::Record(
            CaseEventKind::StatusChanged {
                from: CaseStatus::Open,
                to: CaseStatus::CandidatesFound,
            },
            String::new(),
        ),
    ];
    let decided = vec![
        CaseChange::SetCandidate {
            record_id: spb7.clone(),
            status: CandidateStatus::Confirmed,
        },
        CaseChange::Record(
            CaseEventKind::CandidateDecided {
                record_id: spb7.clone(),
                status: CandidateStatus::Confirmed,
            },
            "her mother described the scar".into(),
        ),
        CaseChange::SetStatus(CaseStatus::MatchConfirmed),
        CaseChange::Record(
            CaseEventKind::StatusChanged {
                from: CaseStatus::CandidatesFound,
                to: CaseStatus::MatchConfirmed,
            },
            String::new(),
        ),
    ];
    let opening = logged_from(
        "torkham",
        1,
        Logged::case(request.id, Some(&request), &karima, &[opened]),
    );
    let offer = logged_from(
        "angoor-adda",
        1,
        Logged::case(request.id, None, &karima, &offered),
    );
    let decision = logged_from(
        "angoor-adda",
        2,
        Logged::case(request.id, None, &karima, &decided),
    );
    // The other site's changes come first: they wait for the case.
    let (done, _) = store
        .receive(&[offer.clone(), decision.clone()])
        .await
        .expect("changes before their case");
    assert_eq!(done.stored, 2);
    assert!(
        store
            .tracing_case(request.id)
            .await
            .expect("read")
            .is_none()
    );
    store
        .receive(std::slice::from_ref(&opening))
        .await
        .expect("the case");
    let case = store
        .tracing_case(request.id)
        .await
        .expect("read")
        .expect("the case arrived");
    assert_eq!(case.request.status, CaseStatus::MatchConfirmed);
    assert_eq!(case.request.created_by, "karima");
    assert_eq!(case.candidates.len(), 1);
    assert_eq!(case.candidates[0].status, CandidateStatus::Confirmed);
    let decision_event = case
        .events
        .iter()
        .find(|e| matches!(e.event, CaseEventKind::CandidateDecided { .. }))
        .expect("the decision is in the history");
    assert_eq!(decision_event.actor, "karima", "recorded as hers");
    assert_eq!(decision_event.why, "her mother described the scar");
    let (again, _) = store
        .receive(&[opening, offer, decision])
        .await
        .expect("retry");
    assert_eq!((again.stored, again.already_held), (0, 3));
    assert_eq!(
        store.tracing_case(request.id).await.expect("read"),
        Some(case),
        "a retry changes nothing"
    );
    // A case taken and closed at the hub is in its log.
    let here = store
        .create_tracing_request(&draft, &actor())
        .await
        .expect("a request");
    store
        .move_case(here.id, CaseStatus::ClosedWithoutResult, &actor(), "found")
        .await
        .expect("close");
    let kinds: Vec<peywand_sync::ChangeKind> = store
        .changes_after("hub", 0, 100)
        .await
        .expect("log")
        .into_iter()
        .filter(|c| c.entity == here.id.to_string())
        .map(|c| c.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            peywand_sync::ChangeKind::TracingRequestOpened,
            peywand_sync::ChangeKind::TracingCaseChanged
        ]
    );
    // A site's matcher offered SPB-7 before it learnt of the closure: the candidate is
    // offered, the case stays closed.
    store
        .receive(&[logged_from(
            "angoor-adda",
            3,
            Logged::case(here.id, None, &actor(), &offered),
        )])
        .await
        .expect("an offer");
    let closed = store
        .tracing_case(here.id)
        .await
        .expect("read")
        .expect("case");
    assert_eq!(closed.request.status, CaseStatus::ClosedWithoutResult);
    assert_eq!(closed.candidates.len(), 1);
}

/// A reviewer's decision made at a site is recorded at the hub as theirs, once; one made at
/// the hub is logged. A site logs its audit entries; the hub keeps each site's apart, in
/// order, and each site's chain verifies there.
pub async fn link_decisions_and_audit_entries_travel_in_the_change_log(store: &dyn Store) {
    use crate::sync::Logged;
    use peywand_access::audit::{AuditEntry, AuditEvent, ChainVerifier, GENESIS, chain_hash};
    // Before enrolment, an audit entry is logged as this registry's.
    store
        .append_audit(&AuditEvent::now("amina", "view_person", "r-1"))
        .await
        .expect("audit");
    let own = store
        .changes_after(crate::sync::NOT_ENROLLED, 0, 10)
        .await
        .expect("log");
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].kind, peywand_sync::ChangeKind::AuditRecorded);
    store.set_origin("hub").await.expect("hub");
    let hub_head = store.heads().await.expect("heads").get("hub");
    store
        .append_audit(&AuditEvent::now("hamid", "view_person", "r-2"))
        .await
        .expect("audit");
    assert_eq!(
        store.heads().await.expect("heads").get("hub"),
        hub_head,
        "the hub keeps its own audit log, and logs none of it"
    );
    let family = household_from("spin-boldak", &[("SPB-1", "Gul"), ("SPB-2", "Gulbibi")]);
    store
        .receive(&[change_from("spin-boldak", 1, None, &family)])
        .await
        .expect("a registration");
    let decision = LinkDecision {
        record_a: "SPB-1".into(),
        record_b: "SPB-2".into(),
        same_person: false,
        reviewer: "imogen".into(),
        reason: "two sisters".into(),
        decided_at: now(),
    };
    let decided = logged_from("torkham", 1, Logged::link_decision(&decision));
    for _ in 0..2 {
        store
            .receive(std::slice::from_ref(&decided))
            .await
            .expect("a decision");
    }
    assert_eq!(
        store.link_decisions().await.expect("decisions"),
        vec![decision.clone()],
        "recorded once, as the reviewer's"
    );
    let mine = LinkDecision {
        reviewer: "hamid".into(),
        same_person: true,
        ..decision
    };
    store.record_link_decision(&mine).await.expect("decide");
    assert!(
        store
            .changes_after("hub", 0, 100)
            .await
            .expect("log")
            .iter()
            .any(|c| c.kind == peywand_sync::ChangeKind::LinkDecided)
    );
    // Torkham's audit chain, entries 1 to 3, after its decision in its log.
    let mut prev = GENESIS.to_string();
    let entries: Vec<AuditEntry> = (1..=3)
        .map(|seq| {
            let event = AuditEvent::now("karima", "view_case", &format!("case-{seq}"));
            let hash = chain_hash(seq, &prev, &event);
            let entry = AuditEntry {
                seq,
                event,
                prev_hash: prev.clone(),
                hash: hash.clone(),
            };
            prev = hash;
            entry
        })
        .collect();
    let changes: Vec<peywand_sync::Change> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| logged_from("torkham", 2 + i as i64, Logged::audit(e)))
        .collect();
    store.receive(&changes).await.expect("audit entries");
    store.receive(&changes).await.expect("a retry");
    let kept = store.site_audit("torkham").await.expect("site audit");
    assert_eq!(kept, entries);
    let mut verifier = ChainVerifier::default();
    for e in &kept {
        verifier
            .check(e)
            .expect("Torkham's chain verifies at the hub");
    }
    assert!(
        store
            .site_audit("spin-boldak")
            .await
            .expect("none")
            .is_empty()
    );
}

/// An erasure is a tombstone in the log: it names the records erased, nothing else; no
/// logged copy of what was erased stays; the same household arriving again from a log that
/// still held it brings nobody back; a tombstone from elsewhere erases here.
pub async fn erasure_travels_as_a_tombstone_and_nothing_comes_back(store: &dyn Store) {
    use crate::sync::Erased;
    store.set_origin("hub").await.expect("hub");
    let family = household_from("spin-boldak", &[("SPB-1", "Gul"), ("SPB-2", "Zarmina")]);
    let registered = change_from("spin-boldak", 1, None, &family);
    store
        .receive(std::slice::from_ref(&registered))
        .await
        .expect("a registration");
    store
        .record_link_decision(&LinkDecision {
            record_a: "SPB-1".into(),
            record_b: "SPB-2".into(),
            same_person: false,
            reviewer: "imogen".into(),
            reason: "Zarmina is her daughter".into(),
            decided_at: now(),
        })
        .await
        .expect("decide");
    assert!(store.purge_person(&rid("SPB-2")).await.expect("erase"));
    let log = whole_log(store).await;
    assert!(
        log.iter().all(|c| !c.body.contains("Zarmina")),
        "no logged copy of her: {log:?}"
    );
    let tombstone = log
        .iter()
        .find(|c| c.kind == peywand_sync::ChangeKind::HouseholdErased)
        .expect("a tombstone");
    assert_eq!(tombstone.entity, family.id.to_string());
    let body: Erased = serde_json::from_str(&tombstone.body).expect("body");
    assert_eq!(
        body,
        Erased {
            records: vec!["SPB-2".into()],
            household_gone: false
        }
    );
    assert_eq!(
        store.heads().await.expect("heads").get("spin-boldak"),
        1,
        "what was seen stays seen: it is not asked for again"
    );
    // Spin Boldak's log still holds her: she does not come back.
    let (again, _) = store
        .receive(std::slice::from_ref(&registered))
        .await
        .expect("again");
    assert_eq!(again.erased, 1);
    let held = store
        .household(family.id)
        .await
        .expect("read")
        .expect("the household");
    let ids: Vec<&str> = held.members.iter().map(|m| m.record_id.as_str()).collect();
    assert_eq!(ids, ["SPB-1"]);
    assert!(
        whole_log(store)
            .await
            .iter()
            .all(|c| !c.body.contains("Zarmina"))
    );
    // The whole household erased at Torkham: gone here, and an edit made before it does not
    // bring it back.
    let erased = crate::sync::Logged::erased(
        family.id,
        &Erased {
            records: vec!["SPB-1".into()],
            household_gone: true,
        },
    );
    store
        .receive(&[logged_from("torkham", 1, erased)])
        .await
        .expect("a tombstone");
    assert!(store.household(family.id).await.expect("read").is_none());
    let mut edit = family.clone();
    edit.draft.destination_province = Some("AF06".into());
    let (late, households) = store
        .receive(&[change_from("spin-boldak", 2, Some(registered.id), &edit)])
        .await
        .expect("a late edit");
    assert_eq!((late.stored, late.erased), (0, 1));
    assert!(store.household(family.id).await.expect("read").is_none());
    assert_eq!(households, vec![family.id]);
    assert_eq!(store.count_persons().await.expect("count"), 0);
}

/// A file imported at an enrolled site reaches the hub as its desk's registrations do: each
/// household that gained someone is logged once, as it now is; importing the file again logs
/// nothing. An import before enrolment (or at the hub) is not logged.
pub async fn imports_are_logged_once_per_household(store: &dyn Store) {
    let rows = || {
        vec![
            sample_row("imp-1", "ih-1"),
            sample_row("imp-2", "ih-1"),
            sample_row("imp-3", "ih-2"),
        ]
    };
    // Before enrolment (a hub's backfill, often), an import is not logged.
    import_rows(store, vec![sample_row("imp-0", "ih-0")], false)
        .await
        .expect("import");
    assert!(
        store
            .changes_after(crate::sync::NOT_ENROLLED, 0, 10)
            .await
            .expect("log")
            .is_empty()
    );
    store.set_origin("torkham").await.expect("enrol");
    import_rows(store, rows(), false).await.expect("import");
    let origin = "torkham";
    let log = store.changes_after(origin, 0, 100).await.expect("log");
    let households: Vec<crate::SavedHousehold> = log
        .iter()
        .filter(|c| c.kind == peywand_sync::ChangeKind::HouseholdSaved)
        .map(|c| serde_json::from_str(&c.body).expect("a household"))
        .collect();
    let mut sizes: Vec<usize> = households.iter().map(|h| h.draft.members.len()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [1, 2], "{log:?}");
    import_rows(store, rows(), false).await.expect("again");
    assert_eq!(
        store
            .changes_after(origin, 0, 100)
            .await
            .expect("log")
            .len(),
        log.len(),
        "nothing new, nothing logged"
    );
    let mut more = rows();
    more.push(sample_row("imp-4", "ih-2"));
    import_rows(store, more, false).await.expect("one more");
    let after = store.changes_after(origin, 0, 100).await.expect("log");
    assert_eq!(after.len(), log.len() + 1);
    let last = after.last().expect("a change");
    let ih2 = households
        .iter()
        .find(|h| h.draft.members.len() == 1)
        .expect("ih-2");
    assert_eq!(last.entity, ih2.id.to_string());
    let before = log
        .iter()
        .find(|c| c.entity == ih2.id.to_string())
        .expect("ih-2 logged");
    assert_eq!(
        last.base,
        Some(before.id),
        "made on the version logged before"
    );
}

/// A household registered at another site arrives with its ids; a retry changes nothing; the
/// same change number with other content, or an altered change, is refused.
pub async fn changes_from_elsewhere_are_applied_once(store: &dyn Store) {
    store.set_origin("hub").await.expect("hub");
    let elsewhere = crate::HouseholdRecord {
        household: peywand_domain::Household {
            id: peywand_domain::HouseholdId::new(),
            reference: "HH-SPB1".into(),
            site_code: Some("spin-boldak".into()),
            destination_province: Some("AF01".into()),
            destination_district: None,
            return_type: None,
            needs: vec![],
            legal_basis: None,
            purposes: vec![],
            registered_by: Some("nasir".into()),
            registered_at: Utc::now(),
        },
        members: vec![],
    };
    let mut saved = crate::SavedHousehold::of(&elsewhere, &actor());
    let mut member = sync_draft("جاوید").members.remove(0);
    member.raw.record_id = "SPB-1".into();
    member.raw.site = "spin-boldak".into();
    saved.draft.members = vec![member];
    let change = change_from("spin-boldak", 1, None, &saved);
    let (done, households) = store
        .receive(std::slice::from_ref(&change))
        .await
        .expect("receive");
    assert_eq!((done.stored, done.already_held), (1, 0));
    assert_eq!(households, vec![saved.id]);
    let held = store
        .household(saved.id)
        .await
        .expect("read")
        .expect("held");
    assert_eq!(held.household.reference, "HH-SPB1");
    assert_eq!(held.members[0].record_id.as_str(), "SPB-1");
    assert_eq!(held.members[0].raw.given_name, "جاوید");
    let (again, _) = store
        .receive(std::slice::from_ref(&change))
        .await
        .expect("retry");
    assert_eq!((again.stored, again.already_held), (0, 1));
    let mut other = saved.clone();
    other.draft.destination_province = Some("AF02".into());
    let forged = change_from("spin-boldak", 1, None, &other);
    assert!(matches!(
        store.receive(&[forged]).await,
        Err(StoreError::Conflict(
            crate::Conflict::ChangeHeldOtherwise { .. }
        ))
    ));
    let mut altered = change_from("spin-boldak", 2, Some(change.id), &saved);
    altered.body = altered.body.replace("جاوید", "Javid");
    assert!(matches!(
        store.receive(&[altered]).await,
        Err(StoreError::Conflict(crate::Conflict::ChangeAltered { .. }))
    ));
    assert_eq!(store.heads().await.expect("heads").get("spin-boldak"), 1);
}

/// Two offline edits of one household meet at the hub: a field changed on one side takes
/// that side's value, a field changed differently on both keeps the hub's and is flagged
/// with both values, and the hub's settlement is a change of its own naming what it took in.
pub async fn crossed_edits_are_settled_at_the_hub(store: &dyn Store) {
    store.set_origin("hub").await.expect("hub");
    let created = store
        .create_household(&sync_draft("Gul"), &actor())
        .await
        .expect("create");
    let id = created.household.id;
    let first = store
        .changes_after("hub", 0, 10)
        .await
        .expect("log")
        .remove(0);
    let record_id = created.members[0].record_id.to_string();
    // At the hub: the destination changes.
    let mut here = sync_draft("Gul");
    here.members[0].raw.record_id = record_id.clone();
    here.destination_province = Some("AF01".into());
    store
        .update_household(id, &here, &actor())
        .await
        .expect("edit");
    // Offline at Torkham, on the first version: the phone, and another destination.
    let mut there = crate::SavedHousehold::of(&created, &actor());
    there.saved_by = "rahim".into();
    there.draft.members[0].raw.phone = "0700 111 222".into();
    there.draft.destination_province = Some("AF02".into());
    let crossing = change_from("torkham", 1, Some(first.id), &there);
    let (done, _) = store
        .receive(std::slice::from_ref(&crossing))
        .await
        .expect("receive");
    assert_eq!((done.stored, done.crossed), (1, 1));
    let now = store.household(id).await.expect("read").expect("held");
    assert_eq!(
        now.members[0].raw.phone, "0700 111 222",
        "changed there only"
    );
    assert_eq!(
        now.household.destination_province.as_deref(),
        Some("AF01"),
        "the hub's kept"
    );
    let crossed = store.crossed_fields(id).await.expect("crossed");
    assert_eq!(crossed.len(), 1, "{crossed:?}");
    assert_eq!(crossed[0].field, "destination_province");
    assert_eq!(crossed[0].other, serde_json::json!("AF02"));
    assert_eq!(
        (
            crossed[0].other_by.as_str(),
            crossed[0].other_origin.as_str()
        ),
        ("rahim", "torkham")
    );
    let log = store.changes_after("hub", 0, 10).await.expect("log");
    let settlement: crate::SavedHousehold =
        serde_json::from_str(&log.last().expect("settled").body).expect("body");
    assert_eq!(settlement.incorporates, vec![crossing.id]);
    assert_eq!(settlement.crossed.len(), 1);
    // A person settles it by editing the household.
    let mut settled = here.clone();
    settled.members[0].raw.phone = "0700 111 222".into();
    store
        .update_household(id, &settled, &actor())
        .await
        .expect("settle");
    assert!(store.crossed_fields(id).await.expect("crossed").is_empty());
}

/// A site whose clock is a day behind the hub's: a change it received from the hub carries a
/// time a day ahead of the site's clock; an edit the site makes after it is still ordered
/// after it, and made on it.
pub async fn an_edit_after_a_change_from_a_clock_ahead_stays_after_it(store: &dyn Store) {
    store.set_origin("torkham").await.expect("site");
    let created = store
        .create_household(&sync_draft("Gul"), &actor())
        .await
        .expect("create");
    let own = store
        .changes_after("torkham", 0, 1)
        .await
        .expect("log")
        .remove(0);
    let mut at_hub = crate::SavedHousehold::of(&created, &actor());
    at_hub.draft.destination_province = Some("AF01".into());
    let a_day_ahead =
        peywand_sync::Hlc::new(crate::sync::physical_ms() + 86_400_000, 0).expect("a time");
    let from_hub = crate::sync::new_change("hub", 1, &a_day_ahead, Some(own.id), &at_hub);
    store
        .receive(std::slice::from_ref(&from_hub))
        .await
        .expect("receive");
    let mut edit = sync_draft("Gul Bibi");
    edit.members[0].raw.record_id = created.members[0].record_id.to_string();
    edit.destination_province = Some("AF01".into());
    store
        .update_household(created.household.id, &edit, &actor())
        .await
        .expect("edit");
    let log = store.changes_after("torkham", 1, 10).await.expect("log");
    assert_eq!(log.len(), 1);
    assert!(
        log[0].at > from_hub.at,
        "{} after {}",
        log[0].at,
        from_hub.at
    );
    assert_eq!(log[0].base, Some(from_hub.id), "made on the hub's version");
    // A year ahead is refused: a wrong clock cannot push history into the future.
    let a_year_ahead =
        peywand_sync::Hlc::new(crate::sync::physical_ms() + 365 * 86_400_000, 0).expect("a time");
    let wrong = crate::sync::new_change("hub", 2, &a_year_ahead, Some(log[0].id), &at_hub);
    assert!(matches!(
        store.receive(&[wrong]).await,
        Err(StoreError::Conflict(crate::Conflict::ChangeTime { .. }))
    ));
}

/// Two relatives looking for each other from two crossing points are listed once for the
/// information managers; a link within one site is not listed.
pub async fn links_across_sites_are_listed_once(store: &dyn Store) {
    use peywand_domain::TracingRequestDraft;
    let at = |site: &str| TracingRequestDraft {
        requester_name: "Gul Bibi".into(),
        site_code: Some(site.into()),
        sought: sample_row("", ""),
        ..TracingRequestDraft::default()
    };
    let mut opened = Vec::new();
    for site in ["torkham", "spin-boldak", "torkham"] {
        opened.push(
            store
                .create_tracing_request(&at(site), &actor())
                .await
                .expect("request")
                .id,
        );
    }
    assert!(
        store
            .link_requests(opened[0], opened[1], 0.9, &actor())
            .await
            .expect("link")
    );
    assert!(
        store
            .link_requests(opened[0], opened[2], 0.95, &actor())
            .await
            .expect("link")
    );
    let listed = store.links_across_sites().await.expect("links");
    assert_eq!(listed.len(), 1, "{listed:?}");
    let link = &listed[0];
    let pair = [link.request_id, link.other_id];
    assert!(
        pair.contains(&opened[0]) && pair.contains(&opened[1]),
        "{link:?}"
    );
    let sites = [link.site_code.as_deref(), link.other_site_code.as_deref()];
    assert!(sites.contains(&Some("torkham")) && sites.contains(&Some("spin-boldak")));
    assert!((link.score - 0.9).abs() < 1e-9);
}

/// A retention period erases what requesters told about cases that ended, never a case that
/// is still open however old.
pub async fn ended_cases_are_erased_open_ones_kept(store: &dyn Store) {
    use peywand_domain::{CaseStatus, TracingRequestDraft};
    let draft = TracingRequestDraft {
        requester_name: "Shah Bibi".into(),
        requester_contact: "+93700111222".into(),
        sought: sample_row("", ""),
        ..TracingRequestDraft::default()
    };
    let open = store
        .create_tracing_request(&draft, &actor())
        .await
        .expect("request");
    let ended = store
        .create_tracing_request(&draft, &actor())
        .await
        .expect("request");
    store
        .move_case(
            ended.id,
            CaseStatus::ClosedWithoutResult,
            &actor(),
            "withdrawn",
        )
        .await
        .expect("close");
    let yesterday = now() - chrono::Duration::days(1);
    assert_eq!(
        store
            .purge_cases_ended_before(yesterday)
            .await
            .expect("purge"),
        0,
        "a case that ended today is within any retention period"
    );
    assert!(store.tracing_case(ended.id).await.expect("read").is_some());
    let tomorrow = now() + chrono::Duration::days(1);
    let erased = store
        .purge_cases_ended_before(tomorrow)
        .await
        .expect("purge");
    assert!(erased >= 1, "{erased}");
    assert!(
        store.tracing_case(ended.id).await.expect("read").is_none(),
        "the ended case is gone with its history"
    );
    assert!(
        store.tracing_case(open.id).await.expect("read").is_some(),
        "an open case is kept however old"
    );

    // A case is assigned to one caseworker, and given back to the site.
    let case = store
        .assign_case(open.id, Some("karima"), &actor())
        .await
        .expect("assign");
    assert_eq!(case.request.assigned_to.as_deref(), Some("karima"));
    assert!(case.events.iter().any(|e| e.event
        == peywand_domain::CaseEventKind::Assigned {
            caseworker: Some("karima".into())
        }));
    let again = store
        .assign_case(open.id, Some("karima"), &actor())
        .await
        .expect("assign again");
    assert_eq!(again.events.len(), case.events.len(), "no change, no entry");
    let queue = store
        .tracing_requests(None, None, None, crate::Page::new(0, 100))
        .await
        .expect("queue");
    let listed = queue
        .items
        .iter()
        .find(|r| r.id == open.id)
        .expect("listed");
    assert_eq!(listed.assigned_to.as_deref(), Some("karima"));
    let hers = store
        .tracing_requests(None, None, Some("karima"), crate::Page::new(0, 100))
        .await
        .expect("her queue");
    assert_eq!(
        hers.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        [open.id],
        "a caseworker's own queue holds the cases assigned to her"
    );
    let back = store
        .assign_case(open.id, None, &actor())
        .await
        .expect("give back");
    assert_eq!(back.request.assigned_to, None);
    assert!(
        store
            .assign_case(
                peywand_domain::TracingRequestId(uuid::Uuid::nil()),
                Some("karima"),
                &actor()
            )
            .await
            .is_err(),
        "no such case"
    );
}

pub async fn flow_statistics_count_arrivals(store: &dyn Store) {
    use crate::StatsFilter;
    let day = chrono::NaiveDate::from_ymd_opt(2019, 1, 5).expect("date");
    let mut rows = vec![
        sample_row("s-1", "sh-1"),
        sample_row("s-2", "sh-1"),
        sample_row("s-3", "sh-2"),
    ];
    for r in &mut rows {
        r.registered_on = day.to_string();
    }
    rows[1].sex = "F".into();
    rows[1].birth_date = String::new();
    rows[1].age = "3".into();
    import_rows(store, rows, false).await.expect("import");
    let filter = StatsFilter {
        from: Some(day),
        to: Some(day),
        site_code: None,
    };
    let stats = store.flow_statistics(&filter).await.expect("statistics");
    assert_eq!((stats.people, stats.households), (3, 2));
    assert_eq!(stats.arrivals.len(), 1, "{:?}", stats.arrivals);
    assert_eq!((stats.arrivals[0].0, stats.arrivals[0].2), (day, 3));
    let girls = stats
        .pyramid
        .iter()
        .find(|(group, sex, _)| group == "0-4" && *sex == Some(Sex::Female))
        .map(|g| g.2);
    assert_eq!(girls, Some(1), "{:?}", stats.pyramid);
    // Born 1385 (2006-07) and counted in January 2019: 12 years old.
    let boys = stats
        .pyramid
        .iter()
        .find(|(group, sex, _)| group == "12-17" && *sex == Some(Sex::Male))
        .map(|g| g.2);
    assert_eq!(boys, Some(2), "{:?}", stats.pyramid);
    let elsewhere = StatsFilter {
        from: Some(day),
        to: Some(day),
        site_code: Some("nowhere".into()),
    };
    assert_eq!(
        store
            .flow_statistics(&elsewhere)
            .await
            .expect("statistics")
            .people,
        0
    );
}

/// Offers registration `r-1` to a request, and a caseworker confirms it.
async fn offer_and_confirm(store: &dyn Store, request: peywand_domain::TracingRequestId) {
    store
        .offer_candidates(request, &[(rid("r-1"), 0.9)], &actor())
        .await
        .expect("offer");
    store
        .decide_candidate(
            request,
            &rid("r-1"),
            peywand_domain::CandidateStatus::Confirmed,
            &actor(),
            "seen",
        )
        .await
        .expect("confirm");
}

/// Imports one registration, `r-1`, and gives a request a mother might make.
async fn one_registration_and_a_request(store: &dyn Store) -> peywand_domain::TracingRequestDraft {
    import_rows(store, vec![sample_row("r-1", "rh-1")], false)
        .await
        .expect("import");
    peywand_domain::TracingRequestDraft {
        requester_name: "Gul Bibi".into(),
        sought: sample_row("", ""),
        ..peywand_domain::TracingRequestDraft::default()
    }
}

pub async fn reunification_steps_close_a_confirmed_case(store: &dyn Store) {
    use peywand_domain::{
        CandidateStatus, CaseStatus, ReunificationStepDraft, ReunificationStepKind as K,
    };
    let draft = one_registration_and_a_request(store).await;
    let request = store
        .create_tracing_request(&draft, &actor())
        .await
        .expect("request");
    let step = |kind| ReunificationStepDraft {
        step: kind,
        place: "Jalalabad".into(),
        on: chrono::NaiveDate::from_ymd_opt(2025, 11, 3).expect("date"),
        note: "by phone".into(),
    };
    assert!(
        matches!(
            store
                .record_reunification_step(request.id, &step(K::FamilyContacted), &actor())
                .await,
            Err(StoreError::Conflict(_))
        ),
        "no steps before a match is confirmed"
    );
    offer_and_confirm(store, request.id).await;
    let case = store
        .record_reunification_step(request.id, &step(K::FamilyContacted), &actor())
        .await
        .expect("contacted");
    assert_eq!(case.request.status, CaseStatus::MatchConfirmed);
    store
        .record_reunification_step(request.id, &step(K::Verified), &actor())
        .await
        .expect("verified");
    let case = store
        .record_reunification_step(request.id, &step(K::Reunified), &actor())
        .await
        .expect("reunified");
    assert_eq!(case.request.status, CaseStatus::Reunified);
    assert_eq!(case.candidates[0].status, CandidateStatus::Reunited);
    let kinds: Vec<K> = case.steps.iter().map(|s| s.draft.step).collect();
    assert_eq!(kinds, [K::FamilyContacted, K::Verified, K::Reunified]);
    assert_eq!(case.steps[0].draft.place, "Jalalabad");
    assert!(matches!(
        store
            .record_reunification_step(request.id, &step(K::Verified), &actor())
            .await,
        Err(StoreError::Conflict(_))
    ));
}

/// The share of people sought who registered: even until an information manager sets it,
/// then moved by each case that ends, found or not; open cases teach nothing. The cases that
/// ended are listed with the registration confirmed, if any.
pub async fn the_registered_share_is_set_and_learnt_from_ended_cases(store: &dyn Store) {
    use peywand_domain::CaseStatus;
    let first = store.registered_share().await.expect("share");
    assert_eq!((first.set, first.in_use), (0.5, 0.5));
    assert_eq!(first.set_by, None);
    let set = store
        .set_registered_share(0.8, &actor())
        .await
        .expect("set");
    assert_eq!((set.set, set.in_use), (0.8, 0.8));
    assert_eq!(set.set_by.as_deref(), Some("conformance"));

    let draft = one_registration_and_a_request(store).await;
    let mut requests = Vec::new();
    for _ in 0..3 {
        requests.push(
            store
                .create_tracing_request(&draft, &actor())
                .await
                .expect("request")
                .id,
        );
    }
    offer_and_confirm(store, requests[0]).await;
    store
        .move_case(
            requests[1],
            CaseStatus::ClosedWithoutResult,
            &actor(),
            "family crossed at Chaman and found her there",
        )
        .await
        .expect("close");
    let learnt = store.registered_share().await.expect("share");
    assert_eq!((learnt.cases_found, learnt.cases_not_found), (1, 1));
    assert!((learnt.in_use - 17.0 / 22.0).abs() < 1e-9, "{learnt:?}");
    assert_eq!(learnt.set, 0.8);
    // The cases that ended are listed with their outcome; the open one is not.
    let ended = store.ended_cases().await.expect("ended cases");
    let ended: Vec<_> = ended.iter().map(|(r, id)| (r.id, id.clone())).collect();
    assert_eq!(
        ended,
        [(requests[0], Some(rid("r-1"))), (requests[1], None)]
    );
}

pub async fn pfif_imports_are_whole_and_idempotent(store: &dyn Store) {
    use peywand_domain::{PfifNote, PfifPerson, TracingRequestDraft};
    let person = |id: &str, notes: &[&str]| {
        let mut p = PfifPerson::default();
        p.fields.insert("person_record_id".into(), id.into());
        p.fields.insert("full_name".into(), "Gul Bibi".into());
        p.notes = notes.iter().map(|n| note(n, id)).collect();
        let draft = TracingRequestDraft {
            requester_name: "someone".into(),
            ..TracingRequestDraft::default()
        };
        (p, draft)
    };
    fn note(id: &str, about: &str) -> PfifNote {
        let mut n = PfifNote::default();
        n.fields.insert("note_record_id".into(), id.into());
        n.fields.insert("person_record_id".into(), about.into());
        n.fields
            .insert("text".into(), "seen at the crossing".into());
        n
    }
    let before = store.pfif_cases().await.expect("cases").len();
    let first = store
        .import_pfif(&[person("pf.org/p1", &["pf.org/n1"])], &[], None, &actor())
        .await
        .expect("import");
    assert_eq!((first.new_requests.len(), first.new_notes), (1, 1));
    let again = store
        .import_pfif(
            &[person("pf.org/p1", &["pf.org/n1", "pf.org/n2"])],
            &[note("pf.org/n3", "pf.org/p1")],
            None,
            &actor(),
        )
        .await
        .expect("again");
    assert_eq!(
        (
            again.new_requests.len(),
            again.persons_already_present,
            again.new_notes,
            again.notes_already_present
        ),
        (0, 1, 2, 1)
    );
    // A note about someone unknown refuses the whole import, persons included.
    let refused = store
        .import_pfif(
            &[person("pf.org/p2", &[])],
            &[note("pf.org/n9", "pf.org/nobody")],
            None,
            &actor(),
        )
        .await;
    assert!(matches!(refused, Err(StoreError::NotFound(_))));
    let cases = store.pfif_cases().await.expect("cases");
    assert_eq!(
        cases.len(),
        before + 1,
        "nothing of the refused import is kept"
    );
    let (case, pfif) = cases.last().expect("imported");
    assert_eq!(case.request.id, first.new_requests[0]);
    let pfif = pfif.as_ref().expect("kept whole");
    assert_eq!(pfif.record_id(), "pf.org/p1");
    let ids: Vec<&str> = pfif.notes.iter().map(PfifNote::record_id).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.contains(&"pf.org/n3"));
}

pub async fn pfif_imports_write_only_within_the_importers_site(store: &dyn Store) {
    use peywand_domain::{PfifNote, PfifPerson, TracingRequestDraft};
    let person = |id: &str, site: Option<&str>, notes: &[&str]| {
        let mut p = PfifPerson::default();
        p.fields.insert("person_record_id".into(), id.into());
        p.fields.insert("full_name".into(), "Gul Bibi".into());
        p.notes = notes.iter().map(|n| note(n, id)).collect();
        let draft = TracingRequestDraft {
            requester_name: "someone".into(),
            site_code: site.map(str::to_string),
            ..TracingRequestDraft::default()
        };
        (p, draft)
    };
    fn note(id: &str, about: &str) -> PfifNote {
        let mut n = PfifNote::default();
        n.fields.insert("note_record_id".into(), id.into());
        n.fields.insert("person_record_id".into(), about.into());
        n.fields
            .insert("text".into(), "seen at the crossing".into());
        n
    }
    store
        .import_pfif(
            &[
                person("scope.org/spin", Some("spin-boldak"), &["scope.org/n1"]),
                person("scope.org/shared", None, &[]),
            ],
            &[],
            None,
            &actor(),
        )
        .await
        .expect("import for two sites");
    let torkham = Some("torkham");
    // Another site's person, sent again with its note and a new one: nothing written.
    let again = store
        .import_pfif(
            &[person(
                "scope.org/spin",
                torkham,
                &["scope.org/n1", "scope.org/n2"],
            )],
            &[],
            torkham,
            &actor(),
        )
        .await
        .expect("again");
    assert_eq!(
        (
            again.new_requests.len(),
            again.persons_already_present,
            again.new_notes,
            again.notes_already_present,
            again.notes_out_of_scope
        ),
        (0, 1, 0, 0, 2)
    );
    // A separate note about it is refused as one about nobody.
    let refused = |about: &str| {
        let n = note("scope.org/n3", about);
        async move {
            match store.import_pfif(&[], &[n], torkham, &actor()).await {
                Err(StoreError::NotFound(why)) => why,
                other => panic!("{other:?}"),
            }
        }
    };
    assert_eq!(
        refused("scope.org/spin").await,
        refused("scope.org/nobody")
            .await
            .replace("scope.org/nobody", "scope.org/spin")
    );
    // The shared case and the importer's own take its notes.
    let shared = store
        .import_pfif(
            &[],
            &[note("scope.org/n4", "scope.org/shared")],
            torkham,
            &actor(),
        )
        .await
        .expect("a note on a shared case");
    assert_eq!(shared.new_notes, 1);
    let own = store
        .import_pfif(
            &[],
            &[note("scope.org/n5", "scope.org/spin")],
            Some("spin-boldak"),
            &actor(),
        )
        .await
        .expect("a note on the site's own case");
    assert_eq!(own.new_notes, 1);
    let cases = store.pfif_cases().await.expect("cases");
    let notes_of = |id: &str| -> Vec<String> {
        cases
            .iter()
            .filter_map(|(_, p)| p.as_ref())
            .filter(|p| p.record_id() == id)
            .flat_map(|p| p.notes.iter().map(|n| n.record_id().to_string()))
            .collect()
    };
    assert_eq!(notes_of("scope.org/spin"), ["scope.org/n1", "scope.org/n5"]);
    assert_eq!(notes_of("scope.org/shared"), ["scope.org/n4"]);
}

pub async fn pfif_partners_and_death_reports(store: &dyn Store) {
    use peywand_domain::{PfifNote, PfifPartner, PfifPerson, TracingRequestDraft};
    store
        .create_user(&crate::NewUser {
            username: "partner-feed".into(),
            role: peywand_access::Role::Caseworker,
            site_code: None,
            password_hash: "not a hash".into(),
        })
        .await
        .expect("user");
    store
        .create_token(&crate::ApiToken {
            id: "partner-token".into(),
            digest: "partner-digest".into(),
            username: "partner-feed".into(),
            label: "a partner".into(),
            created_at: chrono::Utc::now(),
            revoked_at: None,
            expires_at: chrono::Utc::now() + chrono::Duration::days(90),
        })
        .await
        .expect("token");
    let partner = PfifPartner {
        domains: vec!["finder.example.org".into()],
        may_report_death: true,
    };
    assert!(matches!(
        store.set_pfif_partner("no-such-token", &partner).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.pfif_partner("partner-digest").await.expect("read"),
        None
    );
    store
        .set_pfif_partner("partner-token", &partner)
        .await
        .expect("grant");
    assert_eq!(
        store.pfif_partner("partner-digest").await.expect("read"),
        Some(partner.clone())
    );
    let narrower = PfifPartner {
        may_report_death: false,
        ..partner
    };
    store
        .set_pfif_partner("partner-token", &narrower)
        .await
        .expect("replace");
    assert_eq!(
        store.pfif_partner("partner-digest").await.expect("read"),
        Some(narrower)
    );
    store
        .revoke_token("partner-token", chrono::Utc::now())
        .await
        .expect("revoke");
    assert_eq!(
        store.pfif_partner("partner-digest").await.expect("read"),
        None
    );

    // A death report waits for a caseworker before it leaves in an export.
    let note = |id: &str, status: &str| {
        let mut n = PfifNote::default();
        n.fields.insert("note_record_id".into(), id.into());
        n.fields
            .insert("person_record_id".into(), "death.org/p1".into());
        n.fields.insert("status".into(), status.into());
        n
    };
    let mut p = PfifPerson::default();
    p.fields
        .insert("person_record_id".into(), "death.org/p1".into());
    p.notes = vec![
        note("death.org/n1", "believed_missing"),
        note("death.org/n2", "believed_dead"),
    ];
    let imported = store
        .import_pfif(&[(p, TracingRequestDraft::default())], &[], None, &actor())
        .await
        .expect("import");
    let id = imported.new_requests[0];
    let exported = |cases: Vec<(crate::TracingCase, Option<PfifPerson>)>| -> Vec<String> {
        cases
            .into_iter()
            .filter_map(|(_, p)| p)
            .filter(|p| p.record_id() == "death.org/p1")
            .flat_map(|p| p.notes.into_iter().map(|n| n.record_id().to_string()))
            .collect()
    };
    assert_eq!(
        exported(store.pfif_cases().await.expect("cases")),
        ["death.org/n1"]
    );
    let reports = store.death_reports(id).await.expect("reports");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].note.record_id(), "death.org/n2");
    assert_eq!(reports[0].verified_by, None);
    assert!(matches!(
        store
            .verify_death_report(id, "death.org/n1", &actor())
            .await,
        Err(StoreError::NotFound(_))
    ));
    let verified = store
        .verify_death_report(id, "death.org/n2", &actor())
        .await
        .expect("verify");
    assert_eq!(
        verified.verified_by.as_deref(),
        Some(actor().username.as_str())
    );
    assert_eq!(
        exported(store.pfif_cases().await.expect("cases")),
        ["death.org/n1", "death.org/n2"]
    );
}

pub async fn tracing_cases_follow_their_lifecycle(store: &dyn Store) {
    use peywand_domain::{CandidateStatus, CaseStatus, Priority, TracingRequestDraft};
    import_rows(
        store,
        vec![sample_row("t-1", "th-1"), sample_row("t-2", "th-2")],
        false,
    )
    .await
    .expect("import");
    let mut draft = TracingRequestDraft {
        requester_name: "Bibi Hawa".into(),
        requester_relationship: "mother".into(),
        site_code: Some("torkham".into()),
        sought: sample_row("", ""),
        circumstances: "put on another truck at Torkham".into(),
        ..TracingRequestDraft::default()
    };
    let adult = store
        .create_tracing_request(&draft, &actor())
        .await
        .expect("request");
    draft.separated_child = true;
    let child = store
        .create_tracing_request(&draft, &actor())
        .await
        .expect("request");
    assert_eq!(
        (adult.priority, child.priority),
        (Priority::Normal, Priority::Urgent)
    );
    let queue = store
        .tracing_requests(Some(CaseStatus::Open), None, None, Page::new(0, 10))
        .await
        .expect("queue");
    assert_eq!(queue.items[0].id, child.id, "a separated child comes first");
    assert_eq!(queue.total, 2);
    let elsewhere = store
        .tracing_requests(
            Some(CaseStatus::Open),
            Some("spin_boldak"),
            None,
            Page::new(0, 10),
        )
        .await
        .expect("queue");
    assert_eq!(
        elsewhere.total, 0,
        "another site's queue does not hold them"
    );
    let unassigned = store
        .create_tracing_request(
            &TracingRequestDraft {
                site_code: None,
                ..draft.clone()
            },
            &actor(),
        )
        .await
        .expect("request");
    let shared = store
        .tracing_requests(
            Some(CaseStatus::Open),
            Some("spin_boldak"),
            None,
            Page::new(0, 10),
        )
        .await
        .expect("queue");
    assert_eq!(
        shared.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        [unassigned.id],
        "a request of no site is every site's"
    );
    store
        .move_case(
            unassigned.id,
            CaseStatus::ClosedWithoutResult,
            &actor(),
            "test",
        )
        .await
        .expect("close");

    let found = vec![(rid("t-1"), 0.91), (rid("t-2"), 0.40), (rid("nobody"), 0.9)];
    assert_eq!(
        store
            .offer_candidates(child.id, &found, &actor())
            .await
            .expect("offer"),
        2,
        "an unknown record is not offered"
    );
    let case = store
        .tracing_case(child.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(case.request.status, CaseStatus::CandidatesFound);
    assert_eq!(case.candidates[0].record_id, rid("t-1"), "best first");

    store
        .decide_candidate(
            child.id,
            &rid("t-2"),
            CandidateStatus::NotThePerson,
            &actor(),
            "different mother",
        )
        .await
        .expect("reject");
    assert_eq!(
        store
            .offer_candidates(child.id, &found, &actor())
            .await
            .expect("offer again"),
        0,
        "a rejected pair never comes back"
    );
    let case = store
        .decide_candidate(
            child.id,
            &rid("t-1"),
            CandidateStatus::Confirmed,
            &actor(),
            "the mother recognised the photo",
        )
        .await
        .expect("confirm");
    assert_eq!(case.request.status, CaseStatus::MatchConfirmed);
    let t2 = case
        .candidates
        .iter()
        .find(|c| c.record_id == rid("t-2"))
        .expect("kept");
    assert_eq!(t2.status, CandidateStatus::NotThePerson);
    assert!(matches!(
        store
            .move_case(child.id, CaseStatus::Open, &actor(), "")
            .await,
        Err(StoreError::Conflict(_))
    ));
    let case = store
        .decide_candidate(
            child.id,
            &rid("t-1"),
            CandidateStatus::Reunited,
            &actor(),
            "reunited at Jalalabad",
        )
        .await
        .expect("reunite");
    assert_eq!(case.request.status, CaseStatus::Reunified);
    use peywand_domain::CaseEventKind as E;
    let events: Vec<&E> = case.events.iter().map(|e| &e.event).collect();
    assert_eq!(events[0], &E::RequestOpened);
    assert!(
        events.contains(&&E::StatusChanged {
            from: CaseStatus::MatchConfirmed,
            to: CaseStatus::Reunified
        }),
        "{events:?}"
    );
    assert!(case.events.iter().any(|e| e.why == "different mother"));
    assert!(matches!(
        store
            .decide_candidate(
                child.id,
                &rid("t-9"),
                CandidateStatus::Confirmed,
                &actor(),
                ""
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        matches!(
            store
                .decide_candidate(
                    child.id,
                    &rid("t-2"),
                    CandidateStatus::Confirmed,
                    &actor(),
                    ""
                )
                .await,
            Err(StoreError::Conflict(_))
        ),
        "a reunified case is not decided again"
    );
    assert!(matches!(
        store
            .move_case(child.id, CaseStatus::MatchConfirmed, &actor(), "")
            .await,
        Err(StoreError::Conflict(_))
    ));

    let closed = store
        .move_case(
            adult.id,
            CaseStatus::ClosedWithoutResult,
            &actor(),
            "the family found him themselves",
        )
        .await
        .expect("close");
    assert_eq!(closed.request.status, CaseStatus::ClosedWithoutResult);
}

pub async fn erased_people_are_gone(store: &dyn Store) {
    import_rows(
        store,
        vec![
            sample_row("p-1", "ph-1"),
            sample_row("p-2", "ph-1"),
            sample_row("p-3", "ph-2"),
        ],
        false,
    )
    .await
    .expect("import");
    let decision = LinkDecision {
        record_a: "p-1".into(),
        record_b: "p-3".into(),
        same_person: false,
        reviewer: "imogen".into(),
        reason: "different mothers".into(),
        decided_at: now(),
    };
    store.record_link_decision(&decision).await.expect("decide");
    assert!(store.purge_person(&rid("p-1")).await.expect("purge"));
    assert!(
        !store.purge_person(&rid("p-1")).await.expect("purge again"),
        "already gone"
    );
    let left: Vec<String> = match_records_all(store)
        .await
        .into_iter()
        .map(|r| r.record_id)
        .filter(|r| r.starts_with("p-"))
        .collect();
    assert_eq!(left, vec!["p-2".to_string(), "p-3".to_string()]);
    assert!(
        !store
            .link_decisions()
            .await
            .expect("decisions")
            .iter()
            .any(|d| d.record_a == "p-1" || d.record_b == "p-1"),
        "decisions about an erased person go with them"
    );
    // Retention: everything registered before a cutoff in the future goes.
    let erased = store
        .purge_registered_before(now() + chrono::Duration::days(1))
        .await
        .expect("expire");
    assert!(erased >= 2, "{erased}");
    assert_eq!(store.count_persons().await.expect("count"), 0);
    assert!(match_records_all(store).await.is_empty());
}

pub async fn accounts_sessions_and_tokens(store: &dyn Store) {
    use peywand_access::Role;
    let new = NewUser {
        username: "amina".into(),
        role: Role::Registrar,
        site_code: Some("torkham".into()),
        password_hash: "$argon2id$stored-as-given".into(),
    };
    store.create_user(&new).await.expect("create");
    assert!(matches!(
        store.create_user(&new).await,
        Err(StoreError::Conflict(_))
    ));
    let u = store.user("amina").await.expect("read").expect("exists");
    assert_eq!(
        (u.role, u.site_code.as_deref()),
        (Role::Registrar, Some("torkham"))
    );
    assert_eq!(
        (u.failed_logins, u.last_sign_in_at, u.disabled_at),
        (0, None, None)
    );
    assert!(!u.must_change_password);
    assert!(store.user("nobody").await.expect("read").is_none());

    let now = now();
    store.login_failed("amina").await.expect("fail");
    store.login_failed("amina").await.expect("fail");
    let u = store.user("amina").await.expect("read").expect("exists");
    assert_eq!(u.failed_logins, 2, "counted, never locked");
    store.login_succeeded("amina", now).await.expect("succeed");
    let u = store.user("amina").await.expect("read").expect("exists");
    assert_eq!((u.failed_logins, u.last_sign_in_at), (0, Some(now)));

    let now = self::now();
    let session = SessionRecord {
        digest: "session-digest".into(),
        username: "amina".into(),
        csrf_digest: "csrf-digest".into(),
        expires_at: now + chrono::Duration::hours(8),
    };
    store.create_session(&session).await.expect("session");
    let (found, user) = store
        .session("session-digest", now)
        .await
        .expect("read")
        .expect("live");
    assert_eq!((found, user.username.as_str()), (session.clone(), "amina"));
    let later = now + chrono::Duration::hours(9);
    assert!(
        store
            .session("session-digest", later)
            .await
            .expect("read")
            .is_none(),
        "expired"
    );
    store.delete_session("session-digest").await.expect("end");
    assert!(
        store
            .session("session-digest", now)
            .await
            .expect("read")
            .is_none()
    );

    let token = ApiToken {
        id: "t-1".into(),
        digest: "token-digest".into(),
        username: "amina".into(),
        label: "kobo sync".into(),
        created_at: now,
        revoked_at: None,
        expires_at: now + chrono::Duration::days(90),
    };
    store.create_token(&token).await.expect("token");
    let u = store
        .token_user("token-digest")
        .await
        .expect("read")
        .expect("valid");
    assert_eq!(u.username, "amina");
    assert_eq!(
        store.tokens(Some("amina")).await.expect("list"),
        vec![token]
    );
    store.revoke_token("t-1", now).await.expect("revoke");
    assert!(
        store
            .token_user("token-digest")
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        store.tokens(None).await.expect("list")[0]
            .revoked_at
            .is_some()
    );
    assert!(matches!(
        store.revoke_token("t-404", now).await,
        Err(StoreError::NotFound(_))
    ));
}

/// What an administrator does to an account: list, disable and enable, reset the password,
/// end every session and token, renew a token; a disabled account's session and tokens stop
/// working at once.
pub async fn accounts_are_disabled_reset_and_their_access_ended(store: &dyn Store) {
    use peywand_access::Role;
    for (name, role) in [("omar", Role::Caseworker), ("amina", Role::Auditor)] {
        store
            .create_user(&NewUser {
                username: name.into(),
                role,
                site_code: None,
                password_hash: "$argon2id$first".into(),
            })
            .await
            .expect("create");
    }
    let users = store.users().await.expect("list");
    assert_eq!(
        users
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        vec!["amina", "omar"]
    );
    let now = now();
    let session = |digest: &str| SessionRecord {
        digest: digest.into(),
        username: "omar".into(),
        csrf_digest: "csrf".into(),
        expires_at: now + chrono::Duration::hours(8),
    };
    store
        .create_session(&session("s-1"))
        .await
        .expect("session");
    let token = ApiToken {
        id: "t-omar".into(),
        digest: "omar-token".into(),
        username: "omar".into(),
        label: "sync".into(),
        created_at: now,
        revoked_at: None,
        expires_at: now + chrono::Duration::days(90),
    };
    store.create_token(&token).await.expect("token");

    store
        .set_disabled("omar", Some(now))
        .await
        .expect("disable");
    let u = store.user("omar").await.expect("read").expect("exists");
    assert_eq!(u.disabled_at, Some(now));
    assert!(store.session("s-1", now).await.expect("read").is_none());
    assert!(
        store
            .token_user("omar-token")
            .await
            .expect("read")
            .is_none()
    );
    store.set_disabled("omar", None).await.expect("enable");
    assert!(store.session("s-1", now).await.expect("read").is_some());
    assert!(
        store
            .token_user("omar-token")
            .await
            .expect("read")
            .is_some()
    );
    assert!(matches!(
        store.set_disabled("nobody", Some(now)).await,
        Err(StoreError::NotFound(_))
    ));

    store
        .set_password("omar", "$argon2id$reset", true)
        .await
        .expect("reset");
    let u = store.user("omar").await.expect("read").expect("exists");
    assert_eq!(
        (u.password_hash.as_str(), u.must_change_password),
        ("$argon2id$reset", true)
    );
    store
        .set_password("omar", "$argon2id$chosen", false)
        .await
        .expect("change");
    assert!(
        !store
            .user("omar")
            .await
            .expect("read")
            .expect("exists")
            .must_change_password
    );
    assert!(matches!(
        store.set_password("nobody", "x", true).await,
        Err(StoreError::NotFound(_))
    ));

    let later = now + chrono::Duration::days(100);
    store.renew_token("t-omar", later).await.expect("renew");
    let found = store
        .token("omar-token")
        .await
        .expect("read")
        .expect("held");
    assert_eq!((found.id.as_str(), found.expires_at), ("t-omar", later));
    assert!(store.token("no-such").await.expect("read").is_none());

    store
        .create_session(&session("s-2"))
        .await
        .expect("session");
    assert_eq!(store.end_sessions("omar").await.expect("end"), 2);
    assert_eq!(
        store.revoke_tokens_of("omar", now).await.expect("revoke"),
        1
    );
    assert_eq!(
        store.revoke_tokens_of("omar", now).await.expect("revoke"),
        0
    );
    assert!(store.session("s-1", now).await.expect("read").is_none());
    assert!(
        store
            .token_user("omar-token")
            .await
            .expect("read")
            .is_none()
    );
    let found = store
        .token("omar-token")
        .await
        .expect("read")
        .expect("held");
    assert_eq!(found.revoked_at, Some(now));
    assert!(matches!(
        store.renew_token("t-omar", later).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn the_audit_log_is_a_chain(store: &dyn Store) {
    use peywand_access::audit::{AuditEvent, ChainVerifier};
    let before = store
        .audit_entries(&AuditFilter::default(), Page::new(0, 1))
        .await
        .expect("read")
        .total;
    for (actor, action) in [
        ("amina", "login"),
        ("amina", "view_person"),
        ("omar", "login_failed"),
    ] {
        store
            .append_audit(&AuditEvent::now(actor, action, "r-1").origin("10.0.0.7"))
            .await
            .expect("append");
    }
    let (tx, mut rx) = mpsc::channel(16);
    let reader = tokio::spawn(async move {
        let mut v = ChainVerifier::default();
        while let Some(e) = rx.recv().await {
            v.check(&e).expect("an intact chain");
        }
        v.head().0
    });
    store.audit_chain(tx).await.expect("stream");
    assert_eq!(reader.await.expect("reader"), before as i64 + 3);
    let amina = store
        .audit_entries(
            &AuditFilter {
                actor: Some("amina".into()),
                ..AuditFilter::default()
            },
            Page::new(0, 10),
        )
        .await
        .expect("filter");
    assert_eq!(amina.total, 2);
    assert_eq!(amina.items[0].event.action, "view_person", "newest first");
    assert_eq!(amina.items[0].event.origin, "10.0.0.7");
}

/// A duplicate check's entry keeps what was typed and every registration the answer showed;
/// an auditor finds it from any of those people, and the chain still verifies.
pub async fn the_audit_log_keeps_what_was_asked_and_shown(store: &dyn Store) {
    use peywand_access::audit::{AuditEvent, ChainVerifier};
    let asked = AuditEvent::now("amina", "check_duplicates", "/api/v1/matching/check")
        .origin("10.0.0.7")
        .answered(
            r#"{"given_name":"Gul Bibi","father_name":"Nabi"}"#,
            vec!["r-7".into(), "r-9".into(), "r-7".into()],
        );
    store.append_audit(&asked).await.expect("append");
    store
        .append_audit(
            &AuditEvent::now("omar", "view_person", "/persons/r-8")
                .answered("", vec!["r-8".into()]),
        )
        .await
        .expect("append");
    let shown = |record: &str| AuditFilter {
        record_shown: Some(record.into()),
        ..AuditFilter::default()
    };
    let found = store
        .audit_entries(&shown("r-9"), Page::new(0, 10))
        .await
        .expect("filter");
    assert_eq!(found.total, 1);
    let entry = &found.items[0].event;
    assert_eq!(entry.actor, "amina");
    assert_eq!(entry.query, asked.query);
    assert_eq!(
        entry.records_shown,
        vec!["r-7".to_string(), "r-9".to_string()]
    );
    let r8 = store
        .audit_entries(&shown("r-8"), Page::new(0, 10))
        .await
        .expect("filter");
    assert_eq!((r8.total, r8.items[0].event.actor.as_str()), (1, "omar"));
    assert_eq!(
        store
            .audit_entries(&shown("r-1"), Page::new(0, 10))
            .await
            .expect("filter")
            .total,
        0
    );
    let (tx, mut rx) = mpsc::channel(16);
    let reader = tokio::spawn(async move {
        let mut v = ChainVerifier::default();
        while let Some(e) = rx.recv().await {
            v.check(&e).expect("an intact chain");
        }
        v.head().0
    });
    store.audit_chain(tx).await.expect("stream");
    assert_eq!(reader.await.expect("reader"), 2);
}

pub async fn import_round_trips_raw_values(store: &dyn Store) {
    let mut rows = vec![
        sample_row("c-1", "h-1"),
        sample_row("c-2", "h-1"),
        sample_row("c-3", ""),
    ];
    rows[1].given_name = "  Zabiullah \"Zabi\", جان  ".into();
    rows[2].birth_date = "yesterday".into();
    let out = import_rows(store, rows.clone(), false)
        .await
        .expect("import");
    assert_eq!((out.new, out.already_present), (3, 0));
    let exported = export_all(store).await;
    assert_eq!(
        exported, rows,
        "export must give back every raw value byte for byte"
    );
    let page = store
        .persons(&PersonFilter::default(), Page::new(0, 10))
        .await
        .expect("list");
    let p = page
        .items
        .iter()
        .find(|p| p.record_id.as_str() == "c-1")
        .expect("c-1 listed");
    assert_eq!(p.derived.province_code.as_deref(), Some("AF06"));
    assert_eq!(p.derived.birth_year_min, Some(2006));
    assert_eq!(p.derived.sex, Some(Sex::Male));
    let c1 = store
        .household(p.household_id)
        .await
        .expect("household")
        .expect("exists");
    assert_eq!(
        c1.members.len(),
        2,
        "rows sharing household_id form one household"
    );
}

pub async fn import_is_idempotent(store: &dyn Store) {
    import_rows(store, vec![sample_row("c-1", "h-1")], false)
        .await
        .expect("first import");
    let before = store.count_persons().await.expect("count");
    let out = import_rows(
        store,
        vec![sample_row("c-1", "h-1"), sample_row("c-4", "h-2")],
        false,
    )
    .await
    .expect("import");
    assert_eq!((out.new, out.already_present), (1, 1));
    assert_eq!(store.count_persons().await.expect("count"), before + 1);
}

pub async fn aborted_import_writes_nothing(store: &dyn Store) {
    let before = export_all(store).await;
    let err = import_rows(
        store,
        vec![sample_row("c-9", "h-9"), sample_row("c-10", "h-1")],
        true,
    )
    .await;
    assert!(matches!(err, Err(StoreError::ImportAborted)), "{err:?}");
    assert_eq!(
        export_all(store).await,
        before,
        "an aborted import leaves the database as it was"
    );
}

pub async fn households_are_created_read_and_updated(store: &dyn Store) {
    let head = MemberDraft {
        raw: RawRegistration {
            given_name: "Gul Bibi".into(),
            sex: "F".into(),
            age: "45".into(),
            ..Default::default()
        },
        relationship: Some(Relationship::Head),
        vulnerabilities: vec![Vulnerability::FemaleHeadedHousehold],
    };
    let child = MemberDraft {
        raw: RawRegistration {
            given_name: "نجیب‌الله".into(),
            sex: "M".into(),
            age: "12".into(),
            ..Default::default()
        },
        relationship: Some(Relationship::Son),
        vulnerabilities: vec![],
    };
    let draft = HouseholdDraft {
        site_code: Some("torkham".into()),
        destination_province: Some("AF06".into()),
        destination_district: None,
        return_type: Some(ReturnType::Deported),
        needs: vec![Need::Shelter, Need::Food],
        legal_basis: Some(LegalBasis::Consent),
        purposes: vec![Purpose::Registration, Purpose::Assistance],
        members: vec![head, child],
    };
    let created = store
        .create_household(&draft, &actor())
        .await
        .expect("create");
    assert_eq!(created.members.len(), 2);
    assert!(created.household.reference.starts_with("HH-"));
    assert_eq!(created.household.needs, vec![Need::Shelter, Need::Food]);
    assert_eq!(
        created.members[0].vulnerabilities,
        vec![Vulnerability::FemaleHeadedHousehold]
    );
    assert_eq!(
        created.members[1].derived.given_name.as_deref(),
        Some("نجیب الله")
    );
    assert!(
        created
            .members
            .iter()
            .all(|m| !m.record_id.as_str().is_empty())
    );

    let mut edited = draft.clone();
    edited.members = created
        .members
        .iter()
        .map(|m| MemberDraft {
            raw: m.raw.clone(),
            relationship: m.relationship,
            vulnerabilities: m.vulnerabilities.clone(),
        })
        .collect();
    edited.members[1].raw.given_name = "Najibullah".into();
    edited.needs = vec![Need::Cash];
    // A reviewer's decision about a member survives edits of the household.
    let (m0, m1) = (
        created.members[0].record_id.as_str().to_string(),
        created.members[1].record_id.as_str().to_string(),
    );
    store
        .record_link_decision(&LinkDecision {
            record_a: m0.clone(),
            record_b: m1.clone(),
            same_person: false,
            reviewer: "imogen".into(),
            reason: "mother and son".into(),
            decided_at: now(),
        })
        .await
        .expect("decide");
    let mut later = actor();
    later.at += chrono::Duration::days(30);
    let updated = store
        .update_household(created.household.id, &edited, &later)
        .await
        .expect("update");
    assert!(
        store
            .link_decisions()
            .await
            .expect("decisions")
            .iter()
            .any(|d| d.record_a == m0 && d.record_b == m1),
        "an edit does not erase what reviewers decided"
    );
    assert_eq!(
        updated.members[1].registered_at, created.members[1].registered_at,
        "an edit does not restart the retention period"
    );
    // A member left out of the edit is removed; a new one is added.
    let mut fewer = edited.clone();
    fewer.members.remove(0);
    let shrunk = store
        .update_household(created.household.id, &fewer, &actor())
        .await
        .expect("update");
    assert_eq!(shrunk.members.len(), 1);
    assert!(
        store
            .update_household(created.household.id, &edited, &actor())
            .await
            .is_ok()
    );
    assert_eq!(updated.household.needs, vec![Need::Cash]);
    assert_eq!(
        updated.members[1].id, created.members[1].id,
        "a member keeps its id across edits"
    );
    assert_eq!(updated.members[1].raw.given_name, "Najibullah");

    let missing = store
        .update_household(peywand_domain::HouseholdId::new(), &edited, &actor())
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))));
    assert!(
        store
            .household(peywand_domain::HouseholdId::new())
            .await
            .expect("read")
            .is_none()
    );

    // A member whose record id is taken fails the whole household, leaving nothing behind.
    import_rows(store, vec![sample_row("c-1", "h-1")], false)
        .await
        .expect("import");
    let before = store.count_persons().await.expect("count");
    let mut clash = draft.clone();
    clash.members[0].raw.record_id = "c-1".into();
    assert!(store.create_household(&clash, &actor()).await.is_err());
    assert_eq!(store.count_persons().await.expect("count"), before);
}

pub async fn persons_filter_and_page(store: &dyn Store) {
    let mut woman = sample_row("c-3", "h-2");
    woman.given_name = "Gul Bibi".into();
    woman.sex = "F".into();
    import_rows(
        store,
        vec![sample_row("c-1", "h-1"), sample_row("c-2", "h-1"), woman],
        false,
    )
    .await
    .expect("import");
    let all = store
        .persons(&PersonFilter::default(), Page::new(0, 2))
        .await
        .expect("list");
    assert_eq!(all.items.len(), 2);
    assert_eq!(all.total, store.count_persons().await.expect("count"));
    let women = store
        .persons(
            &PersonFilter {
                sex: Some(Sex::Female),
                ..Default::default()
            },
            Page::new(0, 50),
        )
        .await
        .expect("list");
    assert!(
        women
            .items
            .iter()
            .all(|p| p.derived.sex == Some(Sex::Female))
    );
    assert_eq!(women.total, 1);
    let by_name = store
        .persons(
            &PersonFilter {
                name: Some("ذبیح".into()),
                ..Default::default()
            },
            Page::new(0, 50),
        )
        .await
        .expect("list");
    assert!(
        by_name.total >= 2,
        "name search finds the Arabic-script given names"
    );
}

pub async fn sites_upsert(store: &dyn Store) {
    let mut site = Site {
        code: "torkham".into(),
        name: "Torkham".into(),
        name_local: "تورخم".into(),
        kind: SiteKind::CrossingPoint,
        province_code: Some("AF06".into()),
    };
    store.upsert_site(&site).await.expect("save");
    site.name = "Torkham zero point".into();
    store.upsert_site(&site).await.expect("save again");
    let sites = store.sites().await.expect("list");
    assert_eq!(sites, vec![site]);
}

async fn match_records_all(store: &dyn Store) -> Vec<MatchRecord> {
    crate::collect_match_records(store)
        .await
        .expect("match records")
}

pub async fn linkage_runs_replace_and_decisions_stay(store: &dyn Store) {
    import_rows(
        store,
        vec![sample_row("l-1", "lh-1"), sample_row("l-2", "lh-2")],
        false,
    )
    .await
    .expect("import");
    let records = match_records_all(store).await;
    let l1 = records
        .iter()
        .find(|r| r.record_id == "l-1")
        .expect("l-1 read for matching");
    let l2 = records
        .iter()
        .find(|r| r.record_id == "l-2")
        .expect("l-2 read for matching");
    assert_eq!(l1.given_name.as_deref(), Some("ذبیح الله"));
    assert_eq!(l1.sex, Some(Sex::Male));
    assert_eq!(l1.province_code.as_deref(), Some("AF06"));
    assert!(l1.birth_year_min.is_some() && l1.document.is_some() && l1.phone_e164.is_some());
    assert!(
        l1.registered_on.is_some(),
        "the day of the registration is read for matching"
    );
    assert_ne!(l1.household, l2.household, "two households read as two");
    let stored = store
        .persons(&PersonFilter::default(), Page::new(0, 500))
        .await
        .expect("persons");
    let p1 = stored
        .items
        .iter()
        .find(|p| p.record_id.as_str() == "l-1")
        .expect("l-1 stored");
    assert_eq!(
        &MatchRecord::from_person(p1),
        l1,
        "a saved registration is matched as the store streams it"
    );

    let run = |identity: &str, probability: f64| LinkageRun {
        identities: vec![
            ("l-1".into(), "l-1".into()),
            ("l-2".into(), identity.into()),
        ],
        review: vec![ScoredPair {
            record_a: "l-1".into(),
            record_b: "l-2".into(),
            probability,
        }],
        model: format!("{{\"run\": \"{identity}\"}}"),
        stats: "{}".into(),
        finished_at: now(),
    };
    store
        .save_linkage(&run("l-2", 0.4))
        .await
        .expect("first run");
    store
        .save_linkage(&run("l-1", 0.3))
        .await
        .expect("second run");
    let identities = store.identities().await.expect("identities");
    assert!(
        identities.contains(&("l-2".into(), "l-1".into())),
        "the second run replaces the first"
    );
    assert_eq!(identities.iter().filter(|(r, _)| r == "l-2").count(), 1);
    // A registration erased while a run was working: the run is saved without it.
    let mut late = run("l-1", 0.3);
    late.identities
        .push(("erased-meanwhile".into(), "l-1".into()));
    late.review.push(ScoredPair {
        record_a: "erased-meanwhile".into(),
        record_b: "l-1".into(),
        probability: 0.5,
    });
    store
        .save_linkage(&late)
        .await
        .expect("a run naming an erased registration");
    let identities = store.identities().await.expect("identities");
    assert!(identities.contains(&("l-2".into(), "l-1".into())));
    assert!(
        store
            .identity_records(&rid("erased-meanwhile"))
            .await
            .expect("identity")
            .is_empty(),
        "an erased registration gets no identity back"
    );
    assert_eq!(
        store
            .review_queue(Page::new(0, 10))
            .await
            .expect("queue")
            .total,
        1,
        "nor a place in the review queue"
    );
    let mut one = store.identity_records(&rid("l-2")).await.expect("identity");
    one.sort();
    assert_eq!(one, ["l-1", "l-2"], "both records of the one person");
    assert!(
        store
            .identity_records(&rid("nobody"))
            .await
            .expect("identity")
            .is_empty()
    );
    assert_eq!(
        store.linkage_model().await.expect("model").as_deref(),
        Some("{\"run\": \"l-1\"}")
    );
    let queue = store.review_queue(Page::new(0, 10)).await.expect("queue");
    assert_eq!(queue.total, 1);
    assert_eq!(queue.items[0].probability, 0.3);

    let decision = LinkDecision {
        record_a: "l-2".into(),
        record_b: "l-1".into(),
        same_person: false,
        reviewer: "reviewer".into(),
        reason: "different mothers".into(),
        decided_at: now(),
    };
    store.record_link_decision(&decision).await.expect("decide");
    assert_eq!(
        store.link_decisions().await.expect("decisions"),
        vec![decision.clone()]
    );
    let queue = store.review_queue(Page::new(0, 10)).await.expect("queue");
    assert_eq!(queue.total, 0, "a decided pair leaves the queue");
    let unknown = LinkDecision {
        record_b: "no-such-record".into(),
        ..decision
    };
    assert!(matches!(
        store.record_link_decision(&unknown).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.link_decisions().await.expect("decisions").len(), 1);
}

/// A phone's submission is held by its instanceID: a retry finds it, a second reservation
/// of one id never succeeds, a failed registration releases it, and an edit replaces only the
/// current version.
pub async fn submissions_are_taken_once_by_instance_id(store: &dyn Store) {
    use crate::Reservation;
    let at = now();
    assert!(store.submission("uuid:a").await.expect("read").is_none());
    let first = store
        .reserve_submission("uuid:a", "md5:1", "amina", at)
        .await
        .expect("reserve");
    assert_eq!(first, Reservation::Reserved);
    let Reservation::Existing(pending) = store
        .reserve_submission("uuid:a", "md5:2", "amina", at)
        .await
        .expect("reserve again")
    else {
        panic!("an id is reserved once");
    };
    assert_eq!(
        (pending.digest.as_str(), pending.household_id),
        ("md5:1", None),
        "the first content is kept, still being registered"
    );

    // A registration that failed gives the id back.
    store.release_submission("uuid:a").await.expect("release");
    assert!(store.submission("uuid:a").await.expect("read").is_none());
    assert_eq!(
        store
            .reserve_submission("uuid:a", "md5:1", "amina", at)
            .await
            .expect("reserve after release"),
        Reservation::Reserved
    );
    let household = peywand_domain::HouseholdId::new();
    assert!(
        store
            .complete_submission("uuid:a", household, None)
            .await
            .expect("complete")
    );
    // A completed submission is never released.
    store.release_submission("uuid:a").await.expect("release");
    let done = store
        .submission("uuid:a")
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(done.household_id, Some(household));
    assert_eq!((done.username.as_str(), done.received_at), ("amina", at));
    assert_eq!(done.superseded_by, None);

    // An edit supersedes the version it names, once.
    store
        .reserve_submission("uuid:b", "md5:3", "amina", at)
        .await
        .expect("reserve edit");
    assert!(
        store
            .complete_submission("uuid:b", household, Some("uuid:a"))
            .await
            .expect("complete edit")
    );
    let old = store
        .submission("uuid:a")
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(old.superseded_by.as_deref(), Some("uuid:b"));
    store
        .reserve_submission("uuid:c", "md5:4", "amina", at)
        .await
        .expect("reserve second edit");
    assert!(
        !store
            .complete_submission("uuid:c", household, Some("uuid:a"))
            .await
            .expect("complete second edit"),
        "a version already replaced cannot be replaced again"
    );
    let c = store
        .submission("uuid:c")
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(c.household_id, None, "nothing changed");
}

/// Two households at two sites whose members were found to be one person each: one family.
async fn one_family_at_two_sites(
    store: &dyn Store,
) -> (peywand_domain::HouseholdId, peywand_domain::HouseholdId) {
    let at = |site: &str, given: &str| {
        let mut d = sync_draft(given);
        d.site_code = Some(site.into());
        d
    };
    let torkham = store
        .create_household(&at("torkham", "Gul Bibi"), &actor())
        .await
        .expect("create at torkham");
    let spin_boldak = store
        .create_household(&at("spin_boldak", "Gol Bebe"), &actor())
        .await
        .expect("create at spin boldak");
    let a = torkham.members[0].record_id.as_str().to_string();
    let b = spin_boldak.members[0].record_id.as_str().to_string();
    store
        .save_linkage(&LinkageRun {
            identities: vec![(a.clone(), a.clone()), (b, a)],
            finished_at: now(),
            ..LinkageRun::default()
        })
        .await
        .expect("save identities");
    (torkham.household.id, spin_boldak.household.id)
}

fn winter_kits() -> crate::ProgrammeDraft {
    crate::ProgrammeDraft {
        name: "Winter kits 2026".into(),
        kind: crate::AssistanceKind::WinterKit,
        amount: None,
        currency: None,
        entitlement: crate::Entitlement::OncePerHousehold,
        season_from: "2026-11-01".parse().expect("a day"),
        season_to: "2027-02-28".parse().expect("a day"),
        criteria: crate::assistance::Criteria::default(),
    }
}

fn kit_for(household: peywand_domain::HouseholdId, site: &str) -> crate::DistributionDraft {
    crate::DistributionDraft {
        household,
        kind: crate::AssistanceKind::WinterKit,
        quantity: 1,
        given_on: "2026-12-01".parse().expect("a day"),
        received_by: "head".into(),
        site_code: Some(site.into()),
        override_reason: None,
    }
}

/// A winter kit is given once per family, across sites through its members' identities: the
/// second is refused with where, when and by whom the first was given; an override with a
/// reason is recorded; an unknown household or a kind with no programme writes nothing.
pub async fn assistance_is_given_once_per_family_across_sites(store: &dyn Store) {
    use crate::{AssistanceKind, Conflict};
    let programme = store
        .create_programme(&winter_kits(), &actor())
        .await
        .expect("a programme");
    assert_eq!(
        store.programmes().await.expect("programmes"),
        vec![programme.clone()]
    );
    let mut overlapping = winter_kits();
    overlapping.season_from = "2027-02-01".parse().expect("a day");
    overlapping.season_to = "2027-03-31".parse().expect("a day");
    assert!(matches!(
        store.create_programme(&overlapping, &actor()).await,
        Err(StoreError::Conflict(Conflict::ProgrammeOverlaps { .. }))
    ));
    let (torkham, spin_boldak) = one_family_at_two_sites(store).await;
    let nadia = Actor {
        username: "nadia".into(),
        at: now(),
    };
    let first = store
        .record_distribution(&kit_for(torkham, "torkham"), &nadia)
        .await
        .expect("the first kit");
    assert_eq!(first.programme, programme.id);
    assert_eq!(first.given_by, "nadia");
    let again = store
        .record_distribution(&kit_for(spin_boldak, "spin_boldak"), &actor())
        .await;
    assert!(
        matches!(
            &again,
            Err(StoreError::Conflict(Conflict::AlreadyGiven { kind, site, on, by }))
                if kind == "winter_kit" && site == "torkham" && *on == first.given_on && by == "nadia"
        ),
        "{again:?}"
    );
    let unknown = store
        .record_distribution(
            &kit_for(peywand_domain::HouseholdId::new(), "torkham"),
            &actor(),
        )
        .await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound(_))),
        "{unknown:?}"
    );
    let mut cash = kit_for(spin_boldak, "spin_boldak");
    cash.kind = AssistanceKind::Cash;
    assert!(matches!(
        store.record_distribution(&cash, &actor()).await,
        Err(StoreError::Conflict(Conflict::NoProgramme { .. }))
    ));
    let mut overridden = kit_for(spin_boldak, "spin_boldak");
    overridden.override_reason = Some("the first kit was stolen on the road".into());
    let second = store
        .record_distribution(&overridden, &actor())
        .await
        .expect("an override");
    assert_eq!(
        second.override_reason.as_deref(),
        Some("the first kit was stolen on the road")
    );
    for household in [torkham, spin_boldak] {
        assert_eq!(
            store
                .household_distributions(household)
                .await
                .expect("received"),
            vec![first.clone(), second.clone()],
            "what the family received, from either of its households"
        );
    }
}

/// Two officers record a kit for one family at the same moment, at two sites: one succeeds,
/// the other is told it was just given.
pub async fn two_distributions_at_once_give_one_kit(store: &dyn Store) {
    use crate::Conflict;
    store
        .create_programme(&winter_kits(), &actor())
        .await
        .expect("a programme");
    let (torkham, spin_boldak) = one_family_at_two_sites(store).await;
    let (here, there, who) = (
        kit_for(torkham, "torkham"),
        kit_for(spin_boldak, "spin_boldak"),
        actor(),
    );
    let (a, b) = tokio::join!(
        store.record_distribution(&here, &who),
        store.record_distribution(&there, &who),
    );
    let given = [&a, &b].iter().filter(|r| r.is_ok()).count();
    let refused = [&a, &b]
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Conflict(Conflict::AlreadyGiven { .. }))))
        .count();
    assert_eq!((given, refused), (1, 1), "{a:?} {b:?}");
    assert_eq!(
        store
            .household_distributions(torkham)
            .await
            .expect("received")
            .len(),
        1
    );
}

/// The households waiting for a programme at a site are ranked by the weights in force: a
/// family already served leaves the list, changed weights re-rank it at once, and a list kept
/// as printed keeps the weights it was ranked by.
pub async fn the_ranked_list_follows_the_weights(store: &dyn Store) {
    use crate::targeting::{self, Weights};
    let programme = store
        .create_programme(&winter_kits(), &actor())
        .await
        .expect("a programme");
    let mut large = sync_draft("Large");
    let one = large.members[0].clone();
    large.members = vec![one; 6];
    let large = store
        .create_household(&large, &actor())
        .await
        .expect("a large household");
    let mut alone = sync_draft("Alone");
    alone.members[0].vulnerabilities = vec![Vulnerability::OlderPersonAlone];
    let alone = store
        .create_household(&alone, &actor())
        .await
        .expect("an older person alone");
    let served = store
        .create_household(&sync_draft("Served"), &actor())
        .await
        .expect("a household served");
    store
        .record_distribution(&kit_for(served.household.id, "torkham"), &actor())
        .await
        .expect("a kit");
    let mut elsewhere = sync_draft("Elsewhere");
    elsewhere.site_code = Some("spin_boldak".into());
    for m in &mut elsewhere.members {
        m.raw.site = "spin_boldak".into();
    }
    store
        .create_household(&elsewhere, &actor())
        .await
        .expect("a household at another site");

    let on = "2026-12-02".parse().expect("a day");
    let before = store.weights().await.expect("weights");
    assert_eq!(before.weights, Weights::default());
    assert_eq!(before.set_by, None, "never set: Peywand's defaults");
    let waiting = store
        .waiting_households("torkham", programme.id, on)
        .await
        .expect("waiting");
    let order = |w: &Weights| -> Vec<peywand_domain::HouseholdId> {
        targeting::rank(&waiting, w, on)
            .into_iter()
            .map(|r| r.household)
            .collect()
    };
    assert_eq!(
        order(&before.weights),
        vec![alone.household.id, large.household.id],
        "the older person alone first; the family served and the other site's not listed"
    );
    let size_first = Weights {
        per_member: 10,
        ..Weights::default()
    };
    let who = Actor {
        username: "im".into(),
        at: now(),
    };
    store
        .set_weights(&size_first, &who)
        .await
        .expect("set weights");
    let after = store.weights().await.expect("weights");
    assert_eq!(
        (after.weights, after.set_by.as_deref(), after.set_at),
        (size_first, Some("im"), Some(who.at))
    );
    assert_eq!(
        order(&after.weights),
        vec![large.household.id, alone.household.id]
    );
    let list = crate::DistributionList {
        id: uuid::Uuid::now_v7(),
        programme: programme.id,
        site_code: "torkham".into(),
        on,
        weights: after.weights,
        households: targeting::rank(&waiting, &after.weights, on),
        printed_by: "im".into(),
        printed_at: now(),
    };
    store.save_list(&list).await.expect("save a list");
    assert_eq!(
        store.distribution_list(list.id).await.expect("read a list"),
        Some(list)
    );
    assert!(matches!(
        store
            .waiting_households("torkham", uuid::Uuid::now_v7(), on)
            .await,
        Err(StoreError::NotFound(_))
    ));
}

/// A programme's criteria refuse the households it is not for, naming the criterion, and
/// keep them off the list waiting; an override sets them aside. Each site's plan is its last,
/// stock received adds up, and what was given is counted per site and per day.
pub async fn programme_criteria_and_stock_per_site(store: &dyn Store) {
    use crate::{AssistanceKind, Conflict, Entitlement, Plan, StockReceipt};
    let mut draft = winter_kits();
    draft.kind = AssistanceKind::Blankets;
    draft.entitlement = Entitlement::PerPerson;
    draft.criteria = crate::Criteria {
        registered_at: Some("torkham".into()),
        arrived_after: None,
        vulnerable: true,
    };
    let blankets = store
        .create_programme(&draft, &actor())
        .await
        .expect("a programme");
    assert_eq!(
        store.programmes().await.expect("programmes")[0].draft,
        draft
    );
    let plain = store
        .create_household(&sync_draft("Plain"), &actor())
        .await
        .expect("a household");
    let mut vulnerable = sync_draft("Vulnerable");
    vulnerable.members[0].vulnerabilities = vec![Vulnerability::Disability];
    let elsewhere_draft = {
        let mut d = vulnerable.clone();
        d.site_code = Some("spin_boldak".into());
        for m in &mut d.members {
            m.raw.site = "spin_boldak".into();
            m.raw.given_name = "Elsewhere".into();
        }
        d
    };
    let vulnerable = store
        .create_household(&vulnerable, &actor())
        .await
        .expect("a household");
    let elsewhere = store
        .create_household(&elsewhere_draft, &actor())
        .await
        .expect("a household elsewhere");
    let give = |h: peywand_domain::HouseholdId| {
        let mut d = kit_for(h, "torkham");
        d.kind = AssistanceKind::Blankets;
        d
    };
    let refused = |r: Result<crate::Distribution, StoreError>, criterion: &str| match r {
        Err(StoreError::Conflict(Conflict::NotEligible { criterion: c, .. })) => {
            assert_eq!(c, criterion)
        }
        other => panic!("expected {criterion} unmet: {other:?}"),
    };
    refused(
        store
            .record_distribution(&give(plain.household.id), &actor())
            .await,
        "vulnerable",
    );
    refused(
        store
            .record_distribution(&give(elsewhere.household.id), &actor())
            .await,
        "registered_at",
    );
    let on = "2026-12-02".parse().expect("a day");
    let waiting = store
        .waiting_households("torkham", blankets.id, on)
        .await
        .expect("waiting");
    assert_eq!(
        waiting.iter().map(|h| h.household.id).collect::<Vec<_>>(),
        vec![vulnerable.household.id],
        "only the households the programme is for wait for it"
    );
    store
        .record_distribution(&give(vulnerable.household.id), &actor())
        .await
        .expect("blankets for the vulnerable household");
    let mut overridden = give(plain.household.id);
    overridden.override_reason = Some("a newborn not yet registered".into());
    store
        .record_distribution(&overridden, &actor())
        .await
        .expect("an override sets the criteria aside");

    let plan = |planned| Plan {
        programme: blankets.id,
        site_code: "torkham".into(),
        planned,
    };
    store.set_plan(&plan(500), &actor()).await.expect("a plan");
    store
        .set_plan(&plan(400), &actor())
        .await
        .expect("a new plan");
    for quantity in [200, 100] {
        store
            .receive_stock(
                &StockReceipt {
                    programme: blankets.id,
                    site_code: "torkham".into(),
                    quantity,
                    received_on: on,
                },
                &actor(),
            )
            .await
            .expect("stock received");
    }
    let unknown = Plan {
        programme: uuid::Uuid::now_v7(),
        ..plan(1)
    };
    assert!(matches!(
        store.set_plan(&unknown, &actor()).await,
        Err(StoreError::NotFound(_))
    ));
    let lines = store.stock().await.expect("stock");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(
        (
            lines[0].planned,
            lines[0].received,
            lines[0].distributed,
            lines[0].in_stock()
        ),
        (Some(400), 300, 2, 298)
    );
    let days = store.distribution_days().await.expect("per day");
    assert_eq!(days.len(), 1, "{days:?}");
    assert_eq!(
        (
            days[0].site_code.as_str(),
            days[0].households,
            days[0].quantity
        ),
        ("torkham", 2, 2)
    );
    let all = store
        .distributions(&crate::DistributionFilter::default())
        .await
        .expect("distributions");
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[0].1, vulnerable.household.reference,
        "with the household's reference"
    );
    let later = crate::DistributionFilter {
        from: Some("2026-12-02".parse().expect("a day")),
        ..Default::default()
    };
    assert!(store.distributions(&later).await.expect("none").is_empty());
    let elsewhere_only = crate::DistributionFilter {
        site_code: Some("spin_boldak".into()),
        ..Default::default()
    };
    assert!(
        store
            .distributions(&elsewhere_only)
            .await
            .expect("none")
            .is_empty()
    );
}

/// The hub learns of a programme and of distributions through the change log, each logged in
/// the transaction that wrote it. A kit given to one household at two sites before they met is
/// flagged for the information manager with both records and counted once; a distribution that
/// arrives before its household waits for it.
pub async fn kits_given_at_two_offline_sites_are_flagged_and_counted_once(store: &dyn Store) {
    use crate::assistance::assistance_change;
    use peywand_sync::ChangeKind;
    // What the hub set and logged: the programme is in its log.
    store.set_origin("hub").await.expect("hub");
    let programme = store
        .create_programme(&winter_kits(), &actor())
        .await
        .expect("a programme");
    let logged = store.changes_after("hub", 0, 100).await.expect("log");
    assert!(
        logged
            .iter()
            .any(|c| c.kind == ChangeKind::ProgrammeSet && c.entity == programme.id.to_string()),
        "{logged:?}"
    );
    // A family registered at Torkham, and a kit given to it at Torkham and at Spin Boldak,
    // each site offline.
    let registered = crate::HouseholdRecord {
        household: peywand_domain::Household {
            id: peywand_domain::HouseholdId::new(),
            reference: "HH-TOR1".into(),
            site_code: Some("torkham".into()),
            destination_province: None,
            destination_district: None,
            return_type: None,
            needs: vec![],
            legal_basis: None,
            purposes: vec![],
            registered_by: Some("rahima".into()),
            registered_at: Utc::now(),
        },
        members: vec![],
    };
    let mut saved = crate::SavedHousehold::of(&registered, &actor());
    let mut member = sync_draft("Gul Bibi").members.remove(0);
    member.raw.record_id = "TOR-1".into();
    saved.draft.members = vec![member];
    let kit = |site: &str, by: &str| crate::Distribution {
        id: uuid::Uuid::now_v7(),
        programme: programme.id,
        household: saved.id,
        kind: crate::AssistanceKind::WinterKit,
        quantity: 1,
        given_on: "2026-12-01".parse().expect("a day"),
        received_by: "head".into(),
        site_code: Some(site.into()),
        given_by: by.into(),
        recorded_at: now(),
        override_reason: None,
    };
    let (at_torkham, at_spin_boldak) = (kit("torkham", "nadia"), kit("spin-boldak", "zarmina"));
    let at =
        |seq: u64| peywand_sync::Hlc::new(crate::sync::physical_ms() + seq, 0).expect("a time");
    let given = |origin: &str, seq: i64, d: &crate::Distribution| {
        assistance_change(
            origin,
            seq,
            &at(seq as u64),
            ChangeKind::DistributionGiven,
            d.household.to_string(),
            serde_json::to_string(d).expect("json"),
        )
    };
    // Spin Boldak's kit arrives first, before the household it was given to: it waits.
    store
        .receive(&[given("spin-boldak", 1, &at_spin_boldak)])
        .await
        .expect("receive a kit");
    assert_eq!(
        store.distribution_days().await.expect("days").len(),
        0,
        "nothing counted for a household not yet held"
    );
    store
        .receive(&[
            change_from("torkham", 1, None, &saved),
            given("torkham", 2, &at_torkham),
        ])
        .await
        .expect("receive Torkham's");
    let received = store
        .household_distributions(saved.id)
        .await
        .expect("received");
    assert_eq!(
        received.len(),
        2,
        "both kits are recorded: both were handed over"
    );
    let doubled = store.doubled_distributions().await.expect("doubled");
    assert_eq!(doubled.len(), 1, "{doubled:?}");
    let sites = [
        doubled[0].first.site_code.clone(),
        doubled[0].again.site_code.clone(),
    ];
    assert!(
        sites.contains(&Some("torkham".into())) && sites.contains(&Some("spin-boldak".into())),
        "both records, where and by whom: {doubled:?}"
    );
    let days = store.distribution_days().await.expect("days");
    assert_eq!(
        days.iter().map(|d| d.households).sum::<u64>(),
        1,
        "counted once in reports: {days:?}"
    );
    // A third kit recorded here now is refused as usual.
    assert!(matches!(
        store
            .record_distribution(&kit_for(saved.id, "hub"), &actor())
            .await,
        Err(StoreError::Conflict(crate::Conflict::AlreadyGiven { .. }))
    ));
}
