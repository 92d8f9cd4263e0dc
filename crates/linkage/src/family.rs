//! Families registered twice: once two household registrations are found to be one family (a
//! member of each is one person), their other members are matched to each other.
//!
//! Across a whole registry, two records that share a sex and an age and little else are nearly
//! always two people. Within two registrations of one family they are nearly always one: a
//! wife recorded as "wife of Karim" at one crossing point and by her own name at another, a
//! child whose name a clerk garbled. A member not yet matched is someone among the other
//! registration's members not yet matched, or no one there (born since, married away): each
//! is weighed against those alternatives, not against the registry, with the share of members
//! found again learnt from the registry's families. The desk's household check, which has no
//! families to learn from, starts from one in the number left over (`family_prior`).
//!
//! The members left over are not any two people: the person pass matched those whose names
//! agree. Among those left, one person's two registrations more often have no given name on
//! one side (a woman named by her relation) or two names written quite differently. How often
//! each of a person's own fields is missing there, for one person and for two, and how one
//! person's given names compare, are learnt with the share from the same families
//! ([`Model::left_over_m`], [`Model::left_over_u`]).

use rayon::prelude::*;

use crate::compare::{FIELD_COUNT, FIELDS, Field, MAX_LEVELS, MISSING, Pattern, compare};
use crate::dataset::Dataset;
use crate::model::{self, Model};
use crate::{HOUSEHOLD, ordered};

/// Two households of one family and the members of each not yet matched in the other.
struct Unmatched {
    left: Vec<u32>,
    right: Vec<u32>,
}

/// The prior, in bits, that a member of one registration of a family is a given unmatched
/// member of the other: one of `unmatched` (the larger side's count), at best even odds.
pub(crate) fn family_prior(unmatched: usize) -> f64 {
    let chance = (1.0 / unmatched.max(2) as f64).min(0.5);
    (chance / (1.0 - chance)).log2()
}

/// Two registrations of one family, their members not yet matched in the other, and the
/// comparison of each pair of them (with its common-name correction, in bits) and its
/// likelihood ratio (two to the power of its evidence within the family, without prior), row
/// by row; `None` where the two may never be one person.
struct Alignment {
    left: Vec<u32>,
    right: Vec<u32>,
    patterns: Vec<Option<(Pattern, f64)>>,
    ratios: Vec<Option<f64>>,
}

impl Alignment {
    /// Weighs every pair by a table of weights among members left over.
    fn weigh(&mut self, table: &[[f64; MAX_LEVELS]; FIELD_COUNT]) {
        self.ratios = self
            .patterns
            .iter()
            .map(|p| p.map(|(p, common)| (model::left_over_evidence(table, p) + common).exp2()))
            .collect();
    }

    /// How many members are left on the larger side, as the shares are learnt: one to five
    /// or more.
    fn bucket(&self) -> usize {
        self.left
            .len()
            .max(self.right.len())
            .clamp(1, SHARE_BUCKETS)
            - 1
    }

    /// The chance that member `i` of the left (`by_row`) or right side is each of the other
    /// side's, when a share `share` of members have someone in the other registration: a
    /// member is one of the others, or no one there (joined since, or left), and the others
    /// compete for them. (`j`, chance) for every pair that may be one person.
    fn chances(&self, i: usize, by_row: bool, share: f64) -> impl Iterator<Item = (usize, f64)> {
        let (own, other) = if by_row {
            (self.left.len(), self.right.len())
        } else {
            (self.right.len(), self.left.len())
        };
        debug_assert!(i < own);
        let cell = move |j: usize| {
            if by_row {
                self.ratios[i * other + j]
            } else {
                self.ratios[j * own + i]
            }
        };
        let each = share / other as f64;
        let total: f64 = (0..other).filter_map(cell).map(|r| each * r).sum();
        let none = 1.0 - share;
        (0..other).filter_map(move |j| cell(j).map(|r| (j, each * r / (none + total))))
    }

    /// The chance of every pair, row by row (1 where the two may never be one person): the
    /// geometric mean of the two sides' views. Each view weighs the pair against the other
    /// members one of them could be; a pair whose left member has a rival and whose right
    /// member has none is neither as doubtful as the one view nor as sure as the other.
    /// Keeping the lower view leant low: at a million on the second generator, pairs within
    /// linked families scored 0.2 to 0.5 were one person 59% to 79% of the time.
    fn both_views(&self, share: f64) -> Vec<f64> {
        let mut chance = vec![1.0f64; self.ratios.len()];
        let width = self.right.len();
        for i in 0..self.left.len() {
            for (j, c) in self.chances(i, true, share) {
                chance[i * width + j] = c;
            }
        }
        for j in 0..width {
            for (i, c) in self.chances(j, false, share) {
                chance[i * width + j] = (chance[i * width + j] * c).sqrt();
            }
        }
        chance
    }
}

/// Household sizes the share of members found again is learnt for (the last is "this many or
/// more"): in a family registered again with one member left over on each side, that member is
/// usually the same person; with five or more left over, the two registrations mostly met
/// through one person who moved between families.
const SHARE_BUCKETS: usize = 5;

/// What is learnt from the registry's families: for each bucket, the share of unmatched
/// members who have someone in the other registration, and how members left over compare
/// when they are one person and when two ([`Model::left_over_m`], [`Model::left_over_u`]).
struct Learnt {
    shares: [f64; SHARE_BUCKETS],
    left_over_u: Vec<Vec<f64>>,
    left_over_m: Vec<Vec<f64>>,
}

/// Rounds of learning at most: each moves the shares and levels less; they settle within a
/// ten-thousandth in far fewer, and the loop stops as soon as they have.
const LEARNING_ROUNDS: usize = 30;

/// How many pairs' worth the registry's levels count for where few families show how their
/// members compare: enough to keep a level never seen in a family from being impossible.
const REGISTRY_PAIRS: f64 = 100.0;

/// Learns the shares and how members left over compare together, by expectation–maximisation:
/// the expected share of members matched, and the level counts of the pairs expected to be one
/// person and two, given both. Starts from what the model learnt before if anything, the
/// registry's m and u if not. Leaves every alignment weighed by what was learnt.
fn learn(alignments: &mut [Alignment], model: &Model) -> Learnt {
    let mut within = model.clone();
    if within.left_over_u.is_empty() {
        within.left_over_u = model.u.clone();
    }
    if within.left_over_m.is_empty() {
        within.left_over_m = model.m.clone();
    }
    let mut shares = [0.5; SHARE_BUCKETS];
    let personal: Vec<usize> = (0..FIELD_COUNT).filter(|&f| FIELDS[f].personal()).collect();
    let missing = missing_shares(alignments);
    for _ in 0..LEARNING_ROUNDS {
        let table = within
            .left_over_table()
            .unwrap_or([[0.0; MAX_LEVELS]; FIELD_COUNT]);
        alignments.par_iter_mut().for_each(|a| a.weigh(&table));
        type Sums = ([(f64, f64); SHARE_BUCKETS], Vec<Vec<f64>>, Vec<Vec<f64>>);
        let empty = || -> Sums {
            (
                [(0.0, 0.0); SHARE_BUCKETS],
                vec![vec![0.0; MAX_LEVELS]; FIELD_COUNT],
                vec![vec![0.0; MAX_LEVELS]; FIELD_COUNT],
            )
        };
        let (found, apart, one) = alignments
            .par_iter()
            .fold(empty, |mut acc, a| {
                let share = shares[a.bucket()];
                let (found, members) = &mut acc.0[a.bucket()];
                for (by_row, n) in [(true, a.left.len()), (false, a.right.len())] {
                    for i in 0..n {
                        *found += a.chances(i, by_row, share).map(|(_, c)| c).sum::<f64>();
                        *members += 1.0;
                    }
                }
                let chance = a.both_views(share);
                for (p, c) in a.patterns.iter().zip(chance) {
                    if let Some((p, _)) = p {
                        for &f in &personal {
                            acc.1[f][p.level(f) as usize] += 1.0 - c;
                            acc.2[f][p.level(f) as usize] += c;
                        }
                    }
                }
                acc
            })
            .reduce(empty, |mut x, y| {
                for (a, b) in x.0.iter_mut().zip(y.0) {
                    a.0 += b.0;
                    a.1 += b.1;
                }
                for (a, b) in x.1.iter_mut().zip(y.1).chain(x.2.iter_mut().zip(y.2)) {
                    for (c, d) in a.iter_mut().zip(b) {
                        *c += d;
                    }
                }
                x
            });
        let before = (
            shares,
            within.left_over_u.clone(),
            within.left_over_m.clone(),
        );
        for (share, (found, members)) in shares.iter_mut().zip(found) {
            if members > 0.0 {
                // Never certain either way: a member may always have joined or left.
                *share = (found / members).clamp(0.01, 0.99);
            }
        }
        within.left_over_u = learnt_levels(apart, &model.u, &missing, |_| false);
        // Members whose given names agree were matched by the person pass already, so among
        // those left over one person's two given names are plainly different far more often
        // than across the registry (at a million on the second generator, 3 in 10 against 1
        // in 12, and missing on one side 4 in 10): that is learnt. How the other fields
        // compare for one person is the registry's, learnt from all its pairs; learnt again
        // from the few left over in families, a document number that differs came to count
        // for less than 3 bits against, where it counts 7.6.
        within.left_over_m = learnt_levels(one, &model.m, &missing, |f| f == Field::GivenName);
        let settled = shares
            .iter()
            .zip(before.0)
            .all(|(s, b)| (s - b).abs() < 1e-4)
            && personal.iter().all(|&f| {
                let close =
                    |x: &[f64], y: &[f64]| x.iter().zip(y).all(|(x, y)| (x - y).abs() < 1e-4);
                close(&within.left_over_u[f], &before.1[f])
                    && close(&within.left_over_m[f], &before.2[f])
            });
        if settled {
            break;
        }
    }
    let table = within
        .left_over_table()
        .unwrap_or([[0.0; MAX_LEVELS]; FIELD_COUNT]);
    alignments.par_iter_mut().for_each(|a| a.weigh(&table));
    Learnt {
        shares,
        left_over_u: within.left_over_u,
        left_over_m: within.left_over_m,
    }
}

/// The share of compared pairs in `alignments` with each field missing on one side or both.
fn missing_shares(alignments: &[Alignment]) -> [f64; FIELD_COUNT] {
    let (mut missing, mut pairs) = ([0.0; FIELD_COUNT], 0.0);
    for (p, _) in alignments.iter().flat_map(|a| a.patterns.iter().flatten()) {
        pairs += 1.0;
        for (f, m) in missing.iter_mut().enumerate() {
            if p.level(f) == MISSING {
                *m += 1.0;
            }
        }
    }
    missing.map(|m| if pairs > 0.0 { m / pairs } else { 0.0 })
}

/// Level frequencies from expected counts, missing included: in a family, a member left
/// over whose given name is missing (a woman named by her relation) is more often someone left
/// over on the other side than one whose name is there, which the person pass would have
/// found. How often a field is missing is learnt from `counts`; how its levels fall where it is
/// present is learnt too for the fields `levels` says, with `start` (the registry's) counting
/// for [`REGISTRY_PAIRS`], and is `start`'s for the others.
fn learnt_levels(
    mut counts: Vec<Vec<f64>>,
    start: &[Vec<f64>],
    missing: &[f64; FIELD_COUNT],
    levels: impl Fn(Field) -> bool,
) -> Vec<Vec<f64>> {
    for (f, row) in counts.iter_mut().enumerate() {
        let n = FIELDS[f].levels().len();
        let levels = levels(FIELDS[f]);
        let all: f64 = row[..n].iter().sum::<f64>() + REGISTRY_PAIRS;
        let gone = (row[0] + REGISTRY_PAIRS * missing[f]) / all;
        for (l, c) in row.iter_mut().enumerate().take(n).skip(1) {
            *c = if levels {
                *c + REGISTRY_PAIRS * start[f][l]
            } else {
                start[f][l]
            };
        }
        let present: f64 = row[1..n].iter().sum();
        row[0] = gone;
        for (l, c) in row.iter_mut().enumerate().skip(1) {
            *c = if l < n && present > 0.0 {
                (1.0 - gone) * *c / present
            } else {
                0.0
            };
        }
    }
    counts
}

/// Members of two registrations of one family matched to each other, and how members left
/// over compare as learnt from the registry's families.
pub(crate) struct Matched {
    /// (a, b, probability), a < b.
    pub(crate) pairs: Vec<(u32, u32, f64)>,
    pub(crate) left_over_u: Vec<Vec<f64>>,
    pub(crate) left_over_m: Vec<Vec<f64>>,
}

/// Pairs of members of two households of one family, each member in one pair at most, whose
/// probability within the family reaches `least`. `identity` is each record's identity so far;
/// `cannot_link` says which pairs may never be one person.
///
/// A pair's probability weighs it against the other members each could be and against
/// having no one there, with the share of members found again and how members of a family
/// compare learnt from the registry, from both sides ([`Alignment::both_views`]).
pub(crate) fn matched_members(
    ds: &Dataset,
    identity: &[u32],
    model: &Model,
    cannot_link: impl Fn(u32, u32) -> bool + Sync,
    least: f64,
) -> Matched {
    let scorer = model.scorer();
    let mut alignments: Vec<Alignment> = families(ds, identity)
        .par_iter()
        .filter_map(|&(h1, h2)| {
            let u = unmatched(ds, identity, h1, h2)?;
            let patterns = u
                .left
                .iter()
                .flat_map(|&a| u.right.iter().map(move |&b| (a, b)))
                .map(|(a, b)| {
                    (!cannot_link(a, b)).then(|| {
                        let (ra, rb) = (&ds.recs[a as usize], &ds.recs[b as usize]);
                        let p = compare(ds, ra, rb).with(HOUSEHOLD, MISSING);
                        (p, scorer.personal_adjustment(ds, ra, rb, p))
                    })
                })
                .collect();
            Some(Alignment {
                left: u.left,
                right: u.right,
                patterns,
                ratios: Vec::new(),
            })
        })
        .collect();
    let Learnt {
        shares,
        left_over_u,
        left_over_m,
    } = learn(&mut alignments, model);
    let pairs = alignments
        .par_iter()
        .flat_map_iter(|a| {
            let chance = a.both_views(shares[a.bucket()]);
            let width = a.right.len();
            let mut scored: Vec<(u32, u32, f64)> = (0..a.left.len())
                .flat_map(|i| (0..width).map(move |j| (i, j)))
                .filter(|&(i, j)| a.ratios[i * width + j].is_some())
                .map(|(i, j)| {
                    let (x, y) = ordered(a.left[i], a.right[j]);
                    (x, y, chance[i * width + j])
                })
                .filter(|&(_, _, p)| p >= least)
                .collect();
            // The likeliest first; each member is one person in the other registration at most.
            scored.sort_by(|x, y| y.2.total_cmp(&x.2).then((x.0, x.1).cmp(&(y.0, y.1))));
            let mut taken: Vec<u32> = Vec::new();
            scored.retain(|&(a, b, _)| {
                let free = !taken.contains(&a) && !taken.contains(&b);
                if free {
                    taken.extend([a, b]);
                }
                free
            });
            scored
        })
        .collect();
    Matched {
        pairs,
        left_over_u,
        left_over_m,
    }
}

/// Pairs of households (by dataset household index, smaller first) that share an identity,
/// each once, in order. Only households with two members or more: a single registration has
/// no one else to match.
fn families(ds: &Dataset, identity: &[u32]) -> Vec<(u32, u32)> {
    let mut by_identity: Vec<(u32, u32)> = (0..ds.len())
        .map(|i| (identity[i], ds.recs[i].household))
        .filter(|&(_, h)| ds.household_members[h as usize].len() > 1)
        .collect();
    by_identity.par_sort_unstable();
    by_identity.dedup();
    let mut pairs = Vec::new();
    for group in by_identity.chunk_by(|x, y| x.0 == y.0) {
        for (i, &(_, h1)) in group.iter().enumerate() {
            for &(_, h2) in &group[i + 1..] {
                pairs.push(ordered(h1, h2));
            }
        }
    }
    pairs.par_sort_unstable();
    pairs.dedup();
    pairs
}

/// The members of each household whose identity has no record in the other.
fn unmatched(ds: &Dataset, identity: &[u32], h1: u32, h2: u32) -> Option<Unmatched> {
    let members = |h: u32| &ds.household_members[h as usize];
    let alone = |own: u32, other: u32| -> Vec<u32> {
        members(own)
            .iter()
            .copied()
            .filter(|&x| {
                !members(other)
                    .iter()
                    .any(|&y| identity[y as usize] == identity[x as usize])
            })
            .collect()
    };
    let (left, right) = (alone(h1, h2), alone(h2, h1));
    (!left.is_empty() && !right.is_empty()).then_some(Unmatched { left, right })
}

#[cfg(test)]
mod tests {
    use super::{Alignment, family_prior, learn};
    use crate::compare::{
        DIFFERENT_NAME, DIFFERENT_SEX, FIELD_COUNT, MAX_LEVELS, MISSING, Pattern,
    };
    use crate::model::{Model, normalise};

    /// Two registrations' members left over, with each pair's evidence in bits.
    fn alignment(left: usize, right: usize, evidence: &[Option<f64>]) -> Alignment {
        Alignment {
            left: (0..left as u32).collect(),
            right: (100..100 + right as u32).collect(),
            patterns: evidence
                .iter()
                .map(|e| e.map(|_| (Pattern::default(), 0.0)))
                .collect(),
            ratios: evidence.iter().map(|e| e.map(f64::exp2)).collect(),
        }
    }

    const GIVEN: usize = 0;
    const BIRTH: usize = 4;
    const SEX: usize = 5;
    /// "2–3 years apart".
    const YEARS_APART: u8 = 3;

    /// A model whose u is even over every level, and m a neutral start.
    fn model() -> Model {
        Model::untrained(normalise(vec![vec![1.0; MAX_LEVELS]; FIELD_COUNT]), 0)
    }

    /// The same name, years and sex.
    fn alike() -> Pattern {
        Pattern::default()
            .with(GIVEN, 1)
            .with(BIRTH, 1)
            .with(SEX, 1)
    }

    /// Another name, a few years apart: a brother or sister.
    fn sibling(sex: u8) -> Pattern {
        Pattern::default()
            .with(GIVEN, DIFFERENT_NAME)
            .with(BIRTH, YEARS_APART)
            .with(SEX, sex)
    }

    /// Two registrations' members left over, compared as `patterns` row by row.
    fn compared(left: usize, right: usize, patterns: &[Pattern]) -> Alignment {
        Alignment {
            left: (0..left as u32).collect(),
            right: (100..100 + right as u32).collect(),
            patterns: patterns.iter().map(|&p| Some((p, 0.0))).collect(),
            ratios: Vec::new(),
        }
    }

    #[test]
    fn a_member_is_weighed_against_the_others_and_no_one() {
        let chances = |a: &Alignment| a.chances(0, true, 0.5).collect::<Vec<_>>();
        // One member alike, the other plainly not: the alike one is very likely.
        let clear = chances(&alignment(1, 2, &[Some(6.0), Some(-6.0)]));
        assert!(clear[0].1 > 0.95 && clear[1].1 < 0.01, "{clear:?}");
        // Two members equally alike: neither is more likely than not.
        let split = chances(&alignment(1, 2, &[Some(6.0), Some(6.0)]));
        assert!(
            split.iter().all(|&(_, c)| (0.45..0.5).contains(&c)),
            "{split:?}"
        );
        // A pair that may never be one person is no candidate, and no rival either.
        let barred = chances(&alignment(1, 2, &[None, Some(6.0)]));
        assert_eq!(barred.len(), 1);
        assert!(barred[0].1 > 0.95, "{barred:?}");
        // Seen from the other side, each right-hand member is weighed against the left's:
        // the middle one is alike to the second on the left only.
        let a = alignment(
            2,
            3,
            &[
                Some(-6.0),
                Some(-6.0),
                Some(6.0),
                Some(-6.0),
                Some(6.0),
                Some(-6.0),
            ],
        );
        let middle: Vec<_> = a.chances(1, false, 0.5).collect();
        assert_eq!(middle.len(), 2);
        assert!(middle[0].1 < 0.01 && middle[1].1 > 0.95, "{middle:?}");
        let first: Vec<_> = a.chances(0, false, 0.5).collect();
        assert!(first.iter().all(|&(_, c)| c < 0.01), "{first:?}");
    }

    #[test]
    fn a_pair_is_seen_from_both_sides() {
        // The one on the left is alike to both on the right; the second on the right is
        // alike to no one else.
        let a = alignment(1, 2, &[Some(6.0), Some(6.0)]);
        let row: Vec<_> = a.chances(0, true, 0.5).collect();
        let column: Vec<_> = a.chances(1, false, 0.5).collect();
        let both = a.both_views(0.5);
        assert!(row[1].1 < 0.5 && column[0].1 > 0.95, "{row:?} {column:?}");
        assert!((both[1] - (row[1].1 * column[0].1).sqrt()).abs() < 1e-12);
        assert!(both[1] > row[1].1 && both[1] < column[0].1, "{both:?}");
        // A pair that may never be one person has no chance computed.
        let barred = alignment(1, 2, &[None, Some(6.0)]).both_views(0.5);
        assert_eq!(barred[0], 1.0);
        assert!(barred[1] > 0.95, "{barred:?}");
    }

    #[test]
    fn the_share_found_again_is_learnt_from_the_families() {
        let model = model();
        let mut found: Vec<Alignment> = (0..50).map(|_| compared(1, 1, &[alike()])).collect();
        assert!(learn(&mut found, &model).shares[0] > 0.9);
        let mut gone: Vec<Alignment> = (0..50)
            .map(|_| compared(1, 1, &[sibling(DIFFERENT_SEX)]))
            .collect();
        assert!(learn(&mut gone, &model).shares[0] < 0.1);
        // Two left over on each side are learnt apart from one.
        let shares = learn(&mut [compared(2, 2, &[sibling(1); 4])], &model).shares;
        assert_eq!(
            shares[0], 0.5,
            "no family with one left over: the start stands"
        );
        assert!(shares[1] < 0.1, "{shares:?}");
    }

    #[test]
    fn what_is_left_over_in_families_is_learnt_from_them() {
        // Families with two members left over on each side: one a woman named by her relation
        // at one crossing point, the other a child whose name was written quite differently;
        // each of the same years and sex as before, the brother and sister apart.
        let model = model();
        let named_by_relation = Pattern::default().with(BIRTH, 1).with(SEX, 1);
        let renamed = Pattern::default()
            .with(GIVEN, DIFFERENT_NAME)
            .with(BIRTH, 1)
            .with(SEX, 1);
        let mut families: Vec<Alignment> = (0..200)
            .map(|_| {
                let apart = sibling(DIFFERENT_SEX);
                compared(2, 2, &[named_by_relation, apart, apart, renamed])
            })
            .collect();
        let learnt = learn(&mut families, &model);
        assert!(learnt.shares[1] > 0.9, "{:?}", learnt.shares);
        let within = Model {
            left_over_m: learnt.left_over_m,
            left_over_u: learnt.left_over_u,
            ..model.clone()
        };
        let table = within.left_over_table().expect("learnt");
        // Across the registry a missing name says nothing; among those left over in a family
        // it is what one person's two registrations show, and says so.
        assert_eq!(model.level_weight(GIVEN, MISSING), 0.0);
        assert!(table[GIVEN][MISSING as usize] > 1.0, "{:?}", table[GIVEN]);
        // A name written quite differently counts less against one person than across the
        // registry: those whose names agree were found already.
        let registry = model.level_weight(GIVEN, DIFFERENT_NAME);
        assert!(
            table[GIVEN][DIFFERENT_NAME as usize] > registry + 1.0,
            "{} against {registry}",
            table[GIVEN][DIFFERENT_NAME as usize]
        );
        // How one person's years and sex compare where both are known is the registry's.
        let present = |f: usize| 1.0 - within.left_over_m[f][0];
        assert!((within.left_over_m[BIRTH][1] / present(BIRTH) - model.m[BIRTH][1]).abs() < 1e-9);
        let sex = DIFFERENT_SEX as usize;
        assert!((within.left_over_m[SEX][sex] / present(SEX) - model.m[SEX][sex]).abs() < 1e-9);
    }

    #[test]
    fn the_prior_is_one_in_the_unmatched_at_best_even() {
        assert_eq!(family_prior(1), 0.0);
        assert_eq!(family_prior(2), 0.0);
        assert!((family_prior(5) - (0.25f64).log2()).abs() < 1e-12);
    }
}
