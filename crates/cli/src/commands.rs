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
use peywand_store_sqlite::SqliteStore;

async fn open(db: &Path) -> anyhow::Result<SqliteStore> {
    let path = db
        .to_str()
        .context("the database path is not valid UTF-8")?;
    Ok(SqliteStore::open(path).await?)
}

/// Opens a database that must already exist (commands that only read or analyse).
pub async fn open_existing(db: &Path) -> anyhow::Result<SqliteStore> {
    if !db.exists() {
        bail!("no database at {}", db.display());
    }
    open(db).await
}

fn actor() -> Actor {
    let username = std::env::var("USER").unwrap_or_else(|_| "peywand".into());
    Actor {
        username,
        at: chrono::Utc::now(),
    }
}

/// Imports a registration CSV in one transaction.
pub async fn import(db: &Path, file: &Path) -> anyhow::Result<()> {
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

/// Exports every registration as typed.
pub async fn export(db: &Path, out: &Path) -> anyhow::Result<()> {
    if !db.exists() {
        bail!("no database at {}", db.display());
    }
    let store = open(db).await?;
    let file = File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let (tx, mut rx) = mpsc::channel::<RawRegistration>(4096);
    let writer = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
        let mut w = registration_csv::Writer::new(BufWriter::with_capacity(1 << 20, file))?;
        let mut n = 0;
        while let Some(raw) = rx.blocking_recv() {
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

pub async fn serve(db: &Path, addr: SocketAddr) -> anyhow::Result<()> {
    let store = open(db).await?;
    seed_sites(&store).await?;
    run_server(store, addr).await
}

async fn run_server(store: SqliteStore, addr: SocketAddr) -> anyhow::Result<()> {
    let shared: Arc<dyn Store> = Arc::new(store.clone());
    let state = peywand_web::AppState::new(shared);
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
    let db = dir.join("demo.db");
    let fresh = !db.exists();
    let store = open(&db).await?;
    seed_sites(&store).await?;
    if fresh || store.count_persons().await? == 0 {
        println!(
            "building a demo database of {people} synthetic people (once; it is reused next time)…"
        );
        let data = dir.join("data");
        let dir_for_synth = data.clone();
        tokio::task::spawn_blocking(move || peywand_synth::generate(people, 2026, &dir_for_synth))
            .await??;
        store.close().await;
        import(&db, &data.join("registry.csv")).await?;
        // Identities and a model, so that `peywand explain` and `search` work on the demo.
        crate::linkage::dedupe(&db, None).await?;
        return run_server(open(&db).await?, addr).await;
    }
    run_server(store, addr).await
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
