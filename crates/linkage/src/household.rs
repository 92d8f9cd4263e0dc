//! Households compared as units: two registrations of one family linked by their members
//! together, where no single member would be.
//!
//! Among a million returnees many men share a given name, a father's name, a birth year and a
//! province: one member's evidence no longer outweighs the prior, and every member of a family
//! registered twice stays unlinked. A family of five whose names and ages all agree does not
//! repeat. So the candidate pairs that join two households are taken together: their members
//! are aligned one to one (the likeliest pairs first), and the two households are judged as one
//! family on the best member's evidence plus what each further aligned member has of their own
//! (given name, birth, sex, document). What the members share as a family (father's and
//! grandfather's name, province, phone) counts for once, with the best member, when it agrees:
//! a second child with the same father's name says nothing new about the father. When it
//! disagrees it counts against every time: two Nur Rahmans of sixteen whose fathers' names
//! differ are two boys of two families.
//!
//! The prior that two households are one family is learnt from the registry the way the
//! person prior is: the fixed point of "the expected number of families registered twice
//! among the household pairs, over all household pairs". Linked families link their aligned
//! members, each with the probability that the two households are one family times the
//! probability, within the family, that the two members are one person.

use rayon::prelude::*;

use crate::compare::{DIFFERENT_NAME, Field, MISSING, Pattern, compare};
use crate::dataset::{Dataset, Rec};
use crate::family::family_prior;
use crate::model::{Scorer, probability};
use crate::{HOUSEHOLD, ordered};

/// A member pair below this much evidence (in bits, without the prior) is not a member of
/// an alignment: it is a namesake, not a relative registered again.
const LEAST_MEMBER_EVIDENCE: f32 = 8.0;
/// Two households joined by one candidate pair with this much evidence (in bits, without the
/// prior) are still compared as units: every member of one is set against every member of
/// the other. The others may share no blocking key with their earlier registration (a
/// Halima born in 2016 among a million, walked past; a name garbled on one side), and a
/// family whose one member alone nearly outweighs the prior is worth that look. At a
/// million people on the second generator, 14 bits instead gained as much for more time.
const LONE_MEMBER_EVIDENCE: f32 = 18.0;
/// A further aligned member must have at least this much evidence of their own: a second
/// "Mohammad, born some year" in both families is no sign that they are one.
const LEAST_PERSONAL_EVIDENCE: f64 = 3.0;
/// The least evidence against two registrations being one family, in bits, for each member
/// of the smaller that has no one in the larger. The cost is learnt from the registry (see
/// [`unaligned_cost`]) and never less: members join and leave (a father registered alone, a
/// son married away), but a family of seven of which two members match is less likely one
/// family than a family of two of which both do.
pub(crate) const LEAST_UNALIGNED_BITS: f64 = 1.0;
/// And never more: a family that split in half is still one family.
const MOST_UNALIGNED_BITS: f64 = 4.0;
/// Two registrations are taken for one family at this probability or above. Far surer than
/// a person link: a wrong family link joins several people at once, and the members' evidence
/// is not independent (they are chosen as the best of many pairs, and a family's children
/// share a father's name with any namesake's), so the family's probability is overconfident
/// in its middle range. Below it, the members are judged one by one as before. On the second
/// generator, 0.999 instead gave a million people precision 0.996 and recall 0.655; 0.99 gives
/// 0.988 and 0.688, and 100,000 people the same F1 either way.
pub(crate) const FAMILY_LINK: f64 = 0.99;
/// Members of a household looked at: no family is larger, and a larger "household" is a
/// group registration that says nothing of kinship.
pub(crate) const MAX_MEMBERS: usize = 20;

/// Two households judged as one family.
#[derive(Debug, Clone)]
pub(crate) struct HouseholdMatch {
    /// The aligned members, (record, record, probability within the family), record pairs
    /// ordered smaller first.
    pub members: Aligned,
    /// The evidence that the two are one family, in bits, without the prior and without
    /// what the unaligned members count against.
    pub evidence: f64,
    /// Members of the smaller registration with no one in the larger.
    pub unaligned: usize,
    /// Members of the smaller registration.
    pub smaller: usize,
    /// The probability that the two households are one family.
    pub probability: f64,
}

/// Aligned members of two registrations of a family: (member of the one, member of the
/// other, probability within the family that the two are one person).
pub(crate) type Aligned = Vec<(u32, u32, f64)>;

/// A member pair that may be the same person in two households: `a` of the first, `b` of
/// the second.
#[derive(Clone, Copy)]
struct MemberPair {
    households: (u32, u32),
    evidence: f32,
    a: u32,
    b: u32,
}

/// The household pairs joined by two candidate member pairs or more, or by one strong one
/// ([`LONE_MEMBER_EVIDENCE`]), each scored as a family, the prior that two households are one
/// family, and what a member missing counts against it (see
/// [`unaligned_cost`]). `pairs` are the candidate pairs and `weights` their weights without
/// household context, with the person prior `person_prior`; `cannot_link` says which record pairs may
/// never be one person.
pub(crate) fn household_matches(
    ds: &Dataset,
    pairs: &[(u32, u32)],
    weights: &[f32],
    person_prior: f64,
    scorer: &Scorer,
    cannot_link: impl Fn(u32, u32) -> bool + Sync,
) -> (Vec<HouseholdMatch>, f64, f64) {
    let size = |r: u32| ds.household_members[ds.recs[r as usize].household as usize].len();
    let family_sized = |r: u32| (2..=MAX_MEMBERS).contains(&size(r));
    let least = (person_prior + f64::from(LEAST_MEMBER_EVIDENCE)) as f32;
    let mut members: Vec<MemberPair> = pairs
        .par_iter()
        .zip(weights.par_iter())
        .filter(|&(&(a, b), &w)| {
            w >= least && family_sized(a) && family_sized(b) && !cannot_link(a, b)
        })
        .map(|(&(a, b), &w)| {
            let e = (f64::from(w) - person_prior) as f32;
            let (ha, hb) = (ds.recs[a as usize].household, ds.recs[b as usize].household);
            // Oriented: `a` is a member of the first household.
            let (a, b) = if ha <= hb { (a, b) } else { (b, a) };
            MemberPair {
                households: ordered(ha, hb),
                evidence: e,
                a,
                b,
            }
        })
        .collect();
    members.par_sort_unstable_by(|x, y| {
        x.households
            .cmp(&y.households)
            .then(y.evidence.total_cmp(&x.evidence))
            .then((x.a, x.b).cmp(&(y.a, y.b)))
    });
    let mut groups: Vec<&[MemberPair]> = members
        .chunk_by(|x, y| x.households == y.households)
        .filter(|g| g.len() > 1 || g[0].evidence >= LONE_MEMBER_EVIDENCE)
        .collect();
    groups.shrink_to_fit();
    let mut matches: Vec<HouseholdMatch> = groups
        .par_iter()
        .filter_map(|group| align(ds, group, scorer, &cannot_link))
        .collect();
    // The prior: how many household pairs are one family, over all pairs of households of
    // two or more.
    let families = ds
        .household_members
        .iter()
        .filter(|m| (2..=MAX_MEMBERS).contains(&m.len()))
        .count() as f64;
    let all_pairs = (families * (families - 1.0) / 2.0).max(1.0);
    let (lambda, bits) = unaligned_cost(&matches, all_pairs);
    let prior = (lambda / (1.0 - lambda)).log2();
    for m in &mut matches {
        m.probability = probability(prior + less_unaligned(m.evidence, m.unaligned, bits));
    }
    (matches, lambda, bits)
}

/// A family's evidence without its unaligned members' cost (`evidence`), less `bits` for each
/// of the `unaligned`.
pub(crate) fn less_unaligned(evidence: f64, unaligned: usize, bits: f64) -> f64 {
    evidence - bits * unaligned as f64
}

/// The prior that two households are one family, and what each member of the smaller with no
/// one in the larger counts against it, in bits, learnt together from the scored household
/// pairs (`matches`) among `all_pairs`: of the members of families registered twice, how many
/// came again, each family weighed by its probability. Unrelated households that align at all
/// align few members: against them a member missing is nearly certain.
fn unaligned_cost(matches: &[HouseholdMatch], all_pairs: f64) -> (f64, f64) {
    let mut bits = LEAST_UNALIGNED_BITS;
    let mut lambda = 0.0;
    for _ in 0..20 {
        lambda = household_prior(
            matches
                .iter()
                .map(|m| less_unaligned(m.evidence, m.unaligned, bits)),
            all_pairs,
        );
        let prior = (lambda / (1.0 - lambda)).log2();
        let (missing, members) = matches.iter().fold((0.0, 0.0), |(x, y), m| {
            let p = probability(prior + less_unaligned(m.evidence, m.unaligned, bits));
            (x + p * m.unaligned as f64, y + p * m.smaller as f64)
        });
        let share = if members > 0.0 {
            missing / members
        } else {
            1.0
        };
        let next = (-share.max(1e-9).log2()).clamp(LEAST_UNALIGNED_BITS, MOST_UNALIGNED_BITS);
        let settled = (next - bits).abs() < 0.01;
        bits = next;
        if settled {
            break;
        }
    }
    (lambda, bits)
}

/// The best one-to-one alignment of two households' members, and its evidence: none unless
/// two members align. `group` are the household pair's candidate pairs: they say that the two
/// are worth comparing; then every member of one is set against every member of the other, so
/// that a child whose name no blocking key shared still takes their place in the family.
fn align(
    ds: &Dataset,
    group: &[MemberPair],
    scorer: &Scorer,
    cannot_link: &(impl Fn(u32, u32) -> bool + Sync),
) -> Option<HouseholdMatch> {
    let (h1, h2) = group[0].households;
    let (m1, m2) = (
        &ds.household_members[h1 as usize],
        &ds.household_members[h2 as usize],
    );
    let mut scored: Vec<MemberEvidence> = m1
        .iter()
        .flat_map(|&a| m2.iter().map(move |&b| (a, b)))
        .filter(|&(a, b)| !cannot_link(a, b))
        .map(|(a, b)| {
            let (ra, rb) = (&ds.recs[a as usize], &ds.recs[b as usize]);
            let p = compare(ds, ra, rb).with(HOUSEHOLD, MISSING);
            MemberEvidence::new(ds, scorer, (a, ra), (b, rb), p)
        })
        .collect();
    let sizes = (m1.len(), m2.len());
    let (members, evidence, unaligned) = alignment(&mut scored, sizes);
    (members.len() >= 2).then(|| HouseholdMatch {
        members: members
            .into_iter()
            .map(|(a, b, p)| {
                let (a, b) = ordered(a, b);
                (a, b, p)
            })
            .collect(),
        evidence,
        unaligned,
        smaller: sizes.0.min(sizes.1),
        probability: 0.0,
    })
}

/// Two members of two registrations as an alignment weighs them: `a` of the one, `b` of the
/// other.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MemberEvidence {
    pub a: u32,
    pub b: u32,
    /// The pair's evidence, in bits, without the prior and without household context.
    pub full: f64,
    /// What the pair has of its own (see [`Field::personal`]), in bits; none when one has no
    /// given name or the two are plainly different: a member is aligned by name, not by an
    /// age and a sex that many children share. A name garbled (Sahsr for سحر, نگس for Nargis)
    /// still says a little, and is weighed with the rest of what is their own.
    pub own: f64,
    /// One of the two has no given name of their own ("wife of Karim", "Bibi", a blank).
    pub unnamed: bool,
}

impl MemberEvidence {
    /// The pair `a`, `b` (records `ra`, `rb`), compared without household context as `p`.
    pub(crate) fn new(
        ds: &Dataset,
        scorer: &Scorer,
        (a, ra): (u32, &Rec),
        (b, rb): (u32, &Rec),
        p: Pattern,
    ) -> MemberEvidence {
        let given = p.level(Field::GivenName as usize);
        let own = if given == MISSING || given == DIFFERENT_NAME {
            f64::NEG_INFINITY
        } else {
            scorer.personal_evidence(ds, ra, rb, p)
        };
        MemberEvidence {
            a,
            b,
            full: scorer.evidence(ds, ra, rb, p),
            own,
            unnamed: given == MISSING,
        }
    }
}

/// The one-to-one alignment of two registrations' members, from their pairs (sorted here, best
/// `full` evidence first), for registrations of `sizes` members: the aligned pairs with the
/// probability within the family that they are one person, the evidence that the two are
/// one family, in bits, without the prior and the unaligned members' cost, and how many
/// members of the smaller have no one in the larger.
///
/// The first (best) member brings what the family shares; each further one what is their
/// own, and any disagreement in what the family shares. A further member is the best of all
/// the pairs of members still unaligned, so what two strangers would show by chance in the
/// best of that many pairs is taken off: among seven children and seven children some girl
/// is born in the same year as some girl; a family of six whose names and ages agree stands
/// far above that.
pub(crate) fn alignment(
    pairs: &mut [MemberEvidence],
    sizes: (usize, usize),
) -> (Aligned, f64, usize) {
    pairs.sort_by(|x, y| y.full.total_cmp(&x.full).then((x.a, x.b).cmp(&(y.a, y.b))));
    let pairs = &*pairs;
    let within = family_prior(sizes.0.max(sizes.1));
    let (mut left, mut right) = (Vec::new(), Vec::new());
    let mut aligned = Vec::new();
    let mut evidence = 0.0;
    for m in pairs {
        // The first member must be likely someone of the other registration on their own
        // evidence; a further one only by what is their own.
        let first = aligned.is_empty();
        if (first && m.full < f64::from(LEAST_MEMBER_EVIDENCE))
            || m.own < LEAST_PERSONAL_EVIDENCE
            || left.contains(&m.a)
            || right.contains(&m.b)
        {
            continue;
        }
        evidence += if first {
            m.full
        } else {
            let unaligned =
                sizes.0.saturating_sub(left.len()) * sizes.1.saturating_sub(right.len());
            let own = m.own - (unaligned.max(1) as f64).log2();
            if own <= 0.0 {
                continue;
            }
            own + (m.full - m.own).min(0.0)
        };
        left.push(m.a);
        right.push(m.b);
        aligned.push((m.a, m.b, probability(within + m.own)));
    }
    // A member left over with no name of their own ("wife of Karim", "Bibi") has nothing to be
    // aligned by: where someone left over in the other registration could be them (nothing
    // in their fields says otherwise), that is no sign that they did not come again. Counted
    // missing, they made a family whose women are named by their relation to a man less
    // likely one family than any other.
    let mut unreadable = 0;
    if !aligned.is_empty() {
        for m in pairs {
            if m.unnamed && m.full >= 0.0 && !left.contains(&m.a) && !right.contains(&m.b) {
                left.push(m.a);
                right.push(m.b);
                unreadable += 1;
            }
        }
    }
    // Members of the smaller registration with no one in the larger: a family that
    // re-registers brings most of its members again.
    let missing = sizes
        .0
        .min(sizes.1)
        .saturating_sub(aligned.len() + unreadable);
    (aligned, evidence, missing)
}

/// The prior that two households are one family: the fixed point of the expected
/// number of families among the scored household pairs over all household pairs.
pub(crate) fn household_prior(evidence: impl Iterator<Item = f64>, all_pairs: f64) -> f64 {
    let ratios: Vec<f64> = evidence.map(|e| e.min(200.0).exp2()).collect();
    let mut lambda = 1.0 / all_pairs;
    for _ in 0..100 {
        let odds = lambda / (1.0 - lambda);
        let expected: f64 = ratios.iter().map(|&r| odds * r / (1.0 + odds * r)).sum();
        let next = (expected / all_pairs).clamp(1e-15, 0.5);
        if ((next - lambda) / lambda).abs() < 1e-6 {
            lambda = next;
            break;
        }
        lambda = next;
    }
    lambda
}

#[cfg(test)]
mod tests {
    use super::{MemberEvidence, alignment, household_prior};

    fn pair(a: u32, b: u32, full: f64, own: Option<f64>) -> MemberEvidence {
        MemberEvidence {
            a,
            b,
            full,
            own: own.unwrap_or(f64::NEG_INFINITY),
            unnamed: own.is_none(),
        }
    }

    #[test]
    fn a_member_with_no_name_of_her_own_is_not_counted_missing() {
        // Two daughters align by name; the mother is "wife of Abdul Basir" in one registration
        // and Zainab in the other, alike in all but a name there is none of on one side.
        let daughters = [pair(1, 11, 20.0, Some(12.0)), pair(2, 12, 18.0, Some(12.0))];
        let mother = pair(0, 10, 2.0, None);
        let mut pairs = daughters.to_vec();
        pairs.push(mother);
        let (aligned, evidence, missing) = alignment(&mut pairs, (3, 3));
        assert_eq!(aligned.len(), 2);
        assert_eq!(missing, 0);
        // Evidence is only what the named members bring.
        assert_eq!(evidence, alignment(&mut daughters.clone(), (3, 3)).1);
        // Where her fields say she is someone else (another age), she is missing.
        let mut pairs = daughters.to_vec();
        pairs.push(pair(0, 10, -6.0, None));
        assert_eq!(alignment(&mut pairs, (3, 3)).2, 1);
        // A member whose name is plainly different is missing too: a name says who she is.
        let mut pairs = daughters.to_vec();
        pairs.push(MemberEvidence {
            unnamed: false,
            ..mother
        });
        assert_eq!(alignment(&mut pairs, (3, 3)).2, 1);
        // And no one is taken for anyone while no named member aligns.
        assert_eq!(alignment(&mut [mother], (3, 3)).2, 3);
    }

    #[test]
    fn the_household_prior_is_the_share_of_families_found() {
        // A thousand household pairs with overwhelming evidence among a million: a thousandth.
        let prior = household_prior(std::iter::repeat_n(80.0, 1000), 1e6);
        assert!((prior - 1e-3).abs() < 1e-6, "{prior}");
        // Evidence that cannot outweigh any prior finds nothing.
        let prior = household_prior(std::iter::repeat_n(1.0, 1000), 1e12);
        assert!(prior < 1e-9, "{prior}");
    }
}
