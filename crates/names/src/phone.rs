//! Phone numbers in any format to E.164, with libphonenumber's metadata.
//!
//! Returnees carry Pakistani numbers (03XX-XXXXXXX, +92) and Afghan ones (07X XXX XXXX, +93),
//! written with spaces, dashes, 00 prefixes and Persian digits.

use phonenumber::{Mode, country::Id};

use crate::fold::ascii_digits;

/// The E.164 form (+923001234567) of a Pakistani or Afghan number as typed, if it is valid.
pub fn to_e164(raw: &str) -> Option<String> {
    let s = ascii_digits(raw);
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 7 || digits.len() > 15 {
        return None;
    }
    let candidates: Vec<(Option<Id>, String)> = if s.trim_start().starts_with('+') {
        vec![(None, format!("+{digits}"))]
    } else if let Some(rest) = digits.strip_prefix("00") {
        vec![(None, format!("+{rest}"))]
    } else if (digits.starts_with("92") && digits.len() == 12)
        || (digits.starts_with("93") && digits.len() == 11)
    {
        vec![(None, format!("+{digits}"))]
    } else if digits.starts_with("03") {
        vec![(Some(Id::PK), digits.clone()), (Some(Id::AF), digits)]
    } else {
        vec![(Some(Id::AF), digits.clone()), (Some(Id::PK), digits)]
    };
    for (country, text) in candidates {
        if let Ok(n) = phonenumber::parse(country, &text)
            && phonenumber::is_valid(&n)
        {
            return Some(n.format().mode(Mode::E164).to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pakistani_numbers_in_every_format() {
        for s in [
            "0300-1234567",
            "0300 1234567",
            "+92 300 1234567",
            "0092 300 1234567",
            "923001234567",
            "۰۳۰۰۱۲۳۴۵۶۷",
        ] {
            assert_eq!(to_e164(s).as_deref(), Some("+923001234567"), "{s}");
        }
    }

    #[test]
    fn afghan_numbers_in_every_format() {
        for s in [
            "0700 123 456",
            "070 012 3456",
            "+93 70 012 3456",
            "0093700123456",
            "93700123456",
        ] {
            let got = to_e164(s);
            assert!(
                got.as_deref().is_some_and(|g| g.starts_with("+9370")),
                "{s}: {got:?}"
            );
        }
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(to_e164("none"), None);
        assert_eq!(to_e164("123"), None);
    }
}
