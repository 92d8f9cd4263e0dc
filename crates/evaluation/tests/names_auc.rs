#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The name library separates renderings of one name from different names on synthetic
//! registrations, in one script and across scripts.

use std::fs::File;

use peywand_evaluation::names::{NonMatches, PairScripts, evaluate};

#[test]
fn similarity_ranks_true_name_matches_above_non_matches() {
    let dir = tempfile::tempdir().unwrap();
    peywand_synth::generate(5_000, 11, dir.path()).unwrap();
    let report = evaluate(
        File::open(dir.path().join("registry.csv")).unwrap(),
        File::open(dir.path().join("truth.csv")).unwrap(),
        3_000,
        5,
    )
    .unwrap();
    for scripts in [PairScripts::Same, PairScripts::Cross] {
        let scores = report.scores(scripts);
        assert_eq!(scores.matches.len(), 3_000, "{scripts:?}");
        assert_eq!(scores.random_non_matches.len(), 3_000, "{scripts:?}");
        let auc = scores.auc(NonMatches::Random).unwrap();
        assert!(auc >= 0.98, "{scripts:?}: ROC AUC {auc}");
        // Non-matches sharing a blocking key are harder, but still far from chance.
        let hard = scores.auc(NonMatches::SameBlock).unwrap();
        assert!(hard >= 0.9, "{scripts:?}: same-block ROC AUC {hard}");
    }
}

#[test]
fn a_truth_file_without_names_is_refused() {
    let registry = "record_id,given_name,father_name,grandfather_name,family_name\nR1,Nabi,,,\n";
    let truth = "record_id,person_id\nR1,P1\n";
    let err = evaluate(registry.as_bytes(), truth.as_bytes(), 10, 1).unwrap_err();
    assert!(err.to_string().contains("given_name"), "{err}");
}
