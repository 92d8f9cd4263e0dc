//! OpenRosa, the protocol ODK Collect and KoboCollect speak, as ODK Central serves it: the
//! form list, the household form (generated, see [`form`]), its manifest, and submissions.
//!
//! A phone is configured with a server address that holds its device token
//! (`/openrosa/key/{token}`, as Central's app users have): the token belongs to a registrar
//! at a site, is revocable, and works for these routes only. HTTP Basic is not offered:
//! Peywand serves plain HTTP behind a TLS proxy and cannot tell whether the phone's
//! connection was encrypted (docs/security.md).
//!
//! A submission is registered through the desk's own path: validated, confined to the
//! device's site, saved, added to the matching index and matched against open tracing
//! requests. Each is kept by its `instanceID` with a digest of its XML (see
//! [`peywand_store::SubmissionStore`]): a retry after a cut connection, or the same form sent
//! again with more attachments, is answered 201 without registering twice; other content
//! under the same id is refused (409); an edit (`deprecatedID`) replaces the household's
//! registration.

pub mod collect;
pub mod form;
mod submission;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use quick_xml::escape::escape;

use peywand_store::Reservation;

use crate::AppState;
use crate::api::{actor, check_site, confine_to_site, validate};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::i18n::Tr;
use form::{FORM_ID, HOUSEHOLD_FORM};
use submission::Unreadable;

/// Where every OpenRosa route starts.
pub const PREFIX: &str = "/openrosa/";

/// The header a device token is told apart by: its text starts with this.
pub const DEVICE_TOKEN_PREFIX: &str = "pd_";

/// The most a phone may put in one POST; Collect splits a larger submission's attachments
/// across several, each repeating the form's XML. Below the server's body limit, with room
/// for the multipart framing.
pub const ACCEPT_CONTENT_LENGTH: usize = crate::MAX_BODY_BYTES - 64 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openrosa/key/{token}/formList", get(form_list))
        .route("/openrosa/key/{token}/forms/{form_id}", get(download))
        .route(
            "/openrosa/key/{token}/forms/{form_id}/manifest",
            get(manifest),
        )
        .route("/openrosa/key/{token}/submission", get(probe).post(submit))
}

/// Requires `X-OpenRosa-Version` on every OpenRosa request, as Central does, and gives every
/// answer the headers Collect reads.
pub async fn headers(req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with(PREFIX) {
        return next.run(req).await;
    }
    let mut response = if req.headers().get("x-openrosa-version").is_none() {
        answer(
            StatusCode::BAD_REQUEST,
            "requests must carry the header X-OpenRosa-Version: 1.0",
        )
    } else {
        next.run(req).await
    };
    let h = response.headers_mut();
    h.insert("x-openrosa-version", HeaderValue::from_static("1.0"));
    h.insert(
        "x-openrosa-accept-content-length",
        HeaderValue::from(ACCEPT_CONTENT_LENGTH),
    );
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    if let Ok(v) = HeaderValue::from_str(&date) {
        h.insert(header::DATE, v);
    }
    response
}

/// An `OpenRosaResponse`: Collect shows its message to the enumerator.
fn answer(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<OpenRosaResponse xmlns=\"http://openrosa.org/http/response\" items=\"0\">\
         <message nature=\"{}\">{}</message></OpenRosaResponse>",
        if status.is_success() {
            "submit_success"
        } else {
            "error"
        },
        escape(message)
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// The address the phone reached this server at, token included: the form list's links
/// lead back through the same proxy, over the same scheme.
fn base(headers: &HeaderMap, token: &str) -> String {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let scheme = match text("x-forwarded-proto") {
        Some("https") => "https",
        _ => "http",
    };
    let host = text("x-forwarded-host")
        .or_else(|| text(header::HOST.as_str()))
        .unwrap_or("localhost");
    format!("{scheme}://{host}/openrosa/key/{token}")
}

async fn form_list(headers: HeaderMap, Path(token): Path<String>) -> Response {
    let f = &*HOUSEHOLD_FORM;
    let base = base(&headers, &token);
    let name = Tr::default().get("xform-title");
    xml(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <xforms xmlns=\"http://openrosa.org/xforms/xformsList\">\n  <xform>\n    \
         <formID>{FORM_ID}</formID>\n    <name>{}</name>\n    <version>{}</version>\n    \
         <hash>{}</hash>\n    <downloadUrl>{base}/forms/{FORM_ID}</downloadUrl>\n    \
         <manifestUrl>{base}/forms/{FORM_ID}/manifest</manifestUrl>\n  </xform>\n</xforms>\n",
        escape(name.as_str()),
        f.version,
        f.hash,
    ))
}

async fn download(Path((_, form_id)): Path<(String, String)>) -> Response {
    if form_id != FORM_ID {
        return answer(StatusCode::NOT_FOUND, "there is no such form");
    }
    xml(HOUSEHOLD_FORM.xml.clone())
}

/// The household form has no media files: its manifest lists none.
async fn manifest(Path((_, form_id)): Path<(String, String)>) -> Response {
    if form_id != FORM_ID {
        return answer(StatusCode::NOT_FOUND, "there is no such form");
    }
    xml("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <manifest xmlns=\"http://openrosa.org/xforms/xformsManifest\"/>\n"
        .into())
}

/// Collect asks before sending (HEAD, or GET): 204 says this is an OpenRosa server.
async fn probe() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// How long a reservation may wait for its household before it is taken as abandoned (the
/// server stopped while saving): the phone's next attempt then registers it.
const ABANDONED_AFTER_SECONDS: i64 = 120;

async fn submit(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match receive(&s, &caller, &t, &headers, &body).await {
        Ok(r) | Err(r) => r,
    }
}

fn unreadable(t: &Tr, e: &Unreadable) -> Response {
    let status = match e {
        Unreadable::OtherForm(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    answer(status, &t.with("submission-broken", "reason", e))
}

fn refused(t: &Tr, e: &ApiError) -> Response {
    let status = match e {
        ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
        ApiError::NotFound(_) => StatusCode::NOT_FOUND,
        ApiError::Conflict(_) => StatusCode::CONFLICT,
        ApiError::Refused(_) | ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    answer(status, &e.worded(t))
}

async fn receive(
    s: &AppState,
    caller: &Caller,
    t: &Tr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = submission::boundary(content_type)
        .ok_or_else(|| unreadable(t, &Unreadable::NotMultipart))?;
    let parts = submission::parts(body, &boundary).map_err(|e| unreadable(t, &e))?;
    let mut xml_parts = parts.iter().filter(|p| p.name == "xml_submission_file");
    let xml = xml_parts
        .next()
        .ok_or_else(|| unreadable(t, &Unreadable::NoXml))?;
    if xml_parts.next().is_some() {
        return Err(unreadable(t, &Unreadable::SeveralXml));
    }
    // Attachments are not kept: the household form asks for none, and photographs of people
    // are data Peywand does not hold.
    let attachments = parts.len() - 1;
    let text = std::str::from_utf8(xml.body).map_err(|_| unreadable(t, &Unreadable::BadXml))?;
    let mut submitted = submission::read(xml.body).map_err(|e| unreadable(t, &e))?;
    validate(&submitted.draft).map_err(|e| refused(t, &e))?;
    confine_to_site(caller, &mut submitted.draft).map_err(|e| refused(t, &e))?;
    let digest = peywand_access::Secret::digest_of(text);
    let id = submitted.instance_id.as_str();
    let reserve = || {
        s.store
            .reserve_submission(id, &digest, &caller.username, chrono::Utc::now())
    };
    let store_error = |e: peywand_store::StoreError| refused(t, &ApiError::from(e));
    let mut reservation = reserve().await.map_err(store_error)?;
    if let Reservation::Existing(held) = &reservation
        && held.household_id.is_none()
        && held.digest == digest
        && (chrono::Utc::now() - held.received_at).num_seconds() > ABANDONED_AFTER_SECONDS
    {
        s.store.release_submission(id).await.map_err(store_error)?;
        reservation = reserve().await.map_err(store_error)?;
    }
    if let Reservation::Existing(held) = reservation {
        return Err(if held.digest != digest {
            answer(StatusCode::CONFLICT, &t.get("submission-changed"))
        } else if held.household_id.is_some() {
            tracing::info!(attachments, "a submission received again");
            answer(StatusCode::CREATED, &t.get("submission-again"))
        } else {
            answer(StatusCode::SERVICE_UNAVAILABLE, &t.get("submission-busy"))
        });
    }
    // Reserved: register, or give the id back so that the phone's next attempt is new.
    let registered = register(s, caller, t, &submitted).await;
    if registered.is_err()
        && let Err(e) = s.store.release_submission(id).await
    {
        tracing::error!(error = %e, "a failed submission's id could not be released");
    }
    registered
}

async fn register(
    s: &AppState,
    caller: &Caller,
    t: &Tr,
    submitted: &submission::Submitted,
) -> Result<Response, Response> {
    let store_error = |e: peywand_store::StoreError| refused(t, &ApiError::from(e));
    let id = submitted.instance_id.as_str();
    let record = match &submitted.deprecated_id {
        None => s
            .store
            .create_household(&submitted.draft, &actor(caller))
            .await
            .map_err(store_error)?,
        Some(old) => {
            let held = s.store.submission(old).await.map_err(store_error)?;
            let Some(held) = held else {
                return Err(answer(
                    StatusCode::NOT_FOUND,
                    &t.get("submission-edit-unknown"),
                ));
            };
            if held.superseded_by.is_some() {
                return Err(answer(StatusCode::CONFLICT, &t.get("submission-edit-old")));
            }
            let Some(household) = held.household_id else {
                return Err(answer(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &t.get("submission-busy"),
                ));
            };
            let current = s.store.household(household).await.map_err(store_error)?;
            let Some(current) = current else {
                return Err(answer(
                    StatusCode::NOT_FOUND,
                    &t.get("submission-edit-unknown"),
                ));
            };
            check_site(caller, current.household.site_code.as_deref())
                .map_err(|e| refused(t, &e))?;
            s.store
                .update_household(household, &submitted.draft, &actor(caller))
                .await
                .map_err(store_error)?
        }
    };
    let household = record.household.id;
    let completed = s
        .store
        .complete_submission(id, household, submitted.deprecated_id.as_deref())
        .await
        .map_err(store_error)?;
    if !completed {
        // Two edits of one version raced; the household holds the later one's members.
        tracing::warn!(%household, "two edits of one submission arrived together");
        return Err(answer(StatusCode::CONFLICT, &t.get("submission-edit-old")));
    }
    tracing::info!(%household, members = record.members.len(), edit = submitted.deprecated_id.is_some(), "household received from a phone");
    // Matched at once, as at the desk: duplicates in the index, tracing requests in the
    // background.
    s.matching.add_persons(&record.members).await;
    crate::cases::rematch_in_background(s, &record.members);
    Ok(answer(StatusCode::CREATED, &t.get("submission-received")))
}
