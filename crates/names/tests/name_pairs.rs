//! The table of real equivalences and non-equivalences (tests/data/name_pairs.tsv): every
//! `same` pair must score at or above the decision threshold, every `different` pair below it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail the test by panicking.

use peywand_names::{normalize, similarity};

/// The score at or above which two names are treated as plausibly the same name.
const SAME: f32 = 0.75;

struct Row {
    a: String,
    b: String,
    same: bool,
    why: String,
}

fn rows() -> Vec<Row> {
    include_str!("data/name_pairs.tsv")
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 4, "malformed row: {l}");
            Row {
                a: c[0].into(),
                b: c[1].into(),
                same: c[2] == "same",
                why: c[3].into(),
            }
        })
        .collect()
}

#[test]
fn table_of_real_name_pairs() {
    let rows = rows();
    assert!(
        rows.len() >= 400,
        "the table should hold several hundred pairs"
    );
    let mut failures = Vec::new();
    for r in &rows {
        let s = similarity(&normalize(&r.a), &normalize(&r.b));
        if (s >= SAME) != r.same {
            failures.push(format!(
                "{:.3}  {} | {} | expected {} ({})",
                s,
                r.a,
                r.b,
                if r.same { "same" } else { "different" },
                r.why
            ));
        }
    }
    if std::env::var("NAME_PAIRS_SHOW").is_ok() {
        for f in &failures {
            println!("{f}");
        }
    }
    // Some pairs differ only in a short vowel that Latin spellings do not keep apart (Azam/Azim,
    // Sadiq/Siddiq, Javed/Jawad) or in a Pashto letter read two ways (Wagma/Wazhma); the floor
    // below is what the model reaches today, and it may only rise.
    let same_total = rows.iter().filter(|r| r.same).count();
    let same_missed = failures
        .iter()
        .filter(|f| f.contains("expected same"))
        .count();
    let diff_missed = failures.len() - same_missed;
    let agreement = 1.0 - failures.len() as f64 / rows.len() as f64;
    println!(
        "agreement {agreement:.4}; same missed {same_missed}/{same_total}; different missed {diff_missed}/{}",
        rows.len() - same_total
    );
    assert!(
        agreement >= 0.965,
        "{} of {} pairs misjudged:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    assert!(
        same_missed as f64 / same_total as f64 <= 0.02,
        "too many equivalent names missed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn similarity_is_symmetric_on_the_table() {
    for r in rows() {
        let (a, b) = (normalize(&r.a), normalize(&r.b));
        assert_eq!(similarity(&a, &b), similarity(&b, &a), "{} | {}", r.a, r.b);
    }
}
