//! Server-rendered pages: register a household, view it, list recent registrations.

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use peywand_domain::{
    LegalBasis, Need, Person, Purpose, RawRegistration, Relationship, ReturnType, Vulnerability,
};
use peywand_names::place::{Gazetteer, PlaceKind};
use peywand_store::{HouseholdDraft, MemberDraft, Page, PersonFilter};

use crate::AppState;
use crate::api::{
    PersonQuery, actor, check_site, confine_to_site, filter_from, household_id, validate,
};
use crate::auth::{self, Caller};
use crate::error::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(recent))
        .route("/households/new", get(new_household))
        .route("/households", axum::routing::post(create_household))
        .route("/households/{id}", get(view_household))
        .route("/static/app.css", get(css))
        .route("/login", get(login_page).post(login))
        .route("/logout", axum::routing::post(logout))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    error: String,
    username: String,
}

async fn login_page() -> Result<Html<String>, PageError> {
    render(&LoginPage {
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
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    match auth::sign_in(&s, f.username.trim(), &f.password, &from).await {
        Ok(signed) => {
            let home = if signed
                .caller
                .role
                .can(peywand_access::Permission::ViewRegistrations)
            {
                "/"
            } else {
                "/api/v1/session"
            };
            Ok(([(header::SET_COOKIE, signed.cookie)], Redirect::to(home)).into_response())
        }
        Err(e @ (ApiError::Unauthenticated(_) | ApiError::TooManyAttempts(_))) => {
            let status = if matches!(e, ApiError::TooManyAttempts(_)) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            let page = render(&LoginPage {
                error: e.to_string(),
                username: f.username,
            })?;
            Ok((status, page).into_response())
        }
        Err(e) => Err(e.into()),
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

/// A page that failed: the same words as the API, in a page.
struct PageError(ApiError);

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
        let body = format!(
            "<!doctype html><meta charset=utf-8><link rel=stylesheet href=/static/app.css><main><h1>Sorry</h1><p class=error>{}</p><p><a href=/>Back to registrations</a></p></main>",
            escape(&self.0.to_string())
        );
        (status, Html(body)).into_response()
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn render(t: &impl Template) -> Result<Html<String>, PageError> {
    t.render().map(Html).map_err(|e| {
        tracing::error!(error = %e, "template failed");
        PageError(ApiError::Internal)
    })
}

/// Turns a code into words for people: "female_headed_household" → "Female headed household".
fn label(code: &str) -> String {
    let s = code.replace('_', " ");
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn labelled<T: Copy>(all: &[T], code: impl Fn(T) -> &'static str) -> Vec<(&'static str, String)> {
    all.iter().map(|v| (code(*v), label(code(*v)))).collect()
}

fn site_options() -> Vec<(String, String)> {
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

fn site_name(code: Option<&str>) -> String {
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
    household: String,
    record_id: String,
    relationship: String,
    vulnerabilities: String,
}

fn born(p: &Person) -> String {
    match (p.derived.birth_year_min, p.derived.birth_year_max) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a}–{b}"),
        _ => String::new(),
    }
}

fn row(p: &Person) -> PersonRow {
    PersonRow {
        given: p.raw.given_name.clone(),
        father: p.raw.father_name.clone(),
        grandfather: p.raw.grandfather_name.clone(),
        sex: p.derived.sex.map(|s| label(s.code())).unwrap_or_default(),
        born: born(p),
        site: if p.derived.site_code.is_some() {
            site_name(p.derived.site_code.as_deref())
        } else {
            p.raw.site.clone()
        },
        registered: p
            .derived
            .registered_on
            .map(|d| d.to_string())
            .unwrap_or_else(|| p.registered_at.date_naive().to_string()),
        household: p.household_id.to_string(),
        record_id: p.record_id.to_string(),
        relationship: p.relationship.map(|r| label(r.code())).unwrap_or_default(),
        vulnerabilities: p
            .vulnerabilities
            .iter()
            .map(|v| label(v.code()))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[derive(Template)]
#[template(path = "recent.html")]
struct Recent {
    rows: Vec<PersonRow>,
    total: u64,
    offset: u64,
    first: u64,
    last: u64,
    prev: u64,
    name: String,
    site: String,
    sites: Vec<(String, String)>,
    user: String,
    csrf: String,
}

const PAGE: u64 = 50;

async fn recent(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<PersonQuery>,
) -> Result<Html<String>, PageError> {
    let mut filter: PersonFilter = filter_from(&q)?;
    if let Some(own) = caller.site_scope() {
        filter.site_code = Some(own.to_string());
    }
    let offset = crate::api::page_of(q.offset, None)?.offset;
    let page = s.store.persons(&filter, Page::new(offset, PAGE)).await?;
    let shown = page.items.len() as u64;
    render(&Recent {
        rows: page.items.iter().map(row).collect(),
        total: page.total,
        offset,
        first: offset + 1,
        last: offset + shown,
        prev: offset.saturating_sub(PAGE),
        name: q.name.clone().unwrap_or_default(),
        site: q.site.clone().unwrap_or_default(),
        sites: site_options(),
        user: caller.username.clone(),
        csrf: caller.csrf.clone().unwrap_or_default(),
    })
}

#[derive(Template)]
#[template(path = "household_new.html")]
struct NewHousehold {
    error: String,
    csrf: String,
    sites: Vec<(String, String)>,
    provinces: Vec<(String, String)>,
    return_types: Vec<(&'static str, String)>,
    needs: Vec<(&'static str, String)>,
    legal_bases: Vec<(&'static str, String)>,
    purposes: Vec<(&'static str, String)>,
    relationships: Vec<(&'static str, String)>,
    vulnerabilities: Vec<(&'static str, String)>,
    member_slots: Vec<usize>,
}

/// Member rows on the form; a bigger household is completed by editing.
const MEMBER_SLOTS: usize = 8;

fn new_household_page(error: String, caller: &Caller) -> NewHousehold {
    NewHousehold {
        error,
        csrf: caller.csrf.clone().unwrap_or_default(),
        sites: site_options(),
        provinces: Gazetteer::get()
            .all(PlaceKind::Province)
            .map(|p| (p.code.clone(), p.name_en.clone()))
            .collect(),
        return_types: labelled(ReturnType::ALL, ReturnType::code),
        needs: labelled(Need::ALL, Need::code),
        legal_bases: labelled(LegalBasis::ALL, LegalBasis::code),
        purposes: labelled(Purpose::ALL, Purpose::code),
        relationships: labelled(Relationship::ALL, Relationship::code),
        vulnerabilities: labelled(Vulnerability::ALL, Vulnerability::code),
        member_slots: (0..MEMBER_SLOTS).collect(),
    }
}

async fn new_household(Extension(caller): Extension<Caller>) -> Result<Html<String>, PageError> {
    render(&new_household_page(String::new(), &caller))
}

/// Reads the household form: repeated keys for the check boxes, `_N` suffixes for members.
fn draft_from_form(fields: &[(String, String)]) -> HouseholdDraft {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(f, _)| f == k)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
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
    for i in 0..MEMBER_SLOTS {
        let mut raw = RawRegistration::default();
        for col in [
            "given_name",
            "father_name",
            "grandfather_name",
            "family_name",
            "sex",
            "age",
            "birth_date",
            "province_of_origin",
            "last_residence",
            "document_type",
            "document_number",
            "phone",
        ] {
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
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let mut draft = draft_from_form(&fields);
    if let Err(e) = validate(&draft) {
        let page = render(&new_household_page(e.to_string(), &caller))?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    confine_to_site(&caller, &mut draft)?;
    let record = s.store.create_household(&draft, &actor(&caller)).await?;
    s.matching.add_persons(&record.members).await;
    crate::cases::rematch_in_background(&s, &record.members);
    tracing::info!(household = %record.household.id, members = record.members.len(), "household registered at a desk");
    Ok(Redirect::to(&format!("/households/{}", record.household.id)).into_response())
}

#[derive(Template)]
#[template(path = "household.html")]
struct HouseholdPage {
    reference: String,
    site: String,
    destination: String,
    return_type: String,
    needs: String,
    legal_basis: String,
    registered: String,
    members: Vec<PersonRow>,
}

async fn view_household(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let hid = household_id(&id)?;
    let rec = s
        .store
        .household(hid)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("household {id}")))?;
    check_site(&caller, rec.household.site_code.as_deref())?;
    let h = &rec.household;
    render(&HouseholdPage {
        reference: h.reference.clone(),
        site: site_name(h.site_code.as_deref()),
        destination: h
            .destination_province
            .as_deref()
            .and_then(|c| Gazetteer::get().by_code(c))
            .map(|p| p.name_en.clone())
            .unwrap_or_default(),
        return_type: h.return_type.map(|r| label(r.code())).unwrap_or_default(),
        needs: h
            .needs
            .iter()
            .map(|n| label(n.code()))
            .collect::<Vec<_>>()
            .join(", "),
        legal_basis: h.legal_basis.map(|b| label(b.code())).unwrap_or_default(),
        registered: h.registered_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        members: rec.members.iter().map(row).collect(),
    })
}
