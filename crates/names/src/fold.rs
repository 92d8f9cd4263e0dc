//! Character folding: the first step for every name, place and number typed at a desk.
//!
//! Clerks type on Dari, Pashto, Urdu and Arabic keyboards that produce different code points for
//! the same letter, add diacritics, tatweel and zero-width joiners, and mix Persian, Arabic-Indic
//! and Latin digits. Folding maps all of that onto one small alphabet per script so that later
//! stages only ever see canonical letters. It never transliterates: that is `phonetic`'s job.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The script a token is written in, decided by its letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Script {
    Latin,
    Arabic,
    /// Digits or other characters only.
    Other,
}

/// Folds one Arabic-script letter to the Dari form used internally, or `None` to drop it.
///
/// Pashto and Urdu letters go to the Dari letter clerks use for the same sound when they lack the
/// key; Arabic code points go to their Persian twins (ي→ی, ك→ک).
fn fold_arabic(c: char) -> Option<char> {
    Some(match c {
        // Yeh family, alef maqsura, Pashto and Urdu yehs.
        'ي' | 'ى' | 'ې' | 'ۍ' | 'ئ' | 'ے' | 'ۓ' | 'ێ' | 'ٸ' => 'ی',
        'ك' | 'ڪ' => 'ک',
        'ګ' | 'ڳ' | 'ڱ' => 'گ',
        'ة' | 'ۀ' | 'ہ' | 'ھ' | 'ۃ' | 'ە' => 'ه',
        'أ' | 'إ' | 'آ' | 'ٱ' | 'ٲ' | 'ٳ' | 'ٵ' => 'ا',
        'ؤ' | 'ۄ' | 'ۆ' | 'ۇ' | 'ۈ' | 'ۉ' | 'ۋ' | 'ٶ' => 'و',
        // Pashto retroflexes and affricates.
        'ټ' | 'ٹ' => 'ت',
        'ډ' | 'ڈ' => 'د',
        'ړ' | 'ڑ' => 'ر',
        'ږ' => 'ژ',
        'ښ' => 'ش',
        'ځ' => 'ز',
        'څ' => 'س',
        'ڼ' | 'ں' => 'ن',
        // Hamza alone, tatweel, and the superscript alef are spelling aids, not letters.
        'ء' | 'ـ' => return None,
        _ => c,
    })
}

/// Maps Persian (۰–۹) and Arabic-Indic (٠–٩) digits to ASCII.
pub fn fold_digit(c: char) -> char {
    match c {
        '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
        '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
        _ => c,
    }
}

/// Replaces every non-ASCII digit in `s` with its ASCII twin.
pub fn ascii_digits(s: &str) -> String {
    s.chars().map(fold_digit).collect()
}

pub(crate) fn is_arabic_letter(c: char) -> bool {
    matches!(c, '\u{0620}'..='\u{064A}' | '\u{066E}'..='\u{06D3}' | '\u{06D5}' | '\u{06EE}'..='\u{06EF}' | '\u{06FA}'..='\u{06FF}' | '\u{0750}'..='\u{077F}')
}

fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'
            | '\u{200D}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{FEFF}'
            | '\u{2060}'
            | '\u{061C}'
            | '\u{00AD}'
    )
}

/// Folds a raw string into lowercase canonical letters separated by single spaces.
///
/// ZWNJ and punctuation become token boundaries (ذبیح‌الله → "ذبیح الله"): whether such a boundary
/// splits a name is decided later, when compounds are re-joined. Apostrophes vanish (Na'im → naim).
pub fn fold(raw: &str) -> String {
    if raw.is_ascii() {
        // ASCII is its own NFKC and NFD: most Latin names skip the Unicode tables.
        fold_chars(raw.chars(), raw.len())
    } else {
        // NFKC first, so presentation forms (ﻣﺤﻤﺪ) and compatibility digits become ordinary
        // letters; then NFD, so Latin diacritics (Kābul) split off and can be dropped.
        let composed: String = raw.nfkc().collect();
        fold_chars(composed.nfd(), raw.len())
    }
}

fn fold_chars(chars: impl Iterator<Item = char>, capacity: usize) -> String {
    let mut out = String::with_capacity(capacity);
    let mut pending_space = false;
    let mut chars = chars.peekable();
    let mut prev_lower = false;
    while let Some(c) = chars.next() {
        // Words run together in CamelCase (MohammadOmar, AbdulRahman) are two words.
        let camel_boundary = prev_lower
            && c.is_ascii_uppercase()
            && chars.peek().is_some_and(char::is_ascii_lowercase);
        prev_lower = c.is_ascii_lowercase();
        if camel_boundary {
            pending_space = true;
        }
        if is_combining_mark(c)
            || is_invisible(c)
            || matches!(c, '\u{064B}'..='\u{065F}' | '\u{06D6}'..='\u{06ED}')
        {
            // Harakat (U+064B–U+065F) and Quranic marks are combining marks too; the explicit
            // range keeps them dropped even where a Unicode table disagrees.
            continue;
        }
        let c = fold_digit(c);
        if c.is_alphanumeric() {
            let folded = if is_arabic_letter(c) {
                fold_arabic(c)
            } else {
                Some(c)
            };
            if let Some(f) = folded {
                for l in f.to_lowercase() {
                    push(&mut out, &mut pending_space, l);
                }
            }
        } else if matches!(c, '\'' | '’' | '‘' | '`' | 'ʼ' | 'ʻ' | 'ʿ' | 'ʾ' | '´') {
            // Apostrophes mark an ʿayn or a glottal stop: dropped, not a boundary.
        } else {
            pending_space = !out.is_empty();
        }
    }
    out
}

fn push(out: &mut String, pending_space: &mut bool, c: char) {
    if *pending_space {
        out.push(' ');
        *pending_space = false;
    }
    out.push(c);
}

/// The script of one folded token.
pub fn script_of(token: &str) -> Script {
    let mut latin = 0;
    let mut arabic = 0;
    for c in token.chars() {
        if is_arabic_letter(c) {
            arabic += 1;
        } else if c.is_alphabetic() {
            latin += 1;
        }
    }
    if arabic == 0 && latin == 0 {
        Script::Other
    } else if arabic >= latin {
        Script::Arabic
    } else {
        Script::Latin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arabic_code_points_fold_to_persian() {
        assert_eq!(fold("علي"), "علی");
        assert_eq!(fold("كريم"), "کریم");
        assert_eq!(fold("ګل"), fold("گل"));
    }

    #[test]
    fn diacritics_tatweel_and_joiners_go() {
        assert_eq!(fold("مُحَمَّد"), "محمد");
        assert_eq!(fold("محـــمد"), "محمد");
        assert_eq!(fold("ذبیح\u{200C}الله"), "ذبیح الله");
    }

    #[test]
    fn latin_is_lowercased_without_accents_or_apostrophes() {
        assert_eq!(fold("Kābul"), "kabul");
        assert_eq!(fold("Na'im"), "naim");
        assert_eq!(fold("ABDUL-GHANI"), "abdul ghani");
        assert_eq!(fold("  Abdul   Ghani "), "abdul ghani");
    }

    #[test]
    fn digits_fold_to_ascii() {
        assert_eq!(ascii_digits("۱۳۸۵"), "1385");
        assert_eq!(ascii_digits("٢٠٠٦"), "2006");
    }

    #[test]
    fn script_is_detected() {
        assert_eq!(script_of("محمد"), Script::Arabic);
        assert_eq!(script_of("mohammad"), Script::Latin);
        assert_eq!(script_of("123"), Script::Other);
    }
}
