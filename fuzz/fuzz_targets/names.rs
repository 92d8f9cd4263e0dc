//! Any text typed into a name, date, place, phone or document field: nothing panics, and the
//! name library keeps its promises (idempotent normalisation, symmetric bounded similarity).
#![no_main]

use libfuzzer_sys::fuzz_target;
use peywand_names::{blocking_keys, compare, date, document, normalize, phone, place, similarity};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The input is two fields, split at the first newline.
    let (a, b) = text.split_once('\n').unwrap_or((text, ""));
    let (na, nb) = (normalize(a), normalize(b));
    assert_eq!(normalize(&na.folded).folded, na.folded, "normalise twice: {a:?}");
    let s = similarity(&na, &nb);
    assert!((0.0..=1.0).contains(&s), "similarity {s} of {a:?} and {b:?}");
    assert_eq!(s, similarity(&nb, &na), "asymmetric: {a:?} / {b:?}");
    let c = compare(&na, &nb);
    assert!((0.0..=1.0).contains(&c.score));
    let _ = blocking_keys(&na);
    let _ = date::parse_birth_date(a);
    let _ = date::parse_age(a);
    let gazetteer = place::Gazetteer::get();
    let _ = gazetteer.province(a);
    let _ = gazetteer.district(a, None);
    let _ = gazetteer.pakistan_place(a);
    let _ = gazetteer.site(a);
    let _ = phone::to_e164(a);
    let _ = document::canonical(a);
});
