//! A day's registrations at a busy crossing point (5,000 households) synced to the hub: the
//! whole `peywand sync` process timed, and the bytes that crossed the link counted.
//! Run: `cargo bench -p peywand-cli --bench sync_day` (docs/benchmarks.md quotes it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark fails by panicking.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use peywand_domain::RawRegistration;
use peywand_store::prelude::*;
use peywand_store::{HouseholdDraft, MemberDraft};

const HOUSEHOLDS: usize = 5_000;

fn peywand(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_peywand"))
        .args(args)
        .env("PEYWAND_LOG", "error")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// Relays TCP to `to`, counting the bytes in both directions.
async fn counting_relay(to: u16, count: Arc<AtomicU64>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut site, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let mut hub = tokio::net::TcpStream::connect(("127.0.0.1", to))
                    .await
                    .unwrap();
                if let Ok((up, down)) = tokio::io::copy_bidirectional(&mut site, &mut hub).await {
                    count.fetch_add(up + down, Ordering::SeqCst);
                }
            });
        }
    });
    port
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("synth");
    peywand_synth::generate(HOUSEHOLDS as u64 * 5, 20, &data).unwrap();
    let mut by_household: BTreeMap<String, Vec<RawRegistration>> = BTreeMap::new();
    let report = peywand_interchange::registration_csv::read(
        std::fs::File::open(data.join("registry.csv")).unwrap(),
        |mut r| {
            let h = std::mem::take(&mut r.household_id);
            r.record_id = String::new();
            r.site = String::new();
            by_household.entry(h).or_default().push(r);
        },
    );
    assert!(report.is_valid());
    let drafts: Vec<HouseholdDraft> = by_household
        .into_values()
        .take(HOUSEHOLDS)
        .map(|members| HouseholdDraft {
            site_code: Some("torkham".into()),
            members: members
                .into_iter()
                .map(|raw| MemberDraft {
                    raw,
                    ..MemberDraft::default()
                })
                .collect(),
            ..HouseholdDraft::default()
        })
        .collect();

    let hub_db = dir.path().join("hub.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let code = peywand(&[
        "site",
        "invite",
        "--db",
        hub_db.to_str().unwrap(),
        "--site",
        "torkham",
    ]);
    let code = code.lines().last().unwrap().trim().to_string();
    let mut hub = Command::new(env!("CARGO_BIN_EXE_peywand"))
        .args([
            "serve",
            "--db",
            hub_db.to_str().unwrap(),
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .env("PEYWAND_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(hub.stdout.take().unwrap());
    assert!(
        out.lines()
            .map_while(Result::ok)
            .any(|l| l.contains("Peywand is running"))
    );
    let bytes = Arc::new(AtomicU64::new(0));
    let relay = counting_relay(port, bytes.clone()).await;
    let site_db = dir.path().join("torkham.db");
    let site = site_db.to_str().unwrap();
    peywand(&[
        "site",
        "enrol",
        "--db",
        site,
        "--hub",
        &format!("http://127.0.0.1:{relay}"),
        "--site",
        "torkham",
        "--code",
        &code,
    ]);
    let enrolment = bytes.swap(0, Ordering::SeqCst);
    let store = peywand_store_sqlite::SqliteStore::open(site).await.unwrap();
    let who = peywand_store::Actor {
        username: "registrar".into(),
        at: chrono::Utc::now(),
    };
    let mut people = 0;
    for d in &drafts {
        people += store.create_household(d, &who).await.unwrap().members.len();
    }
    store.close().await;
    let started = Instant::now();
    let report = peywand(&["sync", "--db", site]);
    let took = started.elapsed();
    let moved = bytes.load(Ordering::SeqCst);
    let hub_store = peywand_store_sqlite::SqliteStore::open(hub_db.to_str().unwrap())
        .await
        .unwrap();
    let at_hub = hub_store.count_persons().await.unwrap();
    hub_store.close().await;
    hub.kill().unwrap();
    hub.wait().unwrap();
    assert_eq!(
        at_hub as usize, people,
        "every registration reached the hub"
    );
    println!("{report}");
    println!(
        "{} households ({people} people) synced to the hub in {:.1} s: {} bytes over the link, {:.0} bytes a household (enrolment {enrolment} bytes)",
        drafts.len(),
        took.as_secs_f64(),
        moved,
        moved as f64 / drafts.len() as f64
    );
}
