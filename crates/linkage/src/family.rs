//! Families registered twice: once two household registrations are found to be one family (a
//! member of each is one person), their other members are matched to each other.
//!
//! Across a whole registry, two records that share a sex and an age and little else are nearly
//! always two people. Within two registrations of one family they are nearly always one: a
//! wife recorded as "wife of Karim" at one crossing point and by her own name at another, a
//! child whose name a clerk garbled. Among the members not yet matched, the chance that two are
//! one person is about one in their number, not one in the registry's: with that prior, the
//! fields' evidence is weighed as everywhere else.

use rayon::prelude::*;

use crate::compare::{MISSING, compare};
use crate::dataset::Dataset;
use crate::model::{Scorer, probability};
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

/// Pairs of members of two households of one family, each member in one pair at most, whose
/// probability within the family reaches `least`: (a, b, probability), a < b. `identity` is
/// each record's identity so far; `cannot_link` says which pairs may never be one person.
pub(crate) fn matched_members(
    ds: &Dataset,
    identity: &[u32],
    scorer: &Scorer,
    cannot_link: impl Fn(u32, u32) -> bool + Sync,
    least: f64,
) -> Vec<(u32, u32, f64)> {
    families(ds, identity)
        .par_iter()
        .flat_map_iter(|&(h1, h2)| {
            let Some(u) = unmatched(ds, identity, h1, h2) else {
                return Vec::new();
            };
            let prior = family_prior(u.left.len().max(u.right.len()));
            let mut scored: Vec<(u32, u32, f64)> = u
                .left
                .iter()
                .flat_map(|&a| u.right.iter().map(move |&b| ordered(a, b)))
                .filter(|&(a, b)| !cannot_link(a, b))
                .map(|(a, b)| {
                    let (ra, rb) = (&ds.recs[a as usize], &ds.recs[b as usize]);
                    let p = compare(ds, ra, rb).with(HOUSEHOLD, MISSING);
                    (
                        a,
                        b,
                        probability(prior + scorer.personal_evidence(ds, ra, rb, p)),
                    )
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
    use super::family_prior;

    #[test]
    fn the_prior_is_one_in_the_unmatched_at_best_even() {
        assert_eq!(family_prior(1), 0.0);
        assert_eq!(family_prior(2), 0.0);
        assert!((family_prior(5) - (0.25f64).log2()).abs() < 1e-12);
    }
}
