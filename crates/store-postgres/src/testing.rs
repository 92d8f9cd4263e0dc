//! Fresh databases for tests, on the server `PEYWAND_TEST_POSTGRES` names (an address whose
//! user may create databases; `scripts/postgres-for-tests` starts one). Each test gets a
//! database of its own, dropped when it ends. Without the variable the PostgreSQL tests say so
//! and do nothing, unless `PEYWAND_REQUIRE_POSTGRES` is set (as `scripts/test` and CI set
//! it): then a missing server fails them.

use std::str::FromStr;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::PgStore;

/// A database made for one test.
pub struct TestDatabase {
    server: PgConnectOptions,
    name: String,
    /// The address of the test's database, for code that opens it itself (a second server).
    pub url: String,
}

impl TestDatabase {
    /// A new, empty database; `None` when no test server is configured and none is required.
    pub async fn create() -> Option<TestDatabase> {
        let Ok(base) = std::env::var("PEYWAND_TEST_POSTGRES") else {
            if std::env::var_os("PEYWAND_REQUIRE_POSTGRES").is_some() {
                panic!(
                    "PEYWAND_TEST_POSTGRES is not set: start a server with scripts/postgres-for-tests"
                );
            }
            eprintln!("PEYWAND_TEST_POSTGRES is not set: the PostgreSQL test is skipped");
            return None;
        };
        let server = PgConnectOptions::from_str(&base)
            .unwrap_or_else(|e| panic!("PEYWAND_TEST_POSTGRES is not an address: {e}"));
        let name = format!("peywand_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = PgConnection::connect_with(&server)
            .await
            .unwrap_or_else(|e| panic!("the test server does not answer: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
        let _ = admin.close().await;
        let (head, _) = base.rsplit_once('/').unwrap_or((base.as_str(), ""));
        let url = format!("{head}/{name}");
        Some(TestDatabase { server, name, url })
    }

    /// The store on this database, migrated.
    pub async fn open(&self) -> PgStore {
        PgStore::open(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot open the test database: {e}"))
    }

    /// Drops the database, ending whatever connections are still open on it.
    pub async fn drop_database(self) {
        if let Ok(mut admin) = PgConnection::connect_with(&self.server).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .execute(&mut admin)
            .await;
            let _ = admin.close().await;
        }
    }
}
