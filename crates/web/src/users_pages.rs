//! Accounts in the browser: the administrator's list of users with what can be done to each
//! (disable, enable, reset the password, end every session and token), and the page where a
//! user chooses a new password. Each change is audited by the access middleware, under the
//! action its rule names, with the account in the target path.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, State};
use axum::http::Uri;
use axum::response::{Html, IntoResponse, Redirect, Response};

use peywand_access::MIN_PASSWORD_CHARS;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::i18n::Tr;
use crate::pages::{Chrome, PageError, form_value, render, site_name};

struct UserRow {
    username: String,
    role: String,
    site: String,
    last_sign_in: String,
    state: String,
    disabled: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    c: Chrome,
    users: Vec<UserRow>,
    notice: String,
    temporary: String,
}

async fn users_page(
    s: &AppState,
    caller: &Caller,
    t: Tr,
    uri: &Uri,
    temporary: Option<(&str, String)>,
) -> Result<Html<String>, PageError> {
    let users = s
        .store
        .users()
        .await?
        .into_iter()
        .map(|u| UserRow {
            role: u.role.code().to_string(),
            site: site_name(&t, u.site_code.as_deref()),
            last_sign_in: u
                .last_sign_in_at
                .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default(),
            state: if u.disabled_at.is_some() {
                t.get("users-state-disabled")
            } else if u.must_change_password {
                t.get("users-state-must-change")
            } else {
                t.get("users-state-active")
            },
            disabled: u.disabled_at.is_some(),
            username: u.username,
        })
        .collect();
    let (notice, temporary) = match temporary {
        Some((name, password)) => (t.with("users-temporary-password", "name", name), password),
        None => (String::new(), String::new()),
    };
    render(&UsersPage {
        c: Chrome::new(t, Some(caller), uri),
        users,
        notice,
        temporary,
    })
}

pub async fn list(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
) -> Result<Html<String>, PageError> {
    users_page(&s, &caller, t, &uri, None).await
}

/// An administrator does not lock themself out by a slip of the mouse.
fn not_yourself(caller: &Caller, username: &str) -> Result<(), PageError> {
    if caller.username == username {
        return Err(PageError(ApiError::Invalid(
            "not your own account: another administrator, or `peywand user`, can do this".into(),
        )));
    }
    Ok(())
}

pub async fn disable(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(username): Path<String>,
) -> Result<Response, PageError> {
    not_yourself(&caller, &username)?;
    s.store
        .set_disabled(&username, Some(chrono::Utc::now()))
        .await?;
    s.store.end_sessions(&username).await?;
    Ok(Redirect::to("/admin/users").into_response())
}

pub async fn enable(
    State(s): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, PageError> {
    s.store.set_disabled(&username, None).await?;
    Ok(Redirect::to("/admin/users").into_response())
}

/// Sets a temporary password, shown once to the administrator; the user's sessions end and
/// their tokens do nothing until they choose a new password.
pub async fn reset_password(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(username): Path<String>,
    t: Tr,
    uri: Uri,
) -> Result<Response, PageError> {
    not_yourself(&caller, &username)?;
    let temporary = peywand_access::temporary_password();
    let hash = hash(temporary.clone()).await?;
    s.store.set_password(&username, &hash, true).await?;
    s.store.end_sessions(&username).await?;
    let page = users_page(&s, &caller, t, &uri, Some((&username, temporary))).await?;
    Ok(page.into_response())
}

pub async fn end_sessions(
    State(s): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, PageError> {
    if s.store.user(&username).await?.is_none() {
        return Err(PageError(ApiError::NotFound(format!("user {username}"))));
    }
    s.store.end_sessions(&username).await?;
    s.store
        .revoke_tokens_of(&username, chrono::Utc::now())
        .await?;
    Ok(Redirect::to("/admin/users").into_response())
}

async fn hash(password: String) -> Result<String, PageError> {
    tokio::task::spawn_blocking(move || peywand_access::hash_password(&password))
        .await
        .map_err(|_| PageError(ApiError::Internal))?
        .map_err(|_| PageError(ApiError::Internal))
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    c: Chrome,
    must_change: bool,
    error: String,
}

pub async fn password_page(
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
) -> Result<Html<String>, PageError> {
    render(&PasswordPage {
        must_change: caller.must_change_password,
        c: Chrome::new(t, Some(&caller), &uri),
        error: String::new(),
    })
}

/// The user chooses a new password, giving the current one (or the temporary one).
pub async fn change_password(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let field = |k| form_value(&fields, k).unwrap_or_default();
    let (current, new, again) = (field("current"), field("new"), field("again"));
    let user = s
        .store
        .user(&caller.username)
        .await?
        .ok_or_else(|| PageError(ApiError::NotFound(format!("user {}", caller.username))))?;
    let hash_now = user.password_hash.clone();
    let given = current.clone();
    let right =
        tokio::task::spawn_blocking(move || peywand_access::verify_password(&given, &hash_now))
            .await
            .map_err(|_| PageError(ApiError::Internal))?;
    let error = if !right {
        "the current password is wrong".to_string()
    } else if new.chars().count() < MIN_PASSWORD_CHARS {
        format!(
            "a password must be at least {MIN_PASSWORD_CHARS} characters: a few words make a good one"
        )
    } else if new != again {
        "the two new passwords differ".to_string()
    } else if new == current {
        "choose a password other than the current one".to_string()
    } else {
        String::new()
    };
    if !error.is_empty() {
        let page = render(&PasswordPage {
            must_change: caller.must_change_password,
            c: Chrome::new(t, Some(&caller), &uri),
            error,
        })?;
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let hash = hash(new).await?;
    s.store.set_password(&caller.username, &hash, false).await?;
    Ok(Redirect::to(crate::pages::home(caller.role)).into_response())
}
