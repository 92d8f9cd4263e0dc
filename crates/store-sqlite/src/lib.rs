//! The SQLite backend: one file per site, WAL journal, foreign keys on, migrations applied at open.
//!
//! One module per concern, each implementing that concern's trait of `peywand-store`; the
//! rules (case transitions, household defaults, statistics) come from there, this crate only
//! reads and writes.

mod accounts;
mod assistance;
mod assistance_sync;
mod audit;
mod key;
mod linkage;
mod registrations;
mod retention;
pub mod sealed;
mod statistics;
mod submissions;
mod sync;
mod targeting;
mod tracing_cases;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Sqlite, SqlitePool, Transaction};

use peywand_store::{Conflict, StoreError};

pub use key::DbKey;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A registry in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

/// SQLCipher's answer when the key is wrong or missing, and plain SQLite's for a file that is
/// not a database: the two cannot be told apart, by design.
fn unreadable(path: &str, e: &dyn std::fmt::Display) -> Option<StoreError> {
    let text = e.to_string();
    text.contains("file is not a database")
        .then(|| StoreError::Open {
            path: path.to_string(),
            reason: "it is not a Peywand database, or it is encrypted and the key is missing or \
                 wrong (give the key in PEYWAND_DB_KEY or with --key-file)"
                .into(),
        })
}

impl SqliteStore {
    /// Opens (creating if needed) an unencrypted database file and brings its schema up to
    /// date.
    pub async fn open(path: &str) -> Result<Self, StoreError> {
        Self::open_with(path, None).await
    }

    /// Opens (creating if needed) the database file, encrypted with `key` when one is given,
    /// and brings its schema up to date.
    pub async fn open_with(path: &str, key: Option<&DbKey>) -> Result<Self, StoreError> {
        let open_err = |e: sqlx::Error| {
            unreadable(path, &e).unwrap_or_else(|| StoreError::Open {
                path: path.to_string(),
                reason: e.to_string(),
            })
        };
        let mut options =
            SqliteConnectOptions::from_str(&format!("sqlite://{path}")).map_err(open_err)?;
        if let Some(key) = key {
            // sqlx runs `key` before every other pragma, as SQLCipher requires.
            options = options.pragma("key", key.literal());
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // An acknowledged registration survives a power cut, not only a crash: each
            // commit waits for the disk (see docs/decisions.md).
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-65536")
            // Erased people stay erased: deleted content is overwritten with zeros.
            .pragma("secure_delete", "ON");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(open_err)?;
        MIGRATOR.run(&pool).await.map_err(|e| {
            unreadable(path, &e).unwrap_or_else(|| StoreError::Migration(e.to_string()))
        })?;
        registrations::rederive_if_older(&pool).await?;
        tracing_cases::type_old_history(&pool).await?;
        Ok(Self { pool })
    }

    /// Writes a consistent copy of the whole registry to `to` (a file that must not exist
    /// yet, created readable by its owner only), encrypted with `key`, while the registry
    /// stays open and in use: the copy is one read transaction's view, so a registration is
    /// in it whole or not at all.
    pub async fn backup_to(&self, to: &str, key: &DbKey) -> Result<(), StoreError> {
        create_owner_only(to, "create the backup file")?;
        let mut conn = self.pool.acquire().await.map_err(db("back up"))?;
        let path = to.replace('\'', "''");
        let attach = format!("ATTACH DATABASE '{path}' AS backup KEY {}", key.literal());
        sqlx::query(AssertSqlSafe(attach))
            .execute(&mut *conn)
            .await
            .map_err(db("back up"))?;
        // ATTACH cannot run inside a transaction; the export can, and then reads one snapshot.
        let copied = async {
            sqlx::query("BEGIN").execute(&mut *conn).await?;
            let exported = sqlx::query("SELECT sqlcipher_export('backup')")
                .execute(&mut *conn)
                .await;
            match exported {
                Ok(_) => sqlx::query("COMMIT").execute(&mut *conn).await.map(|_| ()),
                Err(e) => {
                    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                    Err(e)
                }
            }
        }
        .await;
        let detached = sqlx::query("DETACH DATABASE backup")
            .execute(&mut *conn)
            .await;
        copied.map_err(db("back up"))?;
        detached.map_err(db("back up"))?;
        Ok(())
    }

    /// Writes the whole database, encrypted with `key` (or unencrypted with `None`), to `to`,
    /// a file that must not exist yet. The registry stays open and unchanged.
    pub async fn export_encrypted(&self, to: &str, key: Option<&DbKey>) -> Result<(), StoreError> {
        if std::path::Path::new(to).exists() {
            return Err(StoreError::Conflict(Conflict::FileExists(to.to_string())));
        }
        let mut conn = self.pool.acquire().await.map_err(db("re-encrypt"))?;
        let literal = key.map_or_else(|| "''".to_string(), DbKey::literal);
        let path = to.replace('\'', "''");
        let steps = [
            format!("ATTACH DATABASE '{path}' AS rekeyed KEY {literal}"),
            "SELECT sqlcipher_export('rekeyed')".to_string(),
            "DETACH DATABASE rekeyed".to_string(),
        ];
        for step in steps {
            sqlx::query(AssertSqlSafe(step))
                .execute(&mut *conn)
                .await
                .map_err(db("re-encrypt"))?;
        }
        Ok(())
    }

    /// A write transaction. IMMEDIATE takes the write lock at once: a deferred transaction
    /// that reads and then writes fails outright (SQLITE_BUSY_SNAPSHOT, no waiting) when
    /// another connection wrote in between, as the audit log does after every request.
    async fn begin(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }
}

/// Creates `path`, empty and readable by its owner only; an existing file is never
/// overwritten.
fn create_owner_only(path: &str, operation: &'static str) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            StoreError::Conflict(Conflict::FileExists(path.to_string()))
        }
        _ => StoreError::db(operation, e),
    })?;
    Ok(())
}

fn db(operation: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| StoreError::db(operation, e)
}

#[async_trait::async_trait]
impl peywand_store::Lifecycle for SqliteStore {
    async fn close(&self) {
        self.pool.close().await;
    }
}
