//! Kobo and ODK exports read through a mapping file: which form column becomes which
//! registration field, and how coded answers translate. An XLSX export holds one sheet of
//! submissions (households) and one sheet per repeat group (members), joined on the index
//! columns Kobo and Central write (`_index`, `_parent_index`); a CSV export is read as one
//! person per row. Every problem is reported by sheet, row and column, and a file with any
//! problem is refused whole (docs/formats.md).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use peywand_domain::RawRegistration;

/// A mapping file (TOML).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    #[serde(default)]
    pub sheets: Sheets,
    /// Registration field (`given_name`) → form column: a column of the members' sheet, else
    /// of the household's (Kobo's `group/question` names).
    pub fields: BTreeMap<String, String>,
    /// Per registration field, coded answer → value Peywand reads (`"1" = "male"`). A field
    /// with a table must have every answer in it; `"" = ""` lets blanks through.
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
}

/// Where households and members are, and how they join.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sheets {
    /// The submissions' sheet; the workbook's first sheet when left out.
    pub household: Option<String>,
    /// The repeat group's sheet, one row per member; without it, one person per household row.
    pub members: Option<String>,
    /// The household sheet's row index, which members' rows name.
    pub household_index: String,
    /// The members' column naming their household's row index.
    pub member_parent: String,
    /// The members' own row index, which makes each member's record id.
    pub member_index: String,
    /// The household sheet's column that identifies a submission (Kobo's `_uuid`, Central's
    /// `KEY`): the household id, and the start of each member's record id.
    pub household_id: String,
}

impl Default for Sheets {
    fn default() -> Self {
        Sheets {
            household: None,
            members: None,
            household_index: "_index".into(),
            member_parent: "_parent_index".into(),
            member_index: "_index".into(),
            household_id: "_uuid".into(),
        }
    }
}

/// Something wrong in the file or the mapping, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub sheet: String,
    /// 1-based row of the sheet (the header is row 1); 0: the sheet as a whole.
    pub row: usize,
    pub column: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sheet {}", self.sheet)?;
        if self.row > 0 {
            write!(f, ", row {}", self.row)?;
        }
        if let Some(c) = &self.column {
            write!(f, ", column {c}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why a mapping file was not read.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("the mapping is not valid TOML: {0}")]
    Toml(String),
    #[error("the mapping names {0}, which is not a registration field")]
    UnknownField(String),
}

impl Mapping {
    pub fn parse(text: &str) -> Result<Mapping, MappingError> {
        let m: Mapping =
            basic_toml::from_str(text).map_err(|e| MappingError::Toml(e.to_string()))?;
        for field in m.fields.keys().chain(m.values.keys()) {
            if !RawRegistration::COLUMNS.contains(&field.as_str()) || field == "household_id" {
                return Err(MappingError::UnknownField(field.clone()));
            }
        }
        Ok(m)
    }
}

/// A sheet as text: its header and rows.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h.trim() == name)
    }
}

/// What reading a file gave: the registrations, or the problems that refuse it.
#[derive(Debug, Default)]
pub struct Outcome {
    pub households: usize,
    pub registrations: Vec<RawRegistration>,
    pub problems: Vec<Problem>,
}

/// One person's rows: the sheet and row number they are reported by, their member row (when
/// members are a sheet of their own) and their household's row.
type Person<'a> = (&'a Table, usize, Option<&'a Vec<String>>, &'a Vec<String>);

/// Reads every sheet of an XLSX workbook as text, in order.
pub fn read_xlsx(path: &Path) -> Result<Vec<Table>, String> {
    use calamine::{Reader, Xlsx, open_workbook};
    let mut book: Xlsx<_> =
        open_workbook(path).map_err(|e| format!("not a readable XLSX file ({e})"))?;
    let mut tables = Vec::new();
    for name in book.sheet_names() {
        let range = book
            .worksheet_range(&name)
            .map_err(|e| format!("sheet {name} cannot be read ({e})"))?;
        let mut rows = range
            .rows()
            .map(|r| r.iter().map(cell).collect::<Vec<String>>());
        let header = rows.next().unwrap_or_default();
        tables.push(Table {
            name,
            header,
            rows: rows.collect(),
        });
    }
    Ok(tables)
}

/// A cell as an export means it: numbers without a spurious `.0`, dates as YYYY-MM-DD.
fn cell(c: &calamine::Data) -> String {
    use calamine::Data;
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => {
            // Excel's serial date: days since 1899-12-30, the fraction the time of day.
            let serial = d.as_f64();
            let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default();
            let date = epoch + chrono::Duration::days(serial.floor() as i64);
            let seconds = ((serial - serial.floor()) * 86_400.0).round() as i64;
            if seconds == 0 {
                date.to_string()
            } else {
                (date.and_time(chrono::NaiveTime::MIN) + chrono::Duration::seconds(seconds))
                    .to_string()
            }
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Reads a CSV export as one table.
pub fn read_csv(input: impl std::io::Read, name: &str) -> Result<Table, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut rows = Vec::new();
    for r in reader.records() {
        let r = r.map_err(|e| format!("not a readable CSV file ({e})"))?;
        rows.push(
            r.iter()
                .map(|s| s.trim_start_matches('\u{feff}').to_string())
                .collect::<Vec<_>>(),
        );
    }
    let mut rows = rows.into_iter();
    Ok(Table {
        name: name.to_string(),
        header: rows.next().unwrap_or_default(),
        rows: rows.collect(),
    })
}

/// Turns the tables of an export into registrations through `mapping`, or lists every
/// problem. Nothing is partial: with any problem, `registrations` is empty.
pub fn map(mapping: &Mapping, tables: &[Table]) -> Outcome {
    let mut out = Outcome::default();
    let s = &mapping.sheets;
    let problem =
        |out: &mut Outcome, sheet: &str, row: usize, column: Option<&str>, message: String| {
            out.problems.push(Problem {
                sheet: sheet.to_string(),
                row,
                column: column.map(str::to_string),
                message,
            });
        };
    let sheet = |name: &Option<String>| match name {
        Some(n) => tables.iter().find(|t| &t.name == n),
        None => tables.first(),
    };
    let Some(households) = sheet(&s.household) else {
        let name = s.household.clone().unwrap_or_else(|| "(first)".into());
        problem(&mut out, &name, 0, None, "there is no such sheet".into());
        return out;
    };
    let members = match &s.members {
        Some(name) => match tables.iter().find(|t| &t.name == name) {
            Some(t) => Some(t),
            None => {
                problem(
                    &mut out,
                    name,
                    0,
                    None,
                    "there is no such sheet (the repeat group of members)".into(),
                );
                return out;
            }
        },
        None => None,
    };
    // Every mapped column must exist in one of the sheets.
    for (field, column) in &mapping.fields {
        let found = members.is_some_and(|m| m.column(column).is_some())
            || households.column(column).is_some();
        if !found {
            let where_ = members.map_or(households.name.as_str(), |m| m.name.as_str());
            problem(
                &mut out,
                where_,
                1,
                Some(column),
                format!("no such column (mapped to {field})"),
            );
        }
    }
    let hid_col = households.column(&s.household_id);
    if hid_col.is_none() {
        problem(
            &mut out,
            &households.name,
            1,
            Some(&s.household_id),
            "no such column (the household id)".into(),
        );
    }
    let index_col = households.column(&s.household_index);
    if members.is_some() && index_col.is_none() {
        problem(
            &mut out,
            &households.name,
            1,
            Some(&s.household_index),
            "no such column (the row index members name)".into(),
        );
    }
    let (parent_col, member_index_col) = match members {
        Some(m) => {
            let p = m.column(&s.member_parent);
            let i = m.column(&s.member_index);
            if p.is_none() {
                problem(
                    &mut out,
                    &m.name,
                    1,
                    Some(&s.member_parent),
                    "no such column (each member's household row)".into(),
                );
            }
            if i.is_none() {
                problem(
                    &mut out,
                    &m.name,
                    1,
                    Some(&s.member_index),
                    "no such column (each member's own row index)".into(),
                );
            }
            (p, i)
        }
        None => (None, None),
    };
    if !out.problems.is_empty() {
        return out;
    }
    let get = |t: &Table, row: &[String], column: &str| -> Option<String> {
        t.column(column)
            .map(|i| row.get(i).cloned().unwrap_or_default())
    };
    let mut by_index: HashMap<String, usize> = HashMap::new();
    let mut seen_households = HashSet::new();
    for (i, row) in households.rows.iter().enumerate() {
        let hid = hid_col
            .and_then(|c| row.get(c))
            .map(|v| v.trim().to_string())
            .unwrap_or_default();
        if hid.is_empty() {
            problem(
                &mut out,
                &households.name,
                i + 2,
                Some(&s.household_id),
                "empty household id".into(),
            );
        } else if !seen_households.insert(hid.clone()) {
            problem(
                &mut out,
                &households.name,
                i + 2,
                Some(&s.household_id),
                format!("household id {hid} appears twice"),
            );
        }
        if let Some(c) = index_col {
            let index = row.get(c).map(|v| v.trim().to_string()).unwrap_or_default();
            if by_index.insert(index.clone(), i).is_some() {
                problem(
                    &mut out,
                    &households.name,
                    i + 2,
                    Some(&s.household_index),
                    format!("row index {index} appears twice"),
                );
            }
        }
    }
    out.households = households.rows.len();
    let mut people: Vec<Person<'_>> = Vec::new();
    match (members, parent_col) {
        (Some(m), Some(p)) => {
            for (i, row) in m.rows.iter().enumerate() {
                let parent = row.get(p).map(|v| v.trim()).unwrap_or_default();
                match by_index.get(parent) {
                    Some(h) => people.push((m, i + 2, Some(row), &households.rows[*h])),
                    None => problem(
                        &mut out,
                        &m.name,
                        i + 2,
                        Some(&s.member_parent),
                        format!("no household row has index {parent:?}"),
                    ),
                }
            }
        }
        _ => {
            for (i, row) in households.rows.iter().enumerate() {
                people.push((households, i + 2, None, row));
            }
        }
    }
    let mut record_ids = HashSet::new();
    for (table, row_number, member, household) in people {
        let mut raw = RawRegistration::default();
        let hid = hid_col
            .and_then(|c| household.get(c))
            .map(|v| v.trim().to_string())
            .unwrap_or_default();
        raw.household_id = hid.clone();
        raw.record_id = match (member, member_index_col) {
            (Some(row), Some(c)) => {
                format!("{hid}-{}", row.get(c).map(|v| v.trim()).unwrap_or_default())
            }
            _ => hid.clone(),
        };
        if raw.record_id.chars().count() > 64 {
            problem(
                &mut out,
                &table.name,
                row_number,
                None,
                "the record id made from the household id is over 64 characters".into(),
            );
        }
        if !record_ids.insert(raw.record_id.clone()) {
            problem(
                &mut out,
                &table.name,
                row_number,
                None,
                format!("record id {} appears twice", raw.record_id),
            );
        }
        for (field, column) in &mapping.fields {
            let (value, sheet) = match member.and_then(|row| get(table, row, column)) {
                Some(v) => (v, table.name.as_str()),
                None => (
                    get(households, household, column).unwrap_or_default(),
                    households.name.as_str(),
                ),
            };
            let value = match mapping.values.get(field) {
                Some(table_of) => match table_of.get(value.trim()) {
                    Some(v) => v.clone(),
                    None if value.trim().is_empty() => String::new(),
                    None => {
                        problem(
                            &mut out,
                            sheet,
                            row_number,
                            Some(column),
                            format!("{value:?} is not in the mapping's values for {field}"),
                        );
                        continue;
                    }
                },
                None => value,
            };
            if value.chars().count() > RawRegistration::MAX_FIELD_CHARS {
                problem(
                    &mut out,
                    sheet,
                    row_number,
                    Some(column),
                    format!(
                        "longer than {} characters",
                        RawRegistration::MAX_FIELD_CHARS
                    ),
                );
                continue;
            }
            if let Some(slot) = raw.get_mut(field) {
                *slot = value;
            }
        }
        if !raw.has_name() && raw.household_id.is_empty() {
            problem(
                &mut out,
                &table.name,
                row_number,
                None,
                "no name and no household".into(),
            );
        }
        out.registrations.push(raw);
    }
    if !out.problems.is_empty() {
        out.registrations.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn table(name: &str, rows: &[&[&str]]) -> Table {
        let mut rows = rows
            .iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect());
        Table {
            name: name.into(),
            header: rows.next().unwrap(),
            rows: rows.collect(),
        }
    }

    const MAPPING: &str = r#"
[sheets]
members = "m"
[fields]
given_name = "m/name"
sex = "m/sex"
province_of_origin = "province"
[values.sex]
"1" = "male"
"2" = "female"
"#;

    #[test]
    fn repeat_rows_join_their_household_and_codes_translate() {
        let m = Mapping::parse(MAPPING).unwrap();
        let h = table(
            "main",
            &[
                &["_uuid", "_index", "province"],
                &["u1", "1", "ننگرهار"],
                &["u2", "2", "Kandahar"],
            ],
        );
        let members = table(
            "m",
            &[
                &["m/name", "m/sex", "_index", "_parent_index"],
                &["Zabiullah", "1", "1", "1"],
                &["Gul", "2", "2", "1"],
                &["Nabi", "", "3", "2"],
            ],
        );
        let out = map(&m, &[h, members]);
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        let r = &out.registrations;
        assert_eq!((out.households, r.len()), (2, 3));
        assert_eq!(
            (r[0].record_id.as_str(), r[0].household_id.as_str()),
            ("u1-1", "u1")
        );
        assert_eq!(
            (r[1].sex.as_str(), r[1].province_of_origin.as_str()),
            ("female", "ننگرهار")
        );
        assert_eq!((r[2].household_id.as_str(), r[2].sex.as_str()), ("u2", ""));
    }

    #[test]
    fn a_malformed_export_is_refused_whole_with_every_problem() {
        let m = Mapping::parse(MAPPING).unwrap();
        let h = table(
            "main",
            &[
                &["_uuid", "_index", "province"],
                &["u1", "1", "x"],
                &["u1", "2", "y"],
            ],
        );
        let members = table(
            "m",
            &[
                &["m/name", "m/sex", "_index", "_parent_index"],
                &["A", "7", "1", "1"],
                &["B", "1", "2", "9"],
            ],
        );
        let out = map(&m, &[h, members]);
        assert!(out.registrations.is_empty());
        let shown: Vec<String> = out.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "sheet main, row 3, column _uuid: household id u1 appears twice",
                "sheet m, row 3, column _parent_index: no household row has index \"9\"",
                "sheet m, row 2, column m/sex: \"7\" is not in the mapping's values for sex",
            ]
        );
        assert!(matches!(
            Mapping::parse("[fields]\npassword = \"x\""),
            Err(MappingError::UnknownField(_))
        ));
        let missing = map(&m, &[table("main", &[&["_uuid"]])]);
        assert_eq!(
            missing.problems[0].to_string(),
            "sheet m: there is no such sheet (the repeat group of members)"
        );
    }
}
