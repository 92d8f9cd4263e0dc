//! Throughput of the two operations the linkage engine calls millions of times: `normalize` on
//! names as typed, and `similarity` on names already normalised.
//!
//! Run: `cargo bench -p peywand-names --bench names`. The names are the spellings in the
//! compiled tables (Latin variants and the Arabic-script form) as one name field carries them:
//! a given name, now and then with a title or a family name after it.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use peywand_names::lexicon::{FAMILY_NAMES, GIVEN_NAMES, rows};
use peywand_names::{Name, normalize, similarity};
use std::hint::black_box;

/// Every spelling of every given name, each list the spellings of one name; then those of every
/// family name.
fn spellings() -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let list = |arabic: &str, latin: &str| {
        std::iter::once(arabic)
            .chain(latin.split(';'))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let given = rows(GIVEN_NAMES).map(|r| list(r[1], r[2])).collect();
    let family = rows(FAMILY_NAMES).map(|r| list(r[0], r[1])).collect();
    (given, family)
}

/// A fixed, dependency-free pseudo-random sequence (xorshift), so every run measures the same
/// names.
struct Sequence(u64);

impl Sequence {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
    fn pick<'a>(&mut self, list: &'a [Vec<String>]) -> &'a [String] {
        &list[self.below(list.len())]
    }
}

/// `n` names as typed into one name field: a given name in any of its spellings, now and then
/// with a title or followed by a family name.
fn raw_names(n: usize) -> Vec<String> {
    let (given, family) = spellings();
    let mut seq = Sequence(0x9E37_79B9_7F4A_7C15);
    (0..n)
        .map(|_| {
            let spellings = seq.pick(&given);
            let a = &spellings[seq.below(spellings.len())];
            match seq.below(10) {
                0 => format!("Haji {a}"),
                1 => {
                    let f = seq.pick(&family);
                    format!("{a} {}", f[seq.below(f.len())])
                }
                _ => a.clone(),
            }
        })
        .collect()
}

/// `n` pairs of two spellings of the same given name: what blocking hands the linkage engine.
fn variant_pairs(n: usize) -> Vec<(String, String)> {
    let (given, _) = spellings();
    let mut seq = Sequence(0x2545_F491_4F6C_DD1D);
    (0..n)
        .map(|_| {
            let s = seq.pick(&given);
            (s[seq.below(s.len())].clone(), s[seq.below(s.len())].clone())
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let raw = raw_names(1_000_000);
    let mut group = c.benchmark_group("names");
    group.sample_size(10);

    group.throughput(Throughput::Elements(raw.len() as u64));
    group.bench_function("normalize 1M raw names", |b| {
        b.iter(|| {
            for r in &raw {
                black_box(normalize(black_box(r)));
            }
        })
    });

    let names: Vec<Name> = raw[..20_000].iter().map(|r| normalize(r)).collect();
    group.throughput(Throughput::Elements(names.len() as u64 - 1));
    group.bench_function("similarity of 19,999 pairs of different names", |b| {
        b.iter(|| {
            for w in names.windows(2) {
                black_box(similarity(black_box(&w[0]), black_box(&w[1])));
            }
        })
    });

    let variants: Vec<(Name, Name)> = variant_pairs(20_000)
        .iter()
        .map(|(a, b)| (normalize(a), normalize(b)))
        .collect();
    group.throughput(Throughput::Elements(variants.len() as u64));
    group.bench_function("similarity of 20,000 pairs of spellings of one name", |b| {
        b.iter(|| {
            for (x, y) in &variants {
                black_box(similarity(black_box(x), black_box(y)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
