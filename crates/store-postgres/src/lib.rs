//! The PostgreSQL backend: a national hub's registry, shared by many `peywand serve` processes
//! and every crossing point. Migrations are applied at open, in one transaction each.
//!
//! One module per concern, each implementing that concern's trait of `peywand-store`; the
//! rules (case transitions, household defaults, statistics) come from there, this crate only
//! reads and writes. Registrations, tracing and linkage behave as SQLite's do, which the
//! conformance suite checks.

mod accounts;
mod assistance;
mod assistance_sync;
mod audit;
mod linkage;
mod registrations;
mod retention;
mod statistics;
mod submissions;
mod sync;
mod targeting;
#[doc(hidden)]
pub mod testing;
mod tracing_cases;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use peywand_store::StoreError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A registry in a PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Set when the store closes: tasks holding a connection of their own (the registration
    /// feed) give it back, or closing the pool would wait for them forever.
    closed: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`)
    /// and brings its schema up to date. Refused with a message an administrator can act on
    /// when the server cannot be reached, the password is wrong, the role may not create the
    /// schema, or a newer Peywand migrated it.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let shown = without_password(url);
        let open_err = |e: sqlx::Error| StoreError::Open {
            path: shown.clone(),
            reason: reason_to_refuse(&e),
        };
        let options = PgConnectOptions::from_str(url)
            .map_err(&open_err)?
            .application_name("peywand");
        // One connection first: a pool retries until its timeout and then reports only that
        // it waited, where the first attempt says why (refused, no such database, password).
        sqlx::Connection::close(
            <sqlx::PgConnection as sqlx::Connection>::connect_with(&options)
                .await
                .map_err(&open_err)?,
        )
        .await
        .map_err(&open_err)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(open_err)?;
        MIGRATOR.run(&pool).await.map_err(|e| {
            StoreError::Migration(match &e {
                sqlx::migrate::MigrateError::VersionMissing(v) => format!(
                    "the database was migrated by a newer Peywand (migration {v} is unknown \
                     here): upgrade this Peywand before opening it"
                ),
                sqlx::migrate::MigrateError::Execute(inner) => reason_to_refuse(inner),
                other => other.to_string(),
            })
        })?;
        registrations::rederive_if_older(&pool).await?;
        Ok(Self {
            pool,
            closed: std::sync::Arc::new(tokio::sync::watch::Sender::new(false)),
        })
    }
}

impl PgStore {
    /// A write transaction, at PostgreSQL's default isolation (read committed): what must not
    /// interleave takes a row lock (a case) or an advisory lock (the audit chain).
    async fn begin(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }
}

#[async_trait::async_trait]
impl peywand_store::Lifecycle for PgStore {
    async fn close(&self) {
        self.closed.send_replace(true);
        self.pool.close().await;
    }
}

/// A connection address as it may be shown in a message or a log: the password replaced.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((user, host)) => {
            let user = user.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:…@{host}")
        }
        None => url.to_string(),
    }
}

/// What went wrong when connecting or migrating, in words an administrator acts on.
fn reason_to_refuse(e: &sqlx::Error) -> String {
    if let sqlx::Error::Database(db) = e {
        return match db.code().as_deref() {
            Some("28P01") | Some("28000") => {
                "the user name or password was refused by the database server".into()
            }
            Some("3D000") => "there is no such database on the server: create it first".into(),
            Some("42501") => format!(
                "the database user may not create Peywand's tables ({}): grant it CREATE on \
                 the database, or migrate once as its owner",
                db.message()
            ),
            _ => db.message().to_string(),
        };
    }
    match e {
        sqlx::Error::Io(io) => format!("the database server cannot be reached ({io})"),
        sqlx::Error::PoolTimedOut => "the database server did not answer in time".into(),
        other => other.to_string(),
    }
}

fn db(operation: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| StoreError::db(operation, e)
}
