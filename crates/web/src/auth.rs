//! Who is calling, and whether they may: every route is declared in [`RULES`] with the
//! permission it needs, and one middleware enforces it before any handler runs. A route with
//! no rule is refused (fail closed). Browsers authenticate with a session cookie and must echo
//! a CSRF token on every change; programs send a bearer token.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use peywand_access::audit::AuditEvent;
use peywand_access::{Permission, Role, Secret};
use peywand_store::UserAccount;

use crate::error::ApiError;
use crate::{AppState, MAX_BODY_BYTES};

/// One route and what it needs.
pub struct Rule {
    pub method: Method,
    pub path: &'static str,
    pub permission: Permission,
    /// The audit log's name for the action; `None`: not audited (no personal data).
    pub action: Option<&'static str>,
}

const fn rule(
    method: Method,
    path: &'static str,
    permission: Permission,
    action: Option<&'static str>,
) -> Rule {
    Rule {
        method,
        path,
        permission,
        action,
    }
}

/// The access policy of every route, API and pages alike.
pub static RULES: &[Rule] = &[
    rule(Method::GET, "/api/v1/health", Permission::Public, None),
    rule(
        Method::GET,
        "/api/v1/openapi.json",
        Permission::Public,
        None,
    ),
    rule(Method::POST, "/api/v1/session", Permission::Public, None),
    // Enrolment is checked and audited by its handler: the one-time code is the credential.
    rule(Method::POST, "/api/v1/sync/enrol", Permission::Public, None),
    rule(
        Method::GET,
        "/api/v1/sync/heads",
        Permission::Sync,
        Some("sync_heads"),
    ),
    rule(
        Method::POST,
        "/api/v1/sync/changes",
        Permission::Sync,
        Some("sync_push"),
    ),
    rule(
        Method::GET,
        "/api/v1/sync/changes",
        Permission::Sync,
        Some("sync_pull"),
    ),
    rule(Method::GET, "/api/v1/sync/model", Permission::Sync, None),
    rule(
        Method::GET,
        "/api/v1/sync/directory",
        Permission::Sync,
        Some("sync_directory"),
    ),
    rule(
        Method::GET,
        "/api/v1/sync/identities",
        Permission::Sync,
        Some("sync_identities"),
    ),
    rule(Method::GET, "/api/v1/session", Permission::SignedIn, None),
    rule(
        Method::DELETE,
        "/api/v1/session",
        Permission::SignedIn,
        Some("logout"),
    ),
    rule(Method::GET, "/api/v1/sites", Permission::SignedIn, None),
    rule(
        Method::POST,
        "/api/v1/households",
        Permission::Register,
        Some("register_household"),
    ),
    rule(
        Method::GET,
        "/api/v1/households/{id}",
        Permission::ViewRegistrations,
        Some("view_household"),
    ),
    rule(
        Method::PUT,
        "/api/v1/households/{id}",
        Permission::Register,
        Some("edit_household"),
    ),
    rule(
        Method::GET,
        "/api/v1/persons",
        Permission::ViewRegistrations,
        Some("list_persons"),
    ),
    rule(
        Method::GET,
        "/api/v1/persons/{id}",
        Permission::ViewRegistrations,
        Some("view_person"),
    ),
    rule(
        Method::POST,
        "/api/v1/matching/check",
        Permission::CheckDuplicates,
        Some("check_duplicates"),
    ),
    rule(
        Method::GET,
        "/api/v1/matching/explain",
        Permission::CheckDuplicates,
        Some("explain_match"),
    ),
    rule(
        Method::GET,
        "/api/v1/audit",
        Permission::ViewAudit,
        Some("view_audit"),
    ),
    rule(
        Method::POST,
        "/api/v1/tracing/requests",
        Permission::Trace,
        Some("open_tracing_request"),
    ),
    rule(
        Method::GET,
        "/api/v1/tracing/requests",
        Permission::Trace,
        Some("list_tracing_requests"),
    ),
    rule(
        Method::GET,
        "/api/v1/tracing/requests/{id}",
        Permission::Trace,
        Some("view_tracing_case"),
    ),
    rule(
        Method::GET,
        "/api/v1/tracing/requests/{id}/what-would-settle",
        Permission::Trace,
        Some("what_would_settle_a_case"),
    ),
    rule(
        Method::POST,
        "/api/v1/tracing/requests/{id}/candidates/{record_id}",
        Permission::Trace,
        Some("decide_tracing_candidate"),
    ),
    rule(
        Method::POST,
        "/api/v1/tracing/requests/{id}/status",
        Permission::Trace,
        Some("move_tracing_case"),
    ),
    rule(
        Method::POST,
        "/api/v1/tracing/requests/{id}/steps",
        Permission::Trace,
        Some("record_reunification_step"),
    ),
    rule(
        Method::POST,
        "/api/v1/tracing/requests/{id}/assignee",
        Permission::Trace,
        Some("assign_tracing_case"),
    ),
    rule(
        Method::GET,
        "/api/v1/tracing/requests/{id}/death-reports",
        Permission::Trace,
        Some("view_death_reports"),
    ),
    rule(
        Method::POST,
        "/api/v1/tracing/requests/{id}/death-reports",
        Permission::Trace,
        Some("verify_death_report"),
    ),
    rule(
        Method::GET,
        "/api/v1/tracing/registered-share",
        Permission::SignedIn,
        None,
    ),
    rule(
        Method::PUT,
        "/api/v1/tracing/registered-share",
        Permission::ManageTracing,
        Some("set_registered_share"),
    ),
    rule(
        Method::POST,
        "/api/v1/pfif",
        Permission::Trace,
        Some("import_pfif"),
    ),
    rule(
        Method::GET,
        "/api/v1/pfif",
        Permission::ExportPersonalData,
        Some("export_pfif"),
    ),
    rule(
        Method::POST,
        "/api/v1/assistance/programmes",
        Permission::ManageAssistance,
        Some("set_assistance_programme"),
    ),
    rule(
        Method::GET,
        "/api/v1/assistance/programmes",
        Permission::ViewAssistance,
        None,
    ),
    rule(
        Method::POST,
        "/api/v1/assistance/distributions",
        Permission::Distribute,
        Some("record_distribution"),
    ),
    rule(
        Method::POST,
        "/api/v1/assistance/overrides",
        Permission::ManageAssistance,
        Some("override_distribution"),
    ),
    rule(
        Method::GET,
        "/api/v1/households/{id}/assistance",
        Permission::ViewAssistance,
        Some("view_household_assistance"),
    ),
    rule(
        Method::GET,
        "/api/v1/assistance/distributions",
        Permission::ViewAssistance,
        Some("list_distributions"),
    ),
    rule(
        Method::GET,
        "/api/v1/assistance/doubled",
        Permission::ManageAssistance,
        Some("view_doubled_distributions"),
    ),
    rule(
        Method::PUT,
        "/api/v1/assistance/plans",
        Permission::ManageAssistance,
        Some("set_assistance_plan"),
    ),
    rule(
        Method::POST,
        "/api/v1/assistance/stock",
        Permission::RecordStock,
        Some("record_stock_received"),
    ),
    rule(
        Method::GET,
        "/api/v1/assistance/stock",
        Permission::ViewAssistance,
        None,
    ),
    rule(
        Method::GET,
        "/api/v1/assistance/weights",
        Permission::ViewAssistance,
        None,
    ),
    rule(
        Method::PUT,
        "/api/v1/assistance/weights",
        Permission::ManageAssistance,
        Some("set_targeting_weights"),
    ),
    rule(
        Method::GET,
        "/api/v1/assistance/ranking",
        Permission::ViewAssistance,
        Some("view_ranked_list"),
    ),
    rule(
        Method::POST,
        "/api/v1/assistance/lists",
        Permission::ViewAssistance,
        Some("print_distribution_list"),
    ),
    rule(
        Method::GET,
        "/api/v1/assistance/lists/{id}",
        Permission::ViewAssistance,
        Some("view_distribution_list"),
    ),
    rule(Method::GET, "/login", Permission::Public, None),
    rule(Method::POST, "/login", Permission::Public, None),
    rule(
        Method::POST,
        "/logout",
        Permission::SignedIn,
        Some("logout"),
    ),
    rule(
        Method::GET,
        "/",
        Permission::ViewRegistrations,
        Some("list_persons"),
    ),
    rule(Method::GET, "/households/new", Permission::Register, None),
    rule(
        Method::POST,
        "/households",
        Permission::Register,
        Some("register_household"),
    ),
    rule(
        Method::GET,
        "/households/{id}",
        Permission::ViewRegistrations,
        Some("view_household"),
    ),
    rule(Method::GET, "/static/app.css", Permission::Public, None),
    rule(Method::GET, "/static/desk.js", Permission::Public, None),
    rule(Method::GET, "/language", Permission::Public, None),
    rule(Method::GET, "/calendar", Permission::Public, None),
    rule(
        Method::POST,
        "/households/check",
        Permission::CheckDuplicates,
        Some("check_duplicates"),
    ),
    rule(
        Method::GET,
        "/households/{id}/card",
        Permission::ViewRegistrations,
        Some("print_household_card"),
    ),
    rule(
        Method::GET,
        "/tracing",
        Permission::Trace,
        Some("list_tracing_requests"),
    ),
    rule(
        Method::POST,
        "/tracing",
        Permission::Trace,
        Some("open_tracing_request"),
    ),
    rule(Method::GET, "/tracing/new", Permission::Trace, None),
    rule(
        Method::GET,
        "/tracing/{id}",
        Permission::Trace,
        Some("view_tracing_case"),
    ),
    rule(
        Method::POST,
        "/tracing/{id}/candidates/{record_id}",
        Permission::Trace,
        Some("decide_tracing_candidate"),
    ),
    rule(
        Method::POST,
        "/tracing/{id}/steps",
        Permission::Trace,
        Some("record_reunification_step"),
    ),
    rule(
        Method::POST,
        "/tracing/{id}/assignee",
        Permission::Trace,
        Some("assign_tracing_case"),
    ),
    rule(
        Method::GET,
        "/persons/{record_id}",
        Permission::ViewRegistrations,
        Some("view_person"),
    ),
    rule(
        Method::GET,
        "/review",
        Permission::ReviewDuplicates,
        Some("view_review_queue"),
    ),
    rule(
        Method::POST,
        "/review",
        Permission::ReviewDuplicates,
        Some("decide_duplicate"),
    ),
    rule(
        Method::GET,
        "/assistance",
        Permission::ViewAssistance,
        Some("find_household_to_assist"),
    ),
    rule(
        Method::GET,
        "/assistance/households/{id}",
        Permission::ViewAssistance,
        Some("view_household_assistance"),
    ),
    rule(
        Method::POST,
        "/assistance/households/{id}/distributions",
        Permission::Distribute,
        Some("record_distribution"),
    ),
    rule(
        Method::POST,
        "/assistance/households/{id}/overrides",
        Permission::ManageAssistance,
        Some("override_distribution"),
    ),
    rule(
        Method::GET,
        "/assistance/ranking",
        Permission::ViewAssistance,
        Some("view_ranked_list"),
    ),
    rule(
        Method::POST,
        "/assistance/weights",
        Permission::ManageAssistance,
        Some("set_targeting_weights"),
    ),
    rule(
        Method::POST,
        "/assistance/lists",
        Permission::ViewAssistance,
        Some("print_distribution_list"),
    ),
    rule(
        Method::GET,
        "/assistance/lists/{id}",
        Permission::ViewAssistance,
        Some("view_distribution_list"),
    ),
    rule(
        Method::GET,
        "/static/distribution.js",
        Permission::Public,
        None,
    ),
    rule(
        Method::GET,
        "/dashboard",
        Permission::ViewStatistics,
        Some("view_statistics"),
    ),
    rule(
        Method::POST,
        "/dashboard/registered-share",
        Permission::ManageTracing,
        Some("set_registered_share"),
    ),
    rule(
        Method::GET,
        "/api/v1/tracing/links-across-sites",
        Permission::ViewStatistics,
        Some("view_links_across_sites"),
    ),
    rule(
        Method::GET,
        "/dashboard/{figure}",
        Permission::ViewStatistics,
        Some("export_statistics"),
    ),
    rule(Method::GET, "/password", Permission::SignedIn, None),
    rule(
        Method::POST,
        "/password",
        Permission::SignedIn,
        Some("change_password"),
    ),
    rule(
        Method::GET,
        "/admin/users",
        Permission::Administer,
        Some("list_users"),
    ),
    rule(
        Method::POST,
        "/admin/users/{id}/disable",
        Permission::Administer,
        Some("disable_user"),
    ),
    rule(
        Method::POST,
        "/admin/users/{id}/enable",
        Permission::Administer,
        Some("enable_user"),
    ),
    rule(
        Method::POST,
        "/admin/users/{id}/reset-password",
        Permission::Administer,
        Some("reset_password"),
    ),
    rule(
        Method::POST,
        "/admin/users/{id}/end-sessions",
        Permission::Administer,
        Some("end_sessions"),
    ),
    // Field phones (ODK Collect, KoboCollect), by the device token in the address.
    rule(
        Method::GET,
        "/openrosa/key/{token}/formList",
        Permission::Register,
        None,
    ),
    rule(
        Method::GET,
        "/openrosa/key/{token}/forms/{form_id}",
        Permission::Register,
        None,
    ),
    rule(
        Method::GET,
        "/openrosa/key/{token}/forms/{form_id}/manifest",
        Permission::Register,
        None,
    ),
    rule(
        Method::GET,
        "/openrosa/key/{token}/submission",
        Permission::Register,
        None,
    ),
    rule(
        Method::POST,
        "/openrosa/key/{token}/submission",
        Permission::Register,
        Some("register_household"),
    ),
];

/// What a user whose password was reset may still do: choose a new one, see who they are,
/// sign out.
const ALLOWED_BEFORE_PASSWORD_CHANGE: &[(Method, &str)] = &[
    (Method::GET, "/password"),
    (Method::POST, "/password"),
    (Method::POST, "/logout"),
    (Method::GET, "/api/v1/session"),
    (Method::DELETE, "/api/v1/session"),
];

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "peywand_session";
/// The header a browser script echoes the CSRF token in; forms send a `csrf` field.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The header a caller states the purpose of an access in.
pub const PURPOSE_HEADER: &str = "x-purpose";
/// A session lasts one working day.
pub const SESSION_HOURS: i64 = 10;

/// The signed-in user a request acts for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub username: String,
    pub role: Role,
    pub site_code: Option<String>,
    /// The CSRF token of a browser session, for forms to carry; `None` for a bearer token.
    pub csrf: Option<String>,
    /// The password was reset: nothing but choosing a new one until it is.
    pub must_change_password: bool,
}

impl Caller {
    fn from_user(u: UserAccount, csrf: Option<String>) -> Caller {
        Caller {
            username: u.username,
            role: u.role,
            site_code: u.site_code,
            csrf,
            must_change_password: u.must_change_password,
        }
    }

    /// The site this caller is confined to, if their role is site-bound.
    pub fn site_scope(&self) -> Option<&str> {
        if self.role.site_bound() {
            // A site-bound user without a site sees nothing rather than everything.
            Some(self.site_code.as_deref().unwrap_or("\u{0}none"))
        } else {
            None
        }
    }
}

/// The CSRF token of a session: derived from the session id, which only the browser holds.
pub fn csrf_token(session_text: &str) -> String {
    Secret::digest_of(&format!("csrf:{session_text}"))
}

pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Where a request came from, for the audit log.
pub fn origin(req_extensions: &axum::http::Extensions) -> String {
    req_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string())
}

enum Credential {
    Token,
    /// A phone's device token, named by its id (the token itself is never written down).
    Device {
        id: String,
    },
    /// The digest of the session's CSRF token, as stored when the session began.
    Session {
        csrf_digest: String,
    },
}

/// Where a phone's address holds its device token: `/openrosa/key/{token}/…`.
const DEVICE_PATH: &str = "/openrosa/key/{token}/";

/// The device token in a request's address, on the routes that take one.
fn device_token<'a>(matched: &str, uri_path: &'a str) -> Option<&'a str> {
    matched
        .starts_with(DEVICE_PATH)
        .then(|| uri_path.split('/').nth(3))?
}

async fn authenticate(
    s: &AppState,
    headers: &HeaderMap,
    device: Option<&str>,
) -> Result<Option<(Caller, Credential)>, ApiError> {
    // A device token works for the phones' routes only, and only there: a phone lost with
    // its address written in its settings reads nothing through the API.
    let device_prefix = crate::openrosa::DEVICE_TOKEN_PREFIX;
    let presented = match device {
        Some(token) if token.starts_with(device_prefix) => Some(token),
        Some(_) => {
            return Err(ApiError::Unauthenticated(
                "this address needs a device token: ask an administrator for one (peywand device add)"
                    .into(),
            ));
        }
        None => match bearer(headers) {
            Some(token) if token.starts_with(device_prefix) => {
                return Err(ApiError::Unauthenticated(
                    "a device token works only for ODK Collect and KoboCollect".into(),
                ));
            }
            other => other,
        },
    };
    if let Some(token) = presented {
        let digest = Secret::digest_of(token);
        let Some(held) = s.store.token(&digest).await? else {
            return Ok(None);
        };
        if held.revoked_at.is_some() {
            return Err(ApiError::Unauthenticated(
                "this token was revoked: ask an administrator for a new one".into(),
            ));
        }
        if held.expires_at <= chrono::Utc::now() {
            return Err(ApiError::Unauthenticated(format!(
                "this token expired on {}: ask an administrator to renew it (peywand token renew {})",
                held.expires_at.format("%Y-%m-%d"),
                held.id
            )));
        }
        let Some(user) = s.store.token_user(&digest).await? else {
            return Err(ApiError::Unauthenticated(
                "the account of this token is disabled".into(),
            ));
        };
        let credential = if device.is_some() {
            Credential::Device { id: held.id }
        } else {
            Credential::Token
        };
        return Ok(Some((Caller::from_user(user, None), credential)));
    }
    let Some(session) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let found = s
        .store
        .session(&Secret::digest_of(session), chrono::Utc::now())
        .await?;
    Ok(found.map(|(record, u)| {
        (
            Caller::from_user(u, Some(csrf_token(session))),
            Credential::Session {
                csrf_digest: record.csrf_digest,
            },
        )
    }))
}

fn is_page(path: &str) -> bool {
    !path.starts_with("/api/") && !path.starts_with(crate::openrosa::PREFIX)
}

fn refuse(path: &str, status: StatusCode, message: String) -> Response {
    if is_page(path) && status == StatusCode::UNAUTHORIZED {
        return Redirect::to("/login").into_response();
    }
    let e = match status {
        StatusCode::UNAUTHORIZED => ApiError::Unauthenticated(message),
        StatusCode::FORBIDDEN => ApiError::Forbidden(message),
        _ => ApiError::Internal,
    };
    e.into_response()
}

/// Reads a form body's `csrf` field and gives the body back untouched.
async fn form_csrf(req: Request) -> Result<(Request, Option<String>), Response> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::TooLarge.into_response())?;
    let csrf = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|fields| {
            fields
                .into_iter()
                .find(|(k, _)| k == "csrf")
                .map(|(_, v)| v)
        });
    Ok((Request::from_parts(parts, Body::from(bytes)), csrf))
}

/// Records an event whose loss must not stop the answer already decided (a refusal, a
/// failure): a log that cannot be written is reported in the server log instead.
pub(crate) async fn audit_or_log(s: &AppState, event: &AuditEvent) {
    if let Err(e) = s.store.append_audit(event).await {
        tracing::error!(error = %e, "the audit log cannot be written");
    }
}

/// The middleware: finds the route's rule, authenticates, authorises, checks CSRF, audits.
pub async fn authorize(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let method = req.method().clone();
    // HEAD is answered as GET is, so it needs what GET needs.
    let ruled = if method == Method::HEAD {
        Method::GET
    } else {
        method.clone()
    };
    let Some(rule) = RULES.iter().find(|r| r.path == path && r.method == ruled) else {
        if RULES.iter().any(|r| r.path == path) {
            // A method this route does not serve (TRACE, say).
            return StatusCode::METHOD_NOT_ALLOWED.into_response();
        }
        tracing::error!(%method, path, "a route has no access rule: refused");
        return ApiError::Internal.into_response();
    };
    if rule.permission == Permission::Public {
        return next.run(req).await;
    }
    let device = device_token(&path, req.uri().path()).map(str::to_string);
    let (caller, credential) = match authenticate(&s, req.headers(), device.as_deref()).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return refuse(
                &path,
                StatusCode::UNAUTHORIZED,
                "sign in first (a session cookie or a bearer token)".into(),
            );
        }
        Err(e) => return e.into_response(),
    };
    let from = origin(req.extensions());
    if caller.must_change_password
        && !ALLOWED_BEFORE_PASSWORD_CHANGE
            .iter()
            .any(|(m, p)| *m == ruled && *p == path)
    {
        if is_page(&path) {
            return Redirect::to("/password").into_response();
        }
        return ApiError::Forbidden(
            "the password of this account was reset: choose a new one on the page /password before anything else".into(),
        )
        .into_response();
    }
    // The query is kept too: a search for a name is what someone hunting a person leaves.
    let target: String = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string())
        .chars()
        .take(500)
        .collect();
    // A device token is a credential: the log names it by its id.
    let target = match (&credential, &device) {
        (Credential::Device { id }, Some(token)) => target.replace(token, &format!("device:{id}")),
        _ => target,
    };
    let purpose = req
        .headers()
        .get(PURPOSE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(200).collect::<String>())
        .unwrap_or_default();
    let audit = |outcome: &str| {
        let action = rule.action.unwrap_or("request");
        AuditEvent::now(&caller.username, action, &target)
            .origin(&from)
            .purpose(&purpose)
            .outcome(outcome)
    };
    if !caller.role.can(rule.permission) {
        audit_or_log(&s, &audit("denied")).await;
        return refuse(
            &path,
            StatusCode::FORBIDDEN,
            format!("the {} role does not give access to this", caller.role),
        );
    }
    let mut req = req;
    if let Credential::Session { csrf_digest } = &credential
        && method != Method::GET
    {
        let mut presented = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if presented.is_none() && is_form {
            match form_csrf(req).await {
                Ok((r, field)) => {
                    req = r;
                    presented = field;
                }
                Err(resp) => return resp,
            }
        }
        if presented.map(|p| Secret::digest_of(&p)).as_deref() != Some(csrf_digest.as_str()) {
            audit_or_log(&s, &audit("denied: no CSRF token")).await;
            return refuse(
                &path,
                StatusCode::FORBIDDEN,
                "this change did not come from a Peywand page (missing CSRF token): reload the page and try again".into(),
            );
        }
    }
    req.extensions_mut().insert(caller.clone());
    // Written before the handler runs: what cannot be logged is not served.
    if rule.action.is_some()
        && let Err(e) = s.store.append_audit(&audit("requested")).await
    {
        tracing::error!(error = %e, "the audit log cannot be written: request refused");
        return ApiError::Unavailable(
            "the audit log cannot be written, so nothing was done; tell the administrator".into(),
        )
        .into_response();
    }
    let mut response = next.run(req).await;
    let status = response.status();
    if rule.action.is_some() && !(status.is_success() || status.is_redirection()) {
        audit_or_log(&s, &audit(&format!("failed: {}", status.as_u16()))).await;
    }
    // What the answer shows is written before it leaves: an answer that cannot be audited is
    // not given.
    if let Some(shown) = response.extensions_mut().remove::<Disclosed>()
        && rule.action.is_some()
        && let Err(e) = s
            .store
            .append_audit(&audit("answered").answered(&shown.query, shown.records))
            .await
    {
        tracing::error!(error = %e, "the audit log cannot be written: answer withheld");
        return ApiError::Unavailable(
            "the audit log cannot be written, so the answer was withheld; tell the administrator"
                .into(),
        )
        .into_response();
    }
    response
}

/// What an answer shows, for the audit log: a handler that answers a search or a check, or
/// shows a person, attaches it to its response, and the middleware audits it before the
/// answer leaves. Auditors then find, from any person, who saw them and what was asked.
#[derive(Debug, Clone, Default)]
pub(crate) struct Disclosed {
    /// The question as the user put it (a check's fields, as JSON), when it was not in the
    /// address.
    pub query: String,
    /// Record ids of the registrations shown.
    pub records: Vec<String>,
}

impl Disclosed {
    pub(crate) fn records(records: impl IntoIterator<Item = String>) -> Disclosed {
        Disclosed {
            query: String::new(),
            records: records.into_iter().collect(),
        }
    }

    /// Attaches this to a response.
    pub(crate) fn on(self, response: impl axum::response::IntoResponse) -> Response {
        let mut response = response.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// The largest sign-in body read: a username and a password fit many times over.
pub const SIGN_IN_BODY_BYTES: usize = 16 * 1024;

/// Refuses a sign-in posted from another site's page (login CSRF: a forged form that signs
/// the victim in as the attacker, whose session then records what the victim types).
/// Browsers say where a request comes from: `Sec-Fetch-Site` (every current browser), else
/// `Origin`, compared with `Host`. A request with neither comes from a program (curl, a sync
/// tool), which a forged page cannot make a browser send, and is let through.
pub async fn sign_in_from_here(
    s: &AppState,
    headers: &HeaderMap,
    from: &str,
) -> Result<(), ApiError> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
    };
    let allowed = match (text("sec-fetch-site"), text(header::ORIGIN.as_str())) {
        (Some(site), _) => matches!(site, "same-origin" | "none"),
        (None, Some(origin)) => {
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            host.is_some_and(|o| {
                text(header::HOST.as_str()).is_some_and(|h| h.eq_ignore_ascii_case(o))
            })
        }
        (None, None) => true,
    };
    if allowed {
        return Ok(());
    }
    tracing::warn!(from, "a sign-in posted from another site was refused");
    audit_or_log(
        s,
        &AuditEvent::now("(not read)", "login", "")
            .origin(from)
            .outcome("denied: from another site"),
    )
    .await;
    Err(ApiError::Forbidden(
        "a sign-in must come from Peywand's own sign-in page: open it and sign in there".into(),
    ))
}

/// A hash to check against when the username does not exist, so that a wrong username takes
/// as long as a wrong password and does not reveal who has an account.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    peywand_access::hash_password("no such user, no such password").unwrap_or_default()
});

/// Password checks running at once.
static PASSWORD_CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// A new browser session: the cookie to set and the CSRF token for the page.
pub struct SignedIn {
    pub caller: Caller,
    pub cookie: String,
}

/// Checks a username and password, throttled by address and username together (see
/// [`crate::throttle`]); every attempt is audited.
pub async fn sign_in(
    s: &AppState,
    username: &str,
    password: &str,
    from: &str,
) -> Result<SignedIn, ApiError> {
    let wrong = || ApiError::Unauthenticated("wrong username or password".into());
    // What is not a username is never looked up nor written to the audit log as typed: it
    // may be a password typed in the wrong box.
    let valid = peywand_access::valid_username(username).is_ok() && password.len() <= 1024;
    let named = if valid { username } else { "(not a username)" };
    let audit = |outcome: &str| {
        AuditEvent::now(named, "login", "")
            .origin(from)
            .outcome(outcome)
    };
    if !valid {
        s.store
            .append_audit(&audit("denied: not a username"))
            .await?;
        return Err(wrong());
    }
    let now = chrono::Utc::now();
    if let Some(until) = s.throttle.locked_until(from, username, now) {
        // Guesses go on while locked: they count towards the address's limit and the alert.
        failed(s, from, username, now).await;
        s.store.append_audit(&audit("denied: throttled")).await?;
        let minutes = ((until - now).num_seconds() + 59) / 60;
        return Err(ApiError::TooManyAttempts(format!(
            "too many failed sign-ins from this address: signing in as {username} from here is \
             locked for {minutes} more minutes"
        )));
    }
    let user = s.store.user(username).await?;
    let hash = user
        .as_ref()
        .map_or_else(|| DUMMY_HASH.clone(), |u| u.password_hash.clone());
    let password = password.to_string();
    // argon2 takes about 19 MiB and tens of milliseconds: a few at a time, however many
    // sign-ins arrive.
    let permit = PASSWORD_CHECKS
        .acquire()
        .await
        .map_err(|_| ApiError::Internal)?;
    let ok = tokio::task::spawn_blocking(move || peywand_access::verify_password(&password, &hash))
        .await
        .map_err(|_| ApiError::Internal)?;
    drop(permit);
    let Some(user) = user.filter(|_| ok) else {
        failed(s, from, username, now).await;
        s.store.login_failed(username).await?;
        s.store
            .append_audit(&audit("denied: wrong password"))
            .await?;
        return Err(wrong());
    };
    if user.disabled_at.is_some() {
        s.store.append_audit(&audit("denied: disabled")).await?;
        return Err(ApiError::Forbidden(
            "this account is disabled: ask an administrator".into(),
        ));
    }
    s.throttle.succeeded(from, username);
    s.store.login_succeeded(username, now).await?;
    let session = Secret::generate("ps_");
    let csrf = csrf_token(&session.text);
    s.store
        .create_session(&peywand_store::SessionRecord {
            digest: session.digest.clone(),
            username: user.username.clone(),
            csrf_digest: Secret::digest_of(&csrf),
            expires_at: now + chrono::Duration::hours(SESSION_HOURS),
        })
        .await?;
    s.store.append_audit(&audit("ok")).await?;
    Ok(SignedIn {
        caller: Caller::from_user(user, Some(csrf)),
        cookie: format!(
            "{SESSION_COOKIE}={}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
            session.text,
            SESSION_HOURS * 3600
        ),
    })
}

/// Counts a failed sign-in; what it sets off goes to the server log and the audit log, where
/// administrators and auditors see it.
async fn failed(s: &AppState, from: &str, username: &str, now: chrono::DateTime<chrono::Utc>) {
    use crate::throttle::{Alert, WINDOW_MINUTES};
    for alert in s.throttle.failed(from, username, now) {
        let (target, what) = match alert {
            Alert::AddressBlocked { failures } => {
                tracing::warn!(
                    from,
                    failures,
                    "sign-ins from one address blocked after many failures"
                );
                (
                    "",
                    format!(
                        "{failures} failed sign-ins from this address within {WINDOW_MINUTES} minutes, any username: blocked"
                    ),
                )
            }
            Alert::Burst { failures } => {
                tracing::warn!(failures, "many failed sign-ins with one username");
                (
                    username,
                    format!(
                        "{failures} failed sign-ins with this username within {WINDOW_MINUTES} minutes, from any address"
                    ),
                )
            }
        };
        let event = AuditEvent::now("server", "login_alert", target)
            .origin(from)
            .purpose(&what)
            .outcome("alert");
        audit_or_log(s, &event).await;
    }
}

/// Ends the session the request carries.
pub async fn sign_out(s: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    if let Some(session) = cookie(headers, SESSION_COOKIE) {
        s.store.delete_session(&Secret::digest_of(session)).await?;
    }
    Ok(format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0"
    ))
}
