//! Sites that register offline and sync with a hub, as they run in the field: a hub server
//! process, site registries syncing with `peywand sync`, links cut at random bytes, a hub
//! killed mid-sync. Nothing registered is lost or counted twice.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail the test by panicking.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use peywand_domain::RawRegistration;
use peywand_store::{HouseholdDraft, MemberDraft, Store};

use common::{peywand, text};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A hub server process on `port`, once it answers.
struct Hub {
    db: String,
    port: u16,
    process: Child,
}

impl Hub {
    fn start(db: &str, port: u16) -> Hub {
        let mut process = Command::new(env!("CARGO_BIN_EXE_peywand"))
            .args(["serve", "--db", db, "--addr", &format!("127.0.0.1:{port}")])
            .env("PEYWAND_LOG", "error")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = BufReader::new(process.stdout.take().unwrap());
        let running = out
            .lines()
            .map_while(Result::ok)
            .any(|l| l.contains("Peywand is running"));
        assert!(running, "the hub did not start");
        Hub {
            db: db.to_string(),
            port,
            process,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn invite(&self, site: &str) -> String {
        let o = peywand(&["site", "invite", "--db", &self.db, "--site", site]);
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .last()
            .unwrap()
            .trim()
            .to_string()
    }

    /// SIGKILL: no chance to finish anything.
    fn kill(&mut self) {
        self.process.kill().unwrap();
        self.process.wait().unwrap();
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn enrol(site_db: &Path, hub: &str, site: &str, code: &str) -> Output {
    peywand(&[
        "site",
        "enrol",
        "--db",
        site_db.to_str().unwrap(),
        "--hub",
        hub,
        "--site",
        site,
        "--code",
        code,
    ])
}

fn sync(site_db: &Path) -> Output {
    peywand(&["sync", "--db", site_db.to_str().unwrap()])
}

async fn open(db: &str) -> Arc<dyn Store> {
    if db.starts_with("postgres://") {
        Arc::new(peywand_store_postgres::PgStore::open(db).await.unwrap())
    } else {
        Arc::new(peywand_store_sqlite::SqliteStore::open(db).await.unwrap())
    }
}

/// Synthetic households, as a desk would type them.
fn households(count: usize, seed: u64) -> Vec<HouseholdDraft> {
    let dir = tempfile::tempdir().unwrap();
    peywand_synth::generate(count as u64 * 4, seed, dir.path()).unwrap();
    let mut rows = Vec::new();
    let report = peywand_interchange::registration_csv::read(
        std::fs::File::open(dir.path().join("registry.csv")).unwrap(),
        |r| rows.push(r),
    );
    assert!(report.is_valid());
    let mut by_household: BTreeMap<String, Vec<RawRegistration>> = BTreeMap::new();
    for r in rows {
        by_household
            .entry(r.household_id.clone())
            .or_default()
            .push(r);
    }
    by_household
        .into_values()
        .take(count)
        .map(|members| HouseholdDraft {
            members: members
                .into_iter()
                .map(|mut raw| {
                    // The server gives ids and the site; the desk types the rest.
                    raw.record_id = String::new();
                    raw.household_id = String::new();
                    raw.site = String::new();
                    MemberDraft {
                        raw,
                        ..MemberDraft::default()
                    }
                })
                .collect(),
            ..HouseholdDraft::default()
        })
        .collect()
}

/// One family of six, as typed at Torkham in Latin letters and three months later at Spin
/// Boldak in Dari, the children a year older.
fn family(latin: bool) -> HouseholdDraft {
    let people: [(&str, &str, &str, &str, &str); 6] = [
        ("Javid", "جاوید", "Ainal", "ایمل", "M"),
        ("Shakila", "شکیلا", "Gul Ahmad", "گل احمد", "F"),
        ("Rahim", "رحیم", "Javid", "جاوید", "M"),
        ("Zarmina", "زرمینه", "Javid", "جاوید", "F"),
        ("Nabi", "نبی", "Javid", "جاوید", "M"),
        ("Marzia", "مرضیه", "Javid", "جاوید", "F"),
    ];
    let ages = [41, 35, 14, 11, 8, 5];
    HouseholdDraft {
        members: people
            .iter()
            .zip(ages)
            .map(
                |((given, given_fa, father, father_fa, sex), age)| MemberDraft {
                    raw: RawRegistration {
                        given_name: if latin { given } else { given_fa }.to_string(),
                        father_name: if latin { father } else { father_fa }.to_string(),
                        family_name: if latin { "Mohmand" } else { "مهمند" }.to_string(),
                        sex: sex.to_string(),
                        age: (if latin { age } else { age + 1 }).to_string(),
                        province_of_origin: if latin { "Nangarhar" } else { "ننگرهار" }.to_string(),
                        ..RawRegistration::default()
                    },
                    ..MemberDraft::default()
                },
            )
            .collect(),
        ..HouseholdDraft::default()
    }
}

/// Registers households at a site, offline, as its desk does.
async fn register(site_db: &Path, site: &str, drafts: &[HouseholdDraft]) -> Vec<String> {
    let store = open(site_db.to_str().unwrap()).await;
    let who = peywand_store::Actor {
        username: format!("registrar-{site}"),
        at: chrono::Utc::now(),
    };
    let mut ids = Vec::new();
    for d in drafts {
        let mut d = d.clone();
        d.site_code = Some(site.into());
        let saved = store.create_household(&d, &who).await.unwrap();
        ids.push(saved.household.id.to_string());
    }
    store.close().await;
    ids
}

async fn persons_and_heads(db: &str) -> (u64, BTreeMap<String, i64>) {
    let store = open(db).await;
    let n = store.count_persons().await.unwrap();
    let heads = store.heads().await.unwrap().0;
    store.close().await;
    (n, heads)
}

/// Relays TCP between a site and the hub, cutting each connection after a random number of
/// bytes in either direction: a link that drops in the middle of a page.
async fn cutting_proxy(to: u16, seed: u64) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let next = Arc::new(AtomicU64::new(seed));
    tokio::spawn(async move {
        loop {
            let Ok((mut site, _)) = listener.accept().await else {
                return;
            };
            // A small xorshift: the same cuts for the same seed.
            let mut x = next.fetch_add(0x9E37_79B9, Ordering::SeqCst) | 1;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let budget = (x % 60_000) as usize;
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let Ok(mut hub) = tokio::net::TcpStream::connect(("127.0.0.1", to)).await else {
                    return;
                };
                let (mut sr, mut sw) = site.split();
                let (mut hr, mut hw) = hub.split();
                let mut left = budget;
                let mut a = [0u8; 4096];
                let mut b = [0u8; 4096];
                loop {
                    tokio::select! {
                        n = sr.read(&mut a) => {
                            let Ok(n) = n else { return };
                            if n == 0 || left == 0 { return; }
                            let n = n.min(left);
                            left -= n;
                            if hw.write_all(&a[..n]).await.is_err() { return; }
                        }
                        n = hr.read(&mut b) => {
                            let Ok(n) = n else { return };
                            if n == 0 || left == 0 { return; }
                            let n = n.min(left);
                            left -= n;
                            if sw.write_all(&b[..n]).await.is_err() { return; }
                        }
                    }
                }
            });
        }
    });
    port
}

/// Points a site's link at another address (the proxy), keeping its credential.
async fn relink(site_db: &Path, url: &str) {
    let store = open(site_db.to_str().unwrap()).await;
    let link = store.hub_link().await.unwrap().unwrap();
    store.set_hub_link(url, &link.credential).await.unwrap();
    store.close().await;
}

/// Whether a hub's deduplication finds the two registrations of one family as one family:
/// each of the six people linked across the two sites.
async fn family_is_one(db: &str, torkham: &str, spin_boldak: &str) -> usize {
    let store = open(db).await;
    let records = peywand_store::collect_match_records(&*store).await.unwrap();
    let member_ids = |household: &str| -> Vec<String> {
        records
            .iter()
            .filter(|r| r.household == household)
            .map(|r| r.record_id.clone())
            .collect()
    };
    let households: HashMap<String, String> = {
        let mut m = HashMap::new();
        for h in [torkham, spin_boldak] {
            let id: peywand_domain::HouseholdId = h.parse().unwrap();
            let rec = store.household(id).await.unwrap().unwrap();
            m.insert(
                h.to_string(),
                peywand_domain::household_key(rec.household.id),
            );
        }
        m
    };
    store.close().await;
    let ds = peywand_linkage::Dataset::build(&records);
    let run = peywand_linkage::deduplicate(&ds, &[], &peywand_linkage::Settings::default());
    let identity: HashMap<String, String> = run.identity_ids(&ds).into_iter().collect();
    let at_torkham = member_ids(&households[torkham]);
    let at_spin_boldak = member_ids(&households[spin_boldak]);
    at_torkham
        .iter()
        .filter(|t| at_spin_boldak.iter().any(|s| identity[*t] == identity[s]))
        .count()
}

/// Three sites and a hub: each registers offline (among them one family at two sites in two
/// scripts), links go up and down (some rounds through a link that drops at random bytes),
/// and at the end every registration is at the hub exactly once, every site holds everyone's,
/// and the family registered twice is one family.
async fn three_sites_and_a_hub(hub_db: String) {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = Hub::start(&hub_db, free_port());
    let sites = ["torkham", "spin-boldak", "angoor-adda"];
    let dbs: Vec<PathBuf> = sites
        .iter()
        .map(|s| dir.path().join(format!("{s}.db")))
        .collect();
    for (site, db) in sites.iter().zip(&dbs) {
        let code = hub.invite(site);
        let o = enrol(db, &hub.url(), site, &code);
        assert!(o.status.success(), "{}", text(&o));
        // A code works once.
        let o = enrol(&dir.path().join("again.db"), &hub.url(), site, &code);
        assert!(!o.status.success(), "a used code enrolled again");
    }
    let mut ids = Vec::new();
    for (i, (site, db)) in sites.iter().zip(&dbs).enumerate() {
        ids.push(register(db, site, &households(100, 11 + i as u64)).await);
    }
    let torkham_family = register(&dbs[0], "torkham", &[family(true)])
        .await
        .remove(0);
    let spin_boldak_family = register(&dbs[1], "spin-boldak", &[family(false)])
        .await
        .remove(0);
    // At Angoor Adda, offline, a mother asks for her daughter; Torkham's desk is looked at.
    let case = open_case_offline(&dbs[2], "angoor-adda").await;
    look_at_a_record(&dbs[0], "torkham", 3).await;
    let mut expected = 0;
    for db in &dbs {
        expected += persons_and_heads(db.to_str().unwrap()).await.0;
    }
    // Rounds through a link that drops at random, then with the link up.
    let proxy = cutting_proxy(hub.port, 7).await;
    for db in &dbs {
        relink(db, &format!("http://127.0.0.1:{proxy}")).await;
    }
    for _ in 0..3 {
        for db in &dbs {
            let _ = sync(db);
        }
    }
    // The hub is killed in the middle of it all and started again.
    hub.kill();
    let mut hub = Hub::start(&hub_db, hub.port);
    for db in &dbs {
        relink(db, &hub.url()).await;
    }
    for db in &dbs {
        let _ = sync(db);
    }
    // The hub learns its model from every site's registrations; its server, started again,
    // matches the tracing requests waiting there; the sites take the model, the hub's
    // identities and what its matching offered.
    let o = peywand(&["dedupe", "--db", &hub_db]);
    assert!(o.status.success(), "{}", text(&o));
    hub.kill();
    let mut hub = Hub::start(&hub_db, hub.port);
    let mut offered = Vec::new();
    for _ in 0..20 {
        for db in &dbs {
            let o = sync(db);
            assert!(o.status.success(), "{}", text(&o));
        }
        offered = candidates_at(&dbs[2], case).await;
        if offered.iter().any(|(_, site)| site == "torkham") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(
        offered.iter().any(|(_, site)| site == "torkham"),
        "the case opened at Angoor Adda did not get the girl registered at Torkham: {offered:?}"
    );
    let (at_hub, _) = persons_and_heads(&hub_db).await;
    assert_eq!(
        at_hub, expected,
        "every registration at the hub exactly once"
    );
    for (site, registered) in sites.iter().zip(&ids) {
        // Each site's 100 households, the two families on top.
        let own = registered.len() + usize::from(*site != "angoor-adda");
        assert_eq!(
            households_logged(&hub_db, site).await,
            own,
            "{site}'s registrations at the hub"
        );
    }
    let at_the_hub = identities(&hub_db).await;
    assert_eq!(at_the_hub.len() as u64, expected);
    for db in &dbs {
        let (n, _) = persons_and_heads(db.to_str().unwrap()).await;
        assert_eq!(n, expected, "{} holds everyone's", db.display());
        assert_eq!(
            identities(db.to_str().unwrap()).await,
            at_the_hub,
            "{} has the hub's identities",
            db.display()
        );
    }
    // Torkham's audit trail reached the hub whole.
    hub.kill();
    let o = peywand(&["audit", "verify", "--db", &hub_db, "--site", "torkham"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("intact: 3 entries"), "{}", text(&o));
    let linked = family_is_one(&hub_db, &torkham_family, &spin_boldak_family).await;
    assert!(
        linked >= 5,
        "only {linked} of 6 family members linked across sites"
    );
    // At Spin Boldak, the desk checking the family it registered finds the Torkham
    // registration that reached it, scored with the hub's model.
    let found = desk_finds_family_elsewhere(
        dbs[1].to_str().unwrap(),
        &spin_boldak_family,
        &torkham_family,
    )
    .await;
    assert!(
        found >= 5,
        "the desk found only {found} of 6 members registered at Torkham"
    );
}

/// A tracing request taken at a site while it is offline, for the girl of the family
/// registered at Torkham and Spin Boldak.
async fn open_case_offline(site_db: &Path, site: &str) -> peywand_domain::TracingRequestId {
    let store = open(site_db.to_str().unwrap()).await;
    let draft = peywand_domain::TracingRequestDraft {
        requester_name: "شکیلا".into(),
        requester_relationship: "mother".into(),
        site_code: Some(site.into()),
        sought: RawRegistration {
            given_name: "زرمینه".into(),
            father_name: "جاوید".into(),
            sex: "F".into(),
            age: "12".into(),
            province_of_origin: "ننگرهار".into(),
            ..RawRegistration::default()
        },
        circumstances: "separated at the crossing".into(),
        separated_child: true,
        ..peywand_domain::TracingRequestDraft::default()
    };
    let who = peywand_store::Actor {
        username: format!("caseworker-{site}"),
        at: chrono::Utc::now(),
    };
    let request = store.create_tracing_request(&draft, &who).await.unwrap();
    store.close().await;
    request.id
}

/// A clerk at a site looks at `n` records: each look is in the site's audit log.
async fn look_at_a_record(site_db: &Path, site: &str, n: usize) {
    let store = open(site_db.to_str().unwrap()).await;
    for i in 0..n {
        let event = peywand_access::audit::AuditEvent::now(
            &format!("registrar-{site}"),
            "view_person",
            &format!("record-{i}"),
        );
        store.append_audit(&event).await.unwrap();
    }
    store.close().await;
}

/// The candidates a case holds at a registry: (record id, site registered at).
async fn candidates_at(db: &Path, id: peywand_domain::TracingRequestId) -> Vec<(String, String)> {
    let store = open(db.to_str().unwrap()).await;
    let mut found = Vec::new();
    if let Some(case) = store.tracing_case(id).await.unwrap() {
        for c in case.candidates {
            let person = store.person_by_record(&c.record_id).await.unwrap().unwrap();
            found.push((
                c.record_id.to_string(),
                person.derived.site_code.unwrap_or_default(),
            ));
        }
    }
    store.close().await;
    found
}

/// How many registrations (`household_saved` changes) of `origin` a registry holds.
async fn households_logged(db: &str, origin: &str) -> usize {
    let store = open(db).await;
    let log = store.changes_after(origin, 0, 100_000).await.unwrap();
    store.close().await;
    log.iter()
        .filter(|c| c.kind == peywand_sync::ChangeKind::HouseholdSaved)
        .count()
}

/// Who is who at a registry: record id to identity.
async fn identities(db: &str) -> BTreeMap<String, String> {
    let store = open(db).await;
    let all = store.identities().await.unwrap();
    store.close().await;
    all.into_iter().collect()
}

/// How many members of one household a site's desk check finds in another household.
async fn desk_finds_family_elsewhere(db: &str, checked: &str, elsewhere: &str) -> usize {
    let store = open(db).await;
    let model: peywand_linkage::Model = serde_json::from_str(
        &store
            .linkage_model()
            .await
            .unwrap()
            .expect("the hub's model reached the site"),
    )
    .unwrap();
    let records = peywand_store::collect_match_records(&*store).await.unwrap();
    let key = |h: &str| peywand_domain::household_key(h.parse().unwrap());
    let members: Vec<_> = records
        .iter()
        .filter(|r| r.household == key(checked))
        .cloned()
        .collect();
    let theirs: Vec<String> = records
        .iter()
        .filter(|r| r.household == key(elsewhere))
        .map(|r| r.record_id.clone())
        .collect();
    store.close().await;
    let mut matcher =
        peywand_linkage::Matcher::new(peywand_linkage::Dataset::build(&records), model);
    let probes: Vec<_> = members
        .iter()
        .map(|m| peywand_domain::MatchRecord {
            record_id: String::new(),
            household: "at-the-desk".into(),
            ..m.clone()
        })
        .collect();
    matcher
        .check_household(&probes, 5)
        .iter()
        .filter(|found| found.iter().any(|(c, _)| theirs.contains(&c.record_id)))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_sites_and_a_hub_lose_nothing_and_count_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    three_sites_and_a_hub(dir.path().join("hub.db").to_str().unwrap().to_string()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_sites_and_a_hub_on_postgresql() {
    let Some(database) = peywand_store_postgres::testing::TestDatabase::create().await else {
        return;
    };
    three_sites_and_a_hub(database.url.clone()).await;
}

/// A link cut at random bytes, fifty times over: each attempt may leave a page half sent or
/// half received; run again, nothing is lost and nothing is doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_cut_fifty_times_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db");
    let hub = Hub::start(hub_db.to_str().unwrap(), free_port());
    let site = dir.path().join("torkham.db");
    let o = enrol(&site, &hub.url(), "torkham", &hub.invite("torkham"));
    assert!(o.status.success(), "{}", text(&o));
    register(&site, "torkham", &households(250, 3)).await;
    let (registered, made) = persons_and_heads(site.to_str().unwrap()).await;
    let proxy = cutting_proxy(hub.port, 42).await;
    relink(&site, &format!("http://127.0.0.1:{proxy}")).await;
    let mut failed = 0;
    for _ in 0..50 {
        if !sync(&site).status.success() {
            failed += 1;
        }
    }
    assert!(failed > 0, "the link never dropped: the test tests nothing");
    relink(&site, &hub.url()).await;
    let o = sync(&site);
    assert!(o.status.success(), "{}", text(&o));
    let (at_hub, heads) = persons_and_heads(hub_db.to_str().unwrap()).await;
    assert_eq!(at_hub, registered);
    assert_eq!(heads.get("torkham"), made.get("torkham"));
    assert!(made.get("torkham") > Some(&200), "{made:?}");
}

/// A credential pushes only as its own site, and stops working once revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_pushes_only_as_itself_and_not_once_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db");
    let hub = Hub::start(hub_db.to_str().unwrap(), free_port());
    let torkham = dir.path().join("torkham.db");
    let o = enrol(&torkham, &hub.url(), "torkham", &hub.invite("torkham"));
    assert!(o.status.success(), "{}", text(&o));
    let spin = dir.path().join("spin.db");
    let o = enrol(&spin, &hub.url(), "spin-boldak", &hub.invite("spin-boldak"));
    assert!(o.status.success(), "{}", text(&o));
    register(&spin, "spin-boldak", &households(2, 5)).await;
    // Only a site is invited: a province's code is not one.
    let o = peywand(&[
        "site",
        "invite",
        "--db",
        hub_db.to_str().unwrap(),
        "--site",
        "AF06",
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("peywand sites"), "{}", text(&o));
    // Torkham's credential, with Spin Boldak's changes.
    let store = open(torkham.to_str().unwrap()).await;
    let credential = store.hub_link().await.unwrap().unwrap().credential;
    store.close().await;
    let store = open(spin.to_str().unwrap()).await;
    let changes = store.changes_after("spin-boldak", 0, 10).await.unwrap();
    store.close().await;
    let http = reqwest::Client::new();
    let pushed = http
        .post(format!("{}/api/v1/sync/changes", hub.url()))
        .bearer_auth(&credential)
        .json(&serde_json::json!({ "changes": changes }))
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 403, "torkham pushed spin-boldak's changes");
    let o = peywand(&[
        "site",
        "revoke",
        "--db",
        hub_db.to_str().unwrap(),
        "--site",
        "torkham",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = sync(&torkham);
    assert!(!o.status.success(), "a revoked site synced");
    assert!(text(&o).contains("revoked"), "{}", text(&o));
    let o = sync(&spin);
    assert!(o.status.success(), "{}", text(&o));
}

/// The hub killed (SIGKILL) while a site sends, and a site's sync killed while it receives:
/// started again, they converge, nothing lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_or_a_site_killed_mid_sync_converges() {
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db");
    let mut hub = Hub::start(hub_db.to_str().unwrap(), free_port());
    let torkham = dir.path().join("torkham.db");
    let spin = dir.path().join("spin.db");
    for (db, site) in [(&torkham, "torkham"), (&spin, "spin-boldak")] {
        let o = enrol(db, &hub.url(), site, &hub.invite(site));
        assert!(o.status.success(), "{}", text(&o));
    }
    register(&torkham, "torkham", &households(300, 8)).await;
    let (made, _) = persons_and_heads(torkham.to_str().unwrap()).await;
    let started = Command::new(env!("CARGO_BIN_EXE_peywand"))
        .args(["sync", "--db", torkham.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    hub.kill();
    let out = started.wait_with_output().unwrap();
    let port = hub.port;
    drop(hub);
    let hub = Hub::start(hub_db.to_str().unwrap(), port);
    let o = sync(&torkham);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(persons_and_heads(hub_db.to_str().unwrap()).await.0, made);
    // Spin Boldak's sync killed while it takes in Torkham's households.
    let mut receiving = Command::new(env!("CARGO_BIN_EXE_peywand"))
        .args(["sync", "--db", spin.to_str().unwrap()])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    receiving.kill().unwrap();
    receiving.wait().unwrap();
    let o = sync(&spin);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(persons_and_heads(spin.to_str().unwrap()).await.0, made);
    let _ = out;
    drop(hub);
}

/// A site with no link for a week: its changes go to the hub on a USB stick and the hub's
/// come back the same way. A bundle imported twice changes nothing; cut short or altered, it
/// is refused whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_without_a_link_syncs_by_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db");
    let hub_db_text = hub_db.to_str().unwrap();
    let mut hub = Hub::start(hub_db_text, free_port());
    let torkham = dir.path().join("torkham.db");
    let angoor = dir.path().join("angoor.db");
    for (db, site) in [(&torkham, "torkham"), (&angoor, "angoor-adda")] {
        let o = enrol(db, &hub.url(), site, &hub.invite(site));
        assert!(o.status.success(), "{}", text(&o));
    }
    register(&torkham, "torkham", &households(30, 21)).await;
    assert!(sync(&torkham).status.success());
    hub.kill();
    // Angoor Adda registers with no link, and writes a bundle.
    register(&angoor, "angoor-adda", &households(20, 22)).await;
    let (at_angoor, _) = persons_and_heads(angoor.to_str().unwrap()).await;
    let up = dir.path().join("angoor-to-hub.bundle");
    let o = peywand(&[
        "sync",
        "export",
        "--db",
        angoor.to_str().unwrap(),
        "--out",
        up.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let bytes = std::fs::read(&up).unwrap();
    let import =
        |db: &str, file: &Path| peywand(&["sync", "import", "--db", db, file.to_str().unwrap()]);
    // Cut short, or one byte changed: refused whole, nothing taken.
    let cut = dir.path().join("cut.bundle");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let o = import(hub_db_text, &cut);
    assert!(!o.status.success());
    assert!(text(&o).contains("incomplete"), "{}", text(&o));
    let altered = dir.path().join("altered.bundle");
    let mut changed = bytes.clone();
    let at = changed.len() - 40;
    changed[at] ^= 0x01;
    std::fs::write(&altered, &changed).unwrap();
    let o = import(hub_db_text, &altered);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("changed after it was written"),
        "{}",
        text(&o)
    );
    let (before, _) = persons_and_heads(hub_db_text).await;
    let o = import(hub_db_text, &up);
    assert!(o.status.success(), "{}", text(&o));
    let o = import(hub_db_text, &up);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("0 new"), "imported twice: {}", text(&o));
    let (after, _) = persons_and_heads(hub_db_text).await;
    assert_eq!(after, before + at_angoor);
    // And back: the hub's bundle brings Torkham's households to Angoor Adda.
    let down = dir.path().join("hub-to-angoor.bundle");
    let o = peywand(&[
        "sync",
        "export",
        "--db",
        hub_db_text,
        "--site",
        "angoor-adda",
        "--out",
        down.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // Only Angoor Adda can open it.
    let o = import(torkham.to_str().unwrap(), &down);
    assert!(
        !o.status.success(),
        "another site opened Angoor Adda's bundle"
    );
    let o = import(angoor.to_str().unwrap(), &down);
    assert!(o.status.success(), "{}", text(&o));
    let (now_at_angoor, _) = persons_and_heads(angoor.to_str().unwrap()).await;
    assert_eq!(now_at_angoor, after, "Angoor Adda holds everyone's");
}

/// A tracing case opened at Spin Boldak, offline, for a girl whose family registered at
/// Torkham: once both links are up, Spin Boldak's server pulls the Torkham registration (and
/// the hub's model) and the case gets her as a candidate, within one sync round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_at_one_site_finds_the_child_registered_at_another() {
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db");
    let hub = Hub::start(hub_db.to_str().unwrap(), free_port());
    let torkham = dir.path().join("torkham.db");
    let spin = dir.path().join("spin.db");
    for (db, site) in [(&torkham, "torkham"), (&spin, "spin-boldak")] {
        let o = enrol(db, &hub.url(), site, &hub.invite(site));
        assert!(o.status.success(), "{}", text(&o));
    }
    register(&torkham, "torkham", &households(150, 31)).await;
    register(&torkham, "torkham", &[family(true)]).await;
    assert!(sync(&torkham).status.success());
    let o = peywand(&["dedupe", "--db", hub_db.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    // Spin Boldak's caseworker, and its server syncing every second.
    let token = {
        let store = open(spin.to_str().unwrap()).await;
        store
            .create_user(&peywand_store::NewUser {
                username: "nasir".into(),
                role: peywand_access::Role::Caseworker,
                site_code: Some("spin-boldak".into()),
                password_hash: peywand_access::hash_password("a caseworker's passphrase").unwrap(),
            })
            .await
            .unwrap();
        let token = peywand_access::Secret::generate("pt_");
        store
            .create_token(&peywand_store::ApiToken {
                id: "nasir-token".into(),
                digest: token.digest.clone(),
                username: "nasir".into(),
                label: "tests".into(),
                created_at: chrono::Utc::now(),
                revoked_at: None,
                expires_at: chrono::Utc::now() + chrono::Duration::days(1),
            })
            .await
            .unwrap();
        store.close().await;
        token.text
    };
    let port = free_port();
    let mut site_server = Command::new(env!("CARGO_BIN_EXE_peywand"))
        .args([
            "serve",
            "--db",
            spin.to_str().unwrap(),
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["--sync-every", "1"])
        .env("PEYWAND_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(site_server.stdout.take().unwrap());
    assert!(
        out.lines()
            .map_while(Result::ok)
            .any(|l| l.contains("Peywand is running"))
    );
    let http = reqwest::Client::new();
    let opened: serde_json::Value = http
        .post(format!("http://127.0.0.1:{port}/api/v1/tracing/requests"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "requester_name": "شکیلا", "requester_relationship": "mother",
            "requester_contact": "", "last_seen_place": "Torkham",
            "circumstances": "separated at the crossing", "distinguishing_details": "",
            "sought": {"given_name": "زرمینه", "father_name": "جاوید", "sex": "F", "age": "12",
                       "province_of_origin": "ننگرهار"}
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = opened["request"]["id"].as_str().unwrap().to_string();
    let mut candidates = Vec::new();
    for _ in 0..60 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let case: serde_json::Value = http
            .get(format!(
                "http://127.0.0.1:{port}/api/v1/tracing/requests/{id}"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        candidates = case["candidates"].as_array().cloned().unwrap_or_default();
        if !candidates.is_empty() {
            break;
        }
    }
    site_server.kill().unwrap();
    site_server.wait().unwrap();
    let store = open(spin.to_str().unwrap()).await;
    let mut found = false;
    for c in &candidates {
        let record = peywand_domain::RecordId::parse(c["record_id"].as_str().unwrap()).unwrap();
        let person = store.person_by_record(&record).await.unwrap().unwrap();
        found |= person.raw.given_name == "Zarmina"
            && person.derived.site_code.as_deref() == Some("torkham");
    }
    store.close().await;
    assert!(
        found,
        "the girl registered at Torkham is not among {candidates:?}"
    );
    drop(hub);
}

/// Winter kits at three sites: the hub sets the programme and it reaches every site; a family
/// registered at Torkham reaches Spin Boldak; both sites, offline, give it a kit. After they
/// sync, the hub and the third site hold both kits, flag them for the information manager
/// with both records, and count the family once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kits_given_at_two_offline_sites_are_flagged_after_sync() {
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db").to_str().unwrap().to_string();
    let hub = Hub::start(&hub_db, free_port());
    let sites = ["torkham", "spin-boldak", "angoor-adda"];
    let dbs: Vec<PathBuf> = sites
        .iter()
        .map(|s| dir.path().join(format!("{s}.db")))
        .collect();
    for (site, db) in sites.iter().zip(&dbs) {
        let code = hub.invite(site);
        let o = enrol(db, &hub.url(), site, &code);
        assert!(o.status.success(), "{}", text(&o));
    }
    let im = peywand_store::Actor {
        username: "farid".into(),
        at: chrono::Utc::now(),
    };
    let programme = {
        let store = open(&hub_db).await;
        let p = store
            .create_programme(
                &peywand_store::ProgrammeDraft {
                    name: "Winter kits".into(),
                    kind: peywand_store::AssistanceKind::WinterKit,
                    amount: None,
                    currency: None,
                    entitlement: peywand_store::Entitlement::OncePerHousehold,
                    season_from: "2025-11-01".parse().unwrap(),
                    season_to: "2099-02-28".parse().unwrap(),
                    criteria: peywand_store::Criteria::default(),
                },
                &im,
            )
            .await
            .unwrap();
        store.close().await;
        p
    };
    let household = register(&dbs[0], "torkham", &[family(true)])
        .await
        .remove(0);
    for _ in 0..2 {
        for db in &dbs {
            let o = sync(db);
            assert!(o.status.success(), "{}", text(&o));
        }
    }
    // Offline, each of the two sites gives the family a kit: neither knows of the other's.
    for (site, db, officer) in [
        ("torkham", &dbs[0], "nadia"),
        ("spin-boldak", &dbs[1], "zarmina"),
    ] {
        let store = open(db.to_str().unwrap()).await;
        assert!(
            store
                .programmes()
                .await
                .unwrap()
                .iter()
                .any(|p| p.id == programme.id),
            "the hub's programme reached {site}"
        );
        store
            .record_distribution(
                &peywand_store::DistributionDraft {
                    household: household.parse().unwrap(),
                    kind: peywand_store::AssistanceKind::WinterKit,
                    quantity: 1,
                    given_on: chrono::Utc::now().date_naive(),
                    received_by: "head".into(),
                    site_code: Some(site.into()),
                    override_reason: None,
                },
                &peywand_store::Actor {
                    username: officer.into(),
                    at: chrono::Utc::now(),
                },
            )
            .await
            .unwrap_or_else(|e| panic!("a kit at {site}: {e}"));
        store.close().await;
    }
    for _ in 0..2 {
        for db in &dbs {
            let o = sync(db);
            assert!(o.status.success(), "{}", text(&o));
        }
    }
    for db in [hub_db.clone(), dbs[2].to_str().unwrap().to_string()] {
        let store = open(&db).await;
        let given = store
            .household_distributions(household.parse().unwrap())
            .await
            .unwrap();
        assert_eq!(given.len(), 2, "{db}: both kits are recorded");
        let doubled = store.doubled_distributions().await.unwrap();
        assert_eq!(doubled.len(), 1, "{db}: flagged once: {doubled:?}");
        let mut by = [
            doubled[0].first.given_by.as_str(),
            doubled[0].again.given_by.as_str(),
        ];
        by.sort();
        assert_eq!(by, ["nadia", "zarmina"], "{db}: with both records");
        let households: u64 = store
            .distribution_days()
            .await
            .unwrap()
            .iter()
            .map(|d| d.households)
            .sum();
        assert_eq!(households, 1, "{db}: counted once");
        store.close().await;
    }
}

/// How many people named `given` (as typed) a registry holds.
async fn named(db: &str, given: &str) -> usize {
    let store = open(db).await;
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let reader = {
        let store = store.clone();
        tokio::spawn(async move { store.export(tx).await.unwrap() })
    };
    let mut n = 0;
    while let Some(raw) = rx.recv().await {
        n += usize::from(raw.given_name == given);
    }
    reader.await.unwrap();
    store.close().await;
    n
}

/// A person erased at the hub is erased at every site at its next round, and does not come
/// back from a site's older copy: Torkham edits the family offline before it hears of the
/// erasure, and pushes that edit afterwards.
async fn an_erasure_at_the_hub(hub_db: String) {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(&hub_db, free_port());
    let torkham = dir.path().join("torkham.db");
    let spin = dir.path().join("spin.db");
    for (db, site) in [(&torkham, "torkham"), (&spin, "spin-boldak")] {
        let o = enrol(db, &hub.url(), site, &hub.invite(site));
        assert!(o.status.success(), "{}", text(&o));
    }
    let id = register(&torkham, "torkham", &[family(true)])
        .await
        .remove(0);
    for db in [&torkham, &spin, &torkham] {
        let o = sync(db);
        assert!(o.status.success(), "{}", text(&o));
    }
    assert_eq!(named(spin.to_str().unwrap(), "Zarmina").await, 1);
    // Offline at Torkham: the family's destination changes.
    let zarmina = {
        let store = open(torkham.to_str().unwrap()).await;
        let id: peywand_domain::HouseholdId = id.parse().unwrap();
        let held = store.household(id).await.unwrap().unwrap();
        let mut draft = family(true);
        draft.site_code = Some("torkham".into());
        draft.destination_province = Some("AF01".into());
        for (m, p) in draft.members.iter_mut().zip(&held.members) {
            m.raw.record_id = p.record_id.to_string();
        }
        let who = peywand_store::Actor {
            username: "registrar-torkham".into(),
            at: chrono::Utc::now(),
        };
        store.update_household(id, &draft, &who).await.unwrap();
        store.close().await;
        held.members[3].record_id.to_string()
    };
    // At the hub, on her family's request.
    let o = peywand(&[
        "purge",
        "--db",
        &hub_db,
        "--record",
        &zarmina,
        "--reason",
        "her family asked for it",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for db in [&spin, &torkham, &spin, &torkham] {
        let o = sync(db);
        assert!(o.status.success(), "{}", text(&o));
    }
    for db in [
        hub_db.as_str(),
        spin.to_str().unwrap(),
        torkham.to_str().unwrap(),
    ] {
        assert_eq!(named(db, "Zarmina").await, 0, "she came back at {db}");
        assert_eq!(named(db, "Javid").await, 1, "her father is still at {db}");
    }
    // Torkham's edit arrived, without her. The version it was made on left the log with her,
    // so the hub cannot tell who changed the destination: it keeps its value and shows both
    // for a person to settle.
    let store = open(&hub_db).await;
    let id: peywand_domain::HouseholdId = id.parse().unwrap();
    let held = store.household(id).await.unwrap().unwrap();
    let crossed = store.crossed_fields(id).await.unwrap();
    store.close().await;
    assert_eq!(held.members.len(), 5);
    let destination = crossed
        .iter()
        .find(|c| c.field == "destination_province")
        .expect("the destination is flagged");
    assert_eq!(destination.other, serde_json::Value::from("AF01"));
    assert_eq!(destination.other_by, "registrar-torkham");
    assert!(
        crossed.iter().all(|c| !c.field.contains(&zarmina)),
        "{crossed:?}"
    );
    drop(hub);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_at_the_hub_reaches_every_site_and_nothing_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    an_erasure_at_the_hub(dir.path().join("hub.db").to_str().unwrap().to_string()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_at_the_hub_reaches_every_site_on_postgresql() {
    let Some(database) = peywand_store_postgres::testing::TestDatabase::create().await else {
        return;
    };
    an_erasure_at_the_hub(database.url.clone()).await;
}

/// The hub's accounts of a site's people reach that site, and no other site's: a registrar
/// made at the hub signs in at Torkham offline with the password the hub gave; disabled at the
/// hub, disabled at Torkham at the next round. A site added at the hub reaches the sites.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sites_people_and_the_sites_list_come_down_from_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db");
    let hub_db = hub_db.to_str().unwrap();
    let hub = Hub::start(hub_db, free_port());
    let torkham = dir.path().join("torkham.db");
    let o = enrol(&torkham, &hub.url(), "torkham", &hub.invite("torkham"));
    assert!(o.status.success(), "{}", text(&o));
    let hash = peywand_access::hash_password("a registrar's passphrase").unwrap();
    {
        let store = open(hub_db).await;
        for (username, site) in [("wahida", "torkham"), ("nasir", "spin-boldak")] {
            store
                .create_user(&peywand_store::NewUser {
                    username: username.into(),
                    role: peywand_access::Role::Registrar,
                    site_code: Some(site.into()),
                    password_hash: hash.clone(),
                })
                .await
                .unwrap();
        }
        store
            .upsert_site(&peywand_domain::Site {
                code: "transit-centre-9".into(),
                name: "Transit centre 9".into(),
                name_local: String::new(),
                kind: peywand_domain::SiteKind::ReceptionCentre,
                province_code: None,
            })
            .await
            .unwrap();
        store.close().await;
    }
    let o = sync(&torkham);
    assert!(o.status.success(), "{}", text(&o));
    let store = open(torkham.to_str().unwrap()).await;
    let wahida = store
        .user("wahida")
        .await
        .unwrap()
        .expect("her account came down");
    assert_eq!(wahida.password_hash, hash);
    assert_eq!(wahida.site_code.as_deref(), Some("torkham"));
    assert!(wahida.disabled_at.is_none());
    assert!(
        store.user("nasir").await.unwrap().is_none(),
        "another site's people stay away"
    );
    assert!(
        store
            .sites()
            .await
            .unwrap()
            .iter()
            .any(|s| s.code == "transit-centre-9")
    );
    store.close().await;
    {
        let store = open(hub_db).await;
        store
            .set_disabled("wahida", Some(chrono::Utc::now()))
            .await
            .unwrap();
        store.close().await;
    }
    let o = sync(&torkham);
    assert!(o.status.success(), "{}", text(&o));
    let store = open(torkham.to_str().unwrap()).await;
    assert!(
        store
            .user("wahida")
            .await
            .unwrap()
            .unwrap()
            .disabled_at
            .is_some(),
        "disabled at the hub, disabled at the site"
    );
    store.close().await;
    drop(hub);
}
