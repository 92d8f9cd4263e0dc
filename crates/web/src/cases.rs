//! Tracing requests through the API: a relative's request is matched against every
//! registration at once and again as new registrations arrive; caseworkers decide.

use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};

use peywand_domain::{
    CandidateStatus, CaseStatus, MatchRecord, Person, RawRegistration, RecordId,
    ReunificationStepDraft, TracingRequest, TracingRequestDraft, TracingRequestId,
};
use peywand_interchange::pfif;
use peywand_store::{Actor, DeathReport, PfifImported, RegisteredShare, TracingCase};

use crate::AppState;
use crate::api::{actor, json, page_of};
use crate::auth::{Caller, Disclosed};
use crate::error::{ApiError, ErrorBody, record_in_path, request_in_path};
use crate::refusal::Refusal;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tracing/requests", post(open_request).get(list_requests))
        .route("/tracing/requests/{id}", get(view_case))
        .route(
            "/tracing/requests/{id}/what-would-settle",
            get(what_would_settle),
        )
        .route(
            "/tracing/requests/{id}/candidates/{record_id}",
            post(decide_candidate),
        )
        .route("/tracing/requests/{id}/status", post(move_case))
        .route("/tracing/requests/{id}/steps", post(record_step))
        .route("/tracing/requests/{id}/assignee", post(assign_case))
        .route(
            "/tracing/requests/{id}/death-reports",
            get(death_reports).post(verify_death_report),
        )
        .route("/pfif", post(import_pfif).get(export_pfif))
        .route("/tracing/links-across-sites", get(links_across_sites))
        .route(
            "/tracing/registered-share",
            get(get_registered_share).put(put_registered_share),
        )
}

/// The share of people sought who registered at all, for tracing's probabilities: what an
/// information manager set, what the cases that ended taught, and the share in use.
#[utoipa::path(get, path = "/api/v1/tracing/registered-share", responses((status = 200, body = RegisteredShare)))]
async fn get_registered_share(
    State(s): State<AppState>,
) -> Result<Json<RegisteredShare>, ApiError> {
    Ok(Json(s.store.registered_share().await?))
}

/// The share to set, from 0.01 to 0.99.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct SetRegisteredShare {
    pub share: f64,
}

/// Sets the share of people sought who registered (information manager): every tracing
/// request's candidates are weighed against it from now on, as the cases that end teach it.
#[utoipa::path(put, path = "/api/v1/tracing/registered-share", request_body = SetRegisteredShare, responses((status = 200, body = RegisteredShare), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_registered_share(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    payload: Result<Json<SetRegisteredShare>, JsonRejection>,
) -> Result<Json<RegisteredShare>, ApiError> {
    let wanted = json(payload)?;
    Ok(Json(set_registered_share(&s, &caller, wanted.share).await?))
}

/// Sets the share, or says it is out of bounds, and brings the matcher up to date.
pub(crate) async fn set_registered_share(
    s: &AppState,
    caller: &Caller,
    share: f64,
) -> Result<RegisteredShare, ApiError> {
    peywand_store::valid_registered_share(share)
        .map_err(|_| ApiError::Refused(Refusal::BadRegisteredShare))?;
    let set = s.store.set_registered_share(share, &actor(caller)).await?;
    s.matching.set_registered_share(set.in_use);
    Ok(set)
}

/// Brings the matcher's prior for tracing up to date before it weighs a request: the share
/// set, as the cases that ended since have taught it.
pub(crate) async fn use_registered_share(s: &AppState) -> Result<(), ApiError> {
    let share = s.store.registered_share().await?;
    s.matching.set_registered_share(share.in_use);
    Ok(())
}

/// Requests taken at two different sites that seek each other's requesters: relatives looking
/// for each other from two crossing points. Each site's caseworkers are told only that another
/// site has such a request; an information manager brings the two sites together.
#[utoipa::path(get, path = "/api/v1/tracing/links-across-sites", responses((status = 200, body = Vec<peywand_store::LinkAcrossSites>), (status = 403, body = ErrorBody)))]
async fn links_across_sites(
    State(s): State<AppState>,
) -> Result<Json<Vec<peywand_store::LinkAcrossSites>>, ApiError> {
    Ok(Json(s.store.links_across_sites().await?))
}

/// Candidates kept for one request.
const CANDIDATES_KEPT: usize = 10;

/// A case the caller may work on: a caseworker sees the cases of their own site, and those of
/// no site (received in PFIF without one), which every site shares; the registrations matched
/// to them come from every site. Another site's case is "not found", which does not tell
/// whether it exists.
pub(crate) async fn case_in_scope(
    s: &AppState,
    caller: &Caller,
    id: TracingRequestId,
) -> Result<TracingCase, ApiError> {
    let case = s
        .store
        .tracing_case(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("tracing request {id}")))?;
    match caller.site_scope() {
        Some(own)
            if case
                .request
                .draft
                .site_code
                .as_deref()
                .is_some_and(|site| site != own) =>
        {
            Err(ApiError::NotFound(format!("tracing request {id}")))
        }
        _ => seen_by(s, caller, case).await,
    }
}

/// A case as `caller` may see it. A caseworker bound to a site is told of a linked request at
/// another site only that it exists ("another site has a request that may concern the same
/// family; an information manager has been told"): not its id, which would let them write
/// into that case's history or learn of it. Information managers see the link itself
/// (`links_across_sites`).
pub(crate) async fn seen_by(
    s: &AppState,
    caller: &Caller,
    mut case: TracingCase,
) -> Result<TracingCase, ApiError> {
    let Some(own) = caller.site_scope() else {
        return Ok(case);
    };
    let mut elsewhere = Vec::new();
    for link in &case.counterparts {
        let site = s
            .store
            .tracing_case(link.request_id)
            .await?
            .and_then(|other| other.request.draft.site_code);
        if site.is_some_and(|site| site != own) {
            elsewhere.push(link.request_id);
        }
    }
    case.counterparts
        .retain(|link| !elsewhere.contains(&link.request_id));
    for e in &mut case.events {
        if let peywand_domain::CaseEventKind::CounterpartFound { request_id, .. } = &e.event
            && elsewhere.contains(request_id)
        {
            e.event = peywand_domain::CaseEventKind::CounterpartAtAnotherSite;
        }
    }
    Ok(case)
}

/// The person sought, in the form the matcher reads.
pub(crate) fn probe(sought: &RawRegistration) -> MatchRecord {
    // An age is the age today.
    probe_on(sought, chrono::Utc::now().date_naive())
}

/// [`probe`] for a request taken on `on`: an age is the age then.
pub(crate) fn probe_on(sought: &RawRegistration, on: chrono::NaiveDate) -> MatchRecord {
    let mut raw = sought.clone();
    if raw.registered_on.trim().is_empty() {
        raw.registered_on = on.to_string();
    }
    let (derived, _) = raw.derive();
    MatchRecord::from_registration("", "", &raw, &derived)
}

/// Searches the registry for each request and offers what it finds. Used when a request is
/// opened and, in the background, when registrations arrive.
pub(crate) async fn match_requests(
    s: &AppState,
    requests: Vec<TracingRequest>,
    who: &Actor,
) -> Result<(), ApiError> {
    let probes: Vec<MatchRecord> = requests.iter().map(|r| probe(&r.draft.sought)).collect();
    use_registered_share(s).await?;
    let index = s.matching.clone();
    let (_, found) = tokio::task::spawn_blocking(move || {
        index.check(&probes, CANDIDATES_KEPT, peywand_linkage::Sought::Relative)
    })
    .await
    .map_err(|_| ApiError::Internal)?;
    for (request, candidates) in requests.iter().zip(found) {
        let offered = offerable(
            candidates
                .into_iter()
                .map(|(c, _)| (c.record_id, c.probability)),
        );
        if !offered.is_empty() {
            s.store.offer_candidates(request.id, &offered, who).await?;
        }
    }
    Ok(())
}

/// Candidates as the store takes them. The index holds only stored record ids, which are valid.
fn offerable(found: impl Iterator<Item = (String, f64)>) -> Vec<(RecordId, f64)> {
    found
        .filter_map(|(record, p)| Some((RecordId::parse(&record).ok()?, p)))
        .collect()
}

/// Registrations saved since open requests were last matched, and whether a pass is running:
/// one pass at a time, however fast the desks save.
#[derive(Default)]
pub(crate) struct Rematch {
    running: AtomicBool,
    saved: std::sync::Mutex<Vec<String>>,
}

impl Rematch {
    fn take(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .saved
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// Sets newly saved registrations against every active request, without making the desk
/// wait. Only the new registrations are scored, so a pass costs requests × new records
/// comparisons, not a search of the registry per request.
pub(crate) fn rematch_in_background(s: &AppState, saved: &[Person]) {
    s.rematch
        .saved
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .extend(saved.iter().map(|p| p.record_id.as_str().to_string()));
    start_rematch(s);
}

/// Starts a matching pass unless one is running; the running one takes what is waiting.
fn start_rematch(s: &AppState) {
    if s.rematch.running.swap(true, Ordering::SeqCst) {
        return;
    }
    let s = s.clone();
    tokio::spawn(async move {
        loop {
            let saved = s.rematch.take();
            if saved.is_empty() {
                break;
            }
            rematch_once(&s, saved).await;
        }
        s.rematch.running.store(false, Ordering::SeqCst);
        // Saved between the last look and the flag's release: start another pass.
        let waiting = !s
            .rematch
            .saved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_empty();
        if waiting {
            start_rematch(&s);
        }
    });
}

async fn rematch_once(s: &AppState, saved: Vec<String>) {
    let who = Actor {
        username: "matching".into(),
        at: chrono::Utc::now(),
    };
    let active = match active_requests(s).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "reading open tracing requests failed");
            return;
        }
    };
    if active.is_empty() {
        return;
    }
    let probes: Vec<MatchRecord> = active.iter().map(|r| probe(&r.draft.sought)).collect();
    if let Err(e) = use_registered_share(s).await {
        tracing::error!(error = %e, "reading the share of people sought who registered failed");
        return;
    }
    let index = s.matching.clone();
    let Ok(found) = tokio::task::spawn_blocking(move || index.score_against(&probes, &saved)).await
    else {
        tracing::error!("matching tracing requests stopped");
        return;
    };
    for (request, candidates) in active.iter().zip(found) {
        let offered = offerable(candidates.into_iter().map(|c| (c.record_id, c.probability)));
        if offered.is_empty() {
            continue;
        }
        if let Err(e) = s.store.offer_candidates(request.id, &offered, &who).await {
            tracing::error!(error = %e, "offering candidates failed");
        }
    }
}

/// How well a requester's name, as typed, names the person another request seeks: their given
/// name and, when the requester said it, their father's name.
fn names_the_sought(requester_name: &str, sought: &RawRegistration) -> f64 {
    let sim = |a: &str, b: &str| {
        f64::from(peywand_names::similarity(
            &peywand_names::normalize(a),
            &peywand_names::normalize(b),
        ))
    };
    match peywand_names::name::split_patronymic(requester_name) {
        Some((given, father)) if !sought.father_name.trim().is_empty() => {
            sim(&given, &sought.given_name).min(sim(&father, &sought.father_name))
        }
        Some((given, _)) => sim(&given, &sought.given_name),
        None => sim(requester_name, &sought.given_name).max(sim(
            requester_name,
            &format!("{} {}", sought.given_name, sought.father_name),
        )),
    }
}

/// Two names agree this well, both ways, for two requests to be relatives looking for each
/// other.
const COUNTERPART_AGREEMENT: f64 = 0.85;

/// Finds the active requests whose requester this request seeks and who seek this request's
/// requester: two relatives looking for each other.
async fn link_counterparts(
    s: &AppState,
    new: &[TracingRequest],
    who: &Actor,
) -> Result<(), ApiError> {
    let asking: Vec<&TracingRequest> = new
        .iter()
        .filter(|r| !r.draft.requester_name.trim().is_empty())
        .collect();
    if asking.is_empty() {
        return Ok(());
    }
    // Read once for all the new requests: an import opens hundreds at a time.
    let active = active_requests(s).await?;
    for request in asking {
        for other in &active {
            if other.id == request.id || other.draft.requester_name.trim().is_empty() {
                continue;
            }
            let score = names_the_sought(&other.draft.requester_name, &request.draft.sought).min(
                names_the_sought(&request.draft.requester_name, &other.draft.sought),
            );
            if score >= COUNTERPART_AGREEMENT {
                s.store
                    .link_requests(request.id, other.id, score, who)
                    .await?;
            }
        }
    }
    Ok(())
}

/// Matches every active request once the index has loaded: requests opened while it loaded,
/// or imported while the server was stopped, meet the whole registry.
pub(crate) fn match_waiting_requests_once_ready(s: &AppState) {
    let s = s.clone();
    tokio::spawn(async move {
        loop {
            match s.matching.status() {
                crate::IndexStatus::Ready => break,
                crate::IndexStatus::Loading => {
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
                crate::IndexStatus::NoModel | crate::IndexStatus::Failed => return,
            }
        }
        let who = Actor {
            username: "matching".into(),
            at: chrono::Utc::now(),
        };
        let result = async {
            let waiting = active_requests(&s).await?;
            for chunk in waiting.chunks(100) {
                match_requests(&s, chunk.to_vec(), &who).await?;
            }
            Ok::<_, ApiError>(waiting.len())
        };
        match result.await {
            Ok(n) => tracing::info!(requests = n, "waiting tracing requests matched"),
            Err(e) => tracing::error!(error = %e, "matching waiting tracing requests failed"),
        }
    });
}

/// Every request still looking for someone (open, or with candidates waiting).
async fn active_requests(s: &AppState) -> Result<Vec<TracingRequest>, peywand_store::StoreError> {
    let mut active = Vec::new();
    for status in [CaseStatus::Open, CaseStatus::CandidatesFound] {
        let mut offset = 0;
        loop {
            let page = s
                .store
                .tracing_requests(
                    Some(status),
                    None,
                    None,
                    peywand_store::Page::new(offset, 500),
                )
                .await?;
            let n = page.items.len() as u64;
            active.extend(page.items);
            offset += n;
            if n == 0 || offset >= page.total {
                break;
            }
        }
    }
    Ok(active)
}

/// The free-text fields of a tracing request, by their form names.
pub(crate) const TRACING_TEXTS: &[&str] = &[
    "requester_name",
    "requester_relationship",
    "requester_contact",
    "last_seen_place",
    "circumstances",
    "distinguishing_details",
];

fn validate(draft: &TracingRequestDraft) -> Result<(), ApiError> {
    if !draft.sought.has_name() {
        return Err(ApiError::Refused(Refusal::SoughtWithoutName));
    }
    let texts = [
        &draft.requester_name,
        &draft.requester_relationship,
        &draft.requester_contact,
        &draft.last_seen_place,
        &draft.circumstances,
        &draft.distinguishing_details,
    ];
    let long = TRACING_TEXTS
        .iter()
        .zip(texts.map(String::as_str))
        .chain(RawRegistration::COLUMNS.iter().zip(draft.sought.values()))
        .find(|(_, v)| v.chars().count() > RawRegistration::MAX_FIELD_CHARS);
    match long {
        Some((field, _)) => Err(ApiError::Refused(Refusal::FieldTooLong {
            field,
            max: RawRegistration::MAX_FIELD_CHARS,
        })),
        None => Ok(()),
    }
}

/// Opens a tracing request and searches every registration for the person sought at once.
#[utoipa::path(post, path = "/api/v1/tracing/requests", request_body = TracingRequestDraft, responses((status = 201, body = TracingCase), (status = 422, body = ErrorBody)))]
async fn open_request(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    payload: Result<Json<TracingRequestDraft>, JsonRejection>,
) -> Result<(StatusCode, Json<TracingCase>), ApiError> {
    let draft = json(payload)?;
    let case = open_case(&s, &caller, draft).await?;
    Ok((StatusCode::CREATED, Json(case)))
}

/// Opens a request at the caller's site, links it to requests that seek its requester, and
/// searches every registration for the person sought.
pub(crate) async fn open_case(
    s: &AppState,
    caller: &Caller,
    mut draft: TracingRequestDraft,
) -> Result<TracingCase, ApiError> {
    validate(&draft)?;
    if let Some(own) = caller.site_scope() {
        draft.site_code = Some(own.to_string());
    }
    let who = actor(caller);
    let request = s.store.create_tracing_request(&draft, &who).await?;
    let id = request.id;
    link_counterparts(s, std::slice::from_ref(&request), &who).await?;
    match_requests(s, vec![request], &who).await?;
    let case = s.store.tracing_case(id).await?.ok_or(ApiError::Internal)?;
    seen_by(s, caller, case).await
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// open, candidates_found, match_confirmed, reunified or closed_without_result.
    pub status: Option<String>,
    /// Only the cases assigned to this caseworker (a username).
    #[param(max_length = 200)]
    pub assigned_to: Option<String>,
    #[param(minimum = 0, maximum = 1_000_000_000)]
    pub offset: Option<u64>,
    #[param(minimum = 1, maximum = 1_000_000_000)]
    pub limit: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RequestPage {
    pub items: Vec<TracingRequest>,
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
}

/// The caseworkers' queue: urgent requests (separated children) first, then oldest first.
#[utoipa::path(get, path = "/api/v1/tracing/requests", params(CaseQuery), responses((status = 200, body = RequestPage), (status = 422, body = ErrorBody)))]
async fn list_requests(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<CaseQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RequestPage>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let status = match q.status.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(
            CaseStatus::from_code(v)
                .ok_or_else(|| ApiError::Invalid(format!("{v:?} is not a case status")))?,
        ),
    };
    if q.assigned_to
        .as_ref()
        .is_some_and(|a| a.chars().count() > 200)
    {
        return Err(ApiError::Invalid(
            "assigned_to is a username of at most 200 characters".into(),
        ));
    }
    let page = s
        .store
        .tracing_requests(
            status,
            caller.site_scope(),
            q.assigned_to.as_deref().filter(|a| !a.is_empty()),
            page_of(q.offset, q.limit)?,
        )
        .await?;
    Ok(Json(RequestPage {
        items: page.items,
        total: page.total,
        offset: page.offset,
        limit: page.limit,
    }))
}

/// A case: the request, its candidates with their status, and its history.
#[utoipa::path(get, path = "/api/v1/tracing/requests/{id}", params(("id" = String, Path, description = "tracing request id")), responses((status = 200, body = TracingCase), (status = 404, body = ErrorBody)))]
async fn view_case(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let uuid = request_in_path(&id)?;
    let case = case_in_scope(&s, &caller, uuid).await?;
    let shown = Disclosed::records(case.candidates.iter().map(|k| k.record_id.to_string()));
    Ok(shown.on(Json(case)))
}

/// What would settle a case that several registrations fit about equally.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WhatWouldSettle {
    /// None when one registration stands out, or nothing the request lacks tells them apart.
    pub settle: Option<peywand_linkage::Settle>,
}

/// For a case that several registrations fit about equally: how many fit, and the detail to
/// ask the family for (the father's name, the province...) that would tell them apart. Names
/// no registration.
#[utoipa::path(get, path = "/api/v1/tracing/requests/{id}/what-would-settle", params(("id" = String, Path, description = "tracing request id")), responses((status = 200, body = WhatWouldSettle), (status = 404, body = ErrorBody)))]
async fn what_would_settle(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<WhatWouldSettle>, ApiError> {
    let uuid = request_in_path(&id)?;
    let case = case_in_scope(&s, &caller, uuid).await?;
    Ok(Json(WhatWouldSettle {
        settle: settle_of(&s, &case.request.draft.sought).await?,
    }))
}

/// [`what_would_settle`] for a request's person sought.
pub(crate) async fn settle_of(
    s: &AppState,
    sought: &RawRegistration,
) -> Result<Option<peywand_linkage::Settle>, ApiError> {
    let probe = probe(sought);
    use_registered_share(s).await?;
    let index = s.matching.clone();
    tokio::task::spawn_blocking(move || index.what_would_settle(&probe))
        .await
        .map_err(|_| ApiError::Internal)
}

/// A decision with its reason.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CandidateDecision {
    pub status: CandidateStatus,
    pub reason: String,
}

/// Confirms or rejects a candidate, or records a reunion; a rejected candidate is never
/// offered again for this request.
#[utoipa::path(post, path = "/api/v1/tracing/requests/{id}/candidates/{record_id}", params(("id" = String, Path, description = "tracing request id"), ("record_id" = String, Path, description = "the candidate's record id")), request_body = CandidateDecision, responses((status = 200, body = TracingCase), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn decide_candidate(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, record_id)): Path<(String, String)>,
    payload: Result<Json<CandidateDecision>, JsonRejection>,
) -> Result<Json<TracingCase>, ApiError> {
    let uuid = request_in_path(&id)?;
    case_in_scope(&s, &caller, uuid).await?;
    let d = json(payload)?;
    let reason = reason(&d.reason)?;
    let case = s
        .store
        .decide_candidate(
            uuid,
            &record_in_path(&record_id)?,
            d.status,
            &actor(&caller),
            reason,
        )
        .await?;
    Ok(Json(seen_by(&s, &caller, case).await?))
}

/// A move of the whole case, with its reason.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CaseMove {
    pub status: CaseStatus,
    pub reason: String,
}

/// Moves a case: closes it without result, or reopens it.
#[utoipa::path(post, path = "/api/v1/tracing/requests/{id}/status", params(("id" = String, Path, description = "tracing request id")), request_body = CaseMove, responses((status = 200, body = TracingCase), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn move_case(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    payload: Result<Json<CaseMove>, JsonRejection>,
) -> Result<Json<TracingCase>, ApiError> {
    let uuid = request_in_path(&id)?;
    case_in_scope(&s, &caller, uuid).await?;
    let m = json(payload)?;
    let reason = reason(&m.reason)?;
    let case = s
        .store
        .move_case(uuid, m.status, &actor(&caller), reason)
        .await?;
    Ok(Json(seen_by(&s, &caller, case).await?))
}

/// Records a reunification step (family contacted, verified, reunified) on a case whose match
/// is confirmed; `reunified` closes the case as reunified.
#[utoipa::path(post, path = "/api/v1/tracing/requests/{id}/steps", params(("id" = String, Path, description = "tracing request id")), request_body = ReunificationStepDraft, responses((status = 200, body = TracingCase), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn record_step(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    payload: Result<Json<ReunificationStepDraft>, JsonRejection>,
) -> Result<Json<TracingCase>, ApiError> {
    let uuid = request_in_path(&id)?;
    case_in_scope(&s, &caller, uuid).await?;
    let mut step = json(payload)?;
    step.place = step.place.trim().to_string();
    step.note = step.note.trim().to_string();
    if step.place.is_empty() {
        return Err(ApiError::Refused(Refusal::NoStepPlace));
    }
    if [&step.place, &step.note]
        .iter()
        .any(|t| t.chars().count() > RawRegistration::MAX_FIELD_CHARS)
    {
        return Err(ApiError::Invalid(format!(
            "place and note may be at most {} characters",
            RawRegistration::MAX_FIELD_CHARS
        )));
    }
    let today = chrono::Utc::now().date_naive();
    if step.on > today {
        return Err(ApiError::Invalid("the step's date is in the future".into()));
    }
    let case = s
        .store
        .record_reunification_step(uuid, &step, &actor(&caller))
        .await?;
    Ok(Json(seen_by(&s, &caller, case).await?))
}

/// Who a case is assigned to: a caseworker's username, or none to give it back to the site's
/// caseworkers.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    pub caseworker: Option<String>,
}

/// Assigns a case to one caseworker (new candidates then wait in that caseworker's queue), or
/// gives it back to the site's caseworkers. The caseworker must be a caseworker account of the
/// case's site.
#[utoipa::path(post, path = "/api/v1/tracing/requests/{id}/assignee", params(("id" = String, Path, description = "tracing request id")), request_body = Assignment, responses((status = 200, body = TracingCase), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn assign_case(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    payload: Result<Json<Assignment>, JsonRejection>,
) -> Result<Json<TracingCase>, ApiError> {
    let uuid = request_in_path(&id)?;
    let case = case_in_scope(&s, &caller, uuid).await?;
    let assignment = json(payload)?;
    let caseworker = assignment
        .caseworker
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if let Some(name) = caseworker {
        let account = s.store.user(name).await?;
        let fits = account.is_some_and(|a| {
            a.role == peywand_access::Role::Caseworker
                && (case.request.draft.site_code.is_none()
                    || a.site_code.is_none()
                    || a.site_code == case.request.draft.site_code)
        });
        if !fits {
            return Err(ApiError::Invalid(format!(
                "{name:?} is not a caseworker of this case's site"
            )));
        }
    }
    let case = s
        .store
        .assign_case(uuid, caseworker, &actor(&caller))
        .await?;
    Ok(Json(seen_by(&s, &caller, case).await?))
}

/// Imports a PFIF 1.4 document (person records with their notes): each person not held yet
/// becomes a tracing request at the caller's site and is matched at once. The document is
/// refused whole, with every problem listed, if any part of it is invalid.
#[utoipa::path(post, path = "/api/v1/pfif", request_body(content = String, content_type = "application/xml"), responses((status = 201, body = PfifImported), (status = 403, description = "only caseworkers import tracing requests", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn import_pfif(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<PfifImported>), ApiError> {
    let document = tokio::task::spawn_blocking(move || pfif::read(&body))
        .await
        .map_err(|_| ApiError::Internal)?
        .map_err(|e| {
            let listed: Vec<String> = e
                .problems
                .iter()
                .take(20)
                .map(ToString::to_string)
                .collect();
            ApiError::Invalid(format!(
                "the PFIF document was refused ({e}): {}",
                listed.join("; ")
            ))
        })?;
    if document.persons.len() > MAX_API_PFIF_PERSONS {
        return Err(ApiError::Invalid(format!(
            "the document has {} persons; import at most {MAX_API_PFIF_PERSONS} at a time here, \
             or larger files with `peywand pfif import`",
            document.persons.len()
        )));
    }
    // A program's token writes only what its partner may; a caseworker signed in, with the
    // file in hand, writes every domain but reports no death (a caseworker verifies those).
    let partner = match bearer_token(&headers) {
        Some(token) => Some(
            s.store
                .pfif_partner(&peywand_access::Secret::digest_of(token))
                .await?
                .unwrap_or_default(),
        ),
        None => None,
    };
    let sender = match &partner {
        Some(p) => pfif::Sender::Partner(p),
        None => pfif::Sender::Staff {
            may_report_death: false,
        },
    };
    let (document, refused) = document.admitted(sender);
    let who = actor(&caller);
    let document = document.received(who.at);
    let site = caller.site_scope().map(str::to_string);
    let persons: Vec<_> = document
        .persons
        .iter()
        .map(|p| (p.clone(), pfif::tracing_request(p, site.clone())))
        .collect();
    let imported = match s
        .store
        .import_pfif(&persons, &document.notes, site.as_deref(), &who)
        .await
    {
        Err(peywand_store::StoreError::NotFound(what)) => {
            return Err(ApiError::Invalid(format!(
                "the PFIF document was refused: {what}"
            )));
        }
        other => other?,
    };
    let imported = PfifImported {
        persons_outside_domains: refused.persons_outside_domains,
        notes_outside_domains: refused.notes_outside_domains,
        death_reports_refused: refused.death_reports,
        ..imported
    };
    let mut opened = Vec::new();
    for id in &imported.new_requests {
        if let Some(case) = s.store.tracing_case(*id).await? {
            opened.push(case.request);
        }
    }
    // The import is committed: a failure to link or match now is logged, not answered as a
    // failed import (the requests are matched again when the server next starts).
    if let Err(e) = link_counterparts(&s, &opened, &who).await {
        tracing::error!(error = %e, "linking imported requests failed");
    }
    // In chunks: the desks' duplicate checks share the index and must not wait long.
    for chunk in opened.chunks(100) {
        if let Err(e) = match_requests(&s, chunk.to_vec(), &who).await {
            tracing::error!(error = %e, "matching imported requests failed");
        }
    }
    Ok((StatusCode::CREATED, Json(imported)))
}

/// The bearer token a program sent, if any (the caller is already authenticated by it).
fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The death reports about the person a case was imported from (PFIF notes saying
/// `believed_dead`), and whether a caseworker has verified each.
#[utoipa::path(get, path = "/api/v1/tracing/requests/{id}/death-reports", params(("id" = String, Path, description = "tracing request id")), responses((status = 200, body = [DeathReport]), (status = 404, body = ErrorBody)))]
async fn death_reports(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Vec<DeathReport>>, ApiError> {
    let id = request_in_path(&id)?;
    let case = case_in_scope(&s, &caller, id).await?;
    Ok(Json(s.store.death_reports(case.request.id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct VerifyDeathReport {
    /// The PFIF note saying the person is believed dead.
    pub note_record_id: String,
}

/// A caseworker verifies a death report: only then does it leave in a PFIF export.
#[utoipa::path(post, path = "/api/v1/tracing/requests/{id}/death-reports", params(("id" = String, Path, description = "tracing request id")), request_body = VerifyDeathReport, responses((status = 200, body = DeathReport), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn verify_death_report(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Result<Json<VerifyDeathReport>, JsonRejection>,
) -> Result<Json<DeathReport>, ApiError> {
    let id = request_in_path(&id)?;
    let body = json(body)?;
    let case = case_in_scope(&s, &caller, id).await?;
    Ok(Json(
        s.store
            .verify_death_report(case.request.id, &body.note_record_id, &actor(&caller))
            .await?,
    ))
}

/// Persons one PFIF document may hold when imported through the API; each becomes a request
/// matched at once while desks work.
const MAX_API_PFIF_PERSONS: usize = 500;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PfifExportQuery {
    /// Why these personal data leave the registry (kept in the audit log).
    pub reason: String,
    /// The domain in this registry's PFIF record ids (`domain/person.…`).
    pub domain: Option<String>,
}

/// Exports every tracing case as PFIF 1.4: imported records as received, requests taken at a
/// desk as new records, each with notes for the case's milestones.
#[utoipa::path(get, path = "/api/v1/pfif", params(PfifExportQuery), responses((status = 200, body = String, content_type = "application/xml"), (status = 403, description = "only information managers export personal data", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_pfif(
    State(s): State<AppState>,
    query: Result<Query<PfifExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<([(axum::http::HeaderName, &'static str); 2], String), ApiError> {
    let Query(q) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    if q.reason.trim().chars().count() < 5 {
        return Err(ApiError::Invalid(
            "say why these personal data are exported (reason, at least 5 characters)".into(),
        ));
    }
    let domain = match q.domain.as_deref().map(str::trim) {
        None | Some("") => pfif::DEFAULT_DOMAIN.to_string(),
        Some(d) if pfif::is_domain(d) => d.to_string(),
        Some(_) => {
            return Err(ApiError::Invalid(
                "domain must be a domain name such as tracing.example.org".into(),
            ));
        }
    };
    let cases = s.store.pfif_cases().await?;
    let persons: Vec<_> = cases
        .iter()
        .map(|(case, imported)| {
            pfif::case_record(&case.request, &case.events, imported.as_ref(), &domain)
        })
        .collect();
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/xml; charset=utf-8",
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"peywand-pfif.xml\"",
            ),
        ],
        pfif::write(&persons),
    ))
}

fn reason(text: &str) -> Result<&str, ApiError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > RawRegistration::MAX_FIELD_CHARS {
        return Err(ApiError::Invalid(
            "give the reason for the decision (up to 1,000 characters)".into(),
        ));
    }
    Ok(text)
}
