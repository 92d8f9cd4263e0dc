//! Accounts, signed-in browsers and programs' tokens. Only digests of session ids, CSRF tokens
//! and bearer tokens are stored; passwords only as argon2id hashes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use peywand_access::Role;

use crate::StoreError;

/// Accounts, sessions and tokens.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Creates an account; `Conflict` if the username is taken.
    async fn create_user(&self, user: &NewUser) -> Result<(), StoreError>;
    async fn user(&self, username: &str) -> Result<Option<UserAccount>, StoreError>;
    /// Counts a failed sign-in, in one statement so that parallel guesses all count; the
    /// failure that reaches `max_failures` locks the account until `lock_until`.
    async fn login_failed(
        &self,
        username: &str,
        max_failures: u32,
        lock_until: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Clears the failed sign-in count, unless the account is locked at `now` (a lock set by
    /// a parallel guess while the password was checked). Returns whether it was cleared.
    async fn login_succeeded(&self, username: &str, now: DateTime<Utc>)
    -> Result<bool, StoreError>;
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// The session with this digest and its user, if it has not expired.
    async fn session(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(SessionRecord, UserAccount)>, StoreError>;
    async fn delete_session(&self, digest: &str) -> Result<(), StoreError>;
    async fn create_token(&self, token: &ApiToken) -> Result<(), StoreError>;
    /// The user a token (by digest) acts for, unless it was revoked.
    async fn token_user(&self, digest: &str) -> Result<Option<UserAccount>, StoreError>;
    /// Tokens, newest first, of one user or of everyone.
    async fn tokens(&self, username: Option<&str>) -> Result<Vec<ApiToken>, StoreError>;
    /// Revokes a token by id; `NotFound` if there is none.
    async fn revoke_token(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
}

/// An account as created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub role: Role,
    /// The site a site-bound role works at.
    pub site_code: Option<String>,
    pub password_hash: String,
}

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccount {
    pub username: String,
    pub role: Role,
    pub site_code: Option<String>,
    pub password_hash: String,
    pub failed_logins: u32,
    pub locked_until: Option<DateTime<Utc>>,
}

/// A signed-in browser: the digests of its session id and CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub digest: String,
    pub username: String,
    pub csrf_digest: String,
    pub expires_at: DateTime<Utc>,
}

/// A bearer token for programs, bound to a user; only its digest is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: String,
    #[serde(skip)]
    pub digest: String,
    pub username: String,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}
