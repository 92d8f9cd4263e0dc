//! Accounts, sessions and tokens.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};

use peywand_access::Role;
use peywand_store::{
    AccountStore, ApiToken, Conflict, NewUser, SessionRecord, StoreError, UserAccount,
};

use crate::{SqliteStore, db};

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_user(&self, u: &NewUser) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO users (username, role, site_code, password_hash, created_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&u.username)
        .bind(u.role.code())
        .bind(&u.site_code)
        .bind(&u.password_hash)
        .bind(Utc::now())
        .execute(&self.pool)
        .await;
        match result {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(
                Conflict::UsernameTaken(u.username.clone()),
            )),
            other => other.map(|_| ()).map_err(db("create a user")),
        }
    }
    async fn user(&self, username: &str) -> Result<Option<UserAccount>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = ?"
        )))
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read a user"))?;
        row.map(|r| user_from_row(&r)).transpose()
    }
    async fn users(&self) -> Result<Vec<UserAccount>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY username"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(db("list users"))?;
        rows.iter().map(user_from_row).collect()
    }
    async fn login_failed(&self, username: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET failed_logins = failed_logins + 1 WHERE username = ?")
            .bind(username)
            .execute(&self.pool)
            .await
            .map_err(db("count a failed sign-in"))?;
        Ok(())
    }
    async fn login_succeeded(&self, username: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET failed_logins = 0, last_sign_in_at = ? WHERE username = ?")
            .bind(at)
            .bind(username)
            .execute(&self.pool)
            .await
            .map_err(db("record a sign-in"))?;
        Ok(())
    }
    async fn set_disabled(
        &self,
        username: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE users SET disabled_at = ? WHERE username = ?")
            .bind(at)
            .bind(username)
            .execute(&self.pool)
            .await
            .map_err(db("disable or enable a user"))?;
        found(done.rows_affected(), username)
    }
    async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        must_change: bool,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE users SET password_hash = ?, must_change_password = ?, failed_logins = 0 \
             WHERE username = ?",
        )
        .bind(password_hash)
        .bind(must_change)
        .bind(username)
        .execute(&self.pool)
        .await
        .map_err(db("set a password"))?;
        found(done.rows_affected(), username)
    }
    async fn end_sessions(&self, username: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE username = ?")
            .bind(username)
            .execute(&self.pool)
            .await
            .map_err(db("end a user's sessions"))?;
        Ok(done.rows_affected())
    }
    async fn revoke_tokens_of(&self, username: &str, at: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = ? WHERE username = ? AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(username)
        .execute(&self.pool)
        .await
        .map_err(db("revoke a user's tokens"))?;
        Ok(done.rows_affected())
    }
    async fn create_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (digest, username, csrf_digest, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&s.digest)
        .bind(&s.username)
        .bind(&s.csrf_digest)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await
        .map_err(db("create a session"))?;
        Ok(())
    }
    async fn session(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(SessionRecord, UserAccount)>, StoreError> {
        let row = sqlx::query(
            "SELECT s.digest, s.csrf_digest, s.expires_at, u.username, u.role, u.site_code, \
             u.password_hash, u.failed_logins, u.last_sign_in_at, u.disabled_at, \
             u.must_change_password FROM sessions s JOIN users u ON u.username = s.username \
             WHERE s.digest = ? AND s.expires_at > ? AND u.disabled_at IS NULL",
        )
        .bind(digest)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read a session"))?;
        let Some(r) = row else { return Ok(None) };
        let user = user_from_row(&r)?;
        let session = SessionRecord {
            digest: r.try_get("digest").map_err(db("decode a session"))?,
            username: user.username.clone(),
            csrf_digest: r.try_get("csrf_digest").map_err(db("decode a session"))?,
            expires_at: r.try_get("expires_at").map_err(db("decode a session"))?,
        };
        Ok(Some((session, user)))
    }
    async fn delete_session(&self, digest: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE digest = ?")
            .bind(digest)
            .execute(&self.pool)
            .await
            .map_err(db("end a session"))?;
        Ok(())
    }
    async fn create_token(&self, t: &ApiToken) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_tokens (id, digest, username, label, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.id)
        .bind(&t.digest)
        .bind(&t.username)
        .bind(&t.label)
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(&self.pool)
        .await
        .map_err(db("create a token"))?;
        Ok(())
    }
    async fn token(&self, digest: &str) -> Result<Option<ApiToken>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE digest = ?"
        )))
        .bind(digest)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read a token"))?;
        row.map(|r| token_from_row(&r))
            .transpose()
            .map_err(db("decode a token"))
    }
    async fn token_user(&self, digest: &str) -> Result<Option<UserAccount>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE disabled_at IS NULL AND username = \
             (SELECT username FROM api_tokens WHERE digest = ? AND revoked_at IS NULL)"
        )))
        .bind(digest)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read a token"))?;
        row.map(|r| user_from_row(&r)).transpose()
    }
    async fn tokens(&self, username: Option<&str>) -> Result<Vec<ApiToken>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens \
             WHERE ? IS NULL OR username = ? ORDER BY created_at DESC"
        )))
        .bind(username)
        .bind(username)
        .fetch_all(&self.pool)
        .await
        .map_err(db("list tokens"))?;
        rows.iter()
            .map(token_from_row)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db("decode tokens"))
    }
    async fn revoke_token(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?")
                .bind(at)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db("revoke a token"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("token {id}")));
        }
        Ok(())
    }
    async fn renew_token(&self, id: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE api_tokens SET expires_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(expires_at)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db("renew a token"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("token {id} (not revoked)")));
        }
        Ok(())
    }
}

/// `NotFound` for an account when a statement changed no row.
fn found(rows: u64, username: &str) -> Result<(), StoreError> {
    if rows == 0 {
        return Err(StoreError::NotFound(format!("user {username}")));
    }
    Ok(())
}

const TOKEN_COLUMNS: &str = "id, digest, username, label, created_at, revoked_at, expires_at";

fn token_from_row(r: &SqliteRow) -> Result<ApiToken, sqlx::Error> {
    Ok(ApiToken {
        id: r.try_get("id")?,
        digest: r.try_get("digest")?,
        username: r.try_get("username")?,
        label: r.try_get("label")?,
        created_at: r.try_get("created_at")?,
        revoked_at: r.try_get("revoked_at")?,
        expires_at: r.try_get("expires_at")?,
    })
}

const USER_COLUMNS: &str = "username, role, site_code, password_hash, failed_logins, \
                            last_sign_in_at, disabled_at, must_change_password";

fn user_from_row(r: &SqliteRow) -> Result<UserAccount, StoreError> {
    let decode = db("decode a user");
    let role: String = r.try_get("role").map_err(&decode)?;
    Ok(UserAccount {
        username: r.try_get("username").map_err(&decode)?,
        role: Role::from_code(&role)
            .ok_or_else(|| StoreError::db("decode a user", format!("unknown role {role}")))?,
        site_code: r.try_get("site_code").map_err(&decode)?,
        password_hash: r.try_get("password_hash").map_err(&decode)?,
        failed_logins: r.try_get::<i64, _>("failed_logins").map_err(&decode)? as u32,
        last_sign_in_at: r.try_get("last_sign_in_at").map_err(&decode)?,
        disabled_at: r.try_get("disabled_at").map_err(&decode)?,
        must_change_password: r.try_get("must_change_password").map_err(&decode)?,
    })
}
