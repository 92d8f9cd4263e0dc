//! Any file offered as PFIF: the reader never panics; a document it accepts is written out
//! again and reads back the same (what is imported can always be exported).
#![no_main]

use libfuzzer_sys::fuzz_target;
use peywand_interchange::pfif;

fuzz_target!(|data: &[u8]| {
    match pfif::read(data) {
        Ok(document) => {
            let written = pfif::write(&document.persons);
            let again = pfif::read(written.as_bytes()).expect("what Peywand writes, it reads");
            assert_eq!(again.persons, document.persons);
        }
        Err(invalid) => {
            assert!(!invalid.problems.is_empty());
            assert!(invalid.problems.len() <= pfif::MAX_PROBLEMS + 1);
        }
    }
});
