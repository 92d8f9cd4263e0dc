//! Assistance through the API: programmes an information manager sets, distributions a
//! distribution officer records, overrides a supervisor gives with a reason, and what a
//! household is entitled to and received, across sites through its identities.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use peywand_access::audit::AuditEvent;
use peywand_domain::{HouseholdId, RawRegistration};
use peywand_store::assistance::{self, AssistanceKind};
use peywand_store::{
    Distribution, DistributionDraft, DoubledDistribution, Plan, Programme, ProgrammeDraft,
    StockLine, StockReceipt,
};

use crate::AppState;
use crate::api::{actor, json};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::refusal::Refusal;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/assistance/programmes",
            post(create_programme).get(list_programmes),
        )
        .route(
            "/assistance/distributions",
            post(distribute).get(list_distributions),
        )
        .route("/assistance/overrides", post(override_rule))
        .route("/households/{id}/assistance", get(household_assistance))
        .route("/assistance/plans", axum::routing::put(set_plan))
        .route("/assistance/doubled", get(doubled))
        .route("/assistance/stock", post(receive_stock).get(stock))
}

/// The site a caller speaks for: a site-bound caller's own (naming another is refused), else
/// the one named, which must be given.
fn site_of(caller: &Caller, named: &str) -> Result<String, ApiError> {
    let named = named.trim();
    match caller.site_scope() {
        Some(own) if !named.is_empty() && named != own => Err(ApiError::Forbidden(format!(
            "you work at {own}: stock at another site ({named}) is that site's to record"
        ))),
        Some(own) => Ok(own.to_string()),
        None if named.is_empty() => Err(ApiError::Invalid("name the site (site_code)".into())),
        None if named.chars().count() > 64 => {
            Err(ApiError::Refused(Refusal::CodeTooLong { max: 64 }))
        }
        None => Ok(named.to_string()),
    }
}

/// Distributions given within the filter, oldest first (a site-bound caller's own site).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DistributionQuery {
    /// Site code, e.g. torkham.
    #[serde(default)]
    pub site: Option<String>,
    /// Given on or after (YYYY-MM-DD).
    #[serde(default)]
    pub from: Option<String>,
    /// Given on or before (YYYY-MM-DD).
    #[serde(default)]
    pub to: Option<String>,
}

/// A day named in a query: YYYY-MM-DD, or refused.
pub(crate) fn query_day(value: Option<&str>, what: &str) -> Result<Option<NaiveDate>, ApiError> {
    value
        .map(|v| {
            NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
                .map_err(|_| ApiError::Invalid(format!("{what} must be a day as YYYY-MM-DD")))
        })
        .transpose()
}

/// Distributions as recorded, for reconciling with partners: a distribution officer reads
/// their own site's, an information manager any site's.
#[utoipa::path(get, path = "/api/v1/assistance/distributions", params(DistributionQuery), responses((status = 200, body = Vec<Distribution>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_distributions(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<DistributionQuery>, QueryRejection>,
) -> Result<Json<Vec<Distribution>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let named = q.site.as_deref().unwrap_or("").trim();
    let site = match caller.site_scope() {
        Some(own) if !named.is_empty() && named != own => {
            return Err(ApiError::Forbidden(format!(
                "you work at {own}: the distributions of another site ({named}) are that site's"
            )));
        }
        Some(own) => Some(own.to_string()),
        None => Some(named.to_string()).filter(|n| !n.is_empty()),
    };
    let filter = peywand_store::DistributionFilter {
        site_code: site,
        from: query_day(q.from.as_deref(), "from")?,
        to: query_day(q.to.as_deref(), "to")?,
    };
    let found = s.store.distributions(&filter).await?;
    Ok(Json(found.into_iter().map(|(d, _)| d).collect()))
}

/// Distributions two registries made to one family before they synced, each with the one it
/// doubles: both records, where, when and by whom (information manager).
#[utoipa::path(get, path = "/api/v1/assistance/doubled", responses((status = 200, body = Vec<DoubledDistribution>), (status = 403, body = ErrorBody)))]
async fn doubled(State(s): State<AppState>) -> Result<Json<Vec<DoubledDistribution>>, ApiError> {
    Ok(Json(s.store.doubled_distributions().await?))
}

/// Sets how many units of a programme a site plans to give (information manager); the
/// site's last plan is replaced.
#[utoipa::path(put, path = "/api/v1/assistance/plans", request_body = Plan, responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_plan(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    payload: Result<Json<Plan>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let mut plan = json(payload)?;
    plan.site_code = site_of(&caller, &plan.site_code)?;
    s.store.set_plan(&plan, &actor(&caller)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Records stock received at a site: a distribution officer at their own site, an
/// information manager at any.
#[utoipa::path(post, path = "/api/v1/assistance/stock", request_body = StockReceipt, responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn receive_stock(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    payload: Result<Json<StockReceipt>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let mut receipt = json(payload)?;
    receipt.site_code = site_of(&caller, &receipt.site_code)?;
    if receipt.quantity < 1 {
        return Err(ApiError::Refused(Refusal::QuantityBelowOne));
    }
    if receipt.received_on > chrono::Utc::now().date_naive() {
        return Err(ApiError::Refused(Refusal::GivenInFuture));
    }
    s.store.receive_stock(&receipt, &actor(&caller)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Per programme and site: planned, received, distributed (a site-bound caller sees their
/// own site).
#[utoipa::path(get, path = "/api/v1/assistance/stock", responses((status = 200, body = Vec<StockLine>), (status = 403, body = ErrorBody)))]
async fn stock(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<StockLine>>, ApiError> {
    let mut lines = s.store.stock().await?;
    if let Some(own) = caller.site_scope() {
        lines.retain(|l| l.site_code == own);
    }
    Ok(Json(lines))
}

/// Sets a programme: a kind of assistance, a season and a rule (information manager).
#[utoipa::path(post, path = "/api/v1/assistance/programmes", request_body = ProgrammeDraft, responses((status = 201, body = Programme), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_programme(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    payload: Result<Json<ProgrammeDraft>, JsonRejection>,
) -> Result<(StatusCode, Json<Programme>), ApiError> {
    let mut draft = json(payload)?;
    draft.name = draft.name.trim().to_string();
    if draft.name.chars().count() > RawRegistration::MAX_FIELD_CHARS {
        return Err(ApiError::Refused(Refusal::FieldTooLong {
            field: "name",
            max: RawRegistration::MAX_FIELD_CHARS,
        }));
    }
    draft
        .validate()
        .map_err(|e| ApiError::Invalid(e.to_string()))?;
    let programme = s.store.create_programme(&draft, &actor(&caller)).await?;
    Ok((StatusCode::CREATED, Json(programme)))
}

/// Every programme, newest season first.
#[utoipa::path(get, path = "/api/v1/assistance/programmes", responses((status = 200, body = Vec<Programme>), (status = 403, body = ErrorBody)))]
async fn list_programmes(State(s): State<AppState>) -> Result<Json<Vec<Programme>>, ApiError> {
    Ok(Json(s.store.programmes().await?))
}

/// A distribution as handed over at the point.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DistributionRequest {
    /// The household's id, as its card's QR code gives it.
    pub household_id: String,
    pub kind: AssistanceKind,
    pub quantity: i64,
    /// The day it was handed over; today when left out.
    #[serde(default)]
    pub given_on: Option<NaiveDate>,
    /// Who took it: `head` (the default) or a named member.
    #[serde(default)]
    pub received_by: Option<String>,
    /// Where it was given, for a caller not bound to a site; a distribution officer gives at
    /// their own site.
    #[serde(default)]
    pub site_code: Option<String>,
    /// Overrides only (`/assistance/overrides`): why the rule is set aside.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Records a distribution after checking the programme's rule against what the family
/// received, at any site, through its members' identities.
#[utoipa::path(post, path = "/api/v1/assistance/distributions", request_body = DistributionRequest, responses((status = 201, body = Distribution), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn distribute(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    payload: Result<Json<DistributionRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Distribution>), ApiError> {
    let request = json(payload)?;
    if request.reason.is_some() {
        return Err(ApiError::Forbidden(
            "setting the rule aside is an override: an information manager gives it, with a reason, at /api/v1/assistance/overrides".into(),
        ));
    }
    let given = give(&s, &caller, request, None).await?;
    Ok((StatusCode::CREATED, Json(given)))
}

/// Records what a request hands over: an ordinary distribution, or with `override_reason` an
/// override, audited with its reason. The one way distributions are recorded, from the API and
/// from the distribution page alike.
pub(crate) async fn give(
    s: &AppState,
    caller: &Caller,
    request: DistributionRequest,
    override_reason: Option<String>,
) -> Result<Distribution, ApiError> {
    let draft = draft_of(caller, request, override_reason.clone())?;
    let who = actor(caller);
    let given = s.store.record_distribution(&draft, &who).await?;
    if let Some(reason) = override_reason {
        let event = AuditEvent::now(
            &caller.username,
            "override_distribution",
            &format!("/api/v1/households/{}/assistance", draft.household),
        )
        .purpose(&reason)
        .outcome(&format!(
            "given despite the rule: {} x{} (distribution {})",
            draft.kind.code(),
            draft.quantity,
            given.id
        ));
        s.store.append_audit(&event).await?;
    }
    Ok(given)
}

/// Gives what the rule refuses, with a reason (information manager); audited with the reason.
#[utoipa::path(post, path = "/api/v1/assistance/overrides", request_body = DistributionRequest, responses((status = 201, body = Distribution), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn override_rule(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    payload: Result<Json<DistributionRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Distribution>), ApiError> {
    let mut request = json(payload)?;
    let reason = request
        .reason
        .take()
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .ok_or(ApiError::Refused(Refusal::NoReason))?;
    let given = give(&s, &caller, request, Some(reason)).await?;
    Ok((StatusCode::CREATED, Json(given)))
}

/// The distribution a request asks for, or why it is refused before anything is read.
fn draft_of(
    caller: &Caller,
    request: DistributionRequest,
    override_reason: Option<String>,
) -> Result<DistributionDraft, ApiError> {
    let household = household_in_path(&request.household_id)?;
    if request.quantity < 1 {
        return Err(ApiError::Refused(Refusal::QuantityBelowOne));
    }
    let today = chrono::Utc::now().date_naive();
    let given_on = request.given_on.unwrap_or(today);
    if given_on > today {
        return Err(ApiError::Refused(Refusal::GivenInFuture));
    }
    let received_by = request
        .received_by
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "head".to_string());
    let max = RawRegistration::MAX_FIELD_CHARS;
    let long = [
        ("received_by", Some(&received_by)),
        ("reason", override_reason.as_ref()),
    ]
    .into_iter()
    .find(|(_, v)| v.is_some_and(|v| v.chars().count() > max));
    if let Some((field, _)) = long {
        return Err(ApiError::Refused(Refusal::FieldTooLong { field, max }));
    }
    // A family may receive at any site it reaches: the household need not be registered at
    // the officer's site, but the distribution is recorded where it was given.
    let site_code = match caller.site_scope() {
        Some(own) => Some(own.to_string()),
        None => request.site_code.filter(|c| !c.trim().is_empty()),
    };
    if site_code.as_ref().is_some_and(|c| c.chars().count() > 64) {
        return Err(ApiError::Refused(Refusal::CodeTooLong { max: 64 }));
    }
    Ok(DistributionDraft {
        household,
        kind: request.kind,
        quantity: u32::try_from(request.quantity).unwrap_or(u32::MAX),
        given_on,
        received_by,
        site_code,
        override_reason,
    })
}

/// A household named in a request; text that cannot be one names nothing.
pub(crate) fn household_in_path(id: &str) -> Result<HouseholdId, ApiError> {
    id.trim()
        .parse()
        .map_err(|_| ApiError::NotFound(format!("household {id:?}")))
}

/// What a household may receive today under one programme.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntitlementToday {
    pub programme: Programme,
    /// Whether the rule lets the household receive it today.
    pub entitled: bool,
    /// Why not, naming where, when and by whom it was given.
    pub refused: Option<String>,
    /// The same refusal, typed, for a page to word in its reader's language.
    #[serde(skip)]
    pub conflict: Option<peywand_store::Conflict>,
}

/// What a household is entitled to and what it, or the same family registered elsewhere,
/// already received.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HouseholdAssistance {
    pub household_id: HouseholdId,
    pub members: usize,
    /// The programmes whose season covers today.
    pub entitlements: Vec<EntitlementToday>,
    /// Every distribution to the family, oldest first.
    pub received: Vec<Distribution>,
}

/// What a household is entitled to today and what the family received, at any site.
#[utoipa::path(get, path = "/api/v1/households/{id}/assistance", params(("id" = String, Path, description = "household id")), responses((status = 200, body = HouseholdAssistance), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn household_assistance(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<HouseholdAssistance>, ApiError> {
    let household = household_in_path(&id)?;
    Ok(Json(assistance_of(&s, household).await?.1))
}

/// A household as registered, with what it is entitled to today and what the family received.
pub(crate) async fn assistance_of(
    s: &AppState,
    household: HouseholdId,
) -> Result<(peywand_store::HouseholdRecord, HouseholdAssistance), ApiError> {
    let record = s
        .store
        .household(household)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("household {household}")))?;
    let received = s.store.household_distributions(household).await?;
    let today = chrono::Utc::now().date_naive();
    let members = record.members.len();
    let entitlements = s
        .store
        .programmes()
        .await?
        .into_iter()
        .filter(|p| p.draft.season_from <= today && today <= p.draft.season_to)
        .map(|programme| {
            let verdict = assistance::entitled(&programme, &record, &received, 1, today);
            EntitlementToday {
                programme,
                entitled: verdict.is_ok(),
                refused: verdict.as_ref().err().map(|c| c.to_string()),
                conflict: verdict.err(),
            }
        })
        .collect();
    Ok((
        record,
        HouseholdAssistance {
            household_id: household,
            members,
            entitlements,
            received,
        },
    ))
}
