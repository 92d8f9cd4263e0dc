//! The shared storage conformance suite, against a temporary SQLite file.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail the test by panicking.

#[tokio::test]
async fn sqlite_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.db");
    let store = peywand_store_sqlite::SqliteStore::open(path.to_str().unwrap())
        .await
        .unwrap();
    peywand_store::conformance::run_all(&store).await;
}

#[tokio::test]
async fn reopening_keeps_data_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.db");
    let p = path.to_str().unwrap();
    let store = peywand_store_sqlite::SqliteStore::open(p).await.unwrap();
    let site = peywand_domain::Site {
        code: "torkham".into(),
        name: "Torkham".into(),
        name_local: String::new(),
        kind: peywand_domain::SiteKind::CrossingPoint,
        province_code: None,
    };
    use peywand_store::Store;
    store.upsert_site(&site).await.unwrap();
    store.close().await;
    let again = peywand_store_sqlite::SqliteStore::open(p).await.unwrap();
    assert_eq!(again.sites().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "this is not a database, just field notes").unwrap();
    let err = peywand_store_sqlite::SqliteStore::open(path.to_str().unwrap())
        .await
        .err()
        .expect("must fail");
    assert!(
        err.to_string().contains("not a database") || err.to_string().contains("migration"),
        "{err}"
    );
}
