//! Identity document numbers (PoR card, ACC, tazkira, e-tazkira, passport) in canonical form.
//!
//! Clerks type the same number with dashes, slashes and spaces, in Persian or Latin digits, with
//! letters in either case; the canonical form keeps only ASCII letters and digits, uppercased.

use crate::fold::ascii_digits;

/// Words clerks type into the number box beside the number: the card's name ("PoR-61061273",
/// "ACC 6467127284", "Tazkira No. 1234") and a paper tazkira's volume, page and record ("Jild
/// 246 Safha 280 Sabt 8321", written elsewhere 246/280/8321). They are not part of the number.
const LABELS: [&str; 27] = [
    "POR",
    "ACC",
    "CARD",
    "NO",
    "NR",
    "NUM",
    "NUMBER",
    "ID",
    "TAZKIRA",
    "TAZKERA",
    "TAZKARA",
    "TASKIRA",
    "E",
    "ETAZKIRA",
    "PASSPORT",
    "JILD",
    "JELD",
    "JLD",
    "VOL",
    "SAFHA",
    "SAFHE",
    "SAFA",
    "PAGE",
    "SABT",
    "SABAT",
    "REG",
    "REGISTRATION",
];

/// Whether a run of letters is label words and nothing else.
fn only_labels(run: &str) -> bool {
    // Which prefixes of the run are whole label words, one after another.
    let mut reachable = vec![false; run.len() + 1];
    reachable[0] = true;
    for i in 0..run.len() {
        if reachable[i] {
            for label in LABELS {
                if run[i..].starts_with(label) {
                    reachable[i + label.len()] = true;
                }
            }
        }
    }
    reachable[run.len()]
}

/// The canonical form of a document number, or `None` when nothing usable was typed. The
/// canonical form of a canonical form is itself.
pub fn canonical(raw: &str) -> Option<String> {
    let upper: String = ascii_digits(raw)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                ' '
            }
        })
        .collect();
    // Label words are dropped where they stand alone, and then where they run into the number
    // ("POR89108284", as an earlier version stored it).
    let words: String = upper.split(' ').filter(|w| !only_labels(w)).collect();
    let mut s = String::with_capacity(words.len());
    for run in words
        .as_bytes()
        .chunk_by(|a, b| a.is_ascii_digit() == b.is_ascii_digit())
    {
        let run = std::str::from_utf8(run).unwrap_or_default();
        if !only_labels(run) {
            s.push_str(run);
        }
    }
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
        assert_eq!(canonical("por/ab-12 34").as_deref(), Some("AB1234"));
    }

    #[test]
    fn labels_typed_with_the_number_are_not_the_number() {
        for (raw, number) in [
            ("PoR-61061273", "61061273"),
            ("POR 89108284", "89108284"),
            ("POR89108284", "89108284"),
            ("ACC-۹۶۲۸۹۷۳۸۲۱", "9628973821"),
            ("Tazkira No. 1234 5678", "12345678"),
            ("Jild ۲۴۶ Safha ۲۸۰ Sabt ۸۳۲۱", "2462808321"),
            ("جلد ۲۴۶ صفحه ۲۸۰ ثبت ۸۳۲۱", "2462808321"),
            ("246/280/8321", "2462808321"),
            ("P 5101 8620", "P51018620"),
            ("AB-1234", "AB1234"),
        ] {
            assert_eq!(canonical(raw).as_deref(), Some(number), "{raw}");
            assert_eq!(canonical(number).as_deref(), Some(number), "{raw}");
        }
        assert_eq!(canonical("PoR card"), None);
        assert_eq!(canonical("N/A"), None);
        assert_eq!(canonical("0000"), None);
    }
}
