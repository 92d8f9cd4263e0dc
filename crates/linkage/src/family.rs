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

use rayon::prelude::*;

use crate::compare::{MISSING, compare};
use crate::dataset::Dataset;
use crate::model::Scorer;
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
/// likelihood ratio of each pair of them (two to the power of its evidence, without prior), row
/// by row; `None` where the two may never be one person.
struct Alignment {
    left: Vec<u32>,
    right: Vec<u32>,
    ratios: Vec<Option<f64>>,
}

impl Alignment {
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

/// The share of unmatched members who have someone in the other registration, for each
/// bucket: the fixed point of "the expected share of members matched, given the share", as
/// the person prior is learnt.
fn learn_shares(alignments: &[Alignment]) -> [f64; SHARE_BUCKETS] {
    let mut shares = [0.5; SHARE_BUCKETS];
    // Each round moves the shares less; thirty are many more than they need to settle within a
    // thousandth, and the loop stops as soon as they have.
    for _ in 0..30 {
        let before = shares;
        let sums = alignments
            .par_iter()
            .fold(
                || [(0.0, 0.0); SHARE_BUCKETS],
                |mut acc, a| {
                    let share = shares[a.bucket()];
                    let (found, members) = &mut acc[a.bucket()];
                    for (by_row, n) in [(true, a.left.len()), (false, a.right.len())] {
                        for i in 0..n {
                            *found += a.chances(i, by_row, share).map(|(_, c)| c).sum::<f64>();
                            *members += 1.0;
                        }
                    }
                    acc
                },
            )
            .reduce(
                || [(0.0, 0.0); SHARE_BUCKETS],
                |mut x, y| {
                    for (a, b) in x.iter_mut().zip(y) {
                        a.0 += b.0;
                        a.1 += b.1;
                    }
                    x
                },
            );
        for (share, (found, members)) in shares.iter_mut().zip(sums) {
            if members > 0.0 {
                // Never certain either way: a member may always have joined or left.
                *share = (found / members).clamp(0.01, 0.99);
            }
        }
        if shares.iter().zip(before).all(|(s, b)| (s - b).abs() < 1e-4) {
            break;
        }
    }
    shares
}

/// Pairs of members of two households of one family, each member in one pair at most, whose
/// probability within the family reaches `least`: (a, b, probability), a < b. `identity` is
/// each record's identity so far; `cannot_link` says which pairs may never be one person.
///
/// A pair's probability weighs it against the other members each could be and against
/// having no one there, with the share of members found again learnt from the registry, from
/// both sides ([`Alignment::both_views`]).
pub(crate) fn matched_members(
    ds: &Dataset,
    identity: &[u32],
    scorer: &Scorer,
    cannot_link: impl Fn(u32, u32) -> bool + Sync,
    least: f64,
) -> Vec<(u32, u32, f64)> {
    let alignments: Vec<Alignment> = families(ds, identity)
        .par_iter()
        .filter_map(|&(h1, h2)| {
            let u = unmatched(ds, identity, h1, h2)?;
            let ratios = u
                .left
                .iter()
                .flat_map(|&a| u.right.iter().map(move |&b| (a, b)))
                .map(|(a, b)| {
                    (!cannot_link(a, b)).then(|| {
                        let (ra, rb) = (&ds.recs[a as usize], &ds.recs[b as usize]);
                        let p = compare(ds, ra, rb).with(HOUSEHOLD, MISSING);
                        scorer.personal_evidence(ds, ra, rb, p).exp2()
                    })
                })
                .collect();
            Some(Alignment {
                left: u.left,
                right: u.right,
                ratios,
            })
        })
        .collect();
    let shares = learn_shares(&alignments);
    alignments
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
        .collect()
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
    use super::{Alignment, family_prior, learn_shares};

    /// Two registrations' members left over, with each pair's evidence in bits.
    fn alignment(left: usize, right: usize, evidence: &[Option<f64>]) -> Alignment {
        Alignment {
            left: (0..left as u32).collect(),
            right: (100..100 + right as u32).collect(),
            ratios: evidence.iter().map(|e| e.map(f64::exp2)).collect(),
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
        let found: Vec<Alignment> = (0..50).map(|_| alignment(1, 1, &[Some(12.0)])).collect();
        assert!(learn_shares(&found)[0] > 0.95);
        let gone: Vec<Alignment> = (0..50).map(|_| alignment(1, 1, &[Some(-12.0)])).collect();
        assert!(learn_shares(&gone)[0] < 0.05);
        // Two left over on each side are learnt apart from one.
        let shares = learn_shares(&[alignment(2, 2, &[Some(-12.0); 4])]);
        assert_eq!(
            shares[0], 0.5,
            "no family with one left over: the start stands"
        );
        assert!(shares[1] < 0.05);
    }

    #[test]
    fn the_prior_is_one_in_the_unmatched_at_best_even() {
        assert_eq!(family_prior(1), 0.0);
        assert_eq!(family_prior(2), 0.0);
        assert!((family_prior(5) - (0.25f64).log2()).abs() < 1e-12);
    }
}
