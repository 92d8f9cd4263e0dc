//! Peywand's record linkage: which registrations are the same person.
//!
//! The same person is registered at Torkham on Monday and at a camp in Jalalabad on Thursday,
//! under two spellings; a relative asks whether their brother has crossed. This crate answers
//! both, with no I/O of its own:
//!
//! 1. [`Dataset`]: every registration in compact form, each distinct name normalised once;
//! 2. blocking: candidate pairs that share name keys with a father's name, a birth period, a
//!    document or a phone, large buckets walked with a window;
//! 3. [`Model`]: a Fellegi–Sunter model learnt from the data itself (u from random pairs, m by
//!    EM in two sessions, the prior from the candidates), with common names weighed less than
//!    rare ones, siblings' shared family fields discounted, and household context (other
//!    members of the two households also match);
//! 4. clustering that respects reviewers' decisions and does not chain different people;
//! 5. [`Matcher`]: one new record or one tracing request against everything loaded, without a
//!    batch re-run.

mod blocking;
mod cluster;
mod compare;
mod dataset;
mod family;
mod household;
mod model;

use std::collections::{HashMap, HashSet};

use peywand_domain::{LinkDecision, MatchRecord, ScoredPair};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;

pub use blocking::BlockingStats;
pub use compare::{FIELDS, Field};
pub use dataset::Dataset;
pub use model::{Contribution, Explanation, FamilyEvidence, Model, Note, Rivals};

use compare::{HOUSEHOLD_LEVELS, MISSING, Pattern, compare, household_level};
use dataset::Rec;

/// Where the household level sits in a [`Pattern`].
const HOUSEHOLD: usize = Field::Household as usize;

/// What a run may be tuned by; the defaults are what Peywand ships with.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Pairs at or above this probability are linked into one identity.
    pub link_threshold: f64,
    /// Pairs at or above this probability but below the link threshold go to review.
    pub review_threshold: f64,
    /// In a blocking bucket larger than this, each record is compared with this many
    /// neighbours only (a quarter as many under the broad rules of a name and a birth period).
    pub window: usize,
    /// Random pairs sampled to estimate how often fields agree by chance.
    pub random_pairs: usize,
    pub seed: u64,
    /// Most pairs queued for review: what a team reads in a week. The most doubtful come
    /// first; once they are decided, the next run queues the next most doubtful.
    pub review_capacity: usize,
    /// When set, every pair scored at least this likely is kept in
    /// [`Deduplication::scored`], to measure how well the probabilities are calibrated.
    pub keep_scored_from: Option<f64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            link_threshold: 0.8,
            review_threshold: 0.15,
            window: 80,
            random_pairs: 2_000_000,
            seed: 1,
            review_capacity: 5_000,
            keep_scored_from: None,
        }
    }
}

/// Errors of the linkage engine.
#[derive(Debug, thiserror::Error)]
pub enum LinkageError {
    #[error("record {0} is not in the registry")]
    UnknownRecord(String),
    #[error("the stored linkage model cannot be read: {0}")]
    Model(String),
}

/// Counts of one run, for the operator and the benchmarks.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Stats {
    pub records: u64,
    pub distinct_names: u64,
    pub blocking: BlockingStats,
    pub linked_pairs: u64,
    pub identities: u64,
    /// Pairs queued for review: the most doubtful of the uncertain pairs.
    pub review_pairs: u64,
    /// Every pair the run left uncertain, queued or not.
    pub uncertain_pairs: u64,
}

/// The outcome of deduplicating a registry.
#[derive(Debug)]
pub struct Deduplication {
    /// For each record (by dataset index), its identity: the smallest record index in it.
    pub identity: Vec<u32>,
    /// Uncertain pairs for a reviewer, most doubtful first, at most
    /// [`Settings::review_capacity`].
    pub review: Vec<ScoredPair>,
    /// Every pair scored at least [`Settings::keep_scored_from`], with its probability, linked
    /// or not; empty unless asked for.
    pub scored: Vec<ScoredPair>,
    pub model: Model,
    pub stats: Stats,
}

impl Deduplication {
    /// Each record's id with its identity's (the id of the identity's first record), in
    /// record id order: the order the store's index and the clusters file take them in.
    pub fn identity_ids(&self, ds: &Dataset) -> Vec<(String, String)> {
        let mut ids: Vec<(String, String)> = self
            .identity
            .par_iter()
            .enumerate()
            .map(|(i, &root)| {
                (
                    ds.record_id(i as u32).to_string(),
                    ds.record_id(root).to_string(),
                )
            })
            .collect();
        ids.par_sort_unstable();
        ids
    }
}

/// Reviewer decisions as record indexes.
struct Decisions {
    must: Vec<(u32, u32)>,
    cannot: std::collections::HashSet<(u32, u32)>,
}

fn ordered(a: u32, b: u32) -> (u32, u32) {
    (a.min(b), a.max(b))
}

impl Decisions {
    fn new(ds: &Dataset, decisions: &[LinkDecision]) -> Decisions {
        let mut d = Decisions {
            must: Vec::new(),
            cannot: Default::default(),
        };
        // Later decisions on a pair replace earlier ones.
        let mut latest: HashMap<(u32, u32), bool> = HashMap::new();
        let mut sorted: Vec<&LinkDecision> = decisions.iter().collect();
        sorted.sort_by_key(|x| x.decided_at);
        for x in sorted {
            if let (Some(a), Some(b)) = (ds.index_of(&x.record_a), ds.index_of(&x.record_b))
                && a != b
            {
                latest.insert(ordered(a, b), x.same_person);
            }
        }
        for (pair, same) in latest {
            if same {
                d.must.push(pair);
            } else {
                d.cannot.insert(pair);
            }
        }
        d.must.sort_unstable();
        d
    }
}

/// How many linked pairs join each pair of households, for household context.
struct HouseholdLinks {
    links: FxHashMap<(u32, u32), u32>,
    /// Each record's household: a hundred million pairs look theirs up, in four bytes a
    /// record instead of the records.
    of_record: Vec<u32>,
    /// Each household's number of members, as far as [`household::MAX_MEMBERS`].
    sizes: Vec<u8>,
}

impl HouseholdLinks {
    fn level(&self, a: u32, b: u32, linked: bool) -> u8 {
        let (ha, hb) = (self.of_record[a as usize], self.of_record[b as usize]);
        let smaller = self.sizes[ha as usize].min(self.sizes[hb as usize]);
        if smaller < 2 {
            return household_level(usize::from(smaller), 0);
        }
        let count = self.links.get(&ordered(ha, hb)).copied().unwrap_or(0);
        household_level(usize::from(smaller), count - u32::from(linked && count > 0))
    }
}

/// Within two registrations of one family, its members' pairs as judged in the family or
/// across the registry, whichever is likelier; any other pair as across the registry.
struct WithinFamily<'a> {
    rule: &'a Scored<'a>,
    family: FxHashMap<(u32, u32), f64>,
}

impl cluster::MergeRule for WithinFamily<'_> {
    fn cannot_link(&self, a: u32, b: u32) -> bool {
        self.rule.cannot_link(a, b)
    }
    fn probability(&self, a: u32, b: u32) -> f64 {
        let across = self.rule.probability(a, b);
        match self.family.get(&ordered(a, b)) {
            Some(&p) => p.max(across),
            None => across,
        }
    }
}

/// Scores of the candidate pairs, for clustering decisions about pairs across groups.
struct Scored<'a> {
    ds: &'a Dataset,
    scorer: model::Scorer,
    pairs: &'a [(u32, u32)],
    probabilities: &'a [f32],
    households: &'a HouseholdLinks,
    decisions: &'a Decisions,
    link_threshold: f64,
    /// The registry's prior, in bits: the pairs across a join are judged at no lower odds
    /// than [`cluster::CROSS_PRIOR_BITS`].
    prior: f64,
}

impl cluster::MergeRule for Scored<'_> {
    fn cannot_link(&self, a: u32, b: u32) -> bool {
        self.ds.same_household(a, b) || self.decisions.cannot.contains(&ordered(a, b))
    }
    fn probability(&self, a: u32, b: u32) -> f64 {
        cluster::as_a_join_judges(self.in_registry(a, b), self.prior)
    }
}

impl Scored<'_> {
    /// The probability that two records are one person, at the registry's prior.
    fn in_registry(&self, a: u32, b: u32) -> f64 {
        let key = ordered(a, b);
        if let Ok(i) = self.pairs.binary_search(&key) {
            return f64::from(self.probabilities[i]);
        }
        // Not a candidate pair: score it now, the same way.
        let (ra, rb) = (&self.ds.recs[key.0 as usize], &self.ds.recs[key.1 as usize]);
        let p = compare(self.ds, ra, rb);
        let first = self.scorer.probability(self.ds, ra, rb, p);
        let level = self
            .households
            .level(key.0, key.1, first >= self.link_threshold);
        self.scorer
            .probability(self.ds, ra, rb, p.with(HOUSEHOLD, level))
    }
}

fn pattern_counts(patterns: &[Pattern]) -> FxHashMap<Pattern, u64> {
    patterns
        .par_iter()
        .fold(FxHashMap::default, |mut m: FxHashMap<Pattern, u64>, &p| {
            *m.entry(p).or_default() += 1;
            m
        })
        .reduce(FxHashMap::default, merge_counts)
}

/// Two tallies of patterns as one.
fn merge_counts(
    mut a: FxHashMap<Pattern, u64>,
    b: FxHashMap<Pattern, u64>,
) -> FxHashMap<Pattern, u64> {
    for (k, v) in b {
        *a.entry(k).or_default() += v;
    }
    a
}

/// How many of `linked`, each pair once, join each pair of households.
fn household_links<'a>(
    ds: &Dataset,
    linked: impl Iterator<Item = &'a (u32, u32)>,
) -> HouseholdLinks {
    let of_record: Vec<u32> = ds.recs.iter().map(|r| r.household).collect();
    let sizes: Vec<u8> = ds
        .household_members
        .iter()
        .map(|m| m.len().min(household::MAX_MEMBERS) as u8)
        .collect();
    let mut links: FxHashMap<(u32, u32), u32> = FxHashMap::default();
    for &(a, b) in linked {
        let key = ordered(of_record[a as usize], of_record[b as usize]);
        *links.entry(key).or_default() += 1;
    }
    HouseholdLinks {
        links,
        of_record,
        sizes,
    }
}

/// Training pairs that agree on one thing (`key`): all pairs of a small group, a sample of a
/// large one, never two records of one household.
fn sampled_pairs<K: std::hash::Hash + Eq + Ord>(
    ds: &Dataset,
    seed: u64,
    key: impl Fn(&Rec) -> Option<K>,
) -> Vec<(u32, u32)> {
    use rand::{RngExt, SeedableRng};
    const PER_GROUP: usize = 60;
    let mut groups: HashMap<K, Vec<u32>> = HashMap::new();
    for (i, r) in ds.recs.iter().enumerate() {
        if let Some(k) = key(r) {
            groups.entry(k).or_default().push(i as u32);
        }
    }
    let mut groups: Vec<(K, Vec<u32>)> = groups.into_iter().filter(|g| g.1.len() > 1).collect();
    groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for (_, g) in groups {
        if g.len() * (g.len() - 1) / 2 <= PER_GROUP {
            for (x, &a) in g.iter().enumerate() {
                for &b in &g[x + 1..] {
                    out.push((a, b));
                }
            }
        } else {
            for _ in 0..PER_GROUP {
                let (a, b) = (
                    g[rng.random_range(0..g.len())],
                    g[rng.random_range(0..g.len())],
                );
                if a != b {
                    out.push(ordered(a, b));
                }
            }
        }
    }
    out.retain(|&(a, b)| !ds.same_household(a, b));
    out
}

fn patterns_of(ds: &Dataset, pairs: &[(u32, u32)]) -> Vec<Pattern> {
    pairs
        .par_iter()
        .map(|&(a, b)| compare(ds, &ds.recs[a as usize], &ds.recs[b as usize]))
        .collect()
}

/// The model is trained the way careful users of probabilistic linkage do, with no labels:
///
/// 1. u, how often each field agrees by chance, from random pairs of records;
/// 2. m for every field but the given and father's names, by EM on pairs with the same given
///    and father's names (among them the other fields vary as in the population);
/// 3. m for the given and father's names, by EM on pairs that share birth years, sex and
///    province;
/// 4. the prior from how many matches session 2 found and how often matches share a given name;
/// 5. household context, learnt from the candidate pairs weighed by their probability.
///
/// This function does steps 1 to 3, from random and sampled pairs alone: the candidate pairs
/// are needed only from step 4, so each can be scored while it is compared.
fn learn_from_samples(ds: &Dataset, settings: &Settings) -> Model {
    let (u, slip_share) = model::estimate_u(ds, settings.random_pairs, settings.seed);
    let mut model = Model::untrained(u, settings.random_pairs as u64);
    model.slip_share = Some(slip_share);
    // Session 1: pairs chosen only for sharing a given and a father's name (their phonetic
    // codes). Not the given name alone: among a million people nearly every pair that shares
    // one is two strangers, and EM then learns what namesakes share instead of what one
    // person's two registrations share (a province agreeing came to weigh nothing). With the
    // father's name too, one pair in a few is one person at any size of registry. A registry
    // that rarely records fathers (lists kept in other traditions) is sampled by the given
    // name alone, and its father's name, if any, is evidence there.
    let name_code = |r: &Rec, f| r.name(f).map(|n| ds.name_code(n));
    let with_father = ds
        .recs
        .iter()
        .filter(|r| r.name(dataset::NameField::Father).is_some())
        .count();
    let by_father = with_father * 2 >= ds.len();
    let same_names = patterns_of(
        ds,
        &sampled_pairs(ds, settings.seed, |r| {
            let given = name_code(r, dataset::NameField::Given)?;
            let father = name_code(r, dataset::NameField::Father);
            match (by_father, father) {
                (true, None) => None,
                (true, father) => Some((given, father)),
                (false, _) => Some((given, None)),
            }
        }),
    );
    // A shared given name implies a shared sex: sex is learnt here but is no evidence.
    let mut evidence = vec![
        Field::GrandfatherName,
        Field::FamilyName,
        Field::BirthYear,
        Field::Province,
        Field::Document,
        Field::Phone,
        Field::Residence,
        Field::Registered,
    ];
    if !by_father {
        evidence.push(Field::FatherName);
    }
    let mut learnt = evidence.clone();
    learnt.push(Field::Sex);
    model::em_session(&mut model, &pattern_counts(&same_names), &evidence, &learnt);
    // Session 2: pairs chosen only for sharing birth years, sex and province; the names the
    // first session was sampled by are learnt here.
    let profile = patterns_of(
        ds,
        &sampled_pairs(ds, settings.seed, |r| {
            (r.birth().is_some() && r.sex != 0 && r.province != 0)
                .then_some((r.birth, r.sex, r.province))
        }),
    );
    let names: &[Field] = if by_father {
        &[Field::GivenName, Field::FatherName]
    } else {
        &[Field::GivenName]
    };
    model::em_session(
        &mut model,
        &pattern_counts(&profile),
        &[
            Field::GivenName,
            Field::FatherName,
            Field::GrandfatherName,
            Field::FamilyName,
            Field::Document,
            Field::Phone,
        ],
        names,
    );
    model
}

/// Step 4 of training (see [`learn_from_samples`]), from the candidate pairs. `evidence`
/// is each pair's weight without prior and household (see [`model::Scorer::evidence`]).
/// Returns with the model every pair's weight without its household level; household
/// context (step 5) is learnt once households have been judged as units.
fn train(
    ds: &Dataset,
    mut model: Model,
    pairs: &[(u32, u32)],
    pattern_counts: &FxHashMap<Pattern, u64>,
    evidence: Vec<f32>,
) -> (Model, Vec<f32>) {
    // The prior: the share of all pairs that are matches, found as the fixed point of "the
    // expected number of matches among the candidate pairs, over all pairs".
    let n = ds.len() as f64;
    let all_pairs = (n * (n - 1.0) / 2.0).max(1.0);
    model.lambda = model::estimate_prior(&model, pattern_counts, all_pairs);
    model.candidate_pairs = pairs.len() as u64;

    // Every pair's weight without household context, computed once: household context
    // needs to know which pairs link, and adds its own weight to these at the end.
    let prior = model.prior();
    let mut weights = evidence;
    weights
        .par_iter_mut()
        .for_each(|w| *w = (prior + f64::from(*w)) as f32);
    (model, weights)
}

/// A pair this likely without household context is taken as a match in learning household
/// context.
const SURE: f64 = 0.99;

/// Learns household context's weights from the candidate pairs, their household level
/// read from `households` and their weights without household context (`weights`). `linked`
/// says whether a pair (with its weight) is itself one of the links `households` counts.
fn learn_household(
    model: &mut Model,
    pairs: &[(u32, u32)],
    weights: &[f32],
    households: &HouseholdLinks,
    linked: impl Fn((u32, u32), f32) -> bool + Sync,
) {
    let counts = pairs
        .par_iter()
        .zip(weights.par_iter())
        .fold(
            || [[0.0f64; HOUSEHOLD_LEVELS]; 2],
            |mut acc, (&(a, b), &w)| {
                let fp = model::probability(f64::from(w));
                let level = households.level(a, b, linked((a, b), w));
                // How often a match shows each level is read from the pairs that are sure
                // without household context: weighed by their probability, the doubtful
                // namesakes would count as half matches, and theirs is the very household
                // context in question.
                if fp >= SURE {
                    acc[0][level as usize] += 1.0;
                }
                acc[1][level as usize] += 1.0 - fp;
                acc
            },
        )
        .reduce(
            || [[0.0f64; HOUSEHOLD_LEVELS]; 2],
            |mut x, y| {
                for (row, other) in x.iter_mut().zip(y) {
                    for (c, o) in row.iter_mut().zip(other) {
                        *c += o;
                    }
                }
                x
            },
        );
    model.learn_household(&counts[0], &counts[1]);
}

/// Candidate pairs compared after one reading ahead of their name levels: their cache lines
/// (four per pair) stay in the processor's first-level cache until they are used.
const WARM_BATCH: usize = 64;

/// Resolves every record of `ds` into identities.
pub fn deduplicate(ds: &Dataset, decisions: &[LinkDecision], settings: &Settings) -> Deduplication {
    let decisions = Decisions::new(ds, decisions);
    let (pairs, blocking) = blocking::candidate_pairs(ds, settings.window);
    let recs = &ds.recs;
    compare::prepare_batch(ds);
    let model = learn_from_samples(ds, settings);
    // Each pair's evidence is scored while its records are at hand: reading them again for
    // a hundred million pairs waited on memory for seconds.
    let scorer = model.scorer();
    // Kept as f32: at a million records there are a hundred million of them.
    // Written in place, exactly as long as the pairs: at five million people there are 860
    // million of them, and gathering them in pieces first held each twice for a moment. Their
    // patterns are only counted: kept, they were four bytes more a pair at the peak.
    let mut evidence = vec![0f32; pairs.len()];
    let pattern_counts = pairs
        .par_chunks(WARM_BATCH)
        .zip(evidence.par_chunks_mut(WARM_BATCH))
        .fold(
            FxHashMap::default,
            |mut counts: FxHashMap<Pattern, u64>, (batch, evidence)| {
                compare::warm_name_levels(ds, batch);
                for (&(a, b), weight) in batch.iter().zip(evidence) {
                    let (ra, rb) = (&recs[a as usize], &recs[b as usize]);
                    let pattern = compare(ds, ra, rb);
                    *weight = scorer.evidence(ds, ra, rb, pattern) as f32;
                    *counts.entry(pattern).or_default() += 1;
                }
                counts
            },
        )
        .reduce(FxHashMap::default, merge_counts);
    let (mut model, mut probabilities) = train(ds, model, &pairs, &pattern_counts, evidence);
    let scorer = model.scorer();
    // Households as units, judged on their members' weights before household context: at a
    // million no member of a family registered twice may link alone, and "no other member
    // matches" would then count against each of them.
    let (families, household_lambda, unaligned_bits) = household::household_matches(
        ds,
        &pairs,
        &probabilities,
        model.prior(),
        &scorer,
        |a, b| ds.same_household(a, b) || decisions.cannot.contains(&ordered(a, b)),
    );
    let mut in_family: FxHashMap<(u32, u32), f64> = FxHashMap::default();
    for m in families
        .iter()
        .filter(|m| m.probability >= household::FAMILY_LINK)
    {
        for &(a, b, p) in &m.members {
            in_family.insert(ordered(a, b), m.probability * p);
        }
    }
    drop(families);
    // Household context, now that households have been judged as units: at a million,
    // members of a family registered twice seldom link alone, so "no other member matches"
    // was true of many of them and said little. A member aligned in a family so linked is
    // another member who matches; two namesakes in two families that share no one else then
    // count that against them as they should.
    let linking = model::weight_reaching(settings.link_threshold);
    let households = household_links(
        ds,
        pairs
            .iter()
            .zip(&probabilities)
            .filter(|&(pair, &w)| w >= linking && !in_family.contains_key(pair))
            .map(|p| p.0)
            .chain(in_family.keys()),
    );
    let linked = |pair: (u32, u32), w: f32| w >= linking || in_family.contains_key(&pair);
    learn_household(&mut model, &pairs, &probabilities, &households, linked);
    model.household_lambda = household_lambda;
    model.unaligned_bits = unaligned_bits;
    let scorer = model.scorer();
    probabilities
        .par_iter_mut()
        .zip(&pairs)
        .for_each(|(w, &(a, b))| {
            let level = households.level(a, b, linked((a, b), *w));
            let context = scorer.household_weight(Pattern::default().with(HOUSEHOLD, level));
            *w = (f64::from(*w) + context) as f32;
        });
    drop(households);
    compete_within_households(ds, &pairs, &mut probabilities);
    probabilities
        .par_iter_mut()
        .for_each(|w| *w = model::probability(f64::from(*w)) as f32);
    let households = household_links(
        ds,
        pairs
            .iter()
            .zip(&probabilities)
            .filter(|p| f64::from(*p.1) >= settings.link_threshold)
            .map(|p| p.0),
    );

    // A candidate pair judged both alone and as members of two registrations of one family
    // is as likely as the likelier view says.
    let links: Vec<(u32, u32, f64)> = pairs
        .iter()
        .zip(&probabilities)
        .map(|(&(a, b), &p)| {
            let family = in_family.get(&(a, b)).copied().unwrap_or(0.0);
            (a, b, f64::from(p).max(family))
        })
        .filter(|&(_, _, p)| p >= settings.link_threshold)
        .collect();
    model.crossed_share = Some(crossed_share(ds, &links));
    let linked_pairs = links.len() as u64;
    let rule = Scored {
        ds,
        scorer,
        pairs: &pairs,
        probabilities: &probabilities,
        households: &households,
        decisions: &decisions,
        link_threshold: settings.link_threshold,
        prior: model.prior(),
    };
    let by_household = WithinFamily {
        rule: &rule,
        family: in_family,
    };
    let mut identity = cluster::cluster(
        ds.len(),
        links,
        &decisions.must,
        &by_household,
        settings.link_threshold,
    );
    // Members of two registrations of one family, matched within the family. Each round
    // matches members against those still left over: once a sister is found, her brother no
    // longer competes for her, and a member joined links two more registrations of a family.
    let mut within = WithinFamily {
        rule: &rule,
        family: by_household.family,
    };
    let mut linked_pairs = linked_pairs;
    for _ in 0..FAMILY_ROUNDS {
        let matched = family::matched_members(
            ds,
            &identity,
            &model,
            |a, b| cluster::MergeRule::cannot_link(&rule, a, b),
            settings.review_threshold,
        );
        // Explanations weigh a family's members as they were matched.
        model.left_over_u = matched.left_over_u;
        model.left_over_m = matched.left_over_m;
        let family = matched.pairs;
        let joins: Vec<(u32, u32, f64)> = family
            .iter()
            .copied()
            // A member joins a family already found where a group would hold together: each
            // side's view counts the others they could be and no one, and these chances lean
            // low (at a million, pairs at 0.6 to 0.8 were one person 82% to 88% of the time).
            .filter(|&(_, _, p)| p >= cluster::holds_together(settings.link_threshold))
            .collect();
        for &(a, b, p) in &family {
            let e = within.family.entry((a, b)).or_default();
            *e = e.max(p);
        }
        if joins.is_empty() {
            break;
        }
        // The identities found so far stand; the family's members join them where sound.
        let mut must = decisions.must.clone();
        must.extend(
            (0..ds.len() as u32)
                .filter(|&x| identity[x as usize] != x)
                .map(|x| (identity[x as usize], x)),
        );
        linked_pairs += joins.len() as u64;
        let before = identity;
        identity = cluster::cluster(ds.len(), joins, &must, &within, settings.link_threshold);
        if identity == before {
            break;
        }
    }

    // A family's pair that is also a candidate pair is judged once, as in the family.
    let family = &within.family;
    let (pairs, probabilities) = (&pairs, &probabilities);
    let judged = |least: f64| {
        pairs
            .iter()
            .zip(probabilities.iter().map(|&p| f64::from(p)))
            .filter(move |&(pair, p)| p >= least && !family.contains_key(pair))
            .map(|(&pair, p)| (pair, p))
            .chain(family.iter().map(|(&pair, &p)| (pair, p)))
            .filter(move |&(_, p)| p >= least)
    };
    let scored_pair = |((a, b), p): ((u32, u32), f64)| ScoredPair {
        record_a: ds.record_id(a).to_string(),
        record_b: ds.record_id(b).to_string(),
        probability: p,
    };
    let scored: Vec<ScoredPair> = settings
        .keep_scored_from
        .map(|least| judged(least).map(&scored_pair).collect())
        .unwrap_or_default();
    let mut review: Vec<ScoredPair> = judged(settings.review_threshold)
        .filter(|&((a, b), p)| {
            p >= settings.review_threshold
                && (p < settings.link_threshold || identity[a as usize] != identity[b as usize])
                && !decisions.cannot.contains(&(a, b))
                && decisions.must.binary_search(&(a, b)).is_err()
        })
        .map(&scored_pair)
        .collect();
    // The most doubtful first: a decision on a pair at even odds removes the most doubt, one
    // on a pair the model is nearly sure of the least.
    review.sort_by(|x, y| {
        doubt(y.probability)
            .total_cmp(&doubt(x.probability))
            .then(y.probability.total_cmp(&x.probability))
            .then_with(|| (&x.record_a, &x.record_b).cmp(&(&y.record_a, &y.record_b)))
    });
    let uncertain_pairs = review.len() as u64;
    review.truncate(settings.review_capacity);

    let mut roots: Vec<u32> = identity.clone();
    roots.sort_unstable();
    roots.dedup();
    let stats = Stats {
        records: ds.len() as u64,
        distinct_names: ds.names.len() as u64,
        blocking,
        linked_pairs,
        identities: roots.len() as u64,
        review_pairs: review.len() as u64,
        uncertain_pairs,
    };
    Deduplication {
        identity,
        review,
        scored,
        model,
        stats,
    }
}

/// Rounds of matching members within families, at most: each matches fewer than the one before
/// (at a million people, the rounds after the first added 83 pairs of one person and 2 of two).
const FAMILY_ROUNDS: usize = 3;

/// A pair this unlikely is not weighed against its rivals: it changes nothing that is shown.
const LEAST_COMPETING_WEIGHT: f32 = -5.0;

/// Of the linked pairs whose given names both give, the share that agree only crossed (see
/// [`Model::crossed_share`]), as if one more of each kind had been seen: a registry with no
/// swap among its links does not make one impossible.
fn crossed_share(ds: &Dataset, links: &[(u32, u32, f64)]) -> f64 {
    let (crossed, named) = links
        .par_iter()
        .map(|&(a, b, _)| {
            let (ra, rb) = (&ds.recs[a as usize], &ds.recs[b as usize]);
            let p = compare(ds, ra, rb);
            match p.level(0) {
                MISSING => (0u64, 0u64),
                _ => (u64::from(compare::crossed(ds, ra, rb, p)), 1),
            }
        })
        .reduce(|| (0, 0), |x, y| (x.0 + y.0, x.1 + y.1));
    (crossed as f64 + 1.0) / (named as f64 + 2.0)
}

/// A person is at most one member of another household: where a record's pair with one member
/// of a household competes with its pairs with other members (two sisters of one family
/// registered twice, one of them the record's own), each is as likely as its odds against all
/// of them and against none. `weights` are the candidate pairs' match weights (log2 odds), and
/// are replaced by the weights after competition. A pair with no rival keeps its weight.
///
/// Without this, a girl's pair with her sister's second registration counted everything the
/// family shares and scored 0.9999, beside the pair with her own second registration; on synth
/// at 100,000 people, 3,750 of 31,954 pairs scored 0.9 or more were two people.
fn compete_within_households(ds: &Dataset, pairs: &[(u32, u32)], weights: &mut [f32]) {
    let weight_of = |a: u32, b: u32| -> Option<f32> {
        pairs.binary_search(&ordered(a, b)).ok().map(|i| weights[i])
    };
    let rivals = |own: u32, other: u32| -> f64 {
        ds.household_members[ds.recs[other as usize].household as usize]
            .iter()
            .take(household::MAX_MEMBERS)
            .filter(|&&x| x != other)
            .filter_map(|&x| weight_of(own, x))
            .filter(|&w| w >= LEAST_COMPETING_WEIGHT)
            .map(|w| rival_odds(f64::from(w)))
            .sum()
    };
    let competed: Vec<(usize, f32)> = pairs
        .par_iter()
        .enumerate()
        .filter(|&(i, _)| weights[i] >= LEAST_COMPETING_WEIGHT)
        .filter_map(|(i, &(a, b))| {
            let r = rivals(a, b) + rivals(b, a);
            (r > 0.0).then(|| (i, against_rivals(f64::from(weights[i]), r) as f32))
        })
        .collect();
    for (i, w) in competed {
        weights[i] = w;
    }
}

/// A rival pair's odds, from its weight.
fn rival_odds(weight: f64) -> f64 {
    weight.min(200.0).exp2()
}

/// A pair's weight against rivals whose odds sum to `rivals`: its odds against them all and
/// against none of them.
fn against_rivals(weight: f64, rivals: f64) -> f64 {
    weight - (1.0 + rivals).log2()
}

/// How doubtful a pair of this probability is: highest at even odds (where a reviewer's answer
/// tells the most), none at 0 or 1.
pub fn doubt(probability: f64) -> f64 {
    0.5 - (probability - 0.5).abs()
}

/// When several registrations fit a tracing request about equally: how many, and the detail
/// to ask the family for that would tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Settle {
    /// Registrations that fit about equally: each at least half as likely as the best.
    pub fitting: usize,
    /// A detail the request does not give on which they differ, the most telling first.
    pub ask_for: Field,
}

/// A registration's value of one detail, comparable by equality, if it has one.
type DetailOf<'a> = dyn Fn(&Rec) -> Option<u64> + 'a;

/// How many of a request's best candidates are read to see which fit it about equally.
const SETTLE_LOOKED_AT: usize = 50;

/// A candidate for a record or a request, with the probability that it is the same person.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Candidate {
    pub record_id: String,
    pub probability: f64,
}

/// How many of a search's best candidates are compared with each other to find those that
/// are one person (and so do not compete); further candidates are too unlikely to matter.
const COMPETITORS_COMPARED: usize = 10;

/// How far below the last candidate shown a candidate's weight may be and still change the
/// shown candidates' probabilities by more than a trifle: 2^-7, under one percent each.
const NEGLIGIBLE_BITS: f64 = 7.0;

/// How many candidates of each member of a household being registered are looked at for
/// earlier registrations of the family.
const FAMILY_CANDIDATES: usize = 30;

/// Buckets larger than this are not searched for a single record: too common to say anything.
const MAX_SEARCH_BUCKET: usize = 5_000;

/// Everything loaded, indexed by blocking key, for one record or request at a time.
pub struct Matcher {
    ds: Dataset,
    model: Model,
    /// (key, record) sorted by key: a compact index for a million records.
    keys: Vec<(u64, u32)>,
    /// Keys of records added since the index was built.
    added: HashMap<u64, Vec<u32>>,
    /// Records replaced by a later version of themselves (an edited registration), or
    /// erased: never offered as candidates again.
    replaced: HashSet<u32>,
    /// The chance that a person sought by a tracing request registered at all (see
    /// [`Matcher::set_registered_share`]).
    registered_share: f64,
    /// How requests compared with the registrations found, in cases that ended with the
    /// person found, and how far their evidence overstates itself (see
    /// [`Matcher::learn_from_ended`]).
    requests_compared: Option<model::RequestsCompared>,
}

/// What tracing learnt from the cases that ended (see [`Matcher::learn_from_ended`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LearntFromCases {
    /// Cases found in a registration still loaded, learnt from.
    pub found: usize,
    /// Cases closed without finding the person.
    pub closed: usize,
    /// What a request's evidence is multiplied by (1 until enough cases ended).
    pub evidence_scale: f64,
    /// How far, in bits, the prior moved from where the share of people sought who
    /// registered puts it (0 until enough cases ended).
    pub prior_shift: f64,
    /// Whether the probabilities were checked against the cases: enough ended, some with the
    /// person first among the candidates and some not.
    pub calibrated: bool,
}

/// How many ended cases it takes to learn how far requests' evidence overstates itself: fewer
/// would move it by chance.
pub const CASES_FOR_EVIDENCE_SCALE: usize = 50;

/// Candidates of each ended case read to learn the evidence scale: those further down share
/// too little of the probability to matter.
const SCALE_CANDIDATES: usize = 20;

/// An ended case's request as searched again: each candidate's evidence in bits (without the
/// prior), best first, and which of them was the person sought (`None`: none of them).
struct ShownCase {
    evidence: Vec<f64>,
    /// The candidates not read, as one candidate of this evidence (`None`: none to speak of).
    rest: Option<f64>,
    person: Option<usize>,
}

/// How many ended cases must have had the person first, and how many not, for their
/// outcomes to say how sure to be: with one outcome only, the likeliest calibration is at
/// an end of its range.
const OUTCOMES_FOR_CALIBRATION: usize = 10;

/// The evidence scale and prior shift under which the ended cases' first candidates' outcomes
/// are likeliest: a search's first candidate is what a caseworker reads as "likely" or not,
/// and its probability, with weights `prior + shift + scale × evidence` competing as a search
/// makes them compete, should be the share of such first candidates who were the person
/// sought. A case whose person was found beyond the candidates read, or who never
/// registered, says the first was not them; the candidates beyond those read compete as one.
/// The likelihood is unimodal along each of the two (the first candidate's log-odds are
/// nearly linear in both), so a golden-section search along each in turn finds its top.
/// `None` unless enough cases had the person first, and enough did not.
fn calibration(cases: &[ShownCase], prior: f64) -> Option<(f64, f64)> {
    let first = cases.iter().filter(|c| c.person == Some(0)).count();
    let read = cases.iter().filter(|c| !c.evidence.is_empty()).count();
    if first < OUTCOMES_FOR_CALIBRATION || read - first < OUTCOMES_FOR_CALIBRATION {
        return None;
    }
    let log_likelihood = |scale: f64, shift: f64| -> f64 {
        cases
            .par_iter()
            .map(|case| {
                let weights: Vec<f64> = case
                    .evidence
                    .iter()
                    .chain(&case.rest)
                    .map(|e| prior + shift + scale * e)
                    .collect();
                // log2(2^0 + Σ 2^w), kept finite by factoring out the largest term.
                let top = weights.iter().copied().fold(0.0, f64::max);
                let all = (-top).exp2() + weights.iter().map(|w| (w - top).exp2()).sum::<f64>();
                let Some(&first) = weights.first() else {
                    return 0.0;
                };
                let p = ((first - top).exp2() / all).clamp(1e-12, 1.0 - 1e-12);
                if case.person == Some(0) {
                    p.ln()
                } else {
                    (1.0 - p).ln()
                }
            })
            .sum()
    };
    let top_of = |f: &dyn Fn(f64) -> f64, (mut lo, mut hi): (f64, f64)| {
        let golden = (5f64.sqrt() - 1.0) / 2.0;
        for _ in 0..40 {
            let (a, b) = (hi - golden * (hi - lo), lo + golden * (hi - lo));
            if f(a) < f(b) {
                lo = a;
            } else {
                hi = b;
            }
        }
        (lo + hi) / 2.0
    };
    let (mut scale, mut shift) = (1.0, 0.0);
    for _ in 0..8 {
        shift = top_of(
            &|b| log_likelihood(scale, b),
            (-MAX_PRIOR_SHIFT, MAX_PRIOR_SHIFT),
        );
        scale = top_of(
            &|a| log_likelihood(a, shift),
            (MIN_EVIDENCE_SCALE, MAX_EVIDENCE_SCALE),
        );
    }
    Some((scale, shift))
}

/// The most the prior may move, in bits, from where the share of people sought who
/// registered puts it: far enough for people registered but never found by what relatives
/// remember, not so far that a name stops counting.
const MAX_PRIOR_SHIFT: f64 = 12.0;

/// The range the evidence scale is learnt in: beyond it, something other than fields that
/// overlap is wrong, and no scale would mend it.
const MIN_EVIDENCE_SCALE: f64 = 0.2;
const MAX_EVIDENCE_SCALE: f64 = 1.5;

/// Whom a probe describes, which sets the prior its candidates stand against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sought {
    /// A person registering at a desk: are they registered already? Deduplication's prior.
    Registrant,
    /// A person a relative seeks through a tracing request: did they register at all, and
    /// as whom? (see [`Matcher::set_registered_share`]).
    Relative,
}

/// The chance that a person a relative seeks registered at all, until an information manager
/// says otherwise: even, neither hoping nor despairing.
pub const REGISTERED_SHARE: f64 = 0.5;

impl Matcher {
    /// Indexes every record of `ds` for matching with `model`.
    pub fn new(ds: Dataset, model: Model) -> Matcher {
        let mut keys: Vec<(u64, u32)> = (0..ds.len() as u32)
            .into_par_iter()
            .flat_map_iter(|i| {
                blocking::lookup_keys(&ds, &ds.recs[i as usize])
                    .into_iter()
                    .map(move |key| (key, i))
            })
            .collect();
        keys.par_sort_unstable();
        Matcher {
            ds,
            model,
            keys,
            added: HashMap::new(),
            replaced: HashSet::new(),
            registered_share: REGISTERED_SHARE,
            requests_compared: None,
        }
    }

    /// Sets the chance that a person sought registered at all: the prior against which a
    /// tracing request's candidates stand, with "not in the registry" the alternative.
    pub fn set_registered_share(&mut self, share: f64) {
        self.registered_share = share.clamp(0.001, 0.999);
    }

    /// Learns from tracing cases that ended, each request (read as a probe, as a search reads
    /// it) with the registration confirmed as the person sought, or `None` where the case
    /// closed without finding them:
    /// - from the cases found, how relatives' requests compare with the registrations of the
    ///   people they sought (an age some years off, a name heard in the other script): from
    ///   then on requests are weighed so, not as a second registration would be;
    /// - from every case that ended, once there are [`CASES_FOR_EVIDENCE_SCALE`] and some had
    ///   the person first among the candidates and some did not, how far the evidence so
    ///   weighed overstates what the fields say together, so that a candidate's probability is
    ///   the share of such candidates who were the person sought.
    ///
    /// A case whose registration is no longer loaded (erased) is left out. Learning from none
    /// keeps the registry's weights.
    pub fn learn_from_ended(&mut self, ended: &[(MatchRecord, Option<String>)]) -> LearntFromCases {
        let probes: Vec<MatchRecord> = ended.iter().map(|(r, _)| r.clone()).collect();
        let recs = self.ds.probes(&probes);
        // Each case's outcome as a loaded record: `Some(None)` closed without finding.
        let outcomes: Vec<Option<Option<u32>>> = ended
            .iter()
            .map(|(_, found)| match found {
                None => Some(None),
                Some(id) => self
                    .ds
                    .index_of(id)
                    .filter(|c| !self.replaced.contains(c))
                    .map(Some),
            })
            .collect();
        self.requests_compared = None;
        let scorer = self.scorer_for(Sought::Relative);
        let patterns: Vec<Pattern> = recs
            .iter()
            .zip(&outcomes)
            .filter_map(|(rec, outcome)| Some(self.as_requested(rec, (*outcome)??, &scorer).0))
            .collect();
        let mut learnt = LearntFromCases {
            found: patterns.len(),
            closed: outcomes.iter().filter(|o| matches!(o, Some(None))).count(),
            evidence_scale: 1.0,
            prior_shift: 0.0,
            calibrated: false,
        };
        if !patterns.is_empty() {
            self.requests_compared = Some(self.model.requests_compared(&patterns));
        }
        if learnt.found + learnt.closed >= CASES_FOR_EVIDENCE_SCALE {
            let scorer = self.scorer_for(Sought::Relative);
            let pair_scorer = self.model.scorer();
            let this = &*self;
            let shown: Vec<ShownCase> = recs
                .par_iter()
                .zip(probes.par_iter())
                .zip(outcomes.par_iter())
                .filter_map(|((rec, probe), outcome)| {
                    let outcome = (*outcome)?;
                    let ranked = this.ranked_by(rec, probe, SCALE_CANDIDATES, &scorer);
                    let evidence: Vec<f64> = ranked
                        .iter()
                        .map(|&(c, _)| {
                            let (p, _) = this.as_requested(rec, c, &scorer);
                            scorer.weight(&this.ds, rec, &this.ds.recs[c as usize], p)
                                - scorer.prior()
                        })
                        .collect();
                    // The candidates not read still compete in a search: their odds together
                    // are what the first's probability leaves beside those read.
                    let rest = match (ranked.first(), evidence.first()) {
                        (Some(&(_, p)), Some(&e)) if p > 0.0 => {
                            let all = (scorer.prior() + e).exp2() / p - 1.0;
                            let read: f64 =
                                evidence.iter().map(|e| (scorer.prior() + e).exp2()).sum();
                            let rest = all - read;
                            (rest > all * 1e-9 && rest > 0.0).then(|| rest.log2() - scorer.prior())
                        }
                        _ => None,
                    };
                    // Found through another registration of theirs that stands for the one
                    // confirmed: a search offers each person once.
                    let person = outcome.and_then(|o| {
                        ranked.iter().position(|&(c, _)| c == o).or_else(|| {
                            ranked
                                .iter()
                                .position(|&(c, _)| this.one_person(c, o, &pair_scorer))
                        })
                    });
                    Some(ShownCase {
                        evidence,
                        rest,
                        person,
                    })
                })
                .collect();
            if let Some(fitted) = calibration(&shown, scorer.prior()) {
                (learnt.evidence_scale, learnt.prior_shift) = fitted;
                learnt.calibrated = true;
            }
        }
        if learnt.calibrated {
            let requests = self
                .requests_compared
                .get_or_insert_with(|| self.model.requests_compared(&[]));
            requests.evidence_scale = learnt.evidence_scale;
            requests.prior_shift = learnt.prior_shift;
        }
        self.ds.forget_probe();
        learnt
    }

    /// The chance that a person sought registered at all, as last set.
    pub fn registered_share(&self) -> f64 {
        self.registered_share
    }

    pub fn dataset(&self) -> &Dataset {
        &self.ds
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Adds a registration to the index, as the desk saves it, and returns whether the index
    /// changed. A record already loaded under the same record id is replaced when it differs
    /// (an edit), and left as it is when it is the same: a hub's server hears of its own saves
    /// again from the others.
    pub fn add(&mut self, record: &MatchRecord) -> bool {
        if self.holds(record) {
            return false;
        }
        if let Some(old) = self.ds.index_of(&record.record_id) {
            self.replaced.insert(old);
        }
        let idx = self.ds.push(record);
        for key in blocking::lookup_keys(&self.ds, &self.ds.recs[idx as usize]) {
            self.added.entry(key).or_default().push(idx);
        }
        true
    }

    /// Takes an erased registration out of every answer at once: it is never a candidate
    /// again, and cannot be explained. Returns whether the index held it.
    pub fn remove(&mut self, record_id: &str) -> bool {
        match self.ds.forget_record_id(record_id) {
            Some(idx) => {
                self.replaced.insert(idx);
                true
            }
            None => false,
        }
    }

    /// Whether the index holds this registration as it is (same record id, same values).
    pub fn holds(&self, record: &MatchRecord) -> bool {
        self.ds.index_of(&record.record_id).is_some_and(|i| {
            self.ds.stored_form(record).as_ref() == Some(&self.ds.recs[i as usize])
        })
    }

    fn bucket(&self, key: u64) -> impl Iterator<Item = u32> + '_ {
        let start = self.keys.partition_point(|&(k, _)| k < key);
        let end = start + self.keys[start..].partition_point(|&(k, _)| k == key);
        let indexed = if end - start > MAX_SEARCH_BUCKET {
            &self.keys[0..0]
        } else {
            &self.keys[start..end]
        };
        indexed
            .iter()
            .map(|&(_, i)| i)
            .chain(self.added.get(&key).into_iter().flatten().copied())
    }

    /// The records most likely to be the person `probe` describes, best first, at most
    /// `limit`. Records of the probe's own household are left out.
    pub fn find(&mut self, probe: &MatchRecord, limit: usize) -> Vec<Candidate> {
        let (_, ranked) = self.ranked(probe, limit, Sought::Relative);
        self.ds.forget_probe();
        ranked
            .into_iter()
            .map(|(c, p)| self.candidate(c, p))
            .collect()
    }

    /// [`Matcher::find`] for many probes (a file of tracing requests), searched side by side
    /// on every core; the answers are the same as one at a time, in the probes' order.
    pub fn find_many(&mut self, probes: &[MatchRecord], limit: usize) -> Vec<Vec<Candidate>> {
        let recs = self.ds.probes(probes);
        let this = &*self;
        let scorer = this.scorer_for(Sought::Relative);
        let found = recs
            .par_iter()
            .zip(probes.par_iter())
            .map(|(rec, probe)| {
                this.ranked_by(rec, probe, limit, &scorer)
                    .into_iter()
                    .map(|(c, p)| this.candidate(c, p))
                    .collect()
            })
            .collect();
        self.ds.forget_probe();
        found
    }

    /// For a tracing request that several registrations fit about equally, and none is likely:
    /// how many fit, and the first detail the request lacks that differs among them (a
    /// father's name before a grandfather's, then the province, the age, the family name,
    /// the last residence). `None` when one registration stands out, or nothing tells them
    /// apart.
    pub fn what_would_settle(&mut self, probe: &MatchRecord) -> Option<Settle> {
        let (rec, ranked) = self.ranked(probe, SETTLE_LOOKED_AT, Sought::Relative);
        self.ds.forget_probe();
        let &(_, best) = ranked.first()?;
        if best >= Settings::default().link_threshold {
            return None;
        }
        let fitting: Vec<&Rec> = ranked
            .iter()
            .take_while(|&&(_, p)| p >= best / 2.0)
            .map(|&(c, _)| &self.ds.recs[c as usize])
            .collect();
        if fitting.len() < 2 {
            return None;
        }
        // Two or more different values known among them, where the request has none.
        let differ = |value: &DetailOf<'_>| {
            let mut seen: Vec<u64> = fitting.iter().filter_map(|r| value(r)).collect();
            seen.sort_unstable();
            seen.dedup();
            seen.len() >= 2
        };
        let name = |f: dataset::NameField| {
            move |r: &Rec| r.name(f).map(|_| u64::from(r.codes[f as usize]))
        };
        let asked: [(Field, bool, &DetailOf<'_>); 6] = [
            (
                Field::FatherName,
                rec.name(dataset::NameField::Father).is_none(),
                &name(dataset::NameField::Father),
            ),
            (
                Field::GrandfatherName,
                rec.name(dataset::NameField::Grandfather).is_none(),
                &name(dataset::NameField::Grandfather),
            ),
            (Field::Province, rec.province == 0, &|r: &Rec| {
                (r.province != 0).then_some(u64::from(r.province))
            }),
            // Ages a few years apart: a relative's "about ten" does not tell nine from eleven.
            (Field::BirthYear, rec.birth().is_none(), &|r: &Rec| {
                r.birth().map(|(lo, _)| (lo / 4) as u64)
            }),
            (
                Field::FamilyName,
                rec.name(dataset::NameField::Family).is_none(),
                &name(dataset::NameField::Family),
            ),
            (Field::Residence, rec.residence == 0, &|r: &Rec| {
                (r.residence != 0).then_some(u64::from(r.residence))
            }),
        ];
        asked
            .into_iter()
            .find(|(_, missing, value)| *missing && differ(value))
            .map(|(ask_for, _, _)| Settle {
                fitting: fitting.len(),
                ask_for,
            })
    }

    /// As [`Matcher::find`], with each field's part in every candidate's score: what a
    /// registrar sees beside a "possibly already registered" warning.
    pub fn find_explained(
        &mut self,
        probe: &MatchRecord,
        limit: usize,
        sought: Sought,
    ) -> Vec<(Candidate, Explanation)> {
        let scorer = self.scorer_for(sought);
        let rec = self.ds.probe(probe);
        let ranked = self.ranked_by(&rec, probe, limit, &scorer);
        let found = self.explained(&rec, ranked, &scorer);
        self.ds.forget_probe();
        found
    }

    /// As [`Matcher::find_explained`], reading the index only, for a probe whose names the
    /// index already holds: several desks' checks then run side by side. `None` when a name is
    /// new to the index, and [`Matcher::find_explained`] must be used. The answers are the
    /// same.
    pub fn find_explained_shared(
        &self,
        probe: &MatchRecord,
        limit: usize,
        sought: Sought,
    ) -> Option<Vec<(Candidate, Explanation)>> {
        let rec = self.ds.probe_known(probe)?;
        let scorer = self.scorer_for(sought);
        let ranked = self.ranked_by(&rec, probe, limit, &scorer);
        Some(self.explained(&rec, ranked, &scorer))
    }

    /// The scorer a probe is judged by, by whom it describes.
    fn scorer_for(&self, sought: Sought) -> model::Scorer {
        match sought {
            Sought::Registrant => self.model.probe_scorer(),
            Sought::Relative => self.model.tracing_scorer(
                self.ds.len() - self.replaced.len(),
                self.registered_share,
                self.requests_compared.as_ref(),
            ),
        }
    }

    /// Ranked candidates with each field's part in their scores, by the scorer that ranked
    /// them.
    fn explained(
        &self,
        rec: &Rec,
        ranked: Vec<(u32, f64)>,
        scorer: &model::Scorer,
    ) -> Vec<(Candidate, Explanation)> {
        ranked
            .into_iter()
            .map(|(c, p)| {
                let other = &self.ds.recs[c as usize];
                let (pattern, husband) = self.as_requested(rec, c, scorer);
                let mut explanation = scorer.explain(&self.ds, rec, other, pattern);
                if husband {
                    for field in &mut explanation.fields {
                        if field.field == Field::FatherName {
                            field.note = Some(Note::HusbandInHousehold);
                        }
                    }
                }
                explanation.probability = p;
                (self.candidate(c, p), explanation)
            })
            .collect()
    }

    /// As [`Matcher::find_explained`] for every member of a household being registered, and
    /// within the family: where a member is likely someone of an earlier household
    /// registration, the other members are also set against that household's members not
    /// yet found, as deduplication does (see the `family` module). A wife recorded there only
    /// as "wife of Karim" is then offered when her husband is found.
    pub fn check_household(
        &mut self,
        members: &[MatchRecord],
        limit: usize,
    ) -> Vec<Vec<(Candidate, Explanation)>> {
        // The members are read once, for the whole check, and searched side by side: a family
        // of ten is ten searches, and the registrar waits for all of them. The answers are
        // those of one at a time.
        let scorer = self.scorer_for(Sought::Registrant);
        let recs = self.ds.probes(members);
        let this = &*self;
        let mut found: Vec<Vec<(Candidate, Explanation)>> = recs
            .par_iter()
            .zip(members.par_iter())
            .map(|(rec, m)| {
                let ranked = this.ranked_by(rec, m, limit.max(FAMILY_CANDIDATES), &scorer);
                this.explained(rec, ranked, &scorer)
            })
            .collect();
        self.families_as_units(&recs, &mut found);
        for f in &mut found {
            f.truncate(limit);
        }
        let link = Settings::default().link_threshold;
        let review = Settings::default().review_threshold;
        // Earlier households, and each new member's likely record in them.
        let likely: Vec<Vec<u32>> = found
            .iter()
            .map(|f| {
                f.iter()
                    .filter(|(c, _)| c.probability >= link)
                    .filter_map(|(c, _)| self.ds.index_of(&c.record_id))
                    .collect()
            })
            .collect();
        let mut earlier: Vec<u32> = likely
            .iter()
            .flatten()
            .map(|&r| self.ds.recs[r as usize].household)
            .collect();
        earlier.sort_unstable();
        earlier.dedup();
        let scorer = self.model.scorer();
        for h in earlier {
            let old = &self.ds.household_members[h as usize];
            let in_h = |r: &u32| self.ds.recs[*r as usize].household == h;
            let new_unmatched: Vec<usize> = (0..members.len())
                .filter(|&i| !likely[i].iter().any(in_h))
                .collect();
            let old_unmatched: Vec<u32> = old
                .iter()
                .copied()
                .filter(|o| !likely.iter().flatten().any(|r| r == o))
                .filter(|o| !self.replaced.contains(o))
                .collect();
            if new_unmatched.is_empty() || old_unmatched.is_empty() {
                continue;
            }
            let prior = family::family_prior(new_unmatched.len().max(old_unmatched.len()));
            for i in new_unmatched {
                let rec = &recs[i];
                for &o in &old_unmatched {
                    let other = &self.ds.recs[o as usize];
                    let p = compare(&self.ds, rec, other).with(HOUSEHOLD, MISSING);
                    let e = scorer.explain_within_family(&self.ds, rec, other, p, prior);
                    let id = self.ds.record_id(o);
                    let known = found[i].iter().position(|(c, _)| c.record_id == id);
                    match known {
                        Some(k) if found[i][k].0.probability >= e.probability => {}
                        _ if e.probability < review => {}
                        _ => {
                            let mut e = e;
                            if let Some(k) = known {
                                // The family judged as a unit, if it was, still says why.
                                e.family = found[i].remove(k).1.family;
                            }
                            found[i].push((self.candidate(o, e.probability), e));
                        }
                    }
                }
                found[i].sort_by(|x, y| y.0.probability.total_cmp(&x.0.probability));
                found[i].truncate(limit);
            }
        }
        self.ds.forget_probe();
        found
    }

    /// The household being registered against each earlier household among its members'
    /// candidates, as a unit (see the `household` module): where two members or more align
    /// and the two are likely one family, the aligned members' records are offered with the
    /// family's evidence, first when they are likelier than what each member found alone.
    /// `members` are the household's members as read for the check.
    fn families_as_units(&self, members: &[Rec], found: &mut [Vec<(Candidate, Explanation)>]) {
        let mut earlier: Vec<u32> = found
            .iter()
            .flatten()
            .filter_map(|(c, _)| self.ds.index_of(&c.record_id))
            .map(|r| self.ds.recs[r as usize].household)
            .filter(|&h| {
                (2..=household::MAX_MEMBERS).contains(&self.ds.household_members[h as usize].len())
            })
            .collect();
        earlier.sort_unstable();
        earlier.dedup();
        if members.len() < 2 || earlier.is_empty() {
            return;
        }
        let scorer = self.model.scorer();
        // (earlier household, the pair of a new member and an earlier record), each member's
        // row worked out side by side.
        let mut pairs: Vec<(u32, household::MemberEvidence)> = members
            .par_iter()
            .enumerate()
            .flat_map_iter(|(i, rec)| {
                let earlier = &earlier;
                let scorer = &scorer;
                earlier.iter().flat_map(move |&h| {
                    self.ds.household_members[h as usize]
                        .iter()
                        .filter(|o| !self.replaced.contains(o))
                        .map(move |&o| {
                            let other = &self.ds.recs[o as usize];
                            let p = compare(&self.ds, rec, other).with(HOUSEHOLD, MISSING);
                            let pair = household::MemberEvidence::new(
                                &self.ds,
                                scorer,
                                (i as u32, rec),
                                (o, other),
                                p,
                            );
                            (h, pair)
                        })
                })
            })
            .collect();
        pairs.sort_by_key(|x| x.0);
        let prior = self.model.household_prior();
        // Each earlier household that may be this family, with its aligned members and weight.
        let mut families: Vec<(u32, household::Aligned, f64, usize)> = Vec::new();
        for group in pairs.chunk_by(|x, y| x.0 == y.0) {
            let h = group[0].0;
            let sizes = (members.len(), self.ds.household_members[h as usize].len());
            let mut group: Vec<household::MemberEvidence> = group.iter().map(|x| x.1).collect();
            let (aligned, evidence, missing) = household::alignment(&mut group, sizes);
            let evidence =
                household::less_unaligned(evidence, missing, self.model.unaligned_bits());
            if aligned.len() >= 2 {
                families.push((h, aligned, prior + evidence, sizes.0.max(sizes.1)));
            }
        }
        // The family is one family: where two earlier households fit it, each is at best as
        // likely as the other, unless the two are themselves one family registered twice.
        let scale = families.iter().map(|f| f.2).fold(0.0f64, f64::max);
        let mut offered: Vec<(usize, u32, f64, FamilyEvidence)> = Vec::new();
        for (x, (h, aligned, weight, larger)) in families.iter().enumerate() {
            let rivals: f64 = families
                .iter()
                .enumerate()
                .filter(|&(y, other)| y != x && !self.one_family(*h, other.0))
                .map(|(_, other)| (other.2 - scale).exp2())
                .sum();
            let odds = (weight - scale).exp2();
            let family = FamilyEvidence {
                matching_members: aligned.len(),
                members: *larger,
                probability: odds / ((-scale).exp2() + odds + rivals),
            };
            if family.probability < household::FAMILY_LINK {
                continue;
            }
            for &(i, o, within) in aligned {
                offered.push((i as usize, o, family.probability * within, family.clone()));
            }
        }
        let within_prior = |family: &FamilyEvidence| family::family_prior(family.members);
        for (i, o, p, family) in offered {
            let id = self.ds.record_id(o).to_string();
            let known = found[i].iter().position(|(c, _)| c.record_id == id);
            if let Some(k) = known {
                if found[i][k].0.probability >= p {
                    // Likelier alone, with the other members as its household context: the
                    // family still says why, and is shown.
                    found[i][k].1.family.get_or_insert(family);
                    continue;
                }
                found[i].remove(k);
            }
            let (rec, other) = (&members[i], &self.ds.recs[o as usize]);
            let pattern = compare(&self.ds, rec, other).with(HOUSEHOLD, MISSING);
            let mut e =
                scorer.explain_within_family(&self.ds, rec, other, pattern, within_prior(&family));
            e.probability = p;
            e.family = Some(family);
            found[i].push((self.candidate(o, p), e));
        }
        for f in found.iter_mut() {
            f.sort_by(|x, y| y.0.probability.total_cmp(&x.0.probability));
        }
    }

    /// The probability that each of `record_ids` is the person `probe` describes, for those
    /// loaded (and not replaced): a new registration set against a tracing request, without
    /// searching the whole registry. Each pair is judged on its own, not against the other
    /// candidates a search would find (see `competing_probabilities`): a registration that
    /// comes in later is shown as likely as it looks alone, until the case is searched again.
    pub fn score(&mut self, probe: &MatchRecord, record_ids: &[String]) -> Vec<Candidate> {
        let rec = self.ds.probe(probe);
        let scorer = self.scorer_for(Sought::Relative);
        let found = record_ids
            .iter()
            .filter_map(|id| self.ds.index_of(id))
            .filter(|c| !self.replaced.contains(c))
            .map(|c| {
                let other = &self.ds.recs[c as usize];
                let (p, _) = self.as_requested(&rec, c, &scorer);
                self.candidate(c, scorer.probability(&self.ds, &rec, other, p))
            })
            .collect();
        self.ds.forget_probe();
        found
    }

    fn candidate(&self, idx: u32, probability: f64) -> Candidate {
        Candidate {
            record_id: self.ds.record_id(idx).to_string(),
            probability,
        }
    }

    /// A candidate registration as a probe is compared with it, and whether a man of her
    /// household explained her father's name away. A relative often gives a married woman's
    /// husband where her father's name goes. Where a request's father's name does not agree
    /// with hers but agrees with the given name of a man registered with her (in her household
    /// registration, not more than ten years her junior), the father's name counts neither for
    /// nor against, and the explanation says why. Not for: the man may be a brother or a
    /// husband's namesake, and a common name is shared by many. Only for a relative's request:
    /// a desk writes a person's own father.
    fn as_requested(&self, probe: &Rec, c: u32, scorer: &model::Scorer) -> (Pattern, bool) {
        let her = &self.ds.recs[c as usize];
        let pattern = self.requested(probe, her, scorer);
        if self.husband_may_stand_for_father(probe, her, pattern, scorer)
            && self.husband_named(probe, c)
        {
            (
                pattern.with(dataset::NameField::Father as usize, MISSING),
                true,
            )
        } else {
            (pattern, false)
        }
    }

    /// How a probe compares with a registration, its household left out: for a relative's
    /// request, with the slips a request carries read as such (see
    /// [`compare::with_request_slips`]).
    fn requested(&self, probe: &Rec, other: &Rec, scorer: &model::Scorer) -> Pattern {
        let pattern = compare(&self.ds, probe, other).with(9, MISSING);
        if scorer.reads_slips() {
            compare::with_request_slips(&self.ds, probe, other, pattern)
        } else {
            pattern
        }
    }

    /// Whether a relative's request may name this woman's husband where her father's name
    /// goes: it gives a father's name, and hers disagrees with it.
    fn husband_may_stand_for_father(
        &self,
        probe: &Rec,
        her: &Rec,
        pattern: Pattern,
        scorer: &model::Scorer,
    ) -> bool {
        use dataset::NameField::Father;
        let father = pattern.level(Father as usize);
        scorer.relatives_request()
            && her.sex == 2
            && probe.name(Father).is_some()
            && father != MISSING
            && !compare::agreeing(father)
    }

    /// Whether a man registered with the woman `c` (in her household registration, not more
    /// than ten years her junior) bears the father's name the request gives.
    fn husband_named(&self, probe: &Rec, c: u32) -> bool {
        use dataset::NameField::{Father, Given};
        let her = &self.ds.recs[c as usize];
        let household = self.ds.household_members.get(her.household as usize);
        household.into_iter().flatten().any(|&m| {
            let man = &self.ds.recs[m as usize];
            let junior = matches!((her.birth(), man.birth()), (Some(h), Some(x)) if x.0 > h.1 + 10);
            m != c
                && man.sex == 1
                && !junior
                && compare::names_agree(&self.ds, probe, Father, man, Given)
        })
    }

    /// The probe in compact form and its best `limit` candidates with their probabilities.
    fn ranked(
        &mut self,
        probe: &MatchRecord,
        limit: usize,
        sought: Sought,
    ) -> (Rec, Vec<(u32, f64)>) {
        let rec = self.ds.probe(probe);
        let ranked = self.ranked_by(&rec, probe, limit, &self.scorer_for(sought));
        (rec, ranked)
    }

    /// The best `limit` candidates of a probe already in compact form, by `scorer`.
    fn ranked_by(
        &self,
        rec: &Rec,
        probe: &MatchRecord,
        limit: usize,
        scorer: &model::Scorer,
    ) -> Vec<(u32, f64)> {
        let rec = *rec;
        let keys = blocking::lookup_keys(&self.ds, &rec);
        let mut candidates: Vec<u32> = keys.iter().flat_map(|&k| self.bucket(k)).collect();
        candidates.sort_unstable();
        candidates.dedup();
        let own = self.ds.household_of(&probe.household);
        let mut scored: Vec<(u32, f64)> = Vec::with_capacity(candidates.len());
        // A woman whose father's name disagrees may have her husband named in its place (see
        // `as_requested`); her household is read only if that could bring her near the top.
        let mut father_disagrees: Vec<(usize, f64)> = Vec::new();
        // A request's name that disagrees may be one slip from the registration's (see
        // `compare::with_request_slips`); that is looked for only where it could bring the
        // candidate within the bar below, by the weight it would have if every such name were
        // one. Not also with the husband's name counted for nothing: that bound read slips for
        // a third more time at a million, for the same candidates, and a woman it would have
        // reached is weighed without her slip (her explanation, which reads it, may then show
        // a little more than her rank was found with).
        let mut may_slip: Vec<(usize, f64, Pattern)> = Vec::new();
        let bound = scorer.slips_unread();
        for c in candidates {
            let other = &self.ds.recs[c as usize];
            if Some(other.household) == own || self.replaced.contains(&c) {
                continue;
            }
            let p = compare(&self.ds, &rec, other).with(9, MISSING);
            if scorer.reads_slips()
                && let Some(slipped) = compare::if_request_slips(&rec, other, p)
            {
                let best = bound.weight(&self.ds, &rec, other, slipped);
                may_slip.push((scored.len(), best, p));
            }
            if self.husband_may_stand_for_father(&rec, other, p, scorer) {
                let neutral = p.with(dataset::NameField::Father as usize, MISSING);
                father_disagrees
                    .push((scored.len(), scorer.weight(&self.ds, &rec, other, neutral)));
            }
            scored.push((c, scorer.weight(&self.ds, &rec, other, p)));
        }
        if !father_disagrees.is_empty() || !may_slip.is_empty() {
            // Candidates this far below the last one shown change the others' probabilities
            // by less than a percent of their weight between them.
            let mut weights: Vec<f64> = scored.iter().map(|&(_, w)| w).collect();
            let shown = limit.max(COMPETITORS_COMPARED).min(weights.len()) - 1;
            let bar = *weights
                .select_nth_unstable_by(shown, |x, y| y.total_cmp(x))
                .1
                - NEGLIGIBLE_BITS;
            // A slip found changes the weight the husband's name is weighed from.
            let mut slipped: Vec<(usize, Pattern)> = Vec::new();
            for (at, best, p) in may_slip {
                let other = &self.ds.recs[scored[at].0 as usize];
                if best > bar {
                    let with_slips = compare::with_request_slips(&self.ds, &rec, other, p);
                    if with_slips != p {
                        scored[at].1 = scorer.weight(&self.ds, &rec, other, with_slips);
                        slipped.push((at, with_slips));
                    }
                }
            }
            for (at, neutral) in father_disagrees {
                let (c, other) = (scored[at].0, &self.ds.recs[scored[at].0 as usize]);
                let neutral = match slipped.binary_search_by_key(&at, |&(i, _)| i) {
                    Ok(i) => {
                        let p = slipped[i].1;
                        if !self.husband_may_stand_for_father(&rec, other, p, scorer) {
                            continue;
                        }
                        let p = p.with(dataset::NameField::Father as usize, MISSING);
                        scorer.weight(&self.ds, &rec, other, p)
                    }
                    Err(_) => neutral,
                };
                if neutral > bar && self.husband_named(&rec, c) {
                    scored[at].1 = neutral;
                }
            }
        }
        scored.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        if scorer.relatives_request() {
            // A family asks for a person: each is offered once, by the registration that fits
            // best, so that ten candidates are ten people and not one man registered thrice.
            let mut again = self
                .competing_probabilities(&mut scored, limit + COMPETITORS_COMPARED)
                .into_iter();
            scored.retain(|_| !again.next().unwrap_or(false));
        } else {
            self.competing_probabilities(&mut scored, COMPETITORS_COMPARED);
        }
        scored.truncate(limit);
        scored
    }

    /// Turns candidates' match weights (best first) into probabilities that account for one
    /// another. The person sought is one person: where two namesakes fit a request equally
    /// well, each is at best a coin toss, however well either fits alone. With a million
    /// registrations, a given and father's name, an age and a province are often shared by
    /// strangers. Candidates that are themselves likely one person (the same man registered
    /// at two crossing points) do not compete; the best-fitting of them stands for them all.
    /// Says, for each of the first `compared`, whether another stands for it.
    fn competing_probabilities(&self, scored: &mut [(u32, f64)], compared: usize) -> Vec<bool> {
        let Some(&(_, best)) = scored.first() else {
            return Vec::new();
        };
        let top = scored.len().min(compared);
        let pair_scorer = self.model.scorer();
        let one_person = |a: u32, b: u32| self.one_person(a, b, &pair_scorer);
        // Odds are 2^weight; scaled by the best weight so that none overflows.
        let scale = best.max(0.0);
        let mut others = 0.0;
        let mut again = vec![false; top];
        for i in 0..scored.len() {
            // Only against candidates that stand for themselves: a chain of near ones is not
            // one person.
            let stands_for_another =
                i < top && (0..i).any(|j| !again[j] && one_person(scored[i].0, scored[j].0));
            if stands_for_another {
                again[i] = true;
            } else {
                others += (scored[i].1 - scale).exp2();
            }
        }
        let none = (-scale).exp2();
        for c in scored.iter_mut() {
            c.1 = ((c.1 - scale).exp2() / (none + others)).min(1.0);
        }
        again
    }

    /// Whether two loaded records are likely one person (the same man registered at two
    /// crossing points), by `pair_scorer`, the registry's own.
    fn one_person(&self, a: u32, b: u32, pair_scorer: &model::Scorer) -> bool {
        let (ra, rb) = (&self.ds.recs[a as usize], &self.ds.recs[b as usize]);
        !self.ds.same_household(a, b) && {
            let p = compare(&self.ds, ra, rb).with(9, MISSING);
            pair_scorer.probability(&self.ds, ra, rb, p) >= Settings::default().link_threshold
        }
    }

    /// Each field's part in the match weight of two loaded records.
    pub fn explain(&self, record_a: &str, record_b: &str) -> Result<Explanation, LinkageError> {
        let index = |id: &str| {
            self.ds
                .index_of(id)
                .ok_or_else(|| LinkageError::UnknownRecord(id.to_string()))
        };
        let (a, b) = (index(record_a)?, index(record_b)?);
        let (ra, rb) = (&self.ds.recs[a as usize], &self.ds.recs[b as usize]);
        let p = compare(&self.ds, ra, rb);
        let level = self.household_level(a, b);
        let across = self
            .model
            .explain(&self.ds, ra, rb, p.with(HOUSEHOLD, level));
        if let Some((p, family)) = self.as_family(a, b)
            && p > across.probability
        {
            let mut e = self.model.scorer().explain_within_family(
                &self.ds,
                ra,
                rb,
                compare(&self.ds, ra, rb).with(HOUSEHOLD, MISSING),
                family::family_prior(family.members),
            );
            e.probability = p;
            e.family = Some(family);
            return Ok(e);
        }
        let across = self.against_rivals(a, b, across);
        // Deduplication links a pair that is likely either way; the likelier view explains it.
        Ok(match self.within_family(a, b) {
            Some(prior) => {
                let within = self.model.left_over_scorer().explain_within_family(
                    &self.ds,
                    ra,
                    rb,
                    p.with(HOUSEHOLD, MISSING),
                    prior,
                );
                if within.probability > across.probability {
                    within
                } else {
                    across
                }
            }
            None => across,
        })
    }

    /// An explanation of `a` and `b` across the registry, weighed as deduplication weighs it
    /// against the other members of each one's household who fit the other (see
    /// [`compete_within_households`]).
    fn against_rivals(&self, a: u32, b: u32, mut e: Explanation) -> Explanation {
        let scorer = self.model.scorer();
        let rivals = |own: u32, other: u32| -> Vec<f64> {
            let ro = &self.ds.recs[own as usize];
            let household = self.ds.recs[other as usize].household;
            let matching = self.matching_members(ro.household, household);
            self.ds.household_members[household as usize]
                .iter()
                .take(household::MAX_MEMBERS)
                .filter(|&&x| x != other && !self.ds.same_household(own, x))
                .map(|&x| {
                    let rx = &self.ds.recs[x as usize];
                    let level = self.household_level_among(own, x, &matching);
                    let p = compare(&self.ds, ro, rx).with(HOUSEHOLD, level);
                    scorer.weight(&self.ds, ro, rx, p)
                })
                .filter(|&w| w >= f64::from(LEAST_COMPETING_WEIGHT))
                .collect()
        };
        let odds: Vec<f64> = rivals(a, b).into_iter().chain(rivals(b, a)).collect();
        if odds.is_empty() || e.weight < f64::from(LEAST_COMPETING_WEIGHT) {
            return e;
        }
        let sum = odds.iter().map(|&w| rival_odds(w)).sum();
        e.rivals = Some(Rivals {
            members: odds.len(),
            probability_alone: e.probability,
        });
        e.probability = model::probability(against_rivals(e.weight, sum));
        e
    }

    /// The two records' households compared as units (see the `household` module): when the
    /// two records are aligned members of two likely registrations of one family, the
    /// probability that they are one person and the family's evidence.
    fn as_family(&self, a: u32, b: u32) -> Option<(f64, FamilyEvidence)> {
        let (ha, hb) = (
            self.ds.recs[a as usize].household,
            self.ds.recs[b as usize].household,
        );
        let (aligned, family) = self.households_aligned(ha, hb)?;
        if family.probability < household::FAMILY_LINK {
            return None;
        }
        let (_, _, within) = aligned.into_iter().find(|&(x, y, _)| (x, y) == (a, b))?;
        Some((family.probability * within, family))
    }

    /// Whether two loaded households are likely two registrations of one family.
    fn one_family(&self, ha: u32, hb: u32) -> bool {
        ha == hb
            || self
                .households_aligned(ha, hb)
                .is_some_and(|(_, f)| f.probability >= household::FAMILY_LINK)
    }

    /// Two loaded households' members aligned (see [`household::alignment`]), with the
    /// family's evidence, when two members or more align.
    fn households_aligned(&self, ha: u32, hb: u32) -> Option<(household::Aligned, FamilyEvidence)> {
        let members = |h: u32| &self.ds.household_members[h as usize];
        let sized = |h: u32| (2..=household::MAX_MEMBERS).contains(&members(h).len());
        if ha == hb || !sized(ha) || !sized(hb) {
            return None;
        }
        let scorer = self.model.scorer();
        let mut pairs: Vec<household::MemberEvidence> = members(ha)
            .iter()
            .flat_map(|&x| members(hb).iter().map(move |&y| (x, y)))
            .map(|(x, y)| {
                let (rx, ry) = (&self.ds.recs[x as usize], &self.ds.recs[y as usize]);
                let p = compare(&self.ds, rx, ry).with(HOUSEHOLD, MISSING);
                household::MemberEvidence::new(&self.ds, &scorer, (x, rx), (y, ry), p)
            })
            .collect();
        let sizes = (members(ha).len(), members(hb).len());
        let larger = sizes.0.max(sizes.1);
        let (aligned, evidence, missing) = household::alignment(&mut pairs, sizes);
        let evidence = household::less_unaligned(evidence, missing, self.model.unaligned_bits());
        if aligned.len() < 2 {
            return None;
        }
        let family = FamilyEvidence {
            matching_members: aligned.len(),
            members: larger,
            probability: model::probability(self.model.household_prior() + evidence),
        };
        Some((aligned, family))
    }

    /// When the two records' households are two registrations of one family (other members
    /// of each are one person), the prior that the two are one person within the family.
    fn within_family(&self, a: u32, b: u32) -> Option<f64> {
        let (ra, rb) = (&self.ds.recs[a as usize], &self.ds.recs[b as usize]);
        let members = |h: u32| &self.ds.household_members[h as usize];
        let (ma, mb) = (members(ra.household), members(rb.household));
        if ma.len() < 2 || mb.len() < 2 || ra.household == rb.household {
            return None;
        }
        let matching = self.matching_members(ra.household, rb.household);
        // The other members of each household with someone in the other (the pair's own
        // records are what is being judged, so they count as unmatched).
        let others = matching.iter().filter(|&&(x, y)| x != a && y != b);
        let mut in_a: Vec<u32> = others.clone().map(|p| p.0).collect();
        let mut in_b: Vec<u32> = others.map(|p| p.1).collect();
        for side in [&mut in_a, &mut in_b] {
            side.sort_unstable();
            side.dedup();
        }
        if in_a.is_empty() || in_b.is_empty() {
            return None;
        }
        // Within the family only members still unmatched are matched: a girl who is already
        // her own second registration is not also her sister's.
        if matching.iter().any(|&(x, y)| (x == a) != (y == b)) {
            return None;
        }
        let unmatched = (ma.len() - in_a.len()).max(mb.len() - in_b.len());
        Some(family::family_prior(unmatched))
    }

    /// The pairs of members of two households (as far as twenty of each), a member of the
    /// first and one of the second, likely one person on their own evidence.
    fn matching_members(&self, ha: u32, hb: u32) -> Vec<(u32, u32)> {
        let threshold = Settings::default().link_threshold;
        let members = |h: u32| self.ds.household_members[h as usize].iter().take(20);
        members(ha)
            .flat_map(|&x| members(hb).map(move |&y| (x, y)))
            .filter(|&(x, y)| {
                let (rx, ry) = (&self.ds.recs[x as usize], &self.ds.recs[y as usize]);
                let p = compare(&self.ds, rx, ry).with(HOUSEHOLD, MISSING);
                self.model.probability(&self.ds, rx, ry, p) >= threshold
            })
            .collect()
    }

    /// Household context for one pair: whether another member of each household matches.
    fn household_level(&self, a: u32, b: u32) -> u8 {
        let (ha, hb) = (
            self.ds.recs[a as usize].household,
            self.ds.recs[b as usize].household,
        );
        self.household_level_among(a, b, &self.matching_members(ha, hb))
    }

    /// [`Matcher::household_level`] of `a` and `b`, given the [`Matcher::matching_members`] of
    /// their households: a record's rivals in one household share them.
    fn household_level_among(&self, a: u32, b: u32, matching: &[(u32, u32)]) -> u8 {
        let size =
            |r: u32| self.ds.household_members[self.ds.recs[r as usize].household as usize].len();
        let smaller = size(a).min(size(b)).min(household::MAX_MEMBERS);
        if smaller < 2 {
            return MISSING;
        }
        let count = matching.iter().filter(|&&pair| pair != (a, b)).count();
        household_level(smaller, count as u32)
    }
}
