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
    /// Every account, by username.
    async fn users(&self) -> Result<Vec<UserAccount>, StoreError>;
    /// Counts a failed sign-in with this account's name. Throttling is the server's job, by
    /// address and name together; the count only tells an administrator.
    async fn login_failed(&self, username: &str) -> Result<(), StoreError>;
    /// Clears the failed sign-in count and records the time of this sign-in.
    async fn login_succeeded(&self, username: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Disables an account from `at` (`Some`) or enables it again (`None`); `NotFound` if there
    /// is none. A disabled account's sessions and tokens are refused while it stays disabled.
    async fn set_disabled(
        &self,
        username: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;
    /// Replaces a password hash; with `must_change`, the user must choose a new password
    /// before doing anything else. `NotFound` if there is no such account.
    async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        must_change: bool,
    ) -> Result<(), StoreError>;
    /// Ends every session of a user; returns how many there were.
    async fn end_sessions(&self, username: &str) -> Result<u64, StoreError>;
    /// Revokes every token of a user not revoked yet; returns how many.
    async fn revoke_tokens_of(&self, username: &str, at: DateTime<Utc>) -> Result<u64, StoreError>;
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// The session with this digest and its user, if it has not expired and the user is not
    /// disabled.
    async fn session(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(SessionRecord, UserAccount)>, StoreError>;
    async fn delete_session(&self, digest: &str) -> Result<(), StoreError>;
    async fn create_token(&self, token: &ApiToken) -> Result<(), StoreError>;
    /// The token with this digest, whatever its state: to tell its holder why it is refused.
    async fn token(&self, digest: &str) -> Result<Option<ApiToken>, StoreError>;
    /// The user a token (by digest) acts for, unless it was revoked or the user is disabled.
    /// Expiry is checked by the caller, from [`AccountStore::token`], to say so.
    async fn token_user(&self, digest: &str) -> Result<Option<UserAccount>, StoreError>;
    /// Tokens, newest first, of one user or of everyone.
    async fn tokens(&self, username: Option<&str>) -> Result<Vec<ApiToken>, StoreError>;
    /// Revokes a token by id; `NotFound` if there is none.
    async fn revoke_token(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Sets a token's expiry; `NotFound` if there is no such token or it was revoked.
    async fn renew_token(&self, id: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError>;
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
    /// Failed sign-ins with this name since the last success.
    pub failed_logins: u32,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// Since when the account is disabled; `None`: it is enabled.
    pub disabled_at: Option<DateTime<Utc>>,
    /// The password was reset: the user must choose a new one before anything else.
    pub must_change_password: bool,
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
    /// Refused from then on, until renewed.
    pub expires_at: DateTime<Utc>,
}
