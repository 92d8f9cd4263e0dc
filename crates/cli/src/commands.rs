//! What each command does; `main` only parses arguments.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;

use peywand_domain::{RawRegistration, Site, SiteKind};
use peywand_interchange::registration_csv;
use peywand_names::place::{Gazetteer, PlaceKind};
use peywand_store::{Actor, ImportMessage, Store};

pub use crate::context::Database;
use crate::context::{make_key_file, open, private_file};

pub fn actor() -> Actor {
    Actor {
        username: crate::access::cli_actor(),
        at: chrono::Utc::now(),
    }
}

/// Imports a registration CSV in one transaction.
/// Imports a Kobo or ODK export through a mapping: all or nothing, or only a report.
pub async fn import_mapped(
    db: &Database,
    file: &Path,
    mapping: &Path,
    dry_run: bool,
) -> anyhow::Result<()> {
    use peywand_interchange::mapped;
    let text = std::fs::read_to_string(mapping)
        .with_context(|| format!("cannot read {}", mapping.display()))?;
    let mapping =
        mapped::Mapping::parse(&text).with_context(|| format!("in {}", mapping.display()))?;
    let is_xlsx = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let tables = if is_xlsx {
        mapped::read_xlsx(file)
    } else {
        let name = file
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        File::open(file)
            .map_err(|e| e.to_string())
            .and_then(|f| mapped::read_csv(BufReader::new(f), &name))
            .map(|t| vec![t])
    }
    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let outcome = mapped::map(&mapping, &tables);
    for p in &outcome.problems {
        eprintln!("{}: {p}", file.display());
    }
    if !outcome.problems.is_empty() {
        bail!(
            "{} problem(s) in {}; nothing was imported",
            outcome.problems.len(),
            file.display()
        );
    }
    let mut warnings: BTreeMap<&'static str, u64> = BTreeMap::new();
    let rows: Vec<_> = outcome
        .registrations
        .into_iter()
        .map(|raw| {
            let (derived, w) = raw.derive();
            for x in w {
                *warnings.entry(x.column).or_default() += 1;
            }
            (raw, derived)
        })
        .collect();
    for (column, n) in &warnings {
        eprintln!("{n} value(s) of {column} not understood: kept as typed, not used for matching");
    }
    if dry_run {
        println!(
            "{} households, {} registrations would be imported from {}; nothing was written",
            outcome.households,
            rows.len(),
            file.display()
        );
        return Ok(());
    }
    let store = open(db).await?;
    let (tx, rx) = mpsc::channel::<ImportMessage>(4096);
    let feeder = tokio::spawn(async move {
        for row in rows {
            if tx.send(ImportMessage::Row(Box::new(row))).await.is_err() {
                return;
            }
        }
    });
    let outcome = store.import(rx, &actor()).await;
    feeder.await?;
    if let Ok(o) = &outcome {
        crate::access::audit(
            &*store,
            "import",
            &file.display().to_string(),
            &format!("{} new registrations through a mapping", o.new),
        )
        .await?;
    }
    store.close().await;
    let o = outcome?;
    println!(
        "{} new registrations, {} already present, from {}",
        o.new,
        o.already_present,
        file.display()
    );
    Ok(())
}

pub async fn import(db: &Database, file: &Path) -> anyhow::Result<()> {
    let input = File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let size = input.metadata().map(|m| m.len()).unwrap_or(0);
    let store = open(db).await?;
    let progress = if std::io::stderr().is_terminal() {
        ProgressBar::new(size)
    } else {
        ProgressBar::hidden()
    };
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {eta} left")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let reader = progress.wrap_read(BufReader::with_capacity(1 << 20, input));
    // A bounded channel: the reader waits for the database, so memory stays flat.
    let (tx, rx) = mpsc::channel::<ImportMessage>(4096);
    let parse = tokio::task::spawn_blocking(move || {
        let mut warnings: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut closed = false;
        let report = registration_csv::read(reader, |raw| {
            if closed {
                return;
            }
            let (derived, w) = raw.derive();
            for x in w {
                *warnings.entry(x.column).or_default() += 1;
            }
            closed = tx
                .blocking_send(ImportMessage::Row(Box::new((raw, derived))))
                .is_err();
        });
        if !report.is_valid() {
            let _ = tx.blocking_send(ImportMessage::Abort);
        }
        (report, warnings)
    });
    let outcome = store.import(rx, &actor()).await;
    let (report, warnings) = parse.await?;
    progress.finish_and_clear();
    if let Ok(o) = &outcome {
        crate::access::audit(
            &*store,
            "import",
            &file.display().to_string(),
            &format!("{} new registrations", o.new),
        )
        .await?;
    }
    store.close().await;
    if !report.is_valid() {
        for p in &report.problems {
            eprintln!("{}: {p}", file.display());
        }
        if report.problem_count > report.problems.len() as u64 {
            eprintln!(
                "… and {} more problems",
                report.problem_count - report.problems.len() as u64
            );
        }
        bail!(
            "{} problem(s) in {}; nothing was imported",
            report.problem_count,
            file.display()
        );
    }
    let outcome = outcome?;
    println!(
        "{} rows read: {} new, {} already present",
        report.rows, outcome.new, outcome.already_present
    );
    if !warnings.is_empty() {
        let list: Vec<String> = warnings.iter().map(|(c, n)| format!("{c} {n}")).collect();
        println!(
            "values kept as typed but not understood (not used for matching): {}",
            list.join(", ")
        );
    }
    Ok(())
}

/// What synthetic households said besides their names (`households.jsonl`, written by
/// `peywand synth`): destinations, return types, needs and vulnerabilities, written onto the
/// households a registry CSV imported, so that a demonstration's figures show something.
pub async fn household_details(db: &Database, file: &Path) -> anyhow::Result<()> {
    use peywand_domain::{Need, RecordId, ReturnType, Vulnerability};
    use peywand_store::{HouseholdDraft, MemberDraft};

    #[derive(serde::Deserialize)]
    struct Said {
        destination_province: Option<String>,
        return_type: Option<String>,
        needs: Vec<String>,
        /// Record id and its vulnerability codes.
        members: BTreeMap<String, Vec<String>>,
    }
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let store = open(db).await?;
    let who = actor();
    let mut households = 0;
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let said: Said = serde_json::from_str(line)
            .with_context(|| format!("{}: line {}", file.display(), n + 1))?;
        let Some(first) = said.members.keys().next() else {
            continue;
        };
        let Ok(record) = first.parse::<RecordId>() else {
            continue;
        };
        let Some(person) = store.person_by_record(&record).await? else {
            continue;
        };
        let Some(rec) = store.household(person.household_id).await? else {
            continue;
        };
        let h = &rec.household;
        let draft = HouseholdDraft {
            site_code: h.site_code.clone(),
            destination_province: said.destination_province.or(h.destination_province.clone()),
            destination_district: h.destination_district.clone(),
            return_type: said
                .return_type
                .as_deref()
                .and_then(ReturnType::from_code)
                .or(h.return_type),
            needs: said
                .needs
                .iter()
                .filter_map(|c| Need::from_code(c))
                .collect(),
            legal_basis: h.legal_basis,
            purposes: h.purposes.clone(),
            members: rec
                .members
                .iter()
                .map(|p| MemberDraft {
                    raw: p.raw.clone(),
                    relationship: p.relationship,
                    vulnerabilities: match said.members.get(p.record_id.as_str()) {
                        Some(codes) => codes
                            .iter()
                            .filter_map(|c| Vulnerability::from_code(c))
                            .collect(),
                        None => p.vulnerabilities.clone(),
                    },
                })
                .collect(),
        };
        store.update_household(h.id, &draft, &who).await?;
        households += 1;
    }
    store.close().await;
    println!(
        "{households} households given their destinations, return types, needs and vulnerabilities"
    );
    Ok(())
}

/// Exports every registration as typed: personal data, so the reason is stated and audited
/// before anything is written.
pub async fn export(
    db: &Database,
    out: &Path,
    reason: &str,
    pseudonymise_with: Option<&Path>,
) -> anyhow::Result<()> {
    // The partnership's secret, read like a key: owner-only, at least 16 characters.
    let secret = pseudonymise_with
        .map(|f| crate::context::read_key_file(f).map(|k| k.text().to_string()))
        .transpose()?;
    if reason.trim().chars().count() < 5 {
        bail!(
            "say why these personal data are exported, with --reason (it is kept in the audit log)"
        );
    }
    if !db.exists() {
        bail!("no database at {}", db.display());
    }
    let store = open(db).await?;
    let action = if secret.is_some() {
        "export_pseudonymised"
    } else {
        "export_personal_data"
    };
    crate::access::audit(&*store, action, &out.display().to_string(), reason.trim()).await?;
    let file = private_file(out)?;
    let (tx, mut rx) = mpsc::channel::<RawRegistration>(4096);
    let writer = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
        let mut w = registration_csv::Writer::new(BufWriter::with_capacity(1 << 20, file))?;
        let mut n = 0;
        while let Some(mut raw) = rx.blocking_recv() {
            if let Some(secret) = &secret {
                // Ids become the partnership's pseudonyms; a household keeps one pseudonym
                // for all its members. Everything else is as typed.
                raw.record_id = peywand_access::pseudonym(secret.as_bytes(), &raw.record_id);
                if !raw.household_id.trim().is_empty() {
                    raw.household_id =
                        peywand_access::pseudonym(secret.as_bytes(), &raw.household_id);
                }
            }
            w.write(&raw)?;
            n += 1;
        }
        w.finish()?;
        Ok(n)
    });
    store.export(tx).await?;
    let n = writer.await??;
    store.close().await;
    println!("{n} registrations written to {}", out.display());
    Ok(())
}

/// Exports the distributions for a partner agency: each household as the partnership's
/// pseudonym of its reference, as `export --pseudonymise-with` writes it, so that the partner
/// can join the two files; a member who took the aid as the pseudonym of their record id.
/// What an officer typed (override reasons) and who they are stay in the registry.
pub async fn export_distributions(
    db: &Database,
    out: &Path,
    reason: &str,
    secret_file: &Path,
    site: Option<String>,
) -> anyhow::Result<()> {
    let secret = crate::context::read_key_file(secret_file)?
        .text()
        .to_string();
    if reason.trim().chars().count() < 5 {
        bail!(
            "say why the distributions are exported, with --reason (it is kept in the audit log)"
        );
    }
    if !db.exists() {
        bail!("no database at {}", db.display());
    }
    let store = open(db).await?;
    crate::access::audit(
        &*store,
        "export_distributions_pseudonymised",
        &out.display().to_string(),
        reason.trim(),
    )
    .await?;
    let filter = peywand_store::DistributionFilter {
        site_code: site,
        ..Default::default()
    };
    let found = store.distributions(&filter).await?;
    store.close().await;
    let file = private_file(out)?;
    let mut w = csv::Writer::from_writer(BufWriter::new(file));
    w.write_record([
        "distribution_id",
        "programme_id",
        "household",
        "kind",
        "quantity",
        "given_on",
        "site_code",
        "received_by",
        "override",
    ])?;
    w.write_record([
        "#activity+distribution+id",
        "#activity+id",
        "#household+code",
        "#sector+kind",
        "#reached+units",
        "#date",
        "#loc+code",
        "#beneficiary+code",
        "#indicator+override",
    ])?;
    let p = |id: &str| peywand_access::pseudonym(secret.as_bytes(), id);
    for (d, reference) in &found {
        let received_by = if d.received_by == "head" {
            "head".to_string()
        } else {
            p(&d.received_by)
        };
        w.write_record([
            d.id.to_string(),
            d.programme.to_string(),
            p(reference),
            d.kind.code().to_string(),
            d.quantity.to_string(),
            d.given_on.to_string(),
            d.site_code.clone().unwrap_or_default(),
            received_by,
            (if d.override_reason.is_some() {
                "yes"
            } else {
                "no"
            })
            .to_string(),
        ])?;
    }
    w.flush()?;
    println!("{} distributions written to {}", found.len(), out.display());
    Ok(())
}

pub fn synth(people: u64, seed: u64, out: &Path) -> anyhow::Result<()> {
    let s = peywand_synth::generate(people, seed, out)?;
    println!(
        "{} people in {} households: {} registration records, {} tracing requests ({} for people never registered), in {}",
        s.people,
        s.households,
        s.records,
        s.requests,
        s.requests_for_unregistered,
        out.display()
    );
    Ok(())
}

/// Makes sure every crossing point and reception site of the gazetteer is a known site.
async fn seed_sites(store: &dyn Store) -> anyhow::Result<()> {
    let g = Gazetteer::get();
    for (kind, site_kind) in [
        (PlaceKind::CrossingPoint, SiteKind::CrossingPoint),
        (PlaceKind::ReceptionCentre, SiteKind::ReceptionCentre),
        (PlaceKind::Camp, SiteKind::Camp),
    ] {
        for p in g.all(kind) {
            store
                .upsert_site(&Site {
                    code: p.code.clone(),
                    name: p.name_en.clone(),
                    name_local: p.name_local.clone(),
                    kind: site_kind,
                    province_code: p.parent.clone(),
                })
                .await?;
        }
    }
    Ok(())
}

pub async fn serve(
    db: &Database,
    addr: SocketAddr,
    retention_days: Option<u32>,
    sync_every: u64,
) -> anyhow::Result<()> {
    let store = open(db).await?;
    seed_sites(&*store).await?;
    let sync = match store.hub_link().await? {
        Some(link) => {
            println!("syncing with the hub at {} every {sync_every} s", link.url);
            Some(std::time::Duration::from_secs(sync_every.max(1)))
        }
        None => None,
    };
    run_server(store, addr, retention_days, sync).await
}

async fn run_server(
    store: Arc<dyn Store>,
    addr: SocketAddr,
    retention_days: Option<u32>,
    sync_every: Option<std::time::Duration>,
) -> anyhow::Result<()> {
    let state = peywand_web::AppState::new(store.clone());
    state.match_waiting_requests();
    if let Some(days) = retention_days {
        state.keep_retention(days);
    }
    if let Some(every) = sync_every {
        crate::sync::keep_in_sync(state.clone(), every);
    }
    peywand_web::serve(
        state,
        addr,
        |local| println!("Peywand is running: open http://{local}/ (Ctrl-C to stop)"),
        peywand_web::shutdown_signal(),
    )
    .await?;
    // In-flight requests have finished; let the database checkpoint and close cleanly.
    store.close().await;
    println!("stopped");
    Ok(())
}

pub async fn demo(dir: &Path, people: u64, addr: SocketAddr) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Synthetic, but shaped like personal data, and beside its key: the owner's alone.
    owner_only(dir)?;
    let key_file = dir.join("demo.key");
    let db = Database::in_folder(dir.join("demo.db"), key_file.clone());
    if !key_file.exists() {
        // A demo database from before encryption: rebuilt, it is synthetic.
        let _ = std::fs::remove_file(&db.path);
        make_key_file(&key_file)?;
        println!(
            "the demo database is encrypted with the key in {} (mode 0600)",
            key_file.display()
        );
    }
    let fresh = !db.exists();
    let store = open(&db).await?;
    seed_sites(&*store).await?;
    demo_users(&*store, dir).await?;
    if fresh || store.count_persons().await? == 0 {
        println!(
            "building a demo database of {people} synthetic people (once; it is reused next time)…"
        );
        let data = dir.join("data");
        let dir_for_synth = data.clone();
        tokio::task::spawn_blocking(move || peywand_synth::generate(people, 2026, &dir_for_synth))
            .await??;
        owner_only(&data)?;
        for entry in std::fs::read_dir(&data)? {
            owner_only(&entry?.path())?;
        }
        store.close().await;
        import(&db, &data.join("registry.csv")).await?;
        household_details(&db, &data.join("households.jsonl")).await?;
        // Identities and a model, so that `peywand explain` and `search` work on the demo.
        crate::linkage::dedupe(&db, None, None).await?;
        let store = open(&db).await?;
        demo_cases(&*store, &data.join("tracing.jsonl")).await?;
        return run_server(store, addr, None, None).await;
    }
    run_server(store, addr, None, None).await
}

/// Makes a folder (0700) or file (0600) readable by its owner only.
fn owner_only(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if path.is_dir() { 0o700 } else { 0o600 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot make {} private", path.display()))?;
    }
    Ok(())
}

/// Open tracing cases at Torkham for the demo's caseworker, from the synthetic requests; the
/// server matches them against the registry as it starts.
async fn demo_cases(store: &dyn Store, requests: &Path) -> anyhow::Result<()> {
    const CASES: usize = 30;
    let today = chrono::Utc::now().date_naive();
    let who = Actor {
        username: "caseworker".into(),
        at: chrono::Utc::now(),
    };
    let sought = crate::linkage::people_sought(requests, CASES, today)?;
    for (n, person) in sought.into_iter().enumerate() {
        let child = person.age.parse::<u32>().is_ok_and(|a| a < 15);
        let draft = peywand_domain::TracingRequestDraft {
            requester_name: format!("Demo requester {}", n + 1),
            requester_relationship: if child { "mother" } else { "brother" }.into(),
            requester_contact: String::new(),
            site_code: Some("torkham".into()),
            sought: person,
            last_seen_place: "Torkham".into(),
            last_seen_on: Some(today),
            circumstances: "separated in the crowd at the crossing (synthetic demo case)".into(),
            distinguishing_details: String::new(),
            separated_child: child,
        };
        store.create_tracing_request(&draft, &who).await?;
    }
    println!("{CASES} open tracing cases added for the caseworker");
    Ok(())
}

/// The demo's accounts, one per kind of work, with generated passwords: printed once and kept
/// in an owner-only file beside the database.
async fn demo_users(store: &dyn Store, dir: &Path) -> anyhow::Result<()> {
    use peywand_access::Role;
    let file = dir.join("credentials.txt");
    if store.user("admin").await?.is_some() {
        println!("sign in with the accounts listed in {}", file.display());
        return Ok(());
    }
    let accounts = [
        ("admin", Role::Administrator, None),
        ("manager", Role::InformationManager, None),
        ("registrar", Role::Registrar, Some("torkham")),
        ("caseworker", Role::Caseworker, Some("torkham")),
        ("auditor", Role::Auditor, None),
    ];
    let mut listing = String::from("Peywand demo accounts (username, role, password):\n");
    for (username, role, site) in accounts {
        let password = peywand_access::Secret::generate("").text[..20].to_string();
        store
            .create_user(&peywand_store::NewUser {
                username: username.into(),
                role,
                site_code: site.map(str::to_string),
                password_hash: peywand_access::hash_password(&password)
                    .map_err(anyhow::Error::msg)?,
            })
            .await?;
        listing.push_str(&format!(
            "  {username:<11} {:<20} {password}\n",
            role.code()
        ));
    }
    std::io::Write::write_all(&mut private_file(&file)?, listing.as_bytes())
        .with_context(|| format!("cannot write {}", file.display()))?;
    print!("{listing}");
    println!("(also kept in {}, readable by you only)", file.display());
    Ok(())
}

pub fn names_normalize(name: &str) -> anyhow::Result<()> {
    let n = peywand_names::normalize(name);
    println!("normal form: {}", n.folded);
    if !n.honorifics.is_empty() {
        println!("set aside:   {}", n.honorifics.join(", "));
    }
    if let Some(r) = n.relation {
        println!("relation:    {r:?} (the name is the relative's)");
    }
    for u in &n.units {
        println!(
            "part:        {:<16} code {:<14} {:?}",
            u.text,
            u.code.to_string(),
            u.role
        );
    }
    println!(
        "keys:        {}",
        peywand_names::blocking_keys(&n).join(" ")
    );
    Ok(())
}

pub fn names_compare(a: &str, b: &str) -> anyhow::Result<()> {
    let (na, nb) = (peywand_names::normalize(a), peywand_names::normalize(b));
    let c = peywand_names::compare(&na, &nb);
    for m in &c.matched {
        println!("paired  {} ~ {}  {:.3}", m.left, m.right, m.score);
    }
    for u in &c.unmatched_left {
        println!("only in first:  {u}");
    }
    for u in &c.unmatched_right {
        println!("only in second: {u}");
    }
    if c.order_swapped {
        println!("parts are in another order");
    }
    if c.joined {
        println!("compared as whole strings (a compound split differently)");
    }
    println!("{:.3}", c.score);
    Ok(())
}
