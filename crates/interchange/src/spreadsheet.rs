//! Cells a spreadsheet will not run as formulas, and back.
//!
//! Excel, LibreOffice and Google Sheets run a cell that starts with `=`, `+`, `-` or `@` (and,
//! in some versions, a tab or carriage return) as a formula when a CSV is opened: a name typed
//! at a desk as `=HYPERLINK("http://…")` would become a link, `+cmd|…` a command. Every CSV
//! Peywand writes passes its values through [`protect`], which puts an apostrophe in front of
//! such a value; spreadsheets show the apostrophe-led value as text and hide the apostrophe.
//! [`unprotect`] reverses it when Peywand reads the file back, so an export imports unchanged
//! (docs/formats.md).

use std::borrow::Cow;

/// The first characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

fn needs_apostrophe(value: &str) -> bool {
    // A value that already starts with an apostrophe gets one more, so that reading it back
    // removes exactly the one added here.
    value.starts_with(FORMULA_STARTS) || value.starts_with('\'')
}

/// `value` as a cell that is never run: led by an apostrophe where it would be a formula.
pub fn protect(value: &str) -> Cow<'_, str> {
    if needs_apostrophe(value) {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

/// The value [`protect`] was given: one leading apostrophe removed where `protect` added it.
pub fn unprotect(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_apostrophe(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_led_by_an_apostrophe_and_read_back_as_typed() {
        for typed in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+cmd|' /C calc'!A0",
            "@SUM(A1:A2)",
            "-2+3",
            "\t=1",
            "'=1",
            "'",
            "''",
            "+93 70 123 4567",
        ] {
            let cell = protect(typed);
            assert!(cell.starts_with('\''), "{typed:?} left as {cell:?}");
            assert_eq!(unprotect(&cell), typed);
        }
    }

    #[test]
    fn ordinary_values_and_apostrophes_inside_names_are_untouched() {
        for typed in ["Gul Bibi", "ذبیح‌الله", "O'Neil", "'Abdul", "1385", ""] {
            assert_eq!(unprotect(&protect(typed)), typed);
        }
        assert_eq!(protect("Gul Bibi"), "Gul Bibi");
        // Another system's file with a leading apostrophe before a letter keeps it.
        assert_eq!(unprotect("'Abdul"), "'Abdul");
    }
}
