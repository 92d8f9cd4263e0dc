//! Peywand's HTTP server: the JSON API under `/api/v1` and the server-rendered pages.
//!
//! Handlers see only the [`Store`] trait, so the same server runs on SQLite at a site and on
//! PostgreSQL at a hub. Pages are plain HTML that work on slow links; no script is needed.

mod api;
mod assistance;
mod assistance_pages;
pub mod auth;
mod cases;
mod charts;
mod dashboard;
mod error;
pub mod i18n;
mod identity_pages;
mod matching;
pub mod openrosa;
mod other_sites;
mod pages;
mod refusal;
pub mod sync_routes;
mod targeting;
pub mod throttle;
mod tracing_pages;
mod users_pages;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use peywand_store::Store;

pub use api::ApiDoc;
pub use error::ApiError;
pub use matching::{IndexStatus, MatchingIndex};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Every registration in memory for the duplicate check; loads in the background.
    pub matching: Arc<MatchingIndex>,
    /// Whether open tracing requests are being matched again, and whether registrations
    /// arrived meanwhile: one pass at a time, however fast the desks save.
    rematch: Arc<cases::Rematch>,
    /// Per user, the checks over the last hour whose answers named another site's
    /// registration (see `other_sites`).
    cross_site_checks: Arc<other_sites::CrossSiteBudget>,
    /// Failed sign-ins by address and username.
    throttle: Arc<throttle::SignInThrottle>,
}

impl AppState {
    /// The state for `store`, its matching index starting to load.
    pub fn new(store: Arc<dyn Store>) -> AppState {
        let state = AppState {
            matching: MatchingIndex::load(Arc::clone(&store)),
            store,
            rematch: Arc::default(),
            cross_site_checks: Arc::new(other_sites::CrossSiteBudget::new(
                other_sites::CHECKS_NAMING_OTHER_SITES_PER_HOUR,
            )),
            throttle: Arc::default(),
        };
        state.follow_other_servers();
        state.learn_as_cases_end();
        state
    }

    /// Sets how many checks an hour a site-bound user may make whose answers name another
    /// site's registration (600 unless set).
    pub fn limit_checks_naming_other_sites(mut self, per_hour: usize) -> AppState {
        self.cross_site_checks = Arc::new(other_sites::CrossSiteBudget::new(per_hour));
        self
    }

    /// Every quarter of an hour, lets the matching index learn from the tracing cases that
    /// ended since it was built (see `MatchingIndex::learn_from_cases_ended_since`). Not at
    /// each case's end: at a million registrations a rebuild takes some twenty seconds of the
    /// server's cores, and a caseworker closing ten cases in a row needs one, not ten.
    fn learn_as_cases_end(&self) {
        let state = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(LEARN_FROM_ENDED_CASES_EVERY);
            every.tick().await; // the first tick is at once; the index is only now loading
            loop {
                every.tick().await;
                let store = Arc::clone(&state.store);
                if let Err(e) = state.matching.learn_from_cases_ended_since(store).await {
                    tracing::error!(error = %e, "counting the tracing cases that ended failed");
                }
            }
        });
    }

    /// Where other servers share the registry (a hub), adds what their desks save to this
    /// server's matching index and matches it against open tracing requests, as it commits.
    fn follow_other_servers(&self) {
        let state = self.clone();
        tokio::spawn(async move {
            let mut feed = match state.store.registration_feed().await {
                Ok(Some(feed)) => feed,
                Ok(None) => return,
                Err(e) => {
                    tracing::error!(error = %e, "following other servers' registrations failed");
                    return;
                }
            };
            while let Some(saved) = feed.recv().await {
                // Its own saves come back too, already in its index and already matched.
                let index = state.matching.clone();
                let Ok(saved) = tokio::task::spawn_blocking(move || index.not_held(saved)).await
                else {
                    continue;
                };
                if saved.is_empty() {
                    continue;
                }
                state.matching.add_persons(&saved).await;
                cases::rematch_in_background(&state, &saved);
            }
        });
    }

    /// Once the matching index has loaded, matches every tracing request still looking for
    /// someone: those opened while it loaded, or imported while the server was stopped.
    pub fn match_waiting_requests(&self) {
        cases::match_waiting_requests_once_ready(self);
    }

    /// Erases, every hour, the registrations recorded more than `days` days ago, and the
    /// tracing cases that ended that long ago: the retention period the data-sharing
    /// agreement sets. Each erasure is audited.
    pub fn keep_retention(&self, days: u32) {
        let state = self.clone();
        tokio::spawn(async move {
            let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                every_hour.tick().await;
                let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
                let erased = state.store.purge_registered_before(cutoff).await;
                let what = format!("registrations older than {days} days");
                if state.audit_retention("purge_expired", &what, erased).await {
                    state.matching.reload(Arc::clone(&state.store));
                }
                // What requesters told about cases that ended is kept no longer; open cases
                // stay, a family may still be looking.
                let erased = state.store.purge_cases_ended_before(cutoff).await;
                let what = format!("tracing cases ended over {days} days ago");
                state.audit_retention("purge_cases", &what, erased).await;
            }
        });
    }

    /// Audits and logs what one retention erasure did; whether it erased anything.
    async fn audit_retention(
        &self,
        action: &str,
        what: &str,
        erased: Result<u64, peywand_store::StoreError>,
    ) -> bool {
        match erased {
            Ok(0) => false,
            Ok(n) => {
                let event = peywand_access::audit::AuditEvent::now("retention", action, "")
                    .purpose(&format!("{n} {what}"))
                    .origin("server");
                auth::audit_or_log(self, &event).await;
                tracing::info!(erased = n, what, "retention erased");
                true
            }
            Err(e) => {
                tracing::error!(error = %e, what, "retention erasure failed");
                false
            }
        }
    }
}

/// How often the matching index looks for tracing cases that ended since it was built.
const LEARN_FROM_ENDED_CASES_EVERY: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Request bodies larger than this are refused before they are read.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The whole application: API, pages, static assets, security headers.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/api/v1", api::routes()
                .merge(cases::routes())
                .merge(assistance::routes()).merge(targeting::routes()).merge(sync_routes::routes())
                // An address the API does not have answers in JSON, as every other error does.
                .fallback(|| async { ApiError::NotFound("no such address in the API".into()) }))
        .merge(pages::routes())
        .merge(openrosa::routes())
        .route("/tracing", axum::routing::get(tracing_pages::queue).post(tracing_pages::open_request))
        .route("/tracing/new", axum::routing::get(tracing_pages::new_request))
        .route("/tracing/{id}", axum::routing::get(tracing_pages::view_case))
        .route("/tracing/{id}/candidates/{record_id}", axum::routing::post(tracing_pages::decide))
        .route("/tracing/{id}/steps", axum::routing::post(tracing_pages::step))
        .route("/tracing/{id}/assignee", axum::routing::post(tracing_pages::assign))
        .route("/persons/{record_id}", axum::routing::get(identity_pages::person))
        .route("/review", axum::routing::get(identity_pages::review).post(identity_pages::decide))
        .route("/assistance", axum::routing::get(assistance_pages::find))
        .route("/assistance/households/{id}", axum::routing::get(assistance_pages::household))
        .route("/assistance/households/{id}/distributions", axum::routing::post(assistance_pages::distribute))
        .route("/assistance/households/{id}/overrides", axum::routing::post(assistance_pages::override_rule))
        .route("/assistance/ranking", axum::routing::get(assistance_pages::ranked))
        .route("/assistance/weights", axum::routing::post(assistance_pages::weigh))
        .route("/assistance/lists", axum::routing::post(assistance_pages::print))
        .route("/assistance/lists/{id}", axum::routing::get(assistance_pages::list))
        .route("/static/distribution.js", axum::routing::get(assistance_pages::script))
        .route("/dashboard", axum::routing::get(dashboard::page))
        .route(
            "/dashboard/registered-share",
            axum::routing::post(dashboard::set_share),
        )
        .route("/dashboard/{figure}", axum::routing::get(dashboard::csv))
        .route("/password", axum::routing::get(users_pages::password_page).post(users_pages::change_password))
        .route("/admin/users", axum::routing::get(users_pages::list))
        .route("/admin/users/{id}/disable", axum::routing::post(users_pages::disable))
        .route("/admin/users/{id}/enable", axum::routing::post(users_pages::enable))
        .route("/admin/users/{id}/reset-password", axum::routing::post(users_pages::reset_password))
        .route("/admin/users/{id}/end-sessions", axum::routing::post(users_pages::end_sessions))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authorize,
        ))
        .with_state(state)
        .layer(axum::middleware::from_fn(pages::errors_in_language))
        .layer(axum::middleware::from_fn(openrosa::headers))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        // Personal data never waits in a browser's or a proxy's cache for the next user of a
        // shared laptop; only the stylesheet and script say otherwise.
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
}

/// Why the server stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}

/// Serves until `shutdown` completes, then lets in-flight requests finish.
pub async fn serve(
    state: AppState,
    addr: SocketAddr,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    ready(local);
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(ServeError::Serve)
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
