//! The hub's side of sync: a site enrols once with a one-time code, then pushes its own
//! changes and pulls everyone else's, page by page, each page safe to repeat.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};

use peywand_access::{Role, Secret};
use peywand_store::{ApiToken, Received};
use peywand_sync::Change;

use crate::AppState;
use crate::api::json;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};

/// The label of a one-time enrolment code among a site account's tokens.
pub const ENROLMENT_LABEL: &str = "enrolment code";
/// The label of a site's credential, given at enrolment.
pub const CREDENTIAL_LABEL: &str = "site credential";
/// How long a site's credential lasts before it must be renewed (`peywand token renew`).
pub const CREDENTIAL_DAYS: i64 = 365;
/// The most changes one push or pull carries: a page a slow link moves in seconds.
pub const PAGE: u32 = 200;

/// The account a site's server syncs as.
pub fn site_account(site: &str) -> String {
    format!("site-{site}")
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sync/enrol", post(enrol))
        .route("/sync/heads", get(heads))
        .route("/sync/changes", post(push).get(pull))
        .route("/sync/model", get(model))
        .route("/sync/identities", get(identities))
        .route("/sync/directory", get(directory))
}

/// The hub's matching model, trained on every site's registrations.
#[derive(Serialize, Deserialize)]
pub struct HubModel {
    /// The model as JSON; none before the hub's first deduplication.
    pub model: Option<String>,
}

/// The hub's matching model, so that a site's duplicate check and tracing matches score as
/// the hub's do, from its first sync (a site rarely has enough registrations to learn one).
async fn model(State(s): State<AppState>) -> Result<Json<HubModel>, ApiError> {
    Ok(Json(HubModel {
        model: s.store.linkage_model().await?,
    }))
}

/// Who is who across every site, as the hub's latest deduplication found: (record id,
/// identity) pairs, ids only.
#[derive(Serialize, Deserialize)]
pub struct HubIdentities {
    pub identities: Vec<(String, String)>,
}

/// The hub's identities, so that a site shows a person registered at two sites as one, as the
/// hub does. A site takes them when the hub's model changed, that is after a deduplication.
async fn identities(State(s): State<AppState>) -> Result<Json<HubIdentities>, ApiError> {
    Ok(Json(HubIdentities {
        identities: s.store.identities().await?,
    }))
}

/// What a site needs to know of the hub's accounts and sites: the accounts of people who work
/// at that site, so that they sign in there with the password they were given at the hub, and
/// the sites list.
#[derive(Serialize, Deserialize)]
pub struct Directory {
    pub accounts: Vec<SiteAccount>,
    pub sites: Vec<peywand_domain::Site>,
}

/// An account of a person who works at a site, as the hub holds it.
#[derive(Serialize, Deserialize)]
pub struct SiteAccount {
    pub username: String,
    /// The role's code.
    pub role: String,
    pub site_code: String,
    /// The argon2 hash: the password itself is nowhere.
    pub password_hash: String,
    pub disabled_at: Option<chrono::DateTime<chrono::Utc>>,
    pub must_change_password: bool,
}

/// The calling site's own accounts (no other site's, and no account bound to no site) and the
/// sites list.
async fn directory(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Directory>, ApiError> {
    let own = caller.site_code.clone().unwrap_or_default();
    let accounts = s
        .store
        .users()
        .await?
        .into_iter()
        .filter(|u| u.role != Role::SiteServer && u.site_code.as_deref() == Some(own.as_str()))
        .map(|u| SiteAccount {
            username: u.username,
            role: u.role.code().to_string(),
            site_code: own.clone(),
            password_hash: u.password_hash,
            disabled_at: u.disabled_at,
            must_change_password: u.must_change_password,
        })
        .collect();
    Ok(Json(Directory {
        accounts,
        sites: s.store.sites().await?,
    }))
}

/// A site's one-time code, exchanged for its credential.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct Enrolment {
    pub site_code: String,
    pub code: String,
}

/// What a site keeps after enrolling: the credential it syncs with.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct Enrolled {
    pub site_code: String,
    pub credential: String,
}

/// Exchanges a one-time enrolment code (from `peywand site invite` at the hub) for the site's
/// credential. A code works once, for its site, within seven days.
#[utoipa::path(post, path = "/api/v1/sync/enrol", request_body = Enrolment, responses((status = 200, body = Enrolled), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn enrol(
    State(s): State<AppState>,
    payload: Result<Json<Enrolment>, JsonRejection>,
) -> Result<Json<Enrolled>, ApiError> {
    let e = json(payload)?;
    let refused = || {
        ApiError::Forbidden(
            "this enrolment code is not valid for this site (used already, expired, or for another site): ask the hub's administrator for a new one"
                .into(),
        )
    };
    let now = chrono::Utc::now();
    let code = s
        .store
        .token(&Secret::digest_of(e.code.trim()))
        .await?
        .filter(|t| t.label == ENROLMENT_LABEL && t.revoked_at.is_none() && t.expires_at > now)
        .ok_or_else(refused)?;
    let account = s.store.user(&code.username).await?.ok_or_else(refused)?;
    if account.role != Role::SiteServer || account.site_code.as_deref() != Some(e.site_code.trim())
    {
        return Err(refused());
    }
    // Used once: revoked before the credential exists.
    s.store.revoke_token(&code.id, now).await?;
    let credential = Secret::generate("ps_");
    s.store
        .create_token(&ApiToken {
            id: format!("{}-{}", account.username, &credential.digest[..8]),
            digest: credential.digest.clone(),
            username: account.username.clone(),
            label: CREDENTIAL_LABEL.into(),
            created_at: now,
            revoked_at: None,
            expires_at: now + chrono::Duration::days(CREDENTIAL_DAYS),
        })
        .await?;
    let event = peywand_access::audit::AuditEvent::now(&account.username, "site_enrolled", "")
        .purpose(&e.site_code);
    s.store.append_audit(&event).await?;
    Ok(Json(Enrolled {
        site_code: e.site_code.trim().to_string(),
        credential: credential.text,
    }))
}

/// How many changes the hub holds from each origin.
#[utoipa::path(get, path = "/api/v1/sync/heads", responses((status = 200, body = std::collections::BTreeMap<String, i64>), (status = 403, body = ErrorBody)))]
async fn heads(State(s): State<AppState>) -> Result<Json<peywand_sync::Heads>, ApiError> {
    Ok(Json(s.store.heads().await?))
}

/// A page of changes: a site's own going up, or one origin's coming down.
#[derive(Serialize, Deserialize)]
pub struct Changes {
    pub changes: Vec<Change>,
    /// Coming down: the last number the page covers, the changes the hub keeps from sites
    /// (audit entries) included, so that the next page starts after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to: Option<i64>,
}

/// Takes a page of the calling site's own changes: each stored once, applied, and what it
/// brings reaches the duplicate check and the open tracing requests at once. A site pushes
/// only its own changes; a change held with other content is refused and reported.
async fn push(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    payload: Result<Json<Changes>, JsonRejection>,
) -> Result<Json<Received>, ApiError> {
    let page = json(payload)?;
    let own = caller.site_code.clone().unwrap_or_default();
    if page.changes.len() > PAGE as usize {
        return Err(ApiError::Invalid(format!("at most {PAGE} changes a page")));
    }
    if let Some(foreign) = page.changes.iter().find(|c| c.origin != own) {
        return Err(ApiError::Forbidden(format!(
            "{own} pushes only its own changes, not those of {}",
            foreign.origin
        )));
    }
    let (received, households) = match s.store.receive(&page.changes).await {
        Ok(done) => done,
        Err(e) => {
            tracing::warn!(site = own, error = %e, "a site's changes were refused");
            let event =
                peywand_access::audit::AuditEvent::now(&caller.username, "sync_refused", "")
                    .outcome(&e.to_string());
            crate::auth::audit_or_log(&s, &event).await;
            return Err(e.into());
        }
    };
    s.take_in(&households).await;
    s.match_arrived_requests(&opened_requests(&page.changes))
        .await;
    Ok(Json(received))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PullQuery {
    /// Whose changes: a site's code, or `hub`.
    pub origin: String,
    /// After this number (the puller's head for that origin).
    #[param(minimum = 0)]
    pub after: i64,
}

/// A page of one origin's changes after a number, in order, as far as they flow down to a
/// site (docs/security.md): a site's audit entries stay at the hub.
async fn pull(
    State(s): State<AppState>,
    query: Result<Query<PullQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Changes>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let mut changes = s
        .store
        .changes_after(&q.origin, q.after.max(0), PAGE)
        .await?;
    let up_to = changes.last().map(|c| c.seq);
    changes.retain(|c| c.kind.flows_down());
    Ok(Json(Changes { changes, up_to }))
}

/// A site account's changes are refused after it is revoked: its tokens go with it.
pub async fn revoke_site(s: &dyn peywand_store::Store, site: &str) -> Result<u64, ApiError> {
    Ok(s.revoke_tokens_of(&site_account(site), chrono::Utc::now())
        .await?)
}

/// The tracing requests a page of changes opened.
pub fn opened_requests(changes: &[Change]) -> Vec<peywand_domain::TracingRequestId> {
    changes
        .iter()
        .filter(|c| c.kind == peywand_sync::ChangeKind::TracingRequestOpened)
        .filter_map(|c| c.entity.parse().ok())
        .collect()
}

impl AppState {
    /// Tracing requests opened elsewhere meet every registration held here, as one opened
    /// here does: a case opened at one site finds the person registered at another as soon
    /// as both are at the hub. Once the index has a model; until then it is matched when the
    /// index is ready.
    pub async fn match_arrived_requests(&self, ids: &[peywand_domain::TracingRequestId]) {
        if ids.is_empty() || self.matching.status() != crate::IndexStatus::Ready {
            return;
        }
        let mut requests = Vec::new();
        for id in ids {
            match self.store.tracing_case(*id).await {
                Ok(Some(case)) if !case.request.status.is_final() => requests.push(case.request),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "reading a synced tracing request failed"),
            }
        }
        let who = peywand_store::Actor {
            username: "matching".into(),
            at: chrono::Utc::now(),
        };
        if let Err(e) = crate::cases::match_requests(self, requests, &who).await {
            tracing::error!(error = ?e, "matching synced tracing requests failed");
        }
    }

    /// Registrations that arrived by sync join the matching index and meet the open tracing
    /// requests, as a desk's would.
    pub async fn take_in(&self, households: &[peywand_domain::HouseholdId]) {
        let mut members = Vec::new();
        for id in households {
            match self.store.household(*id).await {
                Ok(Some(h)) => members.extend(h.members),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "reading a synced household failed"),
            }
        }
        if members.is_empty() {
            return;
        }
        self.matching.add_persons(&members).await;
        crate::cases::rematch_in_background(self, &members);
    }
}
