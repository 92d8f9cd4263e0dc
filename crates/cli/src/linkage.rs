//! The linkage commands: dedupe, explain, search.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use serde::Deserialize;

use peywand_domain::{MatchRecord, RawRegistration};
use peywand_linkage::{
    Candidate, Dataset, Explanation, Matcher, Model, Settings, Sought, deduplicate,
};
use peywand_store::{LinkageRun, Store};

use crate::context::{Database, open_existing, private_file};

/// Every registration in the matching view.
async fn load(store: &dyn Store) -> anyhow::Result<Vec<MatchRecord>> {
    Ok(peywand_store::collect_match_records(store).await?)
}

async fn stored_model(store: &dyn Store) -> anyhow::Result<Option<Model>> {
    match store.linkage_model().await? {
        Some(json) => Ok(Some(
            serde_json::from_str(&json).context("the stored linkage model cannot be read")?,
        )),
        None => Ok(None),
    }
}

/// Resolves every registration into identities and stores them; optionally writes the
/// clusters CSV.
pub async fn dedupe(
    db: &Database,
    out: Option<&Path>,
    pairs_out: Option<&Path>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let store = open_existing(db).await?;
    // Create the outputs first: a bad path fails before minutes of work, not after.
    let out_file = out.map(private_file).transpose()?;
    let pairs_file = pairs_out.map(private_file).transpose()?;
    let settings = Settings {
        keep_scored_from: pairs_out.map(|_| 0.05),
        ..Settings::default()
    };
    let records = load(&*store).await?;
    let decisions = store.link_decisions().await?;
    let loaded = started.elapsed();
    let (ds, result) = tokio::task::spawn_blocking(move || {
        let ds = Dataset::build(&records);
        drop_in_background(records);
        let result = deduplicate(&ds, &decisions, &settings);
        (ds, result)
    })
    .await?;
    let matched = started.elapsed();
    let identities = result.identity_ids(&ds);
    if let (Some(file), Some(path)) = (out_file, out) {
        let mut w = BufWriter::with_capacity(1 << 20, file);
        writeln!(w, "record_id,cluster_id")?;
        let mut csv = csv::Writer::from_writer(w);
        for (record, identity) in &identities {
            csv.write_record([record, identity])?;
        }
        csv.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let (Some(file), Some(path)) = (pairs_file, pairs_out) {
        let mut csv = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, file));
        csv.write_record(["record_a", "record_b", "probability"])?;
        for p in &result.scored {
            csv.write_record([&p.record_a, &p.record_b, &format!("{:.6}", p.probability)])?;
        }
        csv.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    drop_in_background(ds);
    let run = LinkageRun {
        identities,
        review: result.review,
        model: serde_json::to_string(&result.model)?,
        stats: serde_json::to_string(&result.stats)?,
        finished_at: chrono::Utc::now(),
    };
    store.save_linkage(&run).await?;
    drop_in_background(run);
    store.close().await;
    let s = result.stats;
    println!(
        "{} registrations resolved into {} identities ({} pairs compared, {} linked, {} for review: the most doubtful of {} uncertain)",
        s.records,
        s.identities,
        s.blocking.candidate_pairs,
        s.linked_pairs,
        s.review_pairs,
        s.uncertain_pairs
    );
    if s.blocking.buckets_over_cap > 0 {
        println!(
            "{} very common name combinations ({} records) were compared with near neighbours only",
            s.blocking.buckets_over_cap, s.blocking.records_in_buckets_over_cap
        );
    }
    if let Some(path) = out {
        println!("clusters written to {}", path.display());
    }
    tracing::info!(
        load_s = loaded.as_secs_f64(),
        match_s = (matched - loaded).as_secs_f64(),
        total_s = started.elapsed().as_secs_f64(),
        "deduplication finished"
    );
    Ok(())
}

/// Frees a large value on a thread of its own: a million registrations are tens of millions
/// of small allocations, seconds of work that need not hold up the next step. The process may
/// end before the thread does; the memory is returned either way.
fn drop_in_background<T: Send + 'static>(value: T) {
    std::thread::spawn(move || drop(value));
}

/// Loads every registration and the stored model into a matcher.
async fn matcher(store: &dyn Store) -> anyhow::Result<Option<Matcher>> {
    let Some(model) = stored_model(store).await? else {
        return Ok(None);
    };
    let records = load(store).await?;
    Ok(Some(
        tokio::task::spawn_blocking(move || Matcher::new(Dataset::build(&records), model)).await?,
    ))
}

const NO_MODEL: &str = "no linkage model yet: run `peywand dedupe --db DB` first";

/// Prints each field's contribution to two records' match weight, and the probability last.
pub async fn explain(db: &Database, a: &str, b: &str) -> anyhow::Result<()> {
    let store = open_existing(db).await?;
    let Some(m) = matcher(&*store).await? else {
        bail!(NO_MODEL);
    };
    store.close().await;
    let e = m.explain(a, b)?;
    println!("{:<20} {:<28} {:>8}", "field", "comparison", "bits");
    println!("{:<20} {:<28} {:>8.2}", "prior", "", e.prior);
    for c in &e.fields {
        let note = match c.frequency_adjustment {
            Some(adj) => format!("{} ({adj:+.1} for how common)", c.level),
            None => c.level.to_string(),
        };
        println!("{:<20} {:<28} {:>8.2}", c.field.name(), note, c.weight);
    }
    println!("{:<20} {:<28} {:>8.2}", "match weight", "", e.weight);
    if let Some(f) = &e.family {
        println!(
            "family: {} of {} members match (one family: {:.4})",
            f.matching_members, f.members, f.probability
        );
    }
    if let Some(r) = &e.rivals {
        println!(
            "weighed against {} other member(s) of the two households who fit as well ({:.4} on its own)",
            r.members, r.probability_alone
        );
    }
    println!("probability {:.4}", e.probability);
    Ok(())
}

/// A tracing request as the JSON Lines format carries it; unknown fields are ignored.
#[derive(Debug, Deserialize)]
struct Request {
    request_id: String,
    given_name: Option<String>,
    father_name: Option<String>,
    grandfather_name: Option<String>,
    family_name: Option<String>,
    sex: Option<String>,
    age: Option<serde_json::Value>,
    province_of_origin: Option<String>,
    last_residence: Option<String>,
}

/// A request line longer than this is refused: no real request is near it.
const MAX_REQUEST_LINE: usize = 64 * 1024;

impl Request {
    /// The request read as a registration made on `on`, so that it is derived exactly as
    /// registrations are (names folded, age to a birth interval, province resolved).
    fn as_match_record(&self, on: NaiveDate) -> MatchRecord {
        let raw = self.as_registration(on);
        let (derived, _) = raw.derive();
        MatchRecord::from_registration(&self.request_id, "", &raw, &derived)
    }

    /// The person sought, typed as a registration made on `on`.
    fn as_registration(&self, on: NaiveDate) -> RawRegistration {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let age = match &self.age {
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        RawRegistration {
            record_id: self.request_id.clone(),
            registered_on: on.format("%Y-%m-%d").to_string(),
            given_name: text(&self.given_name),
            father_name: text(&self.father_name),
            grandfather_name: text(&self.grandfather_name),
            family_name: text(&self.family_name),
            sex: text(&self.sex),
            age,
            province_of_origin: text(&self.province_of_origin),
            last_residence: text(&self.last_residence),
            ..RawRegistration::default()
        }
    }
}

/// The first `n` people sought in a tracing requests file, as registrations typed on `on`:
/// the demo's open cases.
pub(crate) fn people_sought(
    path: &Path,
    n: usize,
    on: NaiveDate,
) -> anyhow::Result<Vec<RawRegistration>> {
    Ok(read_requests(path)?
        .iter()
        .take(n)
        .map(|r| {
            let mut raw = r.as_registration(on);
            raw.record_id.clear();
            raw
        })
        .collect())
}

/// Reads every request, refusing the whole file at its first bad line.
fn read_requests(path: &Path) -> anyhow::Result<Vec<Request>> {
    read_lines(path, "", |text| {
        let request: Request =
            serde_json::from_str(text).map_err(|e| format!("not a tracing request ({e})"))?;
        if request.request_id.trim().is_empty() {
            return Err("request_id is empty".into());
        }
        Ok(request)
    })
}

/// A tracing case that ended, as a line of the file `search --ended` reads: the request as
/// it was searched, and the registration confirmed as the person sought, or `null` where the
/// case was closed without finding them.
#[derive(Debug, Deserialize)]
struct EndedCase {
    #[serde(flatten)]
    request: Request,
    found_record_id: Option<String>,
}

/// Reads every ended case, refusing the whole file at its first bad line. The outcome must be
/// said: a case with no `found_record_id` at all is refused rather than read as unfound.
fn read_ended(path: &Path) -> anyhow::Result<Vec<EndedCase>> {
    read_lines(path, "ended cases, ", |text| {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
        if value.get("found_record_id").is_none() {
            return Err(
                "found_record_id is missing (null for a case closed without finding \
                        the person)"
                    .into(),
            );
        }
        let case: EndedCase =
            serde_json::from_value(value).map_err(|e| format!("not an ended case ({e})"))?;
        if case.request.request_id.trim().is_empty() {
            return Err("request_id is empty".into());
        }
        if case
            .found_record_id
            .as_deref()
            .is_some_and(|id| id.trim().is_empty())
        {
            return Err("found_record_id is empty".into());
        }
        Ok(case)
    })
}

/// Reads a JSON Lines file line by line with `parse`, refusing the whole file at its first
/// bad line with its number (after `label`, which names the file when a command reads two).
fn read_lines<T>(
    path: &Path,
    label: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> anyhow::Result<Vec<T>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = BufReader::new(file);
    let mut read = Vec::new();
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        number += 1;
        let n = (&mut reader)
            .take(MAX_REQUEST_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        if n > MAX_REQUEST_LINE {
            bail!(
                "{label}line {number}: a request longer than {MAX_REQUEST_LINE} bytes; nothing was searched"
            );
        }
        let text = std::str::from_utf8(&line).map_err(|_| {
            anyhow::anyhow!("{label}line {number}: not UTF-8 text; nothing was searched")
        })?;
        if text.trim().is_empty() {
            continue;
        }
        let item = parse(text)
            .map_err(|why| anyhow::anyhow!("{label}line {number}: {why}; nothing was searched"))?;
        read.push(item);
    }
    Ok(read)
}

/// How `search` searches and what it writes.
pub struct SearchOptions {
    pub limit: usize,
    pub on: Option<NaiveDate>,
    pub registered_share: Option<f64>,
    /// Each field's part in every candidate's score, beside it.
    pub explain: bool,
}

/// Finds the best candidate registrations for each tracing request.
pub async fn search(
    db: &Database,
    requests: &Path,
    out: &Path,
    ended: Option<&Path>,
    options: SearchOptions,
) -> anyhow::Result<()> {
    let SearchOptions {
        limit,
        on,
        registered_share,
        explain,
    } = options;
    if let Some(share) = registered_share {
        peywand_store::valid_registered_share(share)
            .map_err(|e| anyhow::anyhow!("--registered-share {share}: {e} (0.01 to 0.99)"))?;
    }
    let requests = read_requests(requests)?;
    let ended = ended.map(read_ended).transpose()?.unwrap_or_default();
    let on = on.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let store = open_existing(db).await?;
    let mut matcher = match matcher(&*store).await? {
        Some(m) => m,
        None => bail!(NO_MODEL),
    };
    let ended: Vec<(MatchRecord, Option<String>)> = ended
        .iter()
        .map(|c| {
            let found = c.found_record_id.as_deref().map(|id| id.trim().to_string());
            (c.request.as_match_record(on), found)
        })
        .collect();
    let found = ended.iter().filter(|(_, f)| f.is_some()).count();
    let share = match registered_share {
        Some(share) => share,
        None => {
            let not_found = ended.len() - found;
            let share = store.registered_share().await?;
            share.with_cases(found as u64, not_found as u64).in_use
        }
    };
    matcher.set_registered_share(share);
    store.close().await;
    if !ended.is_empty() {
        let learnt = matcher.learn_from_ended(&ended);
        let gone = match found - learnt.found {
            0 => String::new(),
            gone => format!(" ({gone} whose registration is no longer in the registry left out)"),
        };
        println!(
            "learnt from {} ended cases whose person was found and {} closed without{gone}; \
             evidence counted at {:.2} of its weight, the prior moved by {:+.1} bits",
            learnt.found, learnt.closed, learnt.evidence_scale, learnt.prior_shift,
        );
    }
    // Written beside the target, then renamed: a failed run leaves no half-written results.
    let partial = out.with_extension("partial");
    let file = private_file(&partial)?;
    let n = requests.len();
    let written = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut matcher = matcher;
        let mut w = BufWriter::new(file);
        let probes: Vec<_> = requests.iter().map(|r| r.as_match_record(on)).collect();
        let found: Vec<Vec<(Candidate, Option<Explanation>)>> = if explain {
            probes
                .iter()
                .map(|p| {
                    let found = matcher.find_explained(p, limit, Sought::Relative);
                    found.into_iter().map(|(c, e)| (c, Some(e))).collect()
                })
                .collect()
        } else {
            let found = matcher.find_many(&probes, limit);
            let unexplained = |cs: Vec<Candidate>| cs.into_iter().map(|c| (c, None)).collect();
            found.into_iter().map(unexplained).collect()
        };
        for (r, candidates) in requests.iter().zip(found) {
            let line = serde_json::json!({
                "request_id": r.request_id,
                "candidates": candidates.iter().map(|(c, explanation)| {
                    let mut candidate = serde_json::json!({
                        "record_id": c.record_id,
                        "score": (c.probability * 10_000.0).round() / 10_000.0,
                    });
                    if let Some(e) = explanation {
                        candidate["explanation"] = serde_json::json!(e);
                    }
                    candidate
                }).collect::<Vec<_>>(),
            });
            writeln!(w, "{line}")?;
        }
        w.flush()?;
        Ok(())
    })
    .await?;
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, out).with_context(|| format!("cannot write {}", out.display()))?;
    println!("{n} requests searched, results in {}", out.display());
    Ok(())
}
