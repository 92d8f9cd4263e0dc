//! Which pairs of records are worth comparing at all.
//!
//! Comparing every pair of a million records is half a trillion comparisons; true duplicates
//! almost always share something simple. Each rule gives a record a few keys, and records that
//! share a key under some rule become candidate pairs:
//!
//! - given name × father's name (the phonetic keys of each, every combination);
//! - given name × five-year birth bucket (a father's name left out or garbled);
//! - father's name × grandfather's name × sex, and father's name × birth bucket × sex (a given
//!   name garbled beyond recognition);
//! - a full date of birth (not a 1 January default), walked by family then given name: a
//!   name garbled or missing on one side and a typo in the document leave little else;
//! - document number; phone number.
//!
//! A large bucket (a very common name in a common year) is walked in an order that puts likely
//! matches next to each other, and each record is paired only with its near neighbours; how many
//! buckets were walked this way is reported. Records registered together in one household are
//! never paired: they are different people.

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
            out.push((
                hash_of((1u8, g, f)),
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
}

/// Keys only searches use: a given name with the family name, the province of origin or the
/// sex, and a father's name with the province and sex. A relative often knows no more than a
/// name and where the family is from, and such a request has no key under the deduplication
/// rules, which all need a father's name with a second name or a birth period; and a given
/// name mistyped at either end leaves only the father's name to find the person by.
/// Deduplication does not use them: two registrations nearly always share more.
fn search_keys(ds: &Dataset, r: &Rec, out: &mut Vec<u64>) {
    let keys = |f: NameField| r.name(f).map_or(&[][..], |n| &ds.name_info(n).keys[..]);
    if r.province != 0 && r.sex != 0 {
        for &f in keys(NameField::Father) {
            out.push(hash_of((10u8, f, u64::from(r.province), u64::from(r.sex))));
        }
    }
    for &g in keys(NameField::Given) {
        for &f in keys(NameField::Family) {
            out.push(hash_of((7u8, g, f)));
        }
        if r.province != 0 {
            out.push(hash_of((8u8, g, u64::from(r.province))));
        }
        if r.sex != 0 {
            out.push(hash_of((9u8, g, u64::from(r.sex))));
        }
    }
}

/// A record's keys under every rule, search rules included, each once, without their walking
/// order: what the matcher indexes and looks up.
pub(crate) fn distinct_keys(ds: &Dataset, r: &Rec) -> Vec<u64> {
    let mut keyed = Vec::with_capacity(24);
    record_keys(ds, r, &mut keyed);
    let mut keys: Vec<u64> = keyed.into_iter().map(|(key, _)| key).collect();
    search_keys(ds, r, &mut keys);
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// All candidate pairs `(a, b)` with `a < b`, sorted and without repeats. A bucket of up to
/// `window + 1` records gives all its pairs; a larger one pairs each record with the `window`
/// records after it in the bucket's walking order, so work grows with the registry, not with
/// its square.
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

    let mut stats = BlockingStats::default();
    let mut buckets: Vec<&[(u64, u64, u32)]> = Vec::new();
    for bucket in keyed.chunk_by(|a, b| a.0 == b.0) {
        if bucket.len() < 2 {
            continue;
        }
        if bucket.len() > window + 1 {
            stats.buckets_over_cap += 1;
            stats.records_in_buckets_over_cap += bucket.len() as u64;
        }
        buckets.push(bucket);
    }
    let mut pairs: Vec<u64> = buckets
        .par_iter()
        .flat_map_iter(|bucket| {
            let broad = bucket[0].1 & BROAD != 0;
            let window = if broad { window / 4 } else { window };
            let mut out = Vec::with_capacity(bucket.len() * window.min(bucket.len()));
            for (x, &(_, _, a)) in bucket.iter().enumerate() {
                for &(_, _, b) in bucket[x + 1..].iter().take(window) {
                    if !ds.same_household(a, b) {
                        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                        out.push((u64::from(lo) << 32) | u64::from(hi));
                    }
                }
            }
            out
        })
        .collect();
    drop(keyed);
    pairs.par_sort_unstable();
    pairs.dedup();
    stats.candidate_pairs = pairs.len() as u64;
    let pairs = pairs
        .into_iter()
        .map(|p| ((p >> 32) as u32, p as u32))
        .collect();
    (pairs, stats)
}
