//! Targeting through the API: the weights an information manager sets, the households still
//! waiting for a programme at a site ranked most vulnerable first with each score explained,
//! and the lists printed, each kept with the weights it was ranked by. The ranking functions
//! here take no request and answer no response, so that the pages use them too.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use peywand_store::targeting::{self, Ranked};
use peywand_store::{DistributionList, Weights, WeightsRecord};

use crate::AppState;
use crate::api::{actor, json};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assistance/weights", get(get_weights).put(put_weights))
        .route("/assistance/ranking", get(get_ranking))
        .route("/assistance/lists", post(post_list))
        .route("/assistance/lists/{id}", get(get_list))
}

/// A ranked list of the households waiting, as it stands now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ranking {
    #[schema(value_type = String, format = Uuid)]
    pub programme: Uuid,
    pub site_code: String,
    pub on: NaiveDate,
    /// The weights it was ranked by: who set them and when.
    pub weights: WeightsRecord,
    /// Most vulnerable first.
    pub households: Vec<Ranked>,
}

/// Which list, as an address asks for it: a programme's id, a site (a site-bound caller's own
/// when left out), a day as YYYY-MM-DD (today when left out).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct RankingParams {
    /// The programme's id.
    pub programme: String,
    /// Site code, e.g. torkham.
    #[serde(default)]
    pub site: Option<String>,
    /// The day to rank for (YYYY-MM-DD); today when left out.
    #[serde(default)]
    pub on: Option<String>,
}

/// Which list: a programme, a site (a site-bound caller's own when left out), a day (today).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RankingQuery {
    #[schema(value_type = String, format = Uuid)]
    pub programme: Uuid,
    #[serde(default)]
    pub site: Option<String>,
    #[serde(default)]
    pub on: Option<NaiveDate>,
}

/// The site a caller ranks: a site-bound caller's own (naming another is refused), else the
/// one named, which must be given.
pub(crate) fn ranking_site(caller: &Caller, named: Option<&str>) -> Result<String, ApiError> {
    let named = named.map(str::trim).filter(|s| !s.is_empty()).map(|s| {
        peywand_names::place::Gazetteer::get()
            .site(s)
            .map_or_else(|| s.to_string(), |p| p.code.clone())
    });
    match (caller.site_scope(), named) {
        (Some(own), Some(other)) if own != other => Err(ApiError::Forbidden(format!(
            "you work at {own}: the list of another site ({other}) is that site's"
        ))),
        (Some(own), _) => Ok(own.to_string()),
        (None, Some(site)) => Ok(site),
        (None, None) => Err(ApiError::Invalid(
            "name the site whose households to rank (site=…)".into(),
        )),
    }
}

/// The households waiting for `programme` at `site` on `on`, ranked by the weights in force.
pub(crate) async fn ranking(
    s: &AppState,
    programme: Uuid,
    site: String,
    on: NaiveDate,
) -> Result<(Ranking, Vec<peywand_store::HouseholdRecord>), ApiError> {
    let weights = s.store.weights().await?;
    let waiting = s.store.waiting_households(&site, programme, on).await?;
    let households = targeting::rank(&waiting, &weights.weights, on);
    Ok((
        Ranking {
            programme,
            site_code: site,
            on,
            weights,
            households,
        },
        waiting,
    ))
}

/// Ranks the list as it stands and keeps it, with its weights, as printed by `caller`.
pub(crate) async fn print_list(
    s: &AppState,
    caller: &Caller,
    programme: Uuid,
    site: String,
    on: NaiveDate,
) -> Result<DistributionList, ApiError> {
    let (ranked, _) = ranking(s, programme, site, on).await?;
    let who = actor(caller);
    let list = DistributionList {
        id: Uuid::now_v7(),
        programme,
        site_code: ranked.site_code,
        on,
        weights: ranked.weights.weights,
        households: ranked.households,
        printed_by: who.username,
        // Kept to the microsecond, as every backend keeps times: the list read back is the
        // list printed.
        printed_at: chrono::SubsecRound::trunc_subsecs(who.at, 6),
    };
    s.store.save_list(&list).await?;
    Ok(list)
}

/// Sets the weights in force, or says which is out of bounds.
pub(crate) async fn set_weights(
    s: &AppState,
    caller: &Caller,
    weights: &Weights,
) -> Result<WeightsRecord, ApiError> {
    if let Some(factor) = weights.too_heavy() {
        return Err(ApiError::Invalid(format!(
            "the weight of {} is above {}",
            factor.code(),
            Weights::MAX
        )));
    }
    Ok(s.store.set_weights(weights, &actor(caller)).await?)
}

/// The weights in force, who set them and when.
#[utoipa::path(get, path = "/api/v1/assistance/weights", responses((status = 200, body = WeightsRecord), (status = 403, body = ErrorBody)))]
async fn get_weights(State(s): State<AppState>) -> Result<Json<WeightsRecord>, ApiError> {
    Ok(Json(s.store.weights().await?))
}

/// Sets the weights (information manager): every list ranked from now on follows them.
#[utoipa::path(put, path = "/api/v1/assistance/weights", request_body = Weights, responses((status = 200, body = WeightsRecord), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_weights(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    payload: Result<Json<Weights>, JsonRejection>,
) -> Result<Json<WeightsRecord>, ApiError> {
    let weights = json(payload)?;
    Ok(Json(set_weights(&s, &caller, &weights).await?))
}

/// The households at a site still waiting for a programme, most vulnerable first, each score
/// with its parts.
#[utoipa::path(get, path = "/api/v1/assistance/ranking", params(RankingParams), responses((status = 200, body = Ranking), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_ranking(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<RankingParams>, QueryRejection>,
) -> Result<Json<Ranking>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let programme: Uuid = q
        .programme
        .trim()
        .parse()
        .map_err(|_| ApiError::Invalid("programme must be a programme's id".into()))?;
    let site = ranking_site(&caller, q.site.as_deref())?;
    let on = crate::assistance::query_day(q.on.as_deref(), "on")?
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    Ok(Json(ranking(&s, programme, site, on).await?.0))
}

/// Ranks and keeps a list as printed, with the weights in force.
#[utoipa::path(post, path = "/api/v1/assistance/lists", request_body = RankingQuery, responses((status = 201, body = DistributionList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn post_list(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    payload: Result<Json<RankingQuery>, JsonRejection>,
) -> Result<(StatusCode, Json<DistributionList>), ApiError> {
    let q = json(payload)?;
    let site = ranking_site(&caller, q.site.as_deref())?;
    let on = q.on.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let list = print_list(&s, &caller, q.programme, site, on).await?;
    Ok((StatusCode::CREATED, Json(list)))
}

/// A list as it was printed, with the weights it was ranked by.
#[utoipa::path(get, path = "/api/v1/assistance/lists/{id}", params(("id" = String, Path, description = "list id")), responses((status = 200, body = DistributionList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_list(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<DistributionList>, ApiError> {
    Ok(Json(list_in_scope(&s, &caller, &id).await?))
}

/// A stored list the caller may read: a site-bound caller reads their own site's lists.
pub(crate) async fn list_in_scope(
    s: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<DistributionList, ApiError> {
    let missing = || ApiError::NotFound(format!("list {id:?}"));
    let id: Uuid = id.trim().parse().map_err(|_| missing())?;
    let list = s.store.distribution_list(id).await?.ok_or_else(missing)?;
    match caller.site_scope() {
        Some(own) if own != list.site_code => Err(missing()),
        _ => Ok(list),
    }
}
