//! The shared storage conformance suite, against PostgreSQL: each behaviour in a database of
//! its own (see `peywand_store_postgres::testing`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail the test by panicking.

use peywand_store::Store;
use peywand_store::prelude::*;
use peywand_store_postgres::PgStore;
use peywand_store_postgres::testing::TestDatabase;

/// A fresh store in a database of its own, or nothing when no test server is configured.
struct Fixture(Option<(PgStore, TestDatabase)>);

impl Fixture {
    fn store(&self) -> Option<&dyn Store> {
        self.0.as_ref().map(|(store, _)| store as &dyn Store)
    }

    async fn close(self) {
        if let Some((store, database)) = self.0 {
            store.close().await;
            database.drop_database().await;
        }
    }
}

async fn fresh() -> Fixture {
    match TestDatabase::create().await {
        Some(database) => Fixture(Some((database.open().await, database))),
        None => Fixture(None),
    }
}

peywand_store::conformance_tests!(fresh);
