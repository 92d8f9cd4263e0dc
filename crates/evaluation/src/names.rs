//! How well `similarity` separates renderings of one name from renderings of different names.
//!
//! Labelled data comes from a registry and its truth file (as `peywand synth` writes them): each
//! record's typed names beside the true names they render. Every typed name is one observation;
//! two observations of the same field kind are a true match when they render the same true name.

use std::collections::HashMap;
use std::io::Read;

use anyhow::{Context, bail};
use peywand_names::fold::{Script, script_of};
use peywand_names::{Name, blocking_keys, normalize, similarity};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::auc::roc_auc;

/// The name fields evaluated, as named in both the registry and the truth file.
const FIELDS: [&str; 4] = [
    "given_name",
    "father_name",
    "grandfather_name",
    "family_name",
];

/// Whether the two names of a pair are typed in one script or in two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PairScripts {
    Same,
    Cross,
}

/// Which non-matches a match is weighed against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NonMatches {
    /// Any two different names of the same field.
    Random,
    /// Different names that share a blocking key: what the linkage engine must tell apart.
    SameBlock,
}

/// Scores of sampled pairs for one kind of script pairing.
#[derive(Debug, Default)]
pub struct PairScores {
    pub matches: Vec<f32>,
    pub random_non_matches: Vec<f32>,
    pub same_block_non_matches: Vec<f32>,
    /// The lowest-scoring matches, as (score, typed, typed), for diagnosis.
    pub weakest_matches: Vec<(f32, String, String)>,
    /// The highest-scoring same-block non-matches, as (score, typed, typed).
    pub strongest_non_matches: Vec<(f32, String, String)>,
}

/// How many of the weakest matches and strongest non-matches a report keeps.
const KEPT: usize = 40;

/// Keeps the `KEPT` pairs that sort first by `order`.
fn keep(
    list: &mut Vec<(f32, String, String)>,
    score: f32,
    a: &Observation,
    b: &Observation,
    order: fn(f32, f32) -> std::cmp::Ordering,
) {
    if list.len() < KEPT || list.last().is_some_and(|l| order(score, l.0).is_lt()) {
        list.push((score, a.typed.clone(), b.typed.clone()));
        list.sort_by(|x, y| order(x.0, y.0));
        list.truncate(KEPT);
    }
}

impl PairScores {
    pub fn auc(&self, against: NonMatches) -> Option<f64> {
        let negatives = match against {
            NonMatches::Random => &self.random_non_matches,
            NonMatches::SameBlock => &self.same_block_non_matches,
        };
        roc_auc(&self.matches, negatives)
    }
}

/// The outcome of one evaluation.
#[derive(Debug, Default)]
pub struct NameReport {
    pub observations: usize,
    pub same_script: PairScores,
    pub cross_script: PairScores,
}

impl NameReport {
    pub fn scores(&self, scripts: PairScripts) -> &PairScores {
        match scripts {
            PairScripts::Same => &self.same_script,
            PairScripts::Cross => &self.cross_script,
        }
    }
    fn scores_mut(&mut self, scripts: PairScripts) -> &mut PairScores {
        match scripts {
            PairScripts::Same => &mut self.same_script,
            PairScripts::Cross => &mut self.cross_script,
        }
    }
}

struct Observation {
    field: usize,
    truth: u32,
    name: Name,
    typed: String,
    script: Script,
}

/// The script a typed name is written in: that of its first letter-bearing token.
fn script_of_name(raw: &str) -> Script {
    raw.split_whitespace()
        .map(script_of)
        .find(|s| *s != Script::Other)
        .unwrap_or(Script::Other)
}

/// Reads typed names from `registry` and their true names from `truth`.
fn observations(registry: impl Read, truth: impl Read) -> anyhow::Result<Vec<Observation>> {
    let mut truth = csv::Reader::from_reader(truth);
    let columns =
        |headers: &csv::StringRecord, what: &str| -> anyhow::Result<(usize, Vec<usize>)> {
            let find = |name: &str| {
                headers
                    .iter()
                    .position(|h| h == name)
                    .with_context(|| format!("the {what} has no {name} column"))
            };
            let fields = FIELDS
                .iter()
                .map(|f| find(f))
                .collect::<anyhow::Result<_>>()?;
            Ok((find("record_id")?, fields))
        };
    let (truth_id, truth_fields) = columns(truth.headers()?, "truth file")?;
    let mut names: HashMap<String, u32> = HashMap::new();
    let mut true_names: HashMap<String, [u32; 4]> = HashMap::new();
    for row in truth.records() {
        let row = row.context("reading the truth file")?;
        let mut ids = [0u32; 4];
        for (id, &column) in ids.iter_mut().zip(&truth_fields) {
            let headword = row.get(column).unwrap_or("");
            let next = names.len() as u32 + 1;
            *id = if headword.is_empty() {
                0
            } else {
                *names.entry(headword.to_string()).or_insert(next)
            };
        }
        true_names.insert(row.get(truth_id).unwrap_or("").to_string(), ids);
    }

    let mut registry = csv::Reader::from_reader(registry);
    let (registry_id, registry_fields) = columns(registry.headers()?, "registry")?;
    let mut out = Vec::new();
    for row in registry.records() {
        let row = row.context("reading the registry")?;
        let Some(ids) = true_names.get(row.get(registry_id).unwrap_or("")) else {
            continue;
        };
        for (field, (&column, &truth)) in registry_fields.iter().zip(ids).enumerate() {
            let typed = row.get(column).unwrap_or("");
            let name = normalize(typed);
            if truth == 0 || name.is_empty() {
                continue;
            }
            out.push(Observation {
                field,
                truth,
                script: script_of_name(typed),
                name,
                typed: typed.to_string(),
            });
        }
    }
    if out.is_empty() {
        bail!("no record of the registry has a true name in the truth file");
    }
    Ok(out)
}

fn pairing(a: &Observation, b: &Observation) -> Option<PairScripts> {
    match (a.script, b.script) {
        (Script::Other, _) | (_, Script::Other) => None,
        (x, y) if x == y => Some(PairScripts::Same),
        _ => Some(PairScripts::Cross),
    }
}

/// Samples up to `pairs` matches and as many non-matches of each kind, for each script pairing,
/// and scores them with [`similarity`]. Deterministic for a given `seed`.
pub fn evaluate(
    registry: impl Read,
    truth: impl Read,
    pairs: usize,
    seed: u64,
) -> anyhow::Result<NameReport> {
    let obs = observations(registry, truth)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    let mut by_truth: HashMap<(usize, u32), Vec<usize>> = HashMap::new();
    let mut by_key: HashMap<(usize, String), Vec<usize>> = HashMap::new();
    let mut by_field: Vec<Vec<usize>> = vec![Vec::new(); FIELDS.len()];
    for (i, o) in obs.iter().enumerate() {
        by_truth.entry((o.field, o.truth)).or_default().push(i);
        by_field[o.field].push(i);
        for key in blocking_keys(&o.name) {
            by_key.entry((o.field, key)).or_default().push(i);
        }
    }
    let keyed: Vec<Vec<&Vec<usize>>> = obs
        .iter()
        .map(|o| {
            blocking_keys(&o.name)
                .into_iter()
                .filter_map(|k| by_key.get(&(o.field, k)))
                .collect()
        })
        .collect();

    let mut report = NameReport {
        observations: obs.len(),
        ..NameReport::default()
    };
    let full =
        |r: &NameReport, s: PairScripts, f: fn(&PairScores) -> usize| f(r.scores(s)) >= pairs;
    // Draws stop after a bounded number of attempts, so that a rare pairing cannot loop forever.
    let attempts = pairs * 400;
    for _ in 0..attempts {
        let a = &obs[rng.random_range(0..obs.len())];
        let b = {
            let group = &by_truth[&(a.field, a.truth)];
            &obs[group[rng.random_range(0..group.len())]]
        };
        if std::ptr::eq(a, b) {
            continue;
        }
        if let Some(s) = pairing(a, b)
            && !full(&report, s, |p| p.matches.len())
        {
            let score = similarity(&a.name, &b.name);
            let scores = report.scores_mut(s);
            scores.matches.push(score);
            keep(&mut scores.weakest_matches, score, a, b, |x, y| {
                x.total_cmp(&y)
            });
        }
        if [PairScripts::Same, PairScripts::Cross]
            .iter()
            .all(|&s| full(&report, s, |p| p.matches.len()))
        {
            break;
        }
    }
    for _ in 0..attempts {
        let i = rng.random_range(0..obs.len());
        let a = &obs[i];
        let field = &by_field[a.field];
        let b = &obs[field[rng.random_range(0..field.len())]];
        if a.truth != b.truth
            && let Some(s) = pairing(a, b)
            && !full(&report, s, |p| p.random_non_matches.len())
        {
            report
                .scores_mut(s)
                .random_non_matches
                .push(similarity(&a.name, &b.name));
        }
        let buckets = &keyed[i];
        if !buckets.is_empty() {
            let bucket = buckets[rng.random_range(0..buckets.len())];
            let b = &obs[bucket[rng.random_range(0..bucket.len())]];
            if a.truth != b.truth
                && let Some(s) = pairing(a, b)
                && !full(&report, s, |p| p.same_block_non_matches.len())
            {
                let score = similarity(&a.name, &b.name);
                let scores = report.scores_mut(s);
                scores.same_block_non_matches.push(score);
                keep(&mut scores.strongest_non_matches, score, a, b, |x, y| {
                    y.total_cmp(&x)
                });
            }
        }
        if [PairScripts::Same, PairScripts::Cross].iter().all(|&s| {
            full(&report, s, |p| p.random_non_matches.len())
                && full(&report, s, |p| p.same_block_non_matches.len())
        }) {
            break;
        }
    }
    Ok(report)
}
