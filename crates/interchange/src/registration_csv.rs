//! The registration CSV: one row per person registration (formats contract, `peywand import`).
//!
//! A file is validated as it streams past, row by row, so memory stays flat on a million rows.
//! Every problem is reported with its line and column, up to [`MAX_PROBLEMS`]; a caller that
//! received any problem must abort its transaction, so that nothing of an invalid file is written.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::io::{Read, Write};

use peywand_domain::{RawRegistration, RecordId};

use crate::spreadsheet;

/// Problems listed in full before the rest are only counted.
pub const MAX_PROBLEMS: usize = 100;
/// The longest value a field may hold, in characters.
pub const MAX_FIELD_CHARS: usize = RawRegistration::MAX_FIELD_CHARS;

/// Something that makes a file invalid, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line of the file where the row starts (the header is line 1).
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, column {}: {}", self.line, c, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// What reading a file found.
#[derive(Debug, Default)]
pub struct Report {
    pub rows: u64,
    /// The first [`MAX_PROBLEMS`] problems.
    pub problems: Vec<Problem>,
    /// All problems, including those not listed.
    pub problem_count: u64,
}

impl Report {
    pub fn is_valid(&self) -> bool {
        self.problem_count == 0
    }
    fn problem(&mut self, line: u64, column: Option<&str>, message: impl Into<String>) {
        self.problem_count += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                line,
                column: column.map(str::to_string),
                message: message.into(),
            });
        }
    }
}

/// Record ids seen so far, as two independent 64-bit hashes: 16 bytes a row, so a million-row
/// file costs ~32 MB here however long its ids are. A false duplicate needs a 128-bit collision.
struct SeenIds {
    a: RandomState,
    b: RandomState,
    seen: HashSet<(u64, u64)>,
}

impl SeenIds {
    fn new() -> Self {
        Self {
            a: RandomState::new(),
            b: RandomState::new(),
            seen: HashSet::new(),
        }
    }
    fn insert(&mut self, id: &str) -> bool {
        self.seen.insert((self.a.hash_one(id), self.b.hash_one(id)))
    }
}

/// Reads a registration CSV, handing each valid row to `sink` while the file is still valid.
///
/// Once a problem has been found, later rows are still checked (to report every problem) but no
/// longer handed on. The caller owns the transaction: it must roll back unless the report is valid.
pub fn read<R: Read>(input: R, mut sink: impl FnMut(RawRegistration)) -> Report {
    let mut report = Report::default();
    let quotes = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let counted = QuoteCounter {
        inner: input,
        quotes: quotes.clone(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(counted);
    let mut last_line = 1;
    let mut record = csv::ByteRecord::new();
    let mut columns: Vec<&'static str> = Vec::new();
    let mut seen = SeenIds::new();
    let mut header_done = false;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                report.problem(
                    line,
                    None,
                    format!(
                        "the file's CSV structure is broken here ({e}); check for an unclosed quote"
                    ),
                );
                // The reader cannot resynchronise reliably after a structural error.
                break;
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        last_line = line;
        if !header_done {
            header_done = true;
            columns = read_header(&record, &mut report);
            if !report.is_valid() {
                return report;
            }
            continue;
        }
        if record.len() == 1
            && record
                .get(0)
                .is_some_and(|f| f.iter().all(u8::is_ascii_whitespace))
        {
            continue; // A blank line.
        }
        report.rows += 1;
        if record.len() != columns.len() {
            report.problem(line, None, format!("this row has {} fields but the header has {}; check for a stray comma or quote", record.len(), columns.len()));
            continue;
        }
        let before = report.problem_count;
        let mut raw = RawRegistration::default();
        for (i, field) in record.iter().enumerate() {
            let column = columns[i];
            let Ok(text) = std::str::from_utf8(field) else {
                report.problem(
                    line,
                    Some(column),
                    "this value is not UTF-8 text: save the file as CSV UTF-8",
                );
                continue;
            };
            if text.chars().count() > MAX_FIELD_CHARS {
                report.problem(
                    line,
                    Some(column),
                    format!("this value is longer than {MAX_FIELD_CHARS} characters"),
                );
                continue;
            }
            if text.contains('\0') {
                report.problem(line, Some(column), "this value contains a NUL character");
                continue;
            }
            if let Some(slot) = raw.get_mut(column) {
                *slot = spreadsheet::unprotect(text).to_string();
            }
        }
        if report.problem_count > before {
            continue;
        }
        match RecordId::parse(&raw.record_id) {
            Err(e) => report.problem(line, Some("record_id"), e.to_string()),
            Ok(id) => {
                if !seen.insert(id.as_str()) {
                    report.problem(
                        line,
                        Some("record_id"),
                        format!(
                            "record_id {:?} appears more than once in this file",
                            id.as_str()
                        ),
                    );
                }
            }
        }
        if !raw.has_name() && raw.household_id.trim().is_empty() {
            report.problem(
                line,
                None,
                "this row has no name (given, father's or family) and no household_id",
            );
        }
        if report.is_valid() {
            sink(raw);
        }
    }
    if !header_done {
        report.problem(1, None, "the file is empty: a header row is required");
    }
    // A CSV reader takes an unclosed quote as a field running to the end of the file; in a
    // well-formed file quotes come in pairs, so an odd count means one was never closed.
    if quotes.get() % 2 == 1 {
        report.problem(last_line, None, "a quote opened here is never closed");
    }
    report
}

/// Counts the double quotes that pass through, to detect a quote left open at the end.
struct QuoteCounter<R> {
    inner: R,
    quotes: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for QuoteCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let q = buf[..n].iter().filter(|&&b| b == b'"').count() as u64;
        self.quotes.set(self.quotes.get() + q);
        Ok(n)
    }
}

fn read_header(record: &csv::ByteRecord, report: &mut Report) -> Vec<&'static str> {
    let mut columns = Vec::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        let field = if i == 0 {
            field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field)
        } else {
            field
        };
        let Ok(name) = std::str::from_utf8(field) else {
            report.problem(
                1,
                None,
                "the header is not UTF-8 text: save the file as CSV UTF-8",
            );
            return columns;
        };
        let name = name.trim().to_ascii_lowercase();
        match RawRegistration::COLUMNS.iter().find(|c| **c == name) {
            Some(c) if columns.contains(c) => {
                report.problem(1, Some(c), "this column appears twice in the header")
            }
            Some(c) => columns.push(*c),
            None => report.problem(
                1,
                Some(&name),
                format!(
                    "unknown column; the columns are: {}",
                    RawRegistration::COLUMNS.join(", ")
                ),
            ),
        }
    }
    if !columns.contains(&"record_id") && report.is_valid() {
        report.problem(
            1,
            Some("record_id"),
            "the required column record_id is missing from the header",
        );
    }
    columns
}

/// Writes registrations as a registration CSV with every column, in contract order.
pub struct Writer<W: Write> {
    inner: csv::Writer<W>,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Result<Self, csv::Error> {
        let mut inner = csv::Writer::from_writer(out);
        inner.write_record(RawRegistration::COLUMNS)?;
        Ok(Self { inner })
    }
    /// Writes one registration, its values protected from spreadsheets (see [`spreadsheet`]).
    pub fn write(&mut self, raw: &RawRegistration) -> Result<(), csv::Error> {
        for value in raw.values() {
            self.inner
                .write_field(spreadsheet::protect(value).as_bytes())?;
        }
        self.inner.write_record(None::<&[u8]>)
    }
    pub fn finish(mut self) -> Result<(), std::io::Error> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &[u8]) -> (Report, Vec<RawRegistration>) {
        let mut rows = Vec::new();
        let report = read(text, |r| rows.push(r));
        (report, rows)
    }

    #[test]
    fn a_good_file_in_any_column_order_with_bom() {
        let (r, rows) = read_all(
            "\u{FEFF}given_name,record_id,household_id\nذبیح‌الله,r-1,h-1\n\"Gul, Bibi\",r-2,h-1\n"
                .as_bytes(),
        );
        assert!(r.is_valid(), "{:?}", r.problems);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].given_name, "Gul, Bibi");
        assert_eq!(rows[0].record_id, "r-1");
    }

    #[test]
    fn every_problem_is_reported_with_line_and_column() {
        let text =
            "record_id,given_name,household_id\nr-1,Ahmad,\n,Nabi,\nr-1,Karim,\nr-4,,\nr-5,Wali\n";
        let (r, rows) = read_all(text.as_bytes());
        let msgs: Vec<String> = r.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(r.problem_count, 4, "{msgs:?}");
        assert!(msgs[0].starts_with("line 3, column record_id"), "{msgs:?}");
        assert!(msgs[1].contains("more than once"), "{msgs:?}");
        assert!(
            msgs[2].starts_with("line 5") && msgs[2].contains("no name"),
            "{msgs:?}"
        );
        assert!(
            msgs[3].starts_with("line 6") && msgs[3].contains("fields"),
            "{msgs:?}"
        );
        assert_eq!(rows.len(), 1, "rows stop flowing after the first problem");
    }

    #[test]
    fn header_problems() {
        assert!(!read_all(b"given_name\nAhmad\n").0.is_valid());
        let (r, _) = read_all(b"record_id,nickname\nr-1,x\n");
        assert!(r.problems[0].message.contains("unknown column"));
        let (r, _) = read_all(b"record_id,record_id\nr-1,r-2\n");
        assert!(r.problems[0].message.contains("twice"));
        assert!(!read_all(b"").0.is_valid());
    }

    #[test]
    fn encoding_size_and_quoting() {
        let (r, _) = read_all(b"record_id,given_name\nr-1,\xC1hmad\n");
        assert!(r.problems[0].message.contains("UTF-8"));
        let long = format!("record_id,given_name\nr-1,{}\n", "a".repeat(1001));
        assert!(
            read_all(long.as_bytes()).0.problems[0]
                .message
                .contains("longer than")
        );
        let (r, _) = read_all(b"record_id,given_name\nr-1,\"Ahmad\nr-2,Nabi\n");
        assert!(!r.is_valid());
        let (r, _) = read_all(
            "record_id,given_name
r-1,Ahmad
"
            .replace("r-1", &"x".repeat(65))
            .as_bytes(),
        );
        assert!(r.problems[0].message.contains("longer than 64"));
    }

    #[test]
    fn writer_round_trips() {
        let mut raw = RawRegistration {
            record_id: "r-1".into(),
            given_name: "  \"Zabi\", جان ".into(),
            birth_date: "۱۳۸۵".into(),
            ..Default::default()
        };
        raw.phone = "0300\n1234567".into();
        let mut out = Vec::new();
        let mut w = Writer::new(&mut out).unwrap();
        w.write(&raw).unwrap();
        w.finish().unwrap();
        let (r, rows) = read_all(&out);
        assert!(r.is_valid(), "{:?}", r.problems);
        assert_eq!(rows, vec![raw]);
    }
}
