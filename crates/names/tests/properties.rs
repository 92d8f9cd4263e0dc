//! Properties that must hold for any input a keyboard can produce.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail the test by panicking.

use peywand_names::{fold, normalize, similarity};
use proptest::prelude::*;

/// Strings mixing Latin, Arabic-script (Dari, Pashto, Urdu), digits, joiners and punctuation.
fn name_like() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        "[a-zA-Z' -]{0,12}",
        "[\u{0621}-\u{064A}\u{067E}\u{0686}\u{0698}\u{06A9}\u{06AF}\u{06CC}\u{067C}\u{0681}\u{0685}\u{0689}\u{0693}\u{0696}\u{069A}\u{06AB}\u{06BC}\u{06D0}\u{06CD}\u{0679}\u{0688}\u{0691}\u{06BA}\u{06BE}\u{06C1}\u{06D2} \u{200C}\u{0640}\u{064E}]{0,10}",
        "[\u{06F0}-\u{06F9}0-9]{0,4}",
    ];
    prop::collection::vec(pieces, 0..4).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn folding_is_idempotent(s in name_like()) {
        let once = fold(&s);
        prop_assert_eq!(fold(&once), once);
    }

    #[test]
    fn normalising_the_normal_form_changes_nothing(s in name_like()) {
        let n = normalize(&s);
        let again = normalize(&n.folded);
        prop_assert_eq!(&again.folded, &n.folded);
        prop_assert_eq!(again.joined, n.joined);
    }

    #[test]
    fn similarity_is_symmetric_and_bounded(a in name_like(), b in name_like()) {
        let (na, nb) = (normalize(&a), normalize(&b));
        let ab = similarity(&na, &nb);
        prop_assert!((0.0..=1.0).contains(&ab), "{} out of range", ab);
        prop_assert_eq!(ab, similarity(&nb, &na));
    }

    #[test]
    fn a_name_is_identical_to_itself(s in name_like()) {
        let n = normalize(&s);
        if !n.is_empty() {
            prop_assert_eq!(similarity(&n, &n), 1.0);
        }
    }

    #[test]
    fn nothing_panics_on_any_unicode(s in any::<String>()) {
        let n = normalize(&s);
        let _ = similarity(&n, &normalize("Mohammad Nabi"));
        let _ = peywand_names::date::parse_birth_date(&s);
        let _ = peywand_names::phone::to_e164(&s);
        let _ = peywand_names::document::canonical(&s);
        let _ = peywand_names::place::Gazetteer::get().province(&s);
    }
}
