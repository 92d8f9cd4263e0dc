//! The shared storage conformance suite, against a temporary SQLite file.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail the test by panicking.

use peywand_store::Store;
use peywand_store::prelude::*;
use peywand_store_sqlite::{DbKey, SqliteStore};

/// A fresh store in a temporary folder, plain or encrypted.
struct Fixture {
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn open(key: Option<&DbKey>) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registry.db");
        let store = SqliteStore::open_with(path.to_str().unwrap(), key)
            .await
            .unwrap();
        Fixture { store, _dir: dir }
    }

    fn store(&self) -> Option<&dyn Store> {
        Some(&self.store)
    }

    /// Closed before the process exits: SQLCipher's connections must not outlive OpenSSL's
    /// clean-up at exit.
    async fn close(self) {
        self.store.close().await;
    }
}

mod plain {
    async fn fresh() -> super::Fixture {
        super::Fixture::open(None).await
    }
    peywand_store::conformance_tests!(fresh);
}

mod encrypted {
    async fn fresh() -> super::Fixture {
        let key = peywand_store_sqlite::DbKey::new("correct horse battery staple").unwrap();
        super::Fixture::open(Some(&key)).await
    }
    peywand_store::conformance_tests!(fresh);
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
    assert!(err.to_string().contains("not a Peywand database"), "{err}");
}

/// A copied database file, a stolen laptop's disk: nothing in it is readable without the key.
#[tokio::test]
async fn a_copied_encrypted_file_is_unreadable_without_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.db");
    let p = path.to_str().unwrap();
    let key = DbKey::new("a key for Torkham's laptop, 2026").unwrap();
    let store = SqliteStore::open_with(p, Some(&key)).await.unwrap();
    let site = peywand_domain::Site {
        code: "torkham".into(),
        name: "Zarghunaserai-Unmistakable".into(),
        name_local: "زرغونه‌سرای".into(),
        kind: peywand_domain::SiteKind::CrossingPoint,
        province_code: None,
    };
    store.upsert_site(&site).await.unwrap();
    store.close().await;

    let bytes = std::fs::read(&path).unwrap();
    assert!(
        !bytes.starts_with(b"SQLite format 3"),
        "the header is encrypted too"
    );
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("Zarghunaserai") && !text.contains("torkham"));
    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).unwrap();
    let copy = copy.to_str().unwrap();

    let err = SqliteStore::open(copy)
        .await
        .err()
        .expect("no key: refused");
    assert!(err.to_string().contains("key is missing or wrong"), "{err}");
    let wrong = DbKey::new("a key for Spin Boldak's laptop").unwrap();
    let err = SqliteStore::open_with(copy, Some(&wrong))
        .await
        .err()
        .expect("wrong key: refused");
    assert!(err.to_string().contains("key is missing or wrong"), "{err}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "failed opens change nothing"
    );

    let store = SqliteStore::open_with(copy, Some(&key)).await.unwrap();
    assert_eq!(store.sites().await.unwrap(), vec![site.clone()]);

    // Re-encrypted under a new key: the old key no longer opens it, the new one does.
    let rekeyed = dir.path().join("rekeyed.db");
    let new_key = DbKey::new("the replacement key after a staff change").unwrap();
    store
        .export_encrypted(rekeyed.to_str().unwrap(), Some(&new_key))
        .await
        .unwrap();
    let again = store
        .export_encrypted(rekeyed.to_str().unwrap(), Some(&new_key))
        .await;
    assert!(again.is_err(), "an existing file is never overwritten");
    store.close().await;
    let rekeyed = rekeyed.to_str().unwrap();
    assert!(SqliteStore::open_with(rekeyed, Some(&key)).await.is_err());
    let store = SqliteStore::open_with(rekeyed, Some(&new_key))
        .await
        .unwrap();
    assert_eq!(store.sites().await.unwrap(), vec![site]);
}

#[test]
fn keys_are_long_enough_and_never_printed() {
    use peywand_store_sqlite::DbKey;
    assert!(DbKey::new("short").is_err());
    assert!(DbKey::new("sixteen chars...\u{7}").is_err());
    let key = DbKey::new("  sixteen chars, at least\n").unwrap();
    assert_eq!(format!("{key:?}"), "DbKey(…)");
}

/// Someone with the database file edits the log around the application (the triggers that
/// keep it append-only dropped): verification finds the entry.
#[tokio::test]
async fn an_altered_or_deleted_audit_entry_is_detected() {
    use peywand_access::audit::{AuditEvent, ChainBreak, ChainVerifier};
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.db");
    let p = path.to_str().unwrap();
    let store = peywand_store_sqlite::SqliteStore::open(p).await.unwrap();
    for i in 0..5 {
        store
            .append_audit(&AuditEvent::now("amina", "view_person", &format!("r-{i}")))
            .await
            .unwrap();
    }
    store.close().await;
    let verify = || async {
        let store = peywand_store_sqlite::SqliteStore::open(p).await.unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let reader = tokio::spawn(async move {
            let mut v = ChainVerifier::default();
            while let Some(e) = rx.recv().await {
                v.check(&e)?;
            }
            Ok::<i64, ChainBreak>(v.head().0)
        });
        store.audit_chain(tx).await.unwrap();
        let result = reader.await.unwrap();
        store.close().await;
        result
    };
    assert_eq!(verify().await, Ok(5));

    let mut raw = sqlx::SqliteConnection::connect(&format!("sqlite://{p}"))
        .await
        .unwrap();
    let refused = sqlx::query("UPDATE audit_log SET target = 'r-9' WHERE seq = 3")
        .execute(&mut raw)
        .await;
    assert!(
        refused.is_err(),
        "the application's own connection cannot edit it"
    );
    for sql in [
        "DROP TRIGGER audit_log_no_update",
        "DROP TRIGGER audit_log_no_delete",
        "UPDATE audit_log SET target = 'r-9' WHERE seq = 3",
    ] {
        sqlx::query(sql).execute(&mut raw).await.unwrap();
    }
    assert_eq!(verify().await.unwrap_err().seq, 3, "an altered entry");
    sqlx::query("UPDATE audit_log SET target = 'r-2' WHERE seq = 3")
        .execute(&mut raw)
        .await
        .unwrap();
    assert_eq!(verify().await, Ok(5), "restored");
    sqlx::query("DELETE FROM audit_log WHERE seq = 2")
        .execute(&mut raw)
        .await
        .unwrap();
    assert_eq!(verify().await.unwrap_err().seq, 2, "a deleted entry");
}

/// An erased person's name is not left behind in free pages or the write-ahead log of an
/// unencrypted file.
#[tokio::test]
async fn an_erased_person_leaves_no_trace_in_the_file() {
    use peywand_store::{Actor, HouseholdDraft, MemberDraft};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.db");
    let store = peywand_store_sqlite::SqliteStore::open(path.to_str().unwrap())
        .await
        .unwrap();
    let mut raw = peywand_store::conformance::sample_row("erase-me", "");
    raw.given_name = "Zarlashtqwxunique".into();
    raw.record_id = "erase-me".into();
    let draft = HouseholdDraft {
        site_code: Some("torkham".into()),
        members: vec![MemberDraft {
            raw,
            relationship: None,
            vulnerabilities: vec![],
        }],
        ..HouseholdDraft::default()
    };
    let actor = Actor {
        username: "test".into(),
        at: chrono::Utc::now(),
    };
    store.create_household(&draft, &actor).await.unwrap();
    let files = || {
        ["registry.db", "registry.db-wal"]
            .iter()
            .filter_map(|f| std::fs::read(dir.path().join(f)).ok())
            .flatten()
            .collect::<Vec<u8>>()
    };
    let needle = b"qwxunique";
    let contains = |bytes: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(contains(&files()), "the name is in the file before");
    assert!(
        store
            .purge_person(&peywand_store::conformance::rid("erase-me"))
            .await
            .unwrap()
    );
    store.close().await;
    assert!(!contains(&files()), "and nowhere after");
}

/// Registrations stored under older derivation rules are derived again when the store opens:
/// after an upgrade, "w/o Ahmad Zia" stored as a woman named Ahmad Zia is read as the new
/// rules read it, and the new and old registrations are matched alike.
#[tokio::test]
async fn registrations_derived_under_older_rules_are_derived_again_on_opening() {
    use peywand_store::{Actor, ImportMessage};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.db");
    let p = path.to_str().unwrap();
    let store = peywand_store_sqlite::SqliteStore::open(p).await.unwrap();
    let raw = peywand_domain::RawRegistration {
        record_id: "r-1".into(),
        given_name: "w/o Ahmad Zia".into(),
        father_name: "Nabi".into(),
        sex: "سړی".into(),
        ..Default::default()
    };
    // As the older rules derived it.
    let stale = peywand_domain::Derived {
        given_name: Some("ahmad zia".into()),
        sex: None,
        ..raw.derive().0
    };
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(ImportMessage::Row(Box::new((raw, stale))))
        .await
        .unwrap();
    drop(tx);
    let actor = Actor {
        username: "test".into(),
        at: chrono::Utc::now(),
    };
    store.import(rx, &actor).await.unwrap();
    store.close().await;
    // The file was written by a Peywand before the current rules.
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!("sqlite://{p}"))
        .await
        .unwrap();
    sqlx::query("PRAGMA user_version = 0")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::Connection::close(conn).await.unwrap();

    let again = peywand_store_sqlite::SqliteStore::open(p).await.unwrap();
    let records = peywand_store::collect_match_records(&again).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].given_name, None, "{:?}", records[0]);
    assert_eq!(records[0].father_name.as_deref(), Some("nabi"));
    assert_eq!(records[0].sex, Some(peywand_domain::Sex::Male));
}

/// A registry upgraded in place keeps its cases' histories: sentences written by an earlier
/// Peywand are read back as typed events, and statistics count them.
#[tokio::test]
async fn case_histories_written_as_sentences_are_typed_on_opening() {
    use peywand_domain::{CaseEventKind, CaseStatus, TracingRequestDraft};
    use peywand_store::{Actor, StatsFilter};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.db");
    let p = path.to_str().unwrap();
    let store = SqliteStore::open(p).await.unwrap();
    let actor = Actor {
        username: "karima".into(),
        at: chrono::Utc::now(),
    };
    let request = store
        .create_tracing_request(&TracingRequestDraft::default(), &actor)
        .await
        .unwrap();
    store.close().await;
    // As an earlier Peywand wrote them: a sentence, no event.
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!("sqlite://{p}"))
        .await
        .unwrap();
    sqlx::query("UPDATE case_events SET event = NULL, kind = NULL, what = 'request opened'")
        .execute(&mut conn)
        .await
        .unwrap();
    for what in [
        "status open → match_confirmed",
        "assigned to karima",
        "a line no one can read",
    ] {
        sqlx::query(
            "INSERT INTO case_events (request_id, at, actor, what, why) VALUES (?, ?, 'karima', ?, '')",
        )
        .bind(request.id.0)
        .bind(actor.at + chrono::Duration::days(2))
        .bind(what)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    sqlx::Connection::close(conn).await.unwrap();

    let again = SqliteStore::open(p).await.unwrap();
    let case = again.tracing_case(request.id).await.unwrap().unwrap();
    let events: Vec<CaseEventKind> = case.events.into_iter().map(|e| e.event).collect();
    assert_eq!(
        events,
        [
            CaseEventKind::RequestOpened,
            CaseEventKind::StatusChanged {
                from: CaseStatus::Open,
                to: CaseStatus::MatchConfirmed
            },
            CaseEventKind::Assigned {
                caseworker: Some("karima".into())
            },
            CaseEventKind::Noted {
                text: "a line no one can read".into()
            },
        ]
    );
    let stats = again
        .flow_statistics(&StatsFilter::default())
        .await
        .unwrap();
    assert_eq!(stats.days_to_match.len(), 1);
    assert!((stats.days_to_match[0] - 2.0).abs() < 0.01);
    again.close().await;
}
