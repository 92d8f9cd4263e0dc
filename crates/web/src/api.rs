//! The JSON API, `/api/v1`. Every route is declared once, with its OpenAPI description.

use std::collections::BTreeMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use peywand_domain::{
    HouseholdId, MatchRecord, Person, PersonId, RawRegistration, RecordId, RecordIdError, Sex,
    Site, household_key,
};
use peywand_linkage::{Explanation, LinkageError, Settings};
use peywand_store::{Actor, HouseholdDraft, HouseholdRecord, Page, PersonFilter};

use crate::AppState;
use crate::auth::{self, Caller, Disclosed};
use crate::error::{ApiError, ErrorBody};
use crate::matching::{IndexError, IndexStatus};
use crate::other_sites::{self, RegisteredElsewhere, Screened, Seen};
use crate::refusal::Refusal;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Peywand API",
        description = "Registration, identity matching and family tracing for people returning across the border."
    ),
    paths(
        health,
        sites,
        create_household,
        get_household,
        update_household,
        list_persons,
        get_person,
        check_duplicates,
        explain_pair,
        sign_in,
        whoami,
        sign_out,
        audit_log,
        crate::cases::open_request,
        crate::cases::list_requests,
        crate::cases::view_case,
        crate::cases::what_would_settle,
        crate::cases::decide_candidate,
        crate::cases::move_case,
        crate::cases::record_step,
        crate::cases::assign_case,
        crate::cases::import_pfif,
        crate::cases::export_pfif,
        crate::cases::death_reports,
        crate::cases::verify_death_report,
        crate::cases::links_across_sites,
        crate::cases::get_registered_share,
        crate::cases::put_registered_share,
        crate::assistance::create_programme,
        crate::assistance::list_programmes,
        crate::assistance::distribute,
        crate::assistance::override_rule,
        crate::assistance::household_assistance,
        crate::assistance::list_distributions,
        crate::assistance::doubled,
        crate::assistance::set_plan,
        crate::assistance::receive_stock,
        crate::assistance::stock,
        crate::targeting::get_weights,
        crate::targeting::put_weights,
        crate::targeting::get_ranking,
        crate::targeting::post_list,
        crate::targeting::get_list,
        crate::sync_routes::enrol,
        crate::sync_routes::heads
    ),
    components(schemas(Health, PersonPage, ErrorBody, HouseholdRegistered, DuplicateReport))
)]
pub struct ApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .route("/sites", get(sites))
        .route("/households", axum::routing::post(create_household))
        .route("/households/{id}", get(get_household).put(update_household))
        .route("/persons", get(list_persons))
        .route("/persons/{id}", get(get_person))
        .route("/matching/check", axum::routing::post(check_duplicates))
        .route("/matching/explain", get(explain_pair))
        .route(
            "/session",
            axum::routing::post(sign_in).get(whoami).delete(sign_out),
        )
        .route("/audit", get(audit_log))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

/// Whether the server is up.
#[utoipa::path(get, path = "/api/v1/health", responses((status = 200, body = Health)))]
async fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// The registration sites.
#[utoipa::path(get, path = "/api/v1/sites", responses((status = 200, body = Vec<Site>), (status = 500, body = ErrorBody)))]
async fn sites(State(s): State<AppState>) -> Result<Json<Vec<Site>>, ApiError> {
    Ok(Json(s.store.sites().await?))
}

pub(crate) fn actor(caller: &Caller) -> Actor {
    Actor {
        username: caller.username.clone(),
        at: chrono::Utc::now(),
    }
}

/// A site-bound caller registers at their own site: the household and every member. A draft
/// naming another site is refused rather than silently moved.
pub(crate) fn confine_to_site(caller: &Caller, draft: &mut HouseholdDraft) -> Result<(), ApiError> {
    let Some(own) = caller.site_scope() else {
        return Ok(());
    };
    let at_own = |site: &str| {
        site.trim().is_empty()
            || site == own
            || peywand_names::place::Gazetteer::get()
                .site(site)
                .is_some_and(|p| p.code == own)
    };
    let named = draft
        .site_code
        .iter()
        .map(String::as_str)
        .chain(draft.members.iter().map(|m| m.raw.site.as_str()));
    for site in named {
        if !at_own(site) {
            return Err(ApiError::Forbidden(format!(
                "you register at {own}: this household names another site ({site})"
            )));
        }
    }
    draft.site_code = Some(own.to_string());
    for m in &mut draft.members {
        m.raw.site = own.to_string();
    }
    Ok(())
}

/// A site-bound user's members get their record ids from the server: they may keep the ids of
/// the household's own members (`members`), never choose one, which could take an id that a
/// later import of another site's file needs.
fn ids_from_the_server(
    caller: &Caller,
    draft: &HouseholdDraft,
    members: &[&str],
) -> Result<(), ApiError> {
    if caller.site_scope().is_none() {
        return Ok(());
    }
    match draft
        .members
        .iter()
        .map(|m| m.raw.record_id.trim())
        .find(|id| !id.is_empty() && !members.contains(id))
    {
        Some(id) => Err(ApiError::Forbidden(format!(
            "record id {id:?} is not a member of this household: leave record_id empty and the server gives the new member one"
        ))),
        None => Ok(()),
    }
}

/// A site-bound caller may only see and change their own site's registrations.
pub(crate) fn check_site(caller: &Caller, site: Option<&str>) -> Result<(), ApiError> {
    match caller.site_scope() {
        Some(own) if site != Some(own) => Err(ApiError::Forbidden(format!(
            "you work at {own}: this registration belongs to another site"
        ))),
        _ => Ok(()),
    }
}

/// The most members one household registration may list.
const MAX_MEMBERS: usize = 40;

/// The most characters of a site or place code.
const MAX_CODE_CHARS: usize = 64;

/// Checks a household as submitted, in words a registrar understands.
pub(crate) fn validate(draft: &HouseholdDraft) -> Result<(), ApiError> {
    refusal(draft).map_or(Ok(()), |r| Err(ApiError::Refused(r)))
}

fn refusal(draft: &HouseholdDraft) -> Option<Refusal> {
    if draft.members.is_empty() {
        return Some(Refusal::NoMembers);
    }
    if draft.members.len() > MAX_MEMBERS {
        return Some(Refusal::TooManyMembers { max: MAX_MEMBERS });
    }
    for (i, m) in draft.members.iter().enumerate() {
        let member = i + 1;
        if !m.raw.has_name() {
            return Some(Refusal::MemberWithoutName { member });
        }
        // An empty record id is given one when saved.
        if let Err(RecordIdError::TooLong { max }) = RecordId::parse(&m.raw.record_id) {
            return Some(Refusal::MemberFieldTooLong {
                member,
                field: "record_id",
                max,
            });
        }
        for (field, value) in RawRegistration::COLUMNS.iter().zip(m.raw.values()) {
            if value.chars().count() > RawRegistration::MAX_FIELD_CHARS {
                return Some(Refusal::MemberFieldTooLong {
                    member,
                    field,
                    max: RawRegistration::MAX_FIELD_CHARS,
                });
            }
        }
    }
    let codes = [
        &draft.site_code,
        &draft.destination_province,
        &draft.destination_district,
    ];
    codes
        .into_iter()
        .flatten()
        .any(|v| v.chars().count() > MAX_CODE_CHARS)
        .then_some(Refusal::CodeTooLong {
            max: MAX_CODE_CHARS,
        })
}

pub(crate) fn json<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    payload.map(|Json(v)| v).map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::BadJson(e.body_text())
        }
    })
}

/// The page a query asks for, refusing numbers no listing could reach.
pub(crate) fn page_of(offset: Option<u64>, limit: Option<u64>) -> Result<Page, ApiError> {
    const MAX: u64 = 1_000_000_000;
    let (offset, limit) = (offset.unwrap_or(0), limit.unwrap_or(50));
    if offset > MAX || limit == 0 || limit > MAX {
        return Err(ApiError::Invalid(
            "offset must be 0 to 1,000,000,000 and limit 1 to 500".into(),
        ));
    }
    Ok(Page::new(offset, limit))
}

pub(crate) fn household_id(id: &str) -> Result<HouseholdId, ApiError> {
    id.parse()
        .map_err(|_| ApiError::NotFound(format!("household {id:?}")))
}

/// A household just registered, with the people it may already have registered elsewhere.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HouseholdRegistered {
    #[serde(flatten)]
    pub record: HouseholdRecord,
    /// One entry per member, in the members' order.
    pub possible_duplicates: Vec<MemberDuplicates>,
    pub matching: IndexStatus,
}

/// Registers a household with its members, and finds each member's likely earlier
/// registrations at once.
#[utoipa::path(post, path = "/api/v1/households", request_body = HouseholdDraft, responses((status = 201, body = HouseholdRegistered), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_household(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    payload: Result<Json<HouseholdDraft>, JsonRejection>,
) -> Result<Response, ApiError> {
    let mut draft = json(payload)?;
    validate(&draft)?;
    confine_to_site(&caller, &mut draft)?;
    ids_from_the_server(&caller, &draft, &[])?;
    let record = s.store.create_household(&draft, &actor(&caller)).await?;
    tracing::info!(household = %record.household.id, members = record.members.len(), "household registered");
    let records: Vec<MatchRecord> = record
        .members
        .iter()
        .map(MatchRecord::from_person)
        .collect();
    let index = s.matching.clone();
    let (matching, found) = tokio::task::spawn_blocking(move || {
        // Checked before adding: the new members are not each other's duplicates.
        let found = index.check_household(&records, DUPLICATES_SHOWN);
        index.add(&records);
        found
    })
    .await
    .map_err(|_| ApiError::Internal)?;
    crate::cases::rematch_in_background(&s, &record.members);
    let screened = other_sites::screen(&s, &caller, found).await?;
    let shown = Disclosed::records(
        record
            .members
            .iter()
            .map(|m| m.record_id.to_string())
            .chain(screened.records_shown()),
    );
    let possible_duplicates = MemberDuplicates::all(
        record.members.iter().map(|m| m.record_id.to_string()),
        screened,
    );
    Ok(shown.on((
        StatusCode::CREATED,
        Json(HouseholdRegistered {
            record,
            possible_duplicates,
            matching,
        }),
    )))
}

/// A household and its members.
#[utoipa::path(get, path = "/api/v1/households/{id}", params(("id" = String, Path, description = "household id")), responses((status = 200, body = HouseholdRecord), (status = 404, body = ErrorBody)))]
async fn get_household(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record = household_in_scope(&s, &caller, &id).await?;
    let shown = Disclosed::records(record.members.iter().map(|m| m.record_id.to_string()));
    Ok(shown.on(Json(record)))
}

/// A household by its id, if the caller's site may see it: another site's household is "not
/// found".
pub(crate) async fn household_in_scope(
    s: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<HouseholdRecord, ApiError> {
    let record = s
        .store
        .household(household_id(id)?)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("household {id}")))?;
    check_site(caller, record.household.site_code.as_deref())?;
    Ok(record)
}

/// Replaces a household's details and members; members keep their ids by record id.
#[utoipa::path(put, path = "/api/v1/households/{id}", params(("id" = String, Path, description = "household id")), request_body = HouseholdDraft, responses((status = 200, body = HouseholdRecord), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_household(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    payload: Result<Json<HouseholdDraft>, JsonRejection>,
) -> Result<Json<HouseholdRecord>, ApiError> {
    let hid = household_id(&id)?;
    let mut draft = json(payload)?;
    validate(&draft)?;
    if caller.site_scope().is_some() {
        let current = household_in_scope(&s, &caller, &id).await?;
        let members: Vec<&str> = current
            .members
            .iter()
            .map(|m| m.record_id.as_str())
            .collect();
        ids_from_the_server(&caller, &draft, &members)?;
    }
    confine_to_site(&caller, &mut draft)?;
    let record = s
        .store
        .update_household(hid, &draft, &actor(&caller))
        .await?;
    s.matching.add_persons(&record.members).await;
    crate::cases::rematch_in_background(&s, &record.members);
    Ok(Json(record))
}

/// Filters and paging for the person list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PersonQuery {
    /// Site code, e.g. torkham.
    pub site: Option<String>,
    /// male or female.
    pub sex: Option<String>,
    /// Province p-code, e.g. AF06.
    pub province: Option<String>,
    /// Part of a given, father's or family name, in any script.
    pub name: Option<String>,
    /// Registered on or after (YYYY-MM-DD).
    pub from: Option<String>,
    /// Registered on or before (YYYY-MM-DD).
    pub to: Option<String>,
    /// How many results to skip.
    #[param(minimum = 0, maximum = 1_000_000_000)]
    pub offset: Option<u64>,
    /// How many results, 1 to 500 (more are cut to 500).
    #[param(minimum = 1, maximum = 1_000_000_000)]
    pub limit: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PersonPage {
    pub items: Vec<Person>,
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
}

pub(crate) fn filter_from(q: &PersonQuery) -> Result<PersonFilter, ApiError> {
    let date = |s: &Option<String>, what: &str| -> Result<Option<NaiveDate>, ApiError> {
        s.as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| {
                NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map_err(|_| ApiError::Invalid(format!("{what} must be a date as YYYY-MM-DD")))
            })
            .transpose()
    };
    let sex = match q.sex.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(
            Sex::from_code(v)
                .ok_or_else(|| ApiError::Invalid("sex must be male or female".into()))?,
        ),
    };
    let nonempty = |s: &Option<String>| s.clone().filter(|v| !v.trim().is_empty());
    Ok(PersonFilter {
        site_code: nonempty(&q.site),
        sex,
        province_code: nonempty(&q.province),
        name: nonempty(&q.name),
        registered_from: date(&q.from, "from")?,
        registered_to: date(&q.to, "to")?,
    })
}

/// Registrations, newest first, with filters.
#[utoipa::path(get, path = "/api/v1/persons", params(PersonQuery), responses((status = 200, body = PersonPage), (status = 422, body = ErrorBody)))]
async fn list_persons(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<PersonQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let mut filter = filter_from(&q)?;
    if let Some(own) = caller.site_scope() {
        filter.site_code = Some(own.to_string());
    }
    let page = s
        .store
        .persons(&filter, page_of(q.offset, q.limit)?)
        .await?;
    let shown = Disclosed::records(page.items.iter().map(|p| p.record_id.to_string()));
    Ok(shown.on(Json(PersonPage {
        items: page.items,
        total: page.total,
        offset: page.offset,
        limit: page.limit,
    })))
}

/// One registration record.
#[utoipa::path(get, path = "/api/v1/persons/{id}", params(("id" = String, Path, description = "person id")), responses((status = 200, body = Person), (status = 404, body = ErrorBody)))]
async fn get_person(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let pid: PersonId = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("person {id:?}")))?;
    let person = s
        .store
        .person(pid)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("person {id}")))?;
    check_site(&caller, person.derived.site_code.as_deref())?;
    Ok(Disclosed::records([person.record_id.to_string()]).on(Json(person)))
}

/// How many likely duplicates are shown for one person.
const DUPLICATES_SHOWN: usize = 5;

/// Registrations that may be the same person as one member, best first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MemberDuplicates {
    /// The member's record id (empty for a member not yet saved).
    pub record_id: String,
    pub candidates: Vec<PossibleDuplicate>,
    /// Other sites' registrations were left out of this answer: the user has made as many
    /// checks naming other sites as an hour allows.
    pub other_sites_withheld: bool,
}

/// A registration that may be the same person. A user bound to one site is told of another
/// site's registration only where and when it was made, whether it is likely, and why in
/// words (`elsewhere`); its id, probability and field-by-field explanation are left out.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PossibleDuplicate {
    /// The registration's record id; none for another site's registration shown to a
    /// site-bound user.
    pub record_id: Option<String>,
    /// The estimated probability that this is the same person.
    pub probability: Option<f64>,
    /// Whether the probability reaches the link threshold: "probably the same person" rather
    /// than "worth a look".
    pub likely: bool,
    /// Each field's part in the score: the reasons to show beside the warning.
    pub explanation: Option<Explanation>,
    /// Where and when another site's registration was made, and why it resembles.
    pub elsewhere: Option<RegisteredElsewhere>,
}

impl MemberDuplicates {
    fn new(record_id: &str, seen: Vec<Seen>, other_sites_withheld: bool) -> MemberDuplicates {
        let likely = Settings::default().link_threshold;
        MemberDuplicates {
            record_id: record_id.to_string(),
            candidates: seen
                .into_iter()
                .map(|seen| match seen {
                    Seen::Whole(c, explanation) => PossibleDuplicate {
                        likely: c.probability >= likely,
                        record_id: Some(c.record_id),
                        probability: Some(c.probability),
                        explanation: Some(explanation),
                        elsewhere: None,
                    },
                    Seen::Elsewhere {
                        likely, elsewhere, ..
                    } => PossibleDuplicate {
                        likely,
                        record_id: None,
                        probability: None,
                        explanation: None,
                        elsewhere: Some(elsewhere),
                    },
                })
                .collect(),
            other_sites_withheld,
        }
    }

    /// One per member, from a screened check.
    fn all(record_ids: impl Iterator<Item = String>, screened: Screened) -> Vec<MemberDuplicates> {
        let withheld = screened.withheld;
        record_ids
            .zip(screened.members)
            .map(|(id, seen)| MemberDuplicates::new(&id, seen, withheld))
            .collect()
    }
}

/// People typed at a desk, before or after saving, to check against the registry.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct DuplicateCheck {
    /// The household being edited, whose own members are not duplicates of each other.
    pub household_id: Option<String>,
    pub members: Vec<RawRegistration>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DuplicateReport {
    pub matching: IndexStatus,
    /// One entry per member checked, in order.
    pub members: Vec<MemberDuplicates>,
}

/// Whether people being registered are already in the registry, with the reasons. Answers
/// with no candidates (and the index's status) while the index is still loading.
#[utoipa::path(post, path = "/api/v1/matching/check", request_body = DuplicateCheck, responses((status = 200, body = DuplicateReport), (status = 422, body = ErrorBody)))]
async fn check_duplicates(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    payload: Result<Json<DuplicateCheck>, JsonRejection>,
) -> Result<Response, ApiError> {
    let check = json(payload)?;
    if check.members.is_empty() || check.members.len() > MAX_MEMBERS {
        return Err(ApiError::Invalid(format!(
            "give between 1 and {MAX_MEMBERS} people to check"
        )));
    }
    let household =
        match check.household_id.as_deref().filter(|h| !h.is_empty()) {
            Some(h) => household_key(h.parse::<HouseholdId>().map_err(|_| {
                ApiError::Invalid(format!("household_id {h:?} is not a household id"))
            })?),
            None => String::new(),
        };
    let mut probes = Vec::with_capacity(check.members.len());
    for (i, raw) in check.members.iter().enumerate() {
        for (column, value) in RawRegistration::COLUMNS.iter().zip(raw.values()) {
            if value.chars().count() > RawRegistration::MAX_FIELD_CHARS {
                return Err(ApiError::Invalid(format!(
                    "person {}: {column} is longer than {} characters",
                    i + 1,
                    RawRegistration::MAX_FIELD_CHARS
                )));
            }
        }
        let (derived, _) = raw.derive();
        probes.push(MatchRecord::from_registration(
            raw.record_id.trim(),
            &household,
            raw,
            &derived,
        ));
    }
    let index = s.matching.clone();
    let (matching, found) =
        tokio::task::spawn_blocking(move || index.check_household(&probes, DUPLICATES_SHOWN))
            .await
            .map_err(|_| ApiError::Internal)?;
    let screened = other_sites::screen(&s, &caller, found).await?;
    let shown = Disclosed {
        query: asked(&check.members),
        records: screened.records_shown(),
    };
    let members = MemberDuplicates::all(
        check.members.iter().map(|r| r.record_id.trim().to_string()),
        screened,
    );
    Ok(shown.on(Json(DuplicateReport { matching, members })))
}

/// What a check asked, for the audit log: each person's fields that were filled in.
pub(crate) fn asked(people: &[RawRegistration]) -> String {
    let people: Vec<BTreeMap<&str, &str>> = people
        .iter()
        .map(|raw| {
            RawRegistration::COLUMNS
                .iter()
                .copied()
                .zip(raw.values())
                .filter(|(_, v)| !v.trim().is_empty())
                .collect()
        })
        .collect();
    serde_json::to_string(&people).unwrap_or_default()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PairQuery {
    /// Record id of the first registration.
    pub a: String,
    /// Record id of the second registration.
    pub b: String,
}

/// Each field's part in the match weight of two registrations, and the probability that they
/// are one person.
#[utoipa::path(get, path = "/api/v1/matching/explain", params(PairQuery), responses((status = 200, body = Explanation), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn explain_pair(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<PairQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let status = s.matching.status();
    if status != IndexStatus::Ready {
        return Err(ApiError::Unavailable(
            IndexError::NotReady(status).to_string(),
        ));
    }
    // Both must still be registered (an erased person leaves the index here), and a
    // site-bound user compares field by field only their own site's registrations.
    for id in [&q.a, &q.b] {
        let person = match RecordId::parse(id) {
            Ok(record) => s.store.person_by_record(&record).await?,
            Err(_) => None,
        };
        let Some(person) = person else {
            s.matching.remove(std::slice::from_ref(id));
            return Err(ApiError::NotFound(format!("record {id}")));
        };
        if caller.site_scope().is_some() {
            check_site(&caller, person.derived.site_code.as_deref()).map_err(|_| {
                ApiError::Forbidden(format!(
                    "{id} was registered at another site: its fields are compared only by an information manager"
                ))
            })?;
        }
    }
    let shown = Disclosed::records([q.a.clone(), q.b.clone()]);
    let index = s.matching.clone();
    tokio::task::spawn_blocking(move || index.explain(&q.a, &q.b))
        .await
        .map_err(|_| ApiError::Internal)?
        .map(|e| shown.on(Json(e)))
        .map_err(|e| match e {
            IndexError::Linkage(LinkageError::UnknownRecord(r)) => {
                ApiError::NotFound(format!("record {r}"))
            }
            other => ApiError::Unavailable(other.to_string()),
        })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// The signed-in user, and the CSRF token a browser script sends in `X-CSRF-Token` with every
/// change.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    pub username: String,
    pub role: peywand_access::Role,
    pub site_code: Option<String>,
    pub csrf_token: Option<String>,
}

impl From<&Caller> for SessionInfo {
    fn from(c: &Caller) -> Self {
        SessionInfo {
            username: c.username.clone(),
            role: c.role,
            site_code: c.site_code.clone(),
            csrf_token: c.csrf.clone(),
        }
    }
}

/// Signs in: sets the session cookie (HttpOnly, Secure, SameSite=Strict). Five failures with
/// one username from one address make that address wait before trying that username again,
/// longer at each further failure; many failures from one address block it for 15 minutes.
/// Refused (403) when a browser says it was posted from another site, or the account is
/// disabled. Bodies over 16 KiB are refused (413).
#[utoipa::path(post, path = "/api/v1/session", request_body = Credentials, responses((status = 200, body = SessionInfo), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn sign_in(
    State(s): State<AppState>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let from = auth::origin(request.extensions());
    auth::sign_in_from_here(&s, request.headers(), &from).await?;
    let bytes = axum::body::to_bytes(request.into_body(), auth::SIGN_IN_BODY_BYTES)
        .await
        .map_err(|_| ApiError::TooLarge)?;
    let c: Credentials =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::BadJson(e.to_string()))?;
    let signed = auth::sign_in(&s, &c.username, &c.password, &from).await?;
    Ok((
        [(header::SET_COOKIE, signed.cookie)],
        Json(SessionInfo::from(&signed.caller)),
    )
        .into_response())
}

/// Who is signed in.
#[utoipa::path(get, path = "/api/v1/session", responses((status = 200, body = SessionInfo), (status = 401, body = ErrorBody)))]
async fn whoami(Extension(caller): Extension<Caller>) -> Json<SessionInfo> {
    Json(SessionInfo::from(&caller))
}

/// Signs out: the session ends on the server and the cookie is cleared.
#[utoipa::path(delete, path = "/api/v1/session", responses((status = 204), (status = 401, body = ErrorBody)))]
async fn sign_out(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let cleared = auth::sign_out(&s, &headers).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cleared)]).into_response())
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// The path or record acted on.
    pub target: Option<String>,
    /// A registration's record id: every entry whose answer showed it (a view, a search, a
    /// duplicate check), with what was asked. Who looked at this person, and how they found
    /// them.
    pub record: Option<String>,
    /// From this time (RFC 3339).
    pub from: Option<String>,
    /// Up to this time (RFC 3339).
    pub to: Option<String>,
    /// How many results to skip.
    #[param(minimum = 0, maximum = 1_000_000_000)]
    pub offset: Option<u64>,
    /// How many results, 1 to 500 (more are cut to 500).
    #[param(minimum = 1, maximum = 1_000_000_000)]
    pub limit: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub items: Vec<peywand_access::audit::AuditEntry>,
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
}

/// The audit log, newest first, for auditors.
#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery), responses((status = 200, body = AuditPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn audit_log(
    State(s): State<AppState>,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let time = |v: &Option<String>, what: &str| {
        v.as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| {
                chrono::DateTime::parse_from_rfc3339(v)
                    .map(|t| t.with_timezone(&chrono::Utc))
                    .map_err(|_| ApiError::Invalid(format!("{what} must be a time as RFC 3339")))
            })
            .transpose()
    };
    let nonempty = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    let filter = peywand_store::AuditFilter {
        actor: nonempty(&q.actor),
        action: nonempty(&q.action),
        target: nonempty(&q.target),
        record_shown: nonempty(&q.record),
        from: time(&q.from, "from")?,
        to: time(&q.to, "to")?,
    };
    let page = s
        .store
        .audit_entries(&filter, page_of(q.offset, q.limit)?)
        .await?;
    Ok(Json(AuditPage {
        items: page.items,
        total: page.total,
        offset: page.offset,
        limit: page.limit,
    }))
}
