//! Identity document numbers (PoR card, ACC, tazkira, e-tazkira, passport) in canonical form.
//!
//! Clerks type the same number with dashes, slashes and spaces, in Persian or Latin digits, with
//! letters in either case; the canonical form keeps only ASCII letters and digits, uppercased.

use crate::fold::ascii_digits;

/// The canonical form of a document number, or `None` when nothing usable was typed.
pub fn canonical(raw: &str) -> Option<String> {
    let s: String = ascii_digits(raw)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    // Placeholders clerks type when there is no document.
    let placeholder = matches!(
        s.as_str(),
        "NA" | "NONE" | "NIL" | "NO" | "N" | "X" | "XX" | "XXX"
    ) || s.bytes().all(|b| b == b'0');
    (s.len() >= 4 && !placeholder).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_digits_fold() {
        assert_eq!(
            canonical("1400-0101-12345").as_deref(),
            Some("1400010112345")
        );
        assert_eq!(
            canonical("۱۴۰۰ ۰۱۰۱ ۱۲۳۴۵").as_deref(),
            Some("1400010112345")
        );
        assert_eq!(canonical("por/ab-12 34").as_deref(), Some("PORAB1234"));
        assert_eq!(canonical("N/A"), None);
        assert_eq!(canonical("0000"), None);
    }
}
