//! Server-rendered pages: register a household (with the duplicate panel), view it and print
//! its card, search people; the chrome every page shares (navigation by role, language and
//! calendar switches).

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use peywand_domain::{
    LegalBasis, Need, Person, Purpose, RawRegistration, Relationship, ReturnType, Vulnerability,
};
use peywand_names::place::{Gazetteer, PlaceKind};
use peywand_store::{HouseholdDraft, MemberDraft, Page, PersonFilter};

use crate::AppState;
use crate::api::{PersonQuery, actor, confine_to_site, filter_from, household_in_scope, validate};
use crate::auth::{self, Caller, Disclosed};
use crate::error::ApiError;
use crate::i18n::{self, Calendar, Lang, Tr};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(recent))
        .route("/households/new", get(new_household))
        .route("/households", axum::routing::post(create_household))
        .route("/households/{id}", get(view_household))
        .route("/households/check", axum::routing::post(check_member))
        .route("/households/{id}/card", get(household_card))
        .route("/static/app.css", get(css))
        .route("/static/desk.js", get(desk_js))
        .route(
            "/login",
            get(login_page)
                .post(login)
                .layer(axum::extract::DefaultBodyLimit::max(
                    auth::SIGN_IN_BODY_BYTES,
                )),
        )
        .route("/logout", axum::routing::post(logout))
        .route("/language", get(choose_language))
        .route("/calendar", get(choose_calendar))
}

/// What every page shows around its content: who is signed in, the navigation their role
/// allows, the language and calendar switches.
pub(crate) struct Chrome {
    pub t: Tr,
    pub user: String,
    pub csrf: String,
    /// This page's path and query, to come back to after switching language.
    pub path: String,
    pub can_view: bool,
    pub can_register: bool,
    pub can_trace: bool,
    pub can_review: bool,
    pub can_dashboard: bool,
    pub can_administer: bool,
    pub can_assist: bool,
}

impl Chrome {
    pub(crate) fn new(t: Tr, caller: Option<&Caller>, uri: &Uri) -> Chrome {
        use peywand_access::Permission as P;
        let can = |p| caller.is_some_and(|c| c.role.can(p));
        Chrome {
            t,
            user: caller.map(|c| c.username.clone()).unwrap_or_default(),
            csrf: caller.and_then(|c| c.csrf.clone()).unwrap_or_default(),
            path: uri
                .path_and_query()
                .map_or_else(|| "/".to_string(), |p| p.as_str().to_string()),
            can_view: can(P::ViewRegistrations),
            can_register: can(P::Register),
            can_trace: can(P::Trace),
            can_review: can(P::ReviewDuplicates),
            can_dashboard: can(P::ViewStatistics),
            can_administer: can(P::Administer),
            can_assist: can(P::ViewAssistance),
        }
    }
}

#[derive(serde::Deserialize)]
struct Choice {
    to: String,
    back: Option<String>,
}

/// Only a path on this server: never a redirect elsewhere. Browsers drop tabs and line breaks
/// from a location and read a backslash as a slash, so anything but plain printable ASCII is
/// refused with them.
fn local(back: Option<&str>) -> &str {
    match back {
        Some(b)
            if b.starts_with('/')
                && !b.starts_with("//")
                && b.len() <= 2_000
                && b.bytes().all(|c| c.is_ascii_graphic() && c != b'\\') =>
        {
            b
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::{error_page, local, reason};
    use peywand_store::Conflict;

    use crate::error::ApiError;
    use crate::i18n::{Lang, Tr};
    use crate::refusal::Refusal;

    /// A Dari or Pashto reader who meets an error reads it in their language, right to left,
    /// whatever the failure.
    #[test]
    fn error_pages_speak_the_readers_language() {
        let failures = [
            ApiError::Invalid("given_name is required".into()),
            ApiError::NotFound("household".into()),
            ApiError::Refused(Refusal::NoMembers),
            ApiError::Conflict(Conflict::CaseClosed),
            ApiError::BadJson("x".into()),
            ApiError::TooLarge,
            ApiError::Unavailable("x".into()),
            ApiError::Unauthenticated("x".into()),
            ApiError::Forbidden("x".into()),
            ApiError::TooManyAttempts("x".into()),
            ApiError::Internal,
        ];
        for lang in Lang::ALL {
            let t = Tr {
                lang,
                ..Tr::default()
            };
            for e in &failures {
                let page = error_page(&t, e.code(), &e.worded(&t));
                assert!(
                    !page.contains(">error-"),
                    "{} {}: {page}",
                    lang.code(),
                    e.code()
                );
                assert!(page.contains(&format!("dir={}", lang.dir())), "{page}");
                if lang != Lang::En {
                    assert!(
                        !page.contains("Sorry") && !page.contains("Back to"),
                        "{page}"
                    );
                    // What to mend is said in the reader's language too.
                    if matches!(e, ApiError::Refused(_) | ApiError::Conflict(_)) {
                        assert!(!page.contains(&e.to_string()), "{page}");
                    }
                }
            }
        }
        let refused = error_page(&Tr::default(), "invalid_request", "age <b>x</b> unreadable");
        assert!(
            refused.contains("age &lt;b&gt;x&lt;/b&gt; unreadable"),
            "{refused}"
        );
    }

    /// Every reason the engine can give is worded: a new field or level must not reach a page
    /// as a message key. (That Dari and Pashto have every English message is checked in
    /// `i18n`.)
    #[test]
    fn every_field_and_level_of_the_engine_is_worded() {
        for lang in Lang::ALL {
            let t = Tr {
                lang,
                ..Tr::default()
            };
            for field in peywand_linkage::FIELDS {
                for level in field.levels() {
                    let c = peywand_linkage::Contribution {
                        field,
                        level,
                        weight: 0.0,
                        frequency_adjustment: None,
                        note: None,
                    };
                    let (_, level_text, _) = reason(&t, &c);
                    assert!(
                        !level_text.starts_with("level-"),
                        "{}: {field:?} {level}",
                        lang.code()
                    );
                    let code = serde_json::to_value(field).unwrap_or_default();
                    let key = format!("field-{}", code.as_str().unwrap_or("").replace('_', "-"));
                    assert_ne!(t.get(&key), key, "{}", lang.code());
                }
            }
        }
    }

    #[test]
    fn switching_language_never_leaves_the_server() {
        assert_eq!(local(Some("/tracing?status=open")), "/tracing?status=open");
        for hostile in [
            "//evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/ /x",
            "/\n/evil",
        ] {
            assert_eq!(local(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(local(None), "/");
    }
}

fn preference(name: &str, value: &str, back: Option<&str>) -> Response {
    let cookie =
        format!("{name}={value}; Path=/; Max-Age=31536000; SameSite=Strict; Secure; HttpOnly");
    ([(header::SET_COOKIE, cookie)], Redirect::to(local(back))).into_response()
}

async fn choose_language(Query(c): Query<Choice>) -> Response {
    match Lang::from_code(&c.to) {
        Some(lang) => preference(i18n::LANGUAGE_COOKIE, lang.code(), c.back.as_deref()),
        None => (StatusCode::UNPROCESSABLE_ENTITY, "unknown language").into_response(),
    }
}

async fn choose_calendar(Query(c): Query<Choice>) -> Response {
    match Calendar::from_code(&c.to) {
        Some(cal) => preference(i18n::CALENDAR_COOKIE, cal.code(), c.back.as_deref()),
        None => (StatusCode::UNPROCESSABLE_ENTITY, "unknown calendar").into_response(),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    error: String,
    username: String,
}

async fn login_page(t: Tr, uri: Uri) -> Result<Html<String>, PageError> {
    render(&LoginPage {
        c: Chrome::new(t, None, &uri),
        error: String::new(),
        username: String::new(),
    })
}

#[derive(serde::Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

async fn login(
    State(s): State<AppState>,
    ConnectInfoOrigin(from): ConnectInfoOrigin,
    t: Tr,
    uri: Uri,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    auth::sign_in_from_here(&s, &headers, &from).await?;
    match auth::sign_in(&s, f.username.trim(), &f.password, &from).await {
        Ok(signed) => {
            let home = if signed.caller.must_change_password {
                "/password"
            } else {
                home(signed.caller.role)
            };
            Ok(([(header::SET_COOKIE, signed.cookie)], Redirect::to(home)).into_response())
        }
        Err(
            e @ (ApiError::Unauthenticated(_)
            | ApiError::TooManyAttempts(_)
            | ApiError::Forbidden(_)),
        ) => {
            let status = match e {
                ApiError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
                // A disabled account: said on the sign-in page, where its owner is.
                ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
                _ => StatusCode::UNAUTHORIZED,
            };
            let page = render(&LoginPage {
                c: Chrome::new(t, None, &uri),
                error: e.to_string(),
                username: f.username,
            })?;
            Ok((status, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The first page of a role's work.
pub(crate) fn home(role: peywand_access::Role) -> &'static str {
    use peywand_access::Permission as P;
    if role.can(P::ViewRegistrations) {
        "/"
    } else if role.can(P::Trace) {
        "/tracing"
    } else if role.can(P::ReviewDuplicates) {
        "/review"
    } else if role.can(P::ViewStatistics) {
        "/dashboard"
    } else if role.can(P::Administer) {
        "/admin/users"
    } else {
        "/api/v1/session"
    }
}

async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    let cleared = auth::sign_out(&s, &headers).await?;
    Ok(([(header::SET_COOKIE, cleared)], Redirect::to("/login")).into_response())
}

/// The client's address, for the audit log of sign-ins.
struct ConnectInfoOrigin(String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ConnectInfoOrigin {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ConnectInfoOrigin(auth::origin(&parts.extensions)))
    }
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../static/app.css"),
    )
}

async fn desk_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../static/desk.js"),
    )
}

/// A page that failed: the same words as the API, in a page.
pub(crate) struct PageError(pub(crate) ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError(e)
    }
}
impl From<peywand_store::StoreError> for PageError {
    fn from(e: peywand_store::StoreError) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = match self.0 {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        // Worded in the reader's language by `errors_in_language`, which knows the reader.
        let body = error_page(&Tr::default(), self.0.code(), &self.0.to_string());
        let mut response = (status, Html(body)).into_response();
        response.extensions_mut().insert(FailedPage(self.0));
        response
    }
}

/// A page that failed, as its handler's typed error left it.
#[derive(Clone)]
struct FailedPage(ApiError);

/// Words a failed page in the reader's language: what went wrong in general, the detail where
/// it helps (which field of a form was refused), and the way back. Handlers fail with typed
/// errors and need not know who reads them.
pub(crate) async fn errors_in_language(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let t = Tr::from_headers(request.headers());
    let mut response = next.run(request).await;
    if let Some(FailedPage(failed)) = response.extensions_mut().remove::<FailedPage>() {
        let body = error_page(&t, failed.code(), &failed.worded(&t));
        response.headers_mut().remove(header::CONTENT_LENGTH);
        *response.body_mut() = axum::body::Body::from(body);
    }
    response
}

fn error_page(t: &Tr, code: &str, detail: &str) -> String {
    let title = t.get("error-title");
    let explanation = t.get(&format!("error-{}", code.replace('_', "-")));
    // The detail says which field or value was refused; for other failures it is the server's
    // own wording and the explanation says all a reader needs.
    let detail = if matches!(code, "invalid_request" | "conflict") {
        format!("<p class=error dir=auto>{}</p>", escape(detail))
    } else {
        String::new()
    };
    format!(
        "<!doctype html><html lang={lang} dir={dir}><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=stylesheet href=/static/app.css>\
         <main><h1>{title}</h1><p>{explanation}</p>{detail}<p><a href=/>{back}</a></p></main></html>",
        lang = t.code_lang(),
        dir = t.dir(),
        title = escape(&title),
        explanation = escape(&explanation),
        back = escape(&t.get("error-back")),
    )
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(crate) fn render(t: &impl Template) -> Result<Html<String>, PageError> {
    t.render().map(Html).map_err(|e| {
        tracing::error!(error = %e, "template failed");
        PageError(ApiError::Internal)
    })
}

/// Each value of a vocabulary with its label in the user's language.
pub(crate) fn labelled<T: Copy>(
    t: &Tr,
    prefix: &str,
    all: &[T],
    code: impl Fn(T) -> &'static str,
) -> Vec<(&'static str, String)> {
    all.iter()
        .map(|v| (code(*v), t.code(prefix, code(*v))))
        .collect()
}

pub(crate) fn site_options() -> Vec<(String, String)> {
    let g = Gazetteer::get();
    [
        PlaceKind::CrossingPoint,
        PlaceKind::ReceptionCentre,
        PlaceKind::Camp,
    ]
    .iter()
    .flat_map(|k| g.all(*k))
    .map(|p| (p.code.clone(), p.name_en.clone()))
    .collect()
}

/// A site's name in the reader's script: the gazetteer's Dari name on Dari and Pashto pages,
/// the English one otherwise.
pub(crate) fn site_name(t: &Tr, code: Option<&str>) -> String {
    let Some(place) = code.and_then(|c| Gazetteer::get().by_code(c)) else {
        return String::new();
    };
    if t.code_lang() != "en" && !place.name_local.is_empty() {
        place.name_local.clone()
    } else {
        place.name_en.clone()
    }
}

/// A site's English name, as the coordination community's files carry it.
pub(crate) fn site_name_en(code: Option<&str>) -> String {
    code.and_then(|c| Gazetteer::get().by_code(c))
        .map(|p| p.name_en.clone())
        .unwrap_or_default()
}

struct PersonRow {
    given: String,
    father: String,
    grandfather: String,
    sex: String,
    born: String,
    site: String,
    registered: String,
    record_id: String,
    relationship: String,
    vulnerabilities: String,
}

fn born(t: &Tr, p: &Person) -> String {
    let text = match (p.derived.birth_year_min, p.derived.birth_year_max) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a}–{b}"),
        _ => String::new(),
    };
    t.digits(&text)
}

fn row(t: &Tr, p: &Person) -> PersonRow {
    PersonRow {
        given: p.raw.given_name.clone(),
        father: p.raw.father_name.clone(),
        grandfather: p.raw.grandfather_name.clone(),
        sex: p
            .derived
            .sex
            .map(|s| t.code("sex", s.code()))
            .unwrap_or_default(),
        born: born(t, p),
        site: if p.derived.site_code.is_some() {
            site_name(t, p.derived.site_code.as_deref())
        } else {
            p.raw.site.clone()
        },
        registered: t.date(
            p.derived
                .registered_on
                .unwrap_or_else(|| p.registered_at.date_naive()),
        ),
        record_id: p.record_id.to_string(),
        relationship: p
            .relationship
            .map(|r| t.code("rel", r.code()))
            .unwrap_or_default(),
        vulnerabilities: p
            .vulnerabilities
            .iter()
            .map(|v| t.code("vuln", v.code()))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[derive(Template)]
#[template(path = "recent.html")]
struct Recent {
    c: Chrome,
    rows: Vec<PersonRow>,
    count_line: String,
    total: u64,
    offset: u64,
    last: u64,
    prev: u64,
    name: String,
    site: String,
    sex: String,
    province: String,
    from: String,
    to: String,
    /// The filters, for the pager's links.
    query: String,
    sites: Vec<(String, String)>,
    provinces: Vec<(String, String)>,
}

const PAGE: u64 = 50;

async fn recent(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Query(q): Query<PersonQuery>,
) -> Result<Response, PageError> {
    let mut filter: PersonFilter = filter_from(&q)?;
    if let Some(own) = caller.site_scope() {
        filter.site_code = Some(own.to_string());
    }
    let offset = crate::api::page_of(q.offset, None)?.offset;
    let page = s.store.persons(&filter, Page::new(offset, PAGE)).await?;
    let disclosed = Disclosed::records(page.items.iter().map(|p| p.record_id.to_string()));
    let shown = page.items.len() as u64;
    let count_line = if page.total == 0 {
        t.get("no-registrations")
    } else {
        let range = format!("{}–{}", offset + 1, offset + shown);
        t.digits(&format!(
            "{} ({range})",
            t.with("registrations-count", "count", page.total)
        ))
    };
    render(&Recent {
        rows: page.items.iter().map(|p| row(&t, p)).collect(),
        count_line,
        total: page.total,
        offset,
        last: offset + shown,
        prev: offset.saturating_sub(PAGE),
        name: q.name.clone().unwrap_or_default(),
        site: q.site.clone().unwrap_or_default(),
        sex: q.sex.clone().unwrap_or_default(),
        province: q.province.clone().unwrap_or_default(),
        from: q.from.clone().unwrap_or_default(),
        to: q.to.clone().unwrap_or_default(),
        query: serde_urlencoded::to_string(
            [
                ("name", &q.name),
                ("site", &q.site),
                ("sex", &q.sex),
                ("province", &q.province),
                ("from", &q.from),
                ("to", &q.to),
            ]
            .iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v)))
            .collect::<Vec<_>>(),
        )
        .unwrap_or_default(),
        sites: site_options(),
        provinces: province_options(&t),
        c: Chrome::new(t, Some(&caller), &uri),
    })
    .map(|page| disclosed.on(page))
}

#[derive(Template)]
#[template(path = "household_new.html")]
struct NewHousehold {
    c: Chrome,
    error: String,
    sites: Vec<(String, String)>,
    provinces: Vec<(String, String)>,
    return_types: Vec<(&'static str, String)>,
    needs: Vec<(&'static str, String)>,
    legal_bases: Vec<(&'static str, String)>,
    purposes: Vec<(&'static str, String)>,
    relationships: Vec<(&'static str, String)>,
    vulnerabilities: Vec<(&'static str, String)>,
    document_types: Vec<(&'static str, String)>,
    /// What was typed so far, when the form comes back (a member added, or a refusal).
    typed: Vec<(String, String)>,
    members: Vec<MemberBlock>,
    /// At a site that syncs: when it last reached the hub, and how much waits to go.
    sync_line: String,
}

/// One member's block on the desk.
struct MemberBlock {
    i: usize,
    head: bool,
    /// Its given name gets the focus: the head's on a new form, a member's just added.
    focus: bool,
    legend: String,
    /// The fields after the first five start folded for members after the head, unless
    /// something was typed in them.
    open: bool,
}

/// A member's fields after the ones a registrar asks first (name, father's name, sex, age,
/// relationship), in the order they are asked.
const MORE_FIELDS: [&str; 8] = [
    "grandfather_name",
    "family_name",
    "birth_date",
    "province_of_origin",
    "last_residence",
    "document_type",
    "document_number",
    "phone",
];

/// Every typed column of a member, as the form names them with an `_N` suffix.
const MEMBER_FIELDS: [&str; 12] = [
    "given_name",
    "father_name",
    "sex",
    "age",
    "grandfather_name",
    "family_name",
    "birth_date",
    "province_of_origin",
    "last_residence",
    "document_type",
    "document_number",
    "phone",
];

/// No desk registers a household this large; a form claiming more is cut here.
const MAX_MEMBERS: usize = 60;

/// How many member blocks a submitted form holds: one more than its highest `_N`.
fn member_count(fields: &[(String, String)]) -> usize {
    fields
        .iter()
        .filter_map(|(k, _)| {
            let (name, n) = k.rsplit_once('_')?;
            let known =
                MEMBER_FIELDS.contains(&name) || name == "relationship" || name == "vulnerability";
            known.then(|| n.parse::<usize>().ok()).flatten()
        })
        .map(|n| n + 1)
        .max()
        .unwrap_or(0)
        .min(MAX_MEMBERS)
}

fn new_household_page(
    error: String,
    typed: Vec<(String, String)>,
    members: usize,
    focus: usize,
    caller: &Caller,
    t: Tr,
    uri: &Uri,
) -> NewHousehold {
    let members = (0..members.max(2))
        .map(|i| MemberBlock {
            i,
            head: i == 0,
            focus: i == focus,
            legend: member_legend(&t, i),
            open: i == 0
                || MORE_FIELDS
                    .iter()
                    .chain(&["vulnerability"])
                    .any(|f| form_value(&typed, &format!("{f}_{i}")).is_some()),
        })
        .collect();
    NewHousehold {
        sync_line: String::new(),
        error,
        sites: site_options(),
        provinces: province_options(&t),
        return_types: labelled(&t, "return", ReturnType::ALL, ReturnType::code),
        needs: labelled(&t, "need", Need::ALL, Need::code),
        legal_bases: labelled(&t, "basis", LegalBasis::ALL, LegalBasis::code),
        purposes: labelled(&t, "purpose", Purpose::ALL, Purpose::code),
        relationships: labelled(&t, "rel", Relationship::ALL, Relationship::code),
        vulnerabilities: labelled(&t, "vuln", Vulnerability::ALL, Vulnerability::code),
        document_types: vec![
            ("PoR", "PoR".into()),
            ("ACC", "ACC".into()),
            ("tazkira", t.get("doc-tazkira")),
            ("e-tazkira", t.get("doc-e-tazkira")),
            ("passport", t.get("doc-passport")),
            ("other", t.get("other")),
        ],
        typed,
        members,
        c: Chrome::new(t, Some(caller), uri),
    }
}

fn member_legend(t: &Tr, i: usize) -> String {
    if i == 0 {
        t.get("member-head")
    } else {
        t.with("member-n", "n", t.digits(&(i + 1).to_string()))
    }
}

impl NewHousehold {
    /// The value typed in a field, empty when none.
    fn value(&self, name: &str) -> String {
        self.typed
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn member_value(&self, field: &str, i: &usize) -> String {
        self.value(&format!("{field}_{i}"))
    }

    /// Whether a check box or option was chosen: a household's, or a member's when `i` is
    /// given.
    fn chosen(&self, name: &str, value: &str) -> bool {
        self.typed.iter().any(|(k, v)| k == name && v == value)
    }

    fn member_chosen(&self, field: &str, i: &usize, value: &str) -> bool {
        self.chosen(&format!("{field}_{i}"), value)
    }

    /// A fresh form has every purpose ticked; a form coming back keeps what was ticked.
    fn purpose_ticked(&self, value: &str) -> bool {
        self.typed.is_empty() || self.chosen("purposes", value)
    }

    /// The head is the head unless the registrar chose otherwise.
    fn relationship_chosen(&self, i: &usize, value: &str) -> bool {
        match form_value(&self.typed, &format!("relationship_{i}")) {
            Some(v) => v == value,
            None => *i == 0 && value == "head",
        }
    }
}

/// Provinces by name in the user's script where the gazetteer has it.
pub(crate) fn province_options(t: &Tr) -> Vec<(String, String)> {
    Gazetteer::get()
        .all(PlaceKind::Province)
        .map(|p| (p.code.clone(), place_name(t, p)))
        .collect()
}

pub(crate) fn place_name(t: &Tr, p: &peywand_names::place::Place) -> String {
    match t.lang {
        Lang::En => p.name_en.clone(),
        Lang::Fa | Lang::Ps if !p.name_local.is_empty() => p.name_local.clone(),
        Lang::Fa | Lang::Ps => p.name_en.clone(),
    }
}

async fn new_household(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
) -> Result<Html<String>, PageError> {
    let sync_line = sync_line(&s, &t).await?;
    let mut page = new_household_page(String::new(), Vec::new(), 2, 0, &caller, t, &uri);
    page.sync_line = sync_line;
    render(&page)
}

/// "Last synced with the hub 12 minutes ago; 3 changes wait to go", at a site that syncs.
async fn sync_line(s: &AppState, t: &Tr) -> Result<String, ApiError> {
    let Some(link) = s.store.hub_link().await? else {
        return Ok(String::new());
    };
    let own = s.store.origin().await?;
    let waiting = (s.store.heads().await?.get(&own) - link.acknowledged).max(0);
    let waiting = t.digits(&waiting.to_string());
    Ok(match link.last_synced_at {
        Some(at) => {
            let minutes = (chrono::Utc::now() - at).num_minutes().max(0);
            t.with_all(
                "sync-status",
                &[
                    ("minutes", t.digits(&minutes.to_string())),
                    ("waiting", waiting),
                ],
            )
        }
        None => t.with("sync-never", "waiting", waiting),
    })
}

/// Reads the household form: repeated keys for the check boxes, `_N` suffixes for members.
/// A form field's value, trimmed; `None` when absent or empty.
pub(crate) fn form_value(fields: &[(String, String)], key: &str) -> Option<String> {
    fields
        .iter()
        .find(|(f, _)| f == key)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn draft_from_form(fields: &[(String, String)]) -> HouseholdDraft {
    let get = |k: &str| form_value(fields, k);
    let all = |k: &str| {
        fields
            .iter()
            .filter(|(f, _)| f == k)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    let mut draft = HouseholdDraft {
        site_code: get("site"),
        destination_province: get("destination_province"),
        destination_district: None,
        return_type: get("return_type").and_then(|v| ReturnType::from_code(&v)),
        needs: all("needs")
            .into_iter()
            .filter_map(Need::from_code)
            .collect(),
        legal_basis: get("legal_basis").and_then(|v| LegalBasis::from_code(&v)),
        purposes: all("purposes")
            .into_iter()
            .filter_map(Purpose::from_code)
            .collect(),
        members: vec![],
    };
    for i in 0..member_count(fields) {
        let mut raw = RawRegistration::default();
        for col in MEMBER_FIELDS {
            if let (Some(v), Some(slot)) = (get(&format!("{col}_{i}")), raw.get_mut(col)) {
                *slot = v;
            }
        }
        if !raw.has_name() {
            continue;
        }
        let relationship =
            get(&format!("relationship_{i}")).and_then(|v| Relationship::from_code(&v));
        let vulnerabilities = all(&format!("vulnerability_{i}"))
            .into_iter()
            .filter_map(Vulnerability::from_code)
            .collect();
        draft.members.push(MemberDraft {
            raw,
            relationship,
            vulnerabilities,
        });
    }
    draft
}

async fn create_household(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    // The form without its script: "add a member" sends what was typed so far, and the
    // desk comes back with one more block, its given name focused.
    let typed: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| k != "csrf" && k != "add_member")
        .cloned()
        .collect();
    if form_value(&fields, "add_member").is_some() {
        let members = (member_count(&fields) + 1).min(MAX_MEMBERS);
        let page = new_household_page(String::new(), typed, members, members - 1, &caller, t, &uri);
        return Ok(render(&page)?.into_response());
    }
    let mut draft = draft_from_form(&fields);
    if let Err(e) = validate(&draft) {
        let members = member_count(&fields);
        let page = render(&new_household_page(
            e.worded(&t),
            typed,
            members,
            0,
            &caller,
            t,
            &uri,
        ))?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    confine_to_site(&caller, &mut draft)?;
    let record = s.store.create_household(&draft, &actor(&caller)).await?;
    s.matching.add_persons(&record.members).await;
    crate::cases::rematch_in_background(&s, &record.members);
    tracing::info!(household = %record.household.id, members = record.members.len(), "household registered at a desk");
    Ok(Redirect::to(&format!("/households/{}?saved=1", record.household.id)).into_response())
}

/// The duplicate panel for one member being typed: rendered here, in the user's language,
/// for the desk's script to show.
#[derive(Template)]
#[template(path = "duplicates_panel.html")]
struct DuplicatesPanel {
    t: Tr,
    who: String,
    candidates: Vec<PanelCandidate>,
    /// Other sites' registrations were left out: the hour's checks naming them are spent.
    withheld: bool,
}

struct PanelCandidate {
    /// Empty for another site's registration shown to a site-bound user.
    record_id: String,
    percent: String,
    likely: bool,
    /// Field, what was found, and whether it counts for or against.
    reasons: Vec<(String, String, &'static str)>,
    /// For another site's registration: where, when and why, in words.
    elsewhere: String,
}

/// A field's part in a match in words: the field, its level, and for/against/none.
pub(crate) fn reason(t: &Tr, c: &peywand_linkage::Contribution) -> (String, String, &'static str) {
    let field = serde_json::to_value(c.field)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let levels = c.field.levels();
    let index = levels.iter().position(|l| *l == c.level).unwrap_or(0);
    let kind = match c.field {
        peywand_linkage::Field::GivenName
        | peywand_linkage::Field::FatherName
        | peywand_linkage::Field::GrandfatherName
        | peywand_linkage::Field::FamilyName => "name",
        peywand_linkage::Field::BirthYear => "year",
        peywand_linkage::Field::Document => "document",
        peywand_linkage::Field::Household => "household",
        peywand_linkage::Field::Province => "province",
        peywand_linkage::Field::Phone => "phone",
        peywand_linkage::Field::Registered => "registered",
        _ => "value",
    };
    let mut level = t.get(&format!("level-{kind}-{index}"));
    let note = match c.note {
        Some(peywand_linkage::Note::HusbandAsFather) => Some("note-husband-as-father"),
        Some(peywand_linkage::Note::HusbandInHousehold) => Some("note-husband-in-household"),
        Some(peywand_linkage::Note::NamesCrossed) => Some("note-names-crossed"),
        Some(peywand_linkage::Note::SlipInRequest) => Some("note-slip-in-request"),
        None => None,
    };
    if let Some(note) = note {
        level = format!("{level} ({})", t.get(note));
    }
    let class = if c.weight > 0.5 {
        "for"
    } else if c.weight < -0.5 {
        "against"
    } else {
        "none"
    };
    (t.code("field", &field), level, class)
}

/// "5 of 6 members match", where the two were judged as registrations of one family.
pub(crate) fn family_reason(
    t: &Tr,
    e: &peywand_linkage::Explanation,
) -> Option<(String, String, &'static str)> {
    let f = e.family.as_ref()?;
    let count = |n: usize| t.digits(&n.to_string());
    let text = t.with_all(
        "family-members-match",
        &[
            ("matched", count(f.matching_members)),
            ("members", count(f.members)),
        ],
    );
    Some((t.get("field-household"), text, "for"))
}

/// "Another member of the household fits as well", where other members of the two households
/// were weighed against the pair and took from it.
pub(crate) fn rivals_reason(
    t: &Tr,
    e: &peywand_linkage::Explanation,
) -> Option<(String, String, &'static str)> {
    let r = e.rivals.as_ref()?;
    (r.probability_alone - e.probability >= 0.01).then(|| {
        (
            t.get("field-household"),
            t.get("household-member-fits-as-well"),
            "against",
        )
    })
}

pub(crate) fn percent(t: &Tr, p: f64) -> String {
    t.digits(&format!("{:.0}%", (p * 100.0).clamp(0.0, 100.0)))
}

async fn check_member(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let mut raw = RawRegistration::default();
    for (k, v) in &fields {
        if let Some(slot) = raw
            .get_mut(k)
            .filter(|_| k != "record_id" && k != "household_id")
        {
            *slot = v.chars().take(RawRegistration::MAX_FIELD_CHARS).collect();
        }
    }
    if !raw.has_name() {
        return Ok(Html(String::new()).into_response());
    }
    if raw.registered_on.trim().is_empty() {
        raw.registered_on = chrono::Utc::now().date_naive().to_string();
    }
    let who = [&raw.given_name, &raw.father_name, &raw.family_name]
        .iter()
        .filter(|n| !n.trim().is_empty())
        .map(|n| n.trim())
        .collect::<Vec<_>>()
        .join(" ");
    let (derived, _) = raw.derive();
    let probe = peywand_domain::MatchRecord::from_registration("", "", &raw, &derived);
    let index = s.matching.clone();
    let (_, found) = tokio::task::spawn_blocking(move || {
        index.check(&[probe], 5, peywand_linkage::Sought::Registrant)
    })
    .await
    .map_err(|_| ApiError::Internal)?;
    let screened = crate::other_sites::screen(&s, &caller, found).await?;
    let shown = Disclosed {
        query: crate::api::asked(std::slice::from_ref(&raw)),
        records: screened.records_shown(),
    };
    let withheld = screened.withheld;
    let candidates = screened
        .members
        .into_iter()
        .next()
        .unwrap_or_default()
        .into_iter()
        .map(|seen| panel_candidate(&t, seen))
        .collect();
    let panel = render(&DuplicatesPanel {
        t,
        who,
        candidates,
        withheld,
    })?;
    Ok(shown.on(panel))
}

/// One candidate of the desk's panel, in the reader's language.
fn panel_candidate(t: &Tr, seen: crate::other_sites::Seen) -> PanelCandidate {
    use crate::other_sites::{Resemblance, Seen};
    let likely = peywand_linkage::Settings::default().link_threshold;
    match seen {
        Seen::Whole(c, e) => PanelCandidate {
            percent: percent(t, c.probability),
            likely: c.probability >= likely,
            record_id: c.record_id,
            reasons: family_reason(t, &e)
                .into_iter()
                .chain(rivals_reason(t, &e))
                .chain(
                    e.fields
                        .iter()
                        .filter(|f| f.level != "missing")
                        .map(|f| reason(t, f)),
                )
                .collect(),
            elsewhere: String::new(),
        },
        Seen::Elsewhere {
            likely, elsewhere, ..
        } => {
            let key = match elsewhere.resemblance {
                Resemblance::Family => "elsewhere-family",
                Resemblance::Person => "elsewhere-person",
            };
            PanelCandidate {
                record_id: String::new(),
                percent: String::new(),
                likely,
                reasons: Vec::new(),
                elsewhere: t.with_all(
                    key,
                    &[
                        ("site", site_name(t, Some(&elsewhere.site_code))),
                        ("date", t.date(elsewhere.registered_on)),
                    ],
                ),
            }
        }
    }
}

#[derive(Template)]
#[template(path = "household.html")]
struct HouseholdPage {
    c: Chrome,
    /// Fields two offline edits changed differently: what is kept, the other value, who,
    /// where and when, for a person to settle by editing.
    crossed: Vec<String>,
    id: String,
    saved: bool,
    reference: String,
    site: String,
    destination: String,
    return_type: String,
    needs: String,
    legal_basis: String,
    registered: String,
    members: Vec<PersonRow>,
}

#[derive(serde::Deserialize)]
struct Saved {
    saved: Option<String>,
}

async fn view_household(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<Saved>,
) -> Result<Response, PageError> {
    let rec = household_in_scope(&s, &caller, &id).await?;
    let disclosed = Disclosed::records(rec.members.iter().map(|m| m.record_id.to_string()));
    let h = &rec.household;
    let crossed = s
        .store
        .crossed_fields(h.id)
        .await?
        .iter()
        .map(|f| {
            t.with_all(
                "crossed-field",
                &[
                    ("field", f.field.clone()),
                    ("kept", f.kept.to_string()),
                    ("kept_by", f.kept_by.clone()),
                    ("kept_origin", f.kept_origin.clone()),
                    ("other", f.other.to_string()),
                    ("other_by", f.other_by.clone()),
                    ("other_origin", f.other_origin.clone()),
                ],
            )
        })
        .collect();
    render(&HouseholdPage {
        crossed,
        id: h.id.to_string(),
        saved: q.saved.is_some(),
        reference: h.reference.clone(),
        site: site_name(&t, h.site_code.as_deref()),
        destination: h
            .destination_province
            .as_deref()
            .and_then(|c| Gazetteer::get().by_code(c))
            .map(|p| place_name(&t, p))
            .unwrap_or_default(),
        return_type: h
            .return_type
            .map(|r| t.code("return", r.code()))
            .unwrap_or_default(),
        needs: h
            .needs
            .iter()
            .map(|n| t.code("need", n.code()))
            .collect::<Vec<_>>()
            .join(", "),
        legal_basis: h
            .legal_basis
            .map(|b| t.code("basis", b.code()))
            .unwrap_or_default(),
        registered: t.date(h.registered_at.date_naive()),
        members: rec.members.iter().map(|p| row(&t, p)).collect(),
        c: Chrome::new(t, Some(&caller), &uri),
    })
    .map(|page| disclosed.on(page))
}

#[derive(Template)]
#[template(path = "card.html")]
struct CardPage {
    c: Chrome,
    reference: String,
    qr: String,
    head: String,
    size: String,
    site: String,
    registered: String,
}

/// The household's card, to print: its reference and a QR code of its id, which a
/// distribution point scans to find the household.
async fn household_card(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let rec = household_in_scope(&s, &caller, &id).await?;
    let disclosed = Disclosed::records(rec.members.iter().map(|m| m.record_id.to_string()));
    let h = &rec.household;
    let qr = qrcode::QrCode::with_error_correction_level(
        h.id.to_string().as_bytes(),
        qrcode::EcLevel::M,
    )
    .map_err(|_| ApiError::Internal)?
    .render::<qrcode::render::svg::Color<'_>>()
    .min_dimensions(180, 180)
    .build();
    let head = rec
        .members
        .iter()
        .find(|m| m.relationship == Some(Relationship::Head))
        .or(rec.members.first())
        .map(|m| {
            [&m.raw.given_name, &m.raw.father_name, &m.raw.family_name]
                .iter()
                .filter(|n| !n.is_empty())
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    render(&CardPage {
        reference: h.reference.clone(),
        // The SVG starts with an XML declaration: keep only the element for inline use.
        qr: qr
            .find("<svg")
            .map_or(qr.clone(), |at| qr[at..].to_string()),
        head,
        size: t.digits(&rec.members.len().to_string()),
        site: site_name(&t, h.site_code.as_deref()),
        registered: t.date(h.registered_at.date_naive()),
        c: Chrome::new(t, Some(&caller), &uri),
    })
    .map(|page| disclosed.on(page))
}
