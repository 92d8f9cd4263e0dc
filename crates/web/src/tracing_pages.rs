//! Tracing pages for caseworkers: the queue (separated children first), the request form,
//! and a case with each candidate side by side with the person sought, the reasons field by
//! field, the decision forms and the reunification steps.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use peywand_domain::{
    CandidateStatus, CaseEventKind, CaseStatus, RawRegistration, ReunificationStepDraft,
    ReunificationStepKind, TracingRequest, TracingRequestDraft, TracingRequestId,
};
use peywand_store::Page;

use crate::AppState;
use crate::api::actor;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::i18n::Tr;
use crate::pages::{Chrome, PageError, labelled, percent, reason, render};
use crate::refusal::Refusal;

fn sought_name(r: &RawRegistration) -> String {
    let name = [&r.given_name, &r.father_name, &r.family_name]
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .collect::<Vec<_>>();
    name.join(" ")
}

/// Cases shown per status; a site with more finds the rest by status filter.
const QUEUE_SHOWN: u64 = 1_000;

struct QueueRow {
    id: String,
    priority: String,
    priority_code: &'static str,
    sought: String,
    requester: String,
    status: String,
    opened: String,
    assigned: String,
}

#[derive(Template)]
#[template(path = "tracing_queue.html")]
struct QueuePage {
    c: Chrome,
    rows: Vec<QueueRow>,
    mine: bool,
    status: String,
    statuses: Vec<(&'static str, String)>,
}

#[derive(Deserialize)]
pub struct QueueQuery {
    status: Option<String>,
    /// "mine": only the cases assigned to the signed-in caseworker.
    #[serde(default)]
    show: Option<String>,
}

pub async fn queue(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Query(q): Query<QueueQuery>,
) -> Result<Html<String>, PageError> {
    let status = q.status.as_deref().and_then(CaseStatus::from_code);
    let mine = q.show.as_deref() == Some("mine");
    let wanted: Vec<CaseStatus> = match status {
        Some(s) => vec![s],
        None => CaseStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_active() || *s == CaseStatus::MatchConfirmed)
            .collect(),
    };
    let mut requests: Vec<TracingRequest> = Vec::new();
    for st in wanted {
        let page = s
            .store
            .tracing_requests(
                Some(st),
                caller.site_scope(),
                mine.then_some(caller.username.as_str()),
                Page::new(0, QUEUE_SHOWN),
            )
            .await?;
        requests.extend(page.items);
    }
    requests.sort_by_key(|r| (r.priority.code() != "urgent", r.created_at));
    let rows = requests
        .iter()
        .map(|r| QueueRow {
            id: r.id.to_string(),
            priority: t.code("priority", r.priority.code()),
            priority_code: r.priority.code(),
            sought: sought_name(&r.draft.sought),
            requester: r.draft.requester_name.clone(),
            status: t.code("status", r.status.code()),
            opened: t.date(r.created_at.date_naive()),
            assigned: assignee(&t, r),
        })
        .collect();
    render(&QueuePage {
        rows,
        mine,
        status: q.status.unwrap_or_default(),
        statuses: labelled(&t, "status", CaseStatus::ALL, CaseStatus::code),
        c: Chrome::new(t, Some(&caller), &uri),
    })
}

#[derive(Template)]
#[template(path = "tracing_new.html")]
struct NewRequestPage {
    c: Chrome,
    error: String,
}

pub async fn new_request(
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
) -> Result<Html<String>, PageError> {
    render(&NewRequestPage {
        c: Chrome::new(t, Some(&caller), &uri),
        error: String::new(),
    })
}

pub async fn open_request(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let get = |k: &str| crate::pages::form_value(&fields, k).unwrap_or_default();
    let mut sought = RawRegistration::default();
    for col in [
        "given_name",
        "father_name",
        "grandfather_name",
        "family_name",
        "sex",
        "age",
        "province_of_origin",
    ] {
        if let Some(slot) = sought.get_mut(col) {
            *slot = get(col);
        }
    }
    let draft = TracingRequestDraft {
        requester_name: get("requester_name"),
        requester_relationship: get("requester_relationship"),
        requester_contact: get("requester_contact"),
        site_code: None,
        sought,
        last_seen_place: get("last_seen_place"),
        last_seen_on: chrono::NaiveDate::parse_from_str(&get("last_seen_on"), "%Y-%m-%d").ok(),
        circumstances: get("circumstances"),
        distinguishing_details: get("distinguishing_details"),
        separated_child: !get("separated_child").is_empty(),
    };
    match crate::cases::open_case(&s, &caller, draft).await {
        Ok(case) => Ok(Redirect::to(&format!("/tracing/{}", case.request.id)).into_response()),
        Err(e @ ApiError::Refused(_)) => {
            let page = render(&NewRequestPage {
                error: e.worded(&t),
                c: Chrome::new(t, Some(&caller), &uri),
            })?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

struct CandidateView {
    record_id: String,
    percent: String,
    status: String,
    open: bool,
    /// Field, sought, registration, class, reason.
    fields: Vec<(String, String, String, &'static str, String)>,
}

#[derive(Template)]
#[template(path = "tracing_case.html")]
struct CasePage {
    c: Chrome,
    id: String,
    error: String,
    sought: String,
    status: String,
    priority: String,
    requester: String,
    last_seen: String,
    circumstances: String,
    candidates: Vec<CandidateView>,
    /// "7 registrations fit…; ask for the father's name", or empty.
    settle: String,
    decisions: Vec<(&'static str, String)>,
    confirmed: bool,
    steps_kinds: Vec<(&'static str, String)>,
    today: String,
    steps: Vec<String>,
    events: Vec<String>,
    assigned: String,
    /// Whether the case is the signed-in caseworker's own (then they may give it back).
    mine: bool,
}

/// Whose a case is: its caseworker, or the site's caseworkers.
fn assignee(t: &Tr, r: &TracingRequest) -> String {
    r.assigned_to
        .clone()
        .unwrap_or_else(|| t.get("assigned-to-site"))
}

/// A history entry in the reader's language.
fn event_text(t: &Tr, event: &CaseEventKind) -> String {
    use CaseEventKind as E;
    match event {
        E::RequestOpened => t.get("event-request-opened"),
        E::CandidateFound { record_id, score } => t.with_all(
            "event-candidate-found",
            &[
                ("record", record_id.to_string()),
                ("score", percent(t, *score)),
            ],
        ),
        E::CandidateDecided { record_id, status } => t.with_all(
            "event-candidate-decided",
            &[
                ("record", record_id.to_string()),
                ("status", t.code("candidate", status.code())),
            ],
        ),
        E::StatusChanged { from, to } => t.with_all(
            "event-status-changed",
            &[
                ("from", t.code("status", from.code())),
                ("to", t.code("status", to.code())),
            ],
        ),
        E::CounterpartFound { score, .. } => {
            t.with("event-counterpart-found", "score", percent(t, *score))
        }
        E::CounterpartAtAnotherSite => t.get("event-counterpart-at-another-site"),
        E::Assigned {
            caseworker: Some(name),
        } => t.with("event-assigned", "name", name),
        E::Assigned { caseworker: None } => t.get("event-shared"),
        E::StepRecorded { step, place, on } => t.with_all(
            "event-step-recorded",
            &[
                ("step", t.code("step", step.code())),
                ("place", place.clone()),
                ("on", t.date(*on)),
            ],
        ),
        // Written before events were typed, and not understood: shown as it was written.
        E::Noted { text } => text.clone(),
    }
}

async fn case_page(
    s: &AppState,
    caller: &Caller,
    t: Tr,
    uri: &Uri,
    id: TracingRequestId,
    error: String,
) -> Result<Response, PageError> {
    let case = crate::cases::case_in_scope(s, caller, id).await?;
    let disclosed =
        crate::auth::Disclosed::records(case.candidates.iter().map(|k| k.record_id.to_string()));
    let r = &case.request;
    let sought = &r.draft.sought;
    // The reasons come from the matcher, for the candidates it still ranks.
    let probe = crate::cases::probe(sought);
    crate::cases::use_registered_share(s).await?;
    let index = s.matching.clone();
    let (_, mut found) = tokio::task::spawn_blocking(move || {
        index.check(&[probe], 20, peywand_linkage::Sought::Relative)
    })
    .await
    .map_err(|_| ApiError::Internal)?;
    let explained = found.pop().unwrap_or_default();
    let mut candidates = Vec::new();
    for k in &case.candidates {
        let person = s.store.person_by_record(&k.record_id).await?;
        let registered = person.map(|p| p.raw).unwrap_or_default();
        let explanation = explained
            .iter()
            .find(|(c, _)| c.record_id == k.record_id)
            .map(|(_, e)| e);
        let mut fields = Vec::new();
        for (key, col) in [
            ("given-name", "given_name"),
            ("father-name", "father_name"),
            ("grandfather-name", "grandfather_name"),
            ("family-name", "family_name"),
            ("sex", "sex"),
            ("age", "age"),
            ("birth-date", "birth_date"),
            ("province-of-origin", "province_of_origin"),
        ] {
            let a = sought.get(col).unwrap_or_default().to_string();
            let b = registered.get(col).unwrap_or_default().to_string();
            if a.is_empty() && b.is_empty() {
                continue;
            }
            fields.push((t.get(key), a, b, "none", String::new()));
        }
        if let Some(e) = explanation {
            for f in e.fields.iter().filter(|f| f.level != "missing") {
                let (field, level, class) = reason(&t, f);
                fields.push((field, String::new(), String::new(), class, level));
            }
        }
        candidates.push(CandidateView {
            record_id: k.record_id.to_string(),
            percent: percent(&t, k.score),
            status: t.code("candidate", k.status.code()),
            open: !r.status.is_final()
                && matches!(
                    k.status,
                    CandidateStatus::Potential | CandidateStatus::Confirmed
                ),
            fields,
        });
    }
    let settle = match crate::cases::settle_of(s, sought).await? {
        Some(settle) if !r.status.is_final() => {
            let field = serde_json::to_value(settle.ask_for)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            t.with_all(
                "settle-ask",
                &[
                    ("count", t.digits(&settle.fitting.to_string())),
                    ("field", t.code("field", &field)),
                ],
            )
        }
        _ => String::new(),
    };
    let decisions = labelled(&t, "candidate", CandidateStatus::ALL, CandidateStatus::code)
        .into_iter()
        .filter(|(c, _)| *c != "potential")
        .collect();
    let steps = case
        .steps
        .iter()
        .map(|st| {
            format!(
                "{} · {} · {}{}",
                t.code("step", st.draft.step.code()),
                st.draft.place,
                t.date(st.draft.on),
                if st.draft.note.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", st.draft.note)
                }
            )
        })
        .collect();
    let events = case
        .events
        .iter()
        .map(|e| {
            format!(
                "{} · {} · {}{}",
                t.date(e.at.date_naive()),
                e.actor,
                event_text(&t, &e.event),
                if e.why.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", e.why)
                }
            )
        })
        .collect();
    render(&CasePage {
        id: r.id.to_string(),
        error,
        sought: sought_name(sought),
        status: t.code("status", r.status.code()),
        priority: t.code("priority", r.priority.code()),
        requester: [
            r.draft.requester_name.as_str(),
            r.draft.requester_relationship.as_str(),
            r.draft.requester_contact.as_str(),
        ]
        .iter()
        .filter(|v| !v.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" · "),
        last_seen: r.draft.last_seen_place.clone(),
        circumstances: r.draft.circumstances.clone(),
        candidates,
        settle,
        decisions,
        confirmed: r.status == CaseStatus::MatchConfirmed,
        steps_kinds: labelled(
            &t,
            "step",
            ReunificationStepKind::ALL,
            ReunificationStepKind::code,
        ),
        today: chrono::Utc::now().date_naive().to_string(),
        steps,
        events,
        assigned: assignee(&t, r),
        mine: r.assigned_to.as_deref() == Some(caller.username.as_str()),
        c: Chrome::new(t, Some(caller), uri),
    })
    .map(|page| disclosed.on(page))
}

pub async fn view_case(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = crate::error::request_in_path(&id)?;
    case_page(&s, &caller, t, &uri, id, String::new()).await
}

#[derive(Deserialize)]
pub struct DecisionForm {
    status: String,
    reason: String,
}

/// A store refusal (a conflict, a missing reason) shown on the case page; other errors as pages.
async fn after(
    s: &AppState,
    caller: &Caller,
    t: Tr,
    uri: &Uri,
    id: TracingRequestId,
    result: Result<(), ApiError>,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/tracing/{id}")).into_response()),
        Err(e @ (ApiError::Conflict(_) | ApiError::Refused(_) | ApiError::Invalid(_))) => {
            let page = case_page(s, caller, t, uri, id, e.worded(&t)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct AssignForm {
    /// "take" to take the case; anything else gives it back to the site's caseworkers.
    #[serde(default)]
    assign: String,
}

/// A caseworker takes a case, or gives it back to the site's caseworkers. Assigning it to
/// someone else is done through the API.
pub async fn assign(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<AssignForm>,
) -> Result<Response, PageError> {
    let id = crate::error::request_in_path(&id)?;
    crate::cases::case_in_scope(&s, &caller, id).await?;
    let who = (f.assign == "take").then_some(caller.username.as_str());
    let result = s
        .store
        .assign_case(id, who, &actor(&caller))
        .await
        .map(|_| ())
        .map_err(ApiError::from);
    after(&s, &caller, t, &uri, id, result).await
}

pub async fn decide(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Path((id, record_id)): Path<(String, String)>,
    Form(f): Form<DecisionForm>,
) -> Result<Response, PageError> {
    let id = crate::error::request_in_path(&id)?;
    crate::cases::case_in_scope(&s, &caller, id).await?;
    let result = async {
        let status =
            CandidateStatus::from_code(&f.status).ok_or(ApiError::Refused(Refusal::NoDecision))?;
        let reason = f.reason.trim();
        if reason.is_empty() || reason.chars().count() > RawRegistration::MAX_FIELD_CHARS {
            return Err(ApiError::Refused(Refusal::NoReason));
        }
        s.store
            .decide_candidate(
                id,
                &crate::error::record_in_path(&record_id)?,
                status,
                &actor(&caller),
                reason,
            )
            .await?;
        Ok(())
    }
    .await;
    after(&s, &caller, t, &uri, id, result).await
}

#[derive(Deserialize)]
pub struct StepForm {
    step: String,
    place: String,
    on: String,
    #[serde(default)]
    note: String,
}

pub async fn step(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<StepForm>,
) -> Result<Response, PageError> {
    let id = crate::error::request_in_path(&id)?;
    crate::cases::case_in_scope(&s, &caller, id).await?;
    let result = async {
        let step =
            ReunificationStepKind::from_code(&f.step).ok_or(ApiError::Refused(Refusal::NoStep))?;
        let on = chrono::NaiveDate::parse_from_str(f.on.trim(), "%Y-%m-%d")
            .ok()
            .filter(|d| *d <= chrono::Utc::now().date_naive())
            .ok_or(ApiError::Refused(Refusal::BadStepDate))?;
        let draft = ReunificationStepDraft {
            step,
            place: f
                .place
                .trim()
                .chars()
                .take(RawRegistration::MAX_FIELD_CHARS)
                .collect(),
            on,
            note: f
                .note
                .trim()
                .chars()
                .take(RawRegistration::MAX_FIELD_CHARS)
                .collect(),
        };
        if draft.place.is_empty() {
            return Err(ApiError::Refused(Refusal::NoStepPlace));
        }
        s.store
            .record_reunification_step(id, &draft, &actor(&caller))
            .await?;
        Ok(())
    }
    .await;
    after(&s, &caller, t, &uri, id, result).await
}
