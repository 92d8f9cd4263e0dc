//! Which pairs of records are worth comparing at all.
//!
//! Comparing every pair of a million records is half a trillion comparisons; true duplicates
//! almost always share something simple. Each rule gives a record a few keys, and records that
//! share a key under some rule become candidate pairs:
//!
//! - given name × father's name (the phonetic keys of each, every combination, either way
//!   round);
//! - given name × five-year birth bucket (a father's name left out or garbled);
//! - father's name × grandfather's name × sex, and father's name × birth bucket × sex (a given
//!   name garbled beyond recognition);
//! - a full date of birth (not a 1 January default), walked by family then given name: a
//!   name garbled or missing on one side and a typo in the document leave little else;
//! - document number; phone number (a record's own, or else its family's).
//!
//! A large bucket (a very common name in a common year) is walked in an order that puts likely
//! matches next to each other, and each record is paired only with its near neighbours; how many
//! buckets were walked this way is reported. Records registered together in one household are
//! never paired: they are different people.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use rayon::prelude::*;

use crate::dataset::{Dataset, NameField, Rec, hash_of};

/// What blocking found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct BlockingStats {
    pub candidate_pairs: u64,
    pub buckets_over_cap: u64,
    pub records_in_buckets_over_cap: u64,
}

/// Marks the walking order of a broad rule's key, whose large buckets get a narrower window.
const BROAD: u64 = 1 << 63;

/// Every key a record has, under every rule, each with the order in which records of one large
/// bucket are walked: by what the rule does not already share (birth year for a name rule,
/// father's name for a birth rule), so that neighbours in the walk are the likeliest matches.
pub(crate) fn record_keys(ds: &Dataset, r: &Rec, out: &mut Vec<(u64, u64)>) {
    let keys = |f: NameField| r.name(f).map_or(&[][..], |n| &ds.name_info(n).keys[..]);
    let sort_key = |f: NameField| r.name(f).map_or(u32::MAX, |n| ds.name_info(n).order);
    let birth = r.birth().map_or(0u64, |(lo, _)| lo as u16 as u64);
    // The primary part keeps below the BROAD bit.
    let order =
        |primary: u64, secondary: u32| ((primary & 0x7FFF_FFFF) << 32) | u64::from(secondary);
    // Five-year birth buckets: the broad rules (a name and a birth period), walked with a
    // narrower window (see `BROAD`).
    let buckets = r.birth().map(|(lo, hi)| lo / 5..=hi / 5);
    // They are there for a father's or given name garbled beyond its key, so walking by that
    // name would scatter the very pairs they are for: they walk by birth year, then family
    // name.
    let broad_walk = BROAD | order(birth, sort_key(NameField::Family));
    let father = keys(NameField::Father);
    for &g in keys(NameField::Given) {
        for &f in father {
            // Either way round: a given and father's name typed in each other's boxes still
            // meet (see `compare::swapped_names`).
            out.push((
                hash_of((1u8, g.min(f), g.max(f))),
                order(birth, sort_key(NameField::Grandfather)),
            ));
        }
        for bucket in buckets.clone().into_iter().flatten() {
            out.push((hash_of((2u8, g, bucket)), broad_walk));
        }
    }
    if r.sex != 0 {
        for &f in father {
            for &gf in keys(NameField::Grandfather) {
                out.push((
                    hash_of((3u8, f, gf, r.sex)),
                    order(birth, sort_key(NameField::Given)),
                ));
            }
            for bucket in buckets.clone().into_iter().flatten() {
                out.push((hash_of((6u8, f, bucket, r.sex)), broad_walk));
            }
        }
    }
    if r.birth_day != 0 {
        out.push((
            hash_of((11u8, r.birth_day)),
            order(
                u64::from(sort_key(NameField::Family)),
                sort_key(NameField::Given),
            ),
        ));
    }
    if r.document != 0 {
        out.push((hash_of((4u8, r.document)), 0));
    }
    if r.phone != 0 {
        out.push((hash_of((5u8, r.phone)), 0));
    }
    // The family's phone where the record gives none, with the sex and birth period: a son
    // registering alone gives the number typed on his father's row at the family's
    // registration, and his name alone, among a million, often shares only a key too common
    // to walk far. Narrowed so that his brothers and sisters are not all paired with him.
    let phone = ds.family_phone(r);
    if phone != 0 && r.sex != 0 {
        for bucket in buckets.clone().into_iter().flatten() {
            out.push((hash_of((15u8, phone, r.sex, bucket)), 0));
        }
    }
}

/// Keys only searches use: a given name with the family name, the province of origin or the
/// sex, a father's name with the province and sex, and a given name's slip keys with the
/// father's name or with the province, sex and birth period. A relative often knows no more than a
/// name and where the family is from, and such a request has no key under the deduplication
/// rules, which all need a father's name with a second name or a birth period; and a given
/// name mistyped at either end leaves only the father's name to find the person by.
/// Deduplication does not use them: two registrations nearly always share more.
fn search_keys(ds: &Dataset, r: &Rec, out: &mut Vec<u64>) {
    let keys = |f: NameField| r.name(f).map_or(&[][..], |n| &ds.name_info(n).keys[..]);
    let buckets = r.birth().map(|(lo, hi)| lo / 5..=hi / 5);
    let (province, sex) = (u64::from(r.province), u64::from(r.sex));
    if r.province != 0 && r.sex != 0 {
        for &f in keys(NameField::Father) {
            out.push(hash_of((10u8, f, province, sex)));
            // The same narrowed by birth period: among a million people the father's name,
            // province and sex alone are shared by more than a search reads.
            for bucket in buckets.clone().into_iter().flatten() {
                out.push(hash_of((14u8, f, province, sex, bucket)));
            }
        }
    }
    for &g in keys(NameField::Given) {
        for &f in keys(NameField::Family) {
            out.push(hash_of((7u8, g, f)));
        }
        if r.province != 0 {
            out.push(hash_of((8u8, g, province)));
        }
        if r.sex != 0 {
            out.push(hash_of((9u8, g, sex)));
            // A request that gives little more than a name, a sex, an age and a province
            // (a relative's memory of a child): the broad keys above outgrow what a search
            // reads once the registry holds a million people; these stay small.
            if r.province != 0 {
                out.push(hash_of((12u8, g, sex, province)));
            }
            for bucket in buckets.clone().into_iter().flatten() {
                out.push(hash_of((13u8, g, sex, bucket)));
            }
        }
    }
    // A given name one slip from the registration's (a letter dropped or misheard) shares
    // none of the keys above with it, and a father's name as common as Mohammad, the only
    // other key, fills a bucket too large to read. Its slip keys narrowed by the father's
    // name stay small; for a request that gives no father's name, so do they narrowed by the
    // sex, the province and an age together.
    let slips = r
        .name(NameField::Given)
        .map_or(&[][..], |n| &ds.name_info(n).slips[..]);
    for &s in slips {
        for &f in keys(NameField::Father) {
            out.push(hash_of((17u8, s, f)));
        }
        if r.province != 0 && r.sex != 0 {
            for bucket in buckets.clone().into_iter().flatten() {
                out.push(hash_of((16u8, s, province, sex, bucket)));
            }
        }
    }
}

/// A record's keys under every rule, search rules included, each once, without their walking
/// order: what the matcher indexes and looks up.
fn distinct_keys(ds: &Dataset, r: &Rec) -> Vec<u64> {
    let mut keyed = Vec::with_capacity(24);
    record_keys(ds, r, &mut keyed);
    let mut keys: Vec<u64> = keyed.into_iter().map(|(key, _)| key).collect();
    search_keys(ds, r, &mut keys);
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The keys a record is indexed by and a probe (a request, a registration being checked) is
/// looked up by: its own, and where it does not say the sex (a relative unsure, a clerk's
/// blank) those it would have with either, so that the keys that need a sex still meet.
pub(crate) fn lookup_keys(ds: &Dataset, r: &Rec) -> Vec<u64> {
    let mut keys = distinct_keys(ds, r);
    if r.sex == 0 {
        for sex in [1, 2] {
            keys.extend(distinct_keys(ds, &Rec { sex, ..*r }));
        }
        keys.sort_unstable();
        keys.dedup();
    }
    keys
}

/// All candidate pairs `(a, b)` with `a < b`, sorted and without repeats. A bucket of up to
/// `window + 1` records gives all its pairs; a larger one pairs each record with the `window`
/// records either side of it in the bucket's walking order, so work grows with the registry,
/// not with its square.
///
/// Each record gathers its own partners from every bucket it is in and keeps those after it:
/// the pairs come out in order, each once, without sorting a hundred million of them.
pub(crate) fn candidate_pairs(ds: &Dataset, window: usize) -> (Vec<(u32, u32)>, BlockingStats) {
    let mut keyed: Vec<(u64, u64, u32)> = (0..ds.len() as u32)
        .into_par_iter()
        .flat_map_iter(|i| {
            let mut keys = Vec::with_capacity(24);
            record_keys(ds, &ds.recs[i as usize], &mut keys);
            keys.sort_unstable();
            keys.dedup_by_key(|k| k.0);
            keys.into_iter().map(move |(k, order)| (k, order, i))
        })
        .collect();
    keyed.par_sort_unstable();
    let (neighbourhoods, stats) = Neighbourhoods::new(ds, &keyed, window);
    drop(keyed);

    let records = ds.len() as u32;
    let pairs: Vec<(u32, u32)> = (0..records.div_ceil(PAIRING_BLOCK))
        .into_par_iter()
        .flat_map_iter(|block| {
            let mut pairs = Vec::new();
            let mut partners = Vec::new();
            let first = block * PAIRING_BLOCK;
            for a in first..records.min(first + PAIRING_BLOCK) {
                neighbourhoods.partners(ds, a, &mut partners);
                pairs.extend(partners.iter().map(|&b| (a, b)));
            }
            pairs
        })
        .collect();
    let stats = BlockingStats {
        candidate_pairs: pairs.len() as u64,
        ..stats
    };
    (pairs, stats)
}

/// Records whose pairs one task gathers.
const PAIRING_BLOCK: u32 = 1024;

/// A record in a bucket, with its household: records of one household are never paired, and
/// reading each neighbour's record to know it waited on memory.
#[derive(Debug, Clone, Copy)]
struct Member {
    record: u32,
    household: u32,
}

/// The buckets' members in walking order, and for each record, the stretch of every bucket it
/// is in that is within the window of it.
struct Neighbourhoods {
    members: Vec<Member>,
    /// Record `r`'s stretches are `stretches[start[r]..start[r + 1]]`.
    start: Vec<u32>,
    stretches: Vec<(u32, u32)>,
}

impl Neighbourhoods {
    /// From keys sorted by key then walking order.
    fn new(ds: &Dataset, keyed: &[(u64, u64, u32)], window: usize) -> (Self, BlockingStats) {
        let mut stats = BlockingStats::default();
        let mut buckets = Vec::new();
        let mut at = 0;
        for bucket in keyed.chunk_by(|a, b| a.0 == b.0) {
            if bucket.len() > 1 {
                if bucket.len() > window + 1 {
                    stats.buckets_over_cap += 1;
                    stats.records_in_buckets_over_cap += bucket.len() as u64;
                }
                buckets.push(at..at + bucket.len());
            }
            at += bucket.len();
        }
        let members: Vec<Member> = keyed
            .par_iter()
            .map(|&(_, _, record)| Member {
                record,
                household: ds.recs[record as usize].household,
            })
            .collect();

        let mut start = vec![0u32; ds.len() + 1];
        for bucket in &buckets {
            for &(_, _, record) in &keyed[bucket.clone()] {
                start[record as usize + 1] += 1;
            }
        }
        for r in 0..ds.len() {
            start[r + 1] += start[r];
        }
        // Filled in parallel: each record's stretches in any order, each claiming the next
        // free place of its record.
        let next: Vec<AtomicU32> = start[..ds.len()]
            .iter()
            .map(|&s| AtomicU32::new(s))
            .collect();
        let stretches: Vec<AtomicU64> = (0..start[ds.len()]).map(|_| AtomicU64::new(0)).collect();
        buckets.par_iter().for_each(|bucket| {
            let broad = keyed[bucket.start].1 & BROAD != 0;
            let window = if broad { window / 4 } else { window };
            for at in bucket.clone() {
                let lo = at.saturating_sub(window).max(bucket.start);
                let hi = (at + window + 1).min(bucket.end);
                let place = next[keyed[at].2 as usize].fetch_add(1, Ordering::Relaxed);
                stretches[place as usize].store(((lo as u64) << 32) | hi as u64, Ordering::Relaxed);
            }
        });
        let stretches = stretches
            .into_par_iter()
            .map(|s| {
                let s = s.into_inner();
                ((s >> 32) as u32, s as u32)
            })
            .collect();
        let neighbourhoods = Neighbourhoods {
            members,
            start,
            stretches,
        };
        (neighbourhoods, stats)
    }

    /// The records after `a` within the window of it in any bucket, not of its household,
    /// sorted, each once.
    fn partners(&self, ds: &Dataset, a: u32, out: &mut Vec<u32>) {
        let household = ds.recs[a as usize].household;
        let r = a as usize;
        let stretches = &self.stretches[self.start[r] as usize..self.start[r + 1] as usize];
        let most: usize = stretches.iter().map(|&(lo, hi)| (hi - lo) as usize).sum();
        out.clear();
        out.resize(most, 0);
        // Every member is written and kept or not by moving on: half of them are before `a`
        // in no order, and a branch on it was mispredicted half of the time.
        let mut kept = 0;
        for &(lo, hi) in stretches {
            for m in &self.members[lo as usize..hi as usize] {
                out[kept] = m.record;
                kept += usize::from(m.record > a && m.household != household);
            }
        }
        out.truncate(kept);
        out.sort_unstable();
        out.dedup();
    }
}

#[cfg(test)]
mod tests {
    use peywand_domain::{MatchRecord, Sex};

    use super::*;

    /// The pairs by their definition: every two records of a bucket at most the window apart
    /// in its walking order, not of one household.
    fn pairs_by_definition(ds: &Dataset, window: usize) -> Vec<(u32, u32)> {
        let mut buckets: std::collections::BTreeMap<u64, Vec<(u64, u32)>> = Default::default();
        for i in 0..ds.len() as u32 {
            let mut keys = Vec::new();
            record_keys(ds, &ds.recs[i as usize], &mut keys);
            keys.sort_unstable();
            keys.dedup_by_key(|k| k.0);
            for (key, order) in keys {
                buckets.entry(key).or_default().push((order, i));
            }
        }
        let mut pairs = Vec::new();
        for mut bucket in buckets.into_values() {
            bucket.sort_unstable();
            let window = if bucket[0].0 & BROAD != 0 {
                window / 4
            } else {
                window
            };
            for (x, &(_, a)) in bucket.iter().enumerate() {
                for &(_, b) in bucket[x + 1..].iter().take(window) {
                    if !ds.same_household(a, b) {
                        pairs.push((a.min(b), a.max(b)));
                    }
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        pairs
    }

    #[test]
    fn a_member_without_a_phone_meets_the_one_who_gave_the_familys() {
        let person =
            |id: String, household: &str, given: &str, sex: Sex, phone: Option<&str>| MatchRecord {
                record_id: id,
                household: household.into(),
                given_name: Some(given.into()),
                sex: Some(sex),
                birth_year_min: Some(2005),
                birth_year_max: Some(2005),
                phone_e164: phone.map(Into::into),
                ..MatchRecord::default()
            };
        let family = "+923001234567";
        // A son typed with his name alone, among hundreds of namesakes of his years, and the
        // same son registering on his own with the family's number.
        let mut records = vec![
            person("father".into(), "family", "latif", Sex::Male, Some(family)),
            person("son".into(), "family", "anwar", Sex::Male, None),
            person("sister".into(), "family", "nasima", Sex::Female, None),
        ];
        records.extend((0..300).map(|i| {
            person(
                format!("namesake{i}"),
                &format!("h{i}"),
                "anwar",
                Sex::Male,
                None,
            )
        }));
        records.push(person(
            "alone".into(),
            "alone",
            "anwar",
            Sex::Male,
            Some(family),
        ));
        let ds = Dataset::build(&records);
        let at = |id: &str| ds.index_of(id).unwrap();
        let (pairs, stats) = candidate_pairs(&ds, 8);
        assert!(
            stats.buckets_over_cap > 0,
            "the namesakes' bucket is walked, not paired whole"
        );
        let paired = |a: &str, b: &str| {
            let (x, y) = (at(a), at(b));
            pairs.binary_search(&(x.min(y), x.max(y))).is_ok()
        };
        assert!(
            paired("son", "alone"),
            "the family's phone brings the son to himself"
        );
        assert!(paired("father", "alone"), "a phone both gave, as before");
        assert!(
            !paired("sister", "alone"),
            "the family's phone is keyed with the sex: not every sister meets every brother"
        );
    }

    #[test]
    fn large_buckets_pair_near_neighbours_in_walking_order_and_never_a_household() {
        // Few names, many records: buckets far larger than the window, households of six
        // whose members share keys, father's names and birth years that walk buckets in many
        // orders.
        let given = ["karim", "nabi", "gul", "zarmina"];
        let father = ["ahmad", "mahmood", "sultan"];
        let records: Vec<MatchRecord> = (0..600)
            .map(|i| MatchRecord {
                record_id: format!("r{i}"),
                household: format!("h{}", i % 100),
                given_name: Some(given[i % given.len()].into()),
                father_name: Some(father[i * 7 % father.len()].into()),
                grandfather_name: Some(given[i * 5 % given.len()].into()),
                sex: Some(if i % 2 == 0 { Sex::Male } else { Sex::Female }),
                birth_year_min: Some(1960 + (i * 13 % 50) as i32),
                birth_year_max: Some(1960 + (i * 13 % 50) as i32),
                ..MatchRecord::default()
            })
            .collect();
        let ds = Dataset::build(&records);
        let window = 8;
        let (pairs, stats) = candidate_pairs(&ds, window);
        let expected = pairs_by_definition(&ds, window);
        assert!(stats.buckets_over_cap > 0, "the test needs large buckets");
        assert_eq!(stats.candidate_pairs, pairs.len() as u64);
        assert!(pairs.len() > 1000);
        assert_eq!(pairs, expected);
    }
}
