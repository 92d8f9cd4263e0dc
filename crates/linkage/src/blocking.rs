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
//! - document number; phone number.
//!
//! A bucket larger than the cap is uninformative (a very common name in a common year) and is
//! left out; how many were is reported. Records registered together in one household are never
//! paired: they are different people.

use rayon::prelude::*;

use crate::dataset::{Dataset, NameField, Rec, hash_of};

/// What blocking found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct BlockingStats {
    pub candidate_pairs: u64,
    pub buckets_over_cap: u64,
    pub records_in_buckets_over_cap: u64,
}

/// Every key a record has, under every rule.
pub(crate) fn record_keys(ds: &Dataset, r: &Rec, out: &mut Vec<u64>) {
    let keys = |f: NameField| r.name(f).map_or(&[][..], |n| &ds.name_info(n).keys[..]);
    let given = keys(NameField::Given);
    let father = keys(NameField::Father);
    let grandfather = keys(NameField::Grandfather);
    for &g in given {
        for &f in father {
            out.push(hash_of((1u8, g, f)));
        }
        if let Some((lo, hi)) = r.birth() {
            for bucket in lo / 5..=hi / 5 {
                out.push(hash_of((2u8, g, bucket)));
            }
        }
    }
    if r.sex != 0 {
        for &f in father {
            for &gf in grandfather {
                out.push(hash_of((3u8, f, gf, r.sex)));
            }
            if let Some((lo, hi)) = r.birth() {
                for bucket in lo / 5..=hi / 5 {
                    out.push(hash_of((6u8, f, bucket, r.sex)));
                }
            }
        }
    }
    if r.document != 0 {
        out.push(hash_of((4u8, r.document)));
    }
    if r.phone != 0 {
        out.push(hash_of((5u8, r.phone)));
    }
}

/// All candidate pairs `(a, b)` with `a < b`, sorted and without repeats.
pub(crate) fn candidate_pairs(ds: &Dataset, max_bucket: usize) -> (Vec<(u32, u32)>, BlockingStats) {
    let mut keyed: Vec<(u64, u32)> = (0..ds.len() as u32)
        .into_par_iter()
        .flat_map_iter(|i| {
            let mut keys = Vec::with_capacity(16);
            record_keys(ds, &ds.recs[i as usize], &mut keys);
            keys.sort_unstable();
            keys.dedup();
            keys.into_iter().map(move |k| (k, i))
        })
        .collect();
    keyed.par_sort_unstable();

    let mut stats = BlockingStats::default();
    let mut buckets: Vec<&[(u64, u32)]> = Vec::new();
    for bucket in keyed.chunk_by(|a, b| a.0 == b.0) {
        if bucket.len() < 2 {
            continue;
        }
        if bucket.len() > max_bucket {
            stats.buckets_over_cap += 1;
            stats.records_in_buckets_over_cap += bucket.len() as u64;
            continue;
        }
        buckets.push(bucket);
    }
    let mut pairs: Vec<u64> = buckets
        .par_iter()
        .flat_map_iter(|bucket| {
            let mut out = Vec::with_capacity(bucket.len() * (bucket.len() - 1) / 2);
            for (x, &(_, a)) in bucket.iter().enumerate() {
                for &(_, b) in &bucket[x + 1..] {
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
