//! Any file offered for import: the reader never panics, and its report is consistent (a file
//! is valid exactly when no problem was found; every row of a valid file reached the importer).
#![no_main]

use libfuzzer_sys::fuzz_target;
use peywand_interchange::registration_csv;

fuzz_target!(|data: &[u8]| {
    let mut rows = 0u64;
    let report = registration_csv::read(data, |_| rows += 1);
    assert_eq!(report.is_valid(), report.problems.is_empty());
    assert!(report.problem_count >= report.problems.len() as u64);
    if report.is_valid() {
        assert_eq!(rows, report.rows);
    }
});
