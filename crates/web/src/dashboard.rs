//! Flow monitoring for information managers: arrivals per day and crossing point, the
//! sex-and-age pyramid, vulnerabilities, destinations and tracing figures, as a page and as
//! HXL-tagged CSV. Every count below 5 leaves the server as "<5", whatever asks for it, and a
//! second count is withheld wherever the first could be worked out from a published total.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{Uri, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;

use peywand_domain::Sex;
use peywand_names::place::Gazetteer;
use peywand_store::{AGE_GROUPS, FlowStatistics, StatsFilter};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::i18n::Tr;
use crate::pages::{Chrome, PageError, place_name, render, site_name, site_name_en, site_options};

/// Counts below this are shown as "<5": a small cell can name a person.
pub const SMALL_CELL: u64 = 5;

/// A count as it may leave the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Count(u64),
    /// Between 1 and 4.
    Suppressed,
    /// Withheld so that a suppressed count cannot be worked out by subtraction.
    Withheld,
}

impl Cell {
    pub fn of(n: u64) -> Cell {
        if (1..SMALL_CELL).contains(&n) {
            Cell::Suppressed
        } else {
            Cell::Count(n)
        }
    }

    fn text(self, t: &Tr) -> String {
        match self {
            Cell::Count(n) => t.digits(&n.to_string()),
            Cell::Suppressed => t.digits("<5"),
            Cell::Withheld => "*".into(),
        }
    }

    fn csv(self) -> String {
        match self {
            Cell::Count(n) => n.to_string(),
            Cell::Suppressed => "<5".into(),
            Cell::Withheld => "*".into(),
        }
    }

    fn value(self) -> u64 {
        match self {
            Cell::Count(n) => n,
            Cell::Suppressed | Cell::Withheld => 0,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DashboardQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub site: Option<String>,
}

fn filter(q: &DashboardQuery) -> Result<StatsFilter, ApiError> {
    let date = |v: &Option<String>, what: &str| -> Result<Option<NaiveDate>, ApiError> {
        match v.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| ApiError::Invalid(format!("{what} must be a date like 2025-10-02"))),
        }
    };
    Ok(StatsFilter {
        from: date(&q.from, "from")?,
        to: date(&q.to, "to")?,
        site_code: q
            .site
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    })
}

/// One figure as rows of labelled, suppressed counts.
pub struct Figure {
    pub key: &'static str,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<FigureRow>,
}

pub struct FigureRow {
    pub labels: Vec<String>,
    pub cells: Vec<String>,
    /// Width of the bar, 0 to 200, for the first count.
    pub bar: u64,
}

fn bars(rows: Vec<(Vec<String>, Vec<Cell>)>, t: &Tr) -> Vec<FigureRow> {
    let most = rows
        .iter()
        .flat_map(|(_, c)| c.first().map(|c| c.value()))
        .max()
        .unwrap_or(0)
        .max(1);
    rows.into_iter()
        .map(|(labels, cells)| FigureRow {
            bar: cells.first().map_or(0, |c| c.value() * 200 / most),
            labels,
            cells: cells.iter().map(|c| c.text(t)).collect(),
        })
        .collect()
}

/// Cells that add up to a published total: when exactly one is suppressed, the total minus the
/// others would give it away, so the smallest other non-zero count is withheld too.
fn complement(cells: &mut [Cell]) {
    if cells.iter().filter(|c| **c == Cell::Suppressed).count() != 1 {
        return;
    }
    let smallest = cells
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            Cell::Count(n) if *n > 0 => Some((*n, i)),
            _ => None,
        })
        .min();
    if let Some((_, i)) = smallest {
        cells[i] = Cell::Withheld;
    }
}

fn protected(counts: &[u64]) -> Vec<Cell> {
    let mut cells: Vec<Cell> = counts.iter().map(|n| Cell::of(*n)).collect();
    complement(&mut cells);
    cells
}

/// Age groups in order, then the unknown age.
fn age_groups() -> impl Iterator<Item = &'static str> {
    AGE_GROUPS.iter().map(|g| g.0).chain([""])
}

/// The sexes of the pyramid's columns: female, male, not recorded.
const PYRAMID_SEXES: [Option<Sex>; 3] = [Some(Sex::Female), Some(Sex::Male), None];

/// The tracing figures: message id and CSV name, with the case statuses each counts.
const CASE_FIGURES: [(&str, &str, &[&str]); 4] = [
    ("cases-open", "cases_open", &["open", "candidates_found"]),
    (
        "cases-matched",
        "cases_match_confirmed",
        &["match_confirmed"],
    ),
    ("cases-reunified", "cases_reunified", &["reunified"]),
    (
        "cases-closed",
        "cases_closed_without_result",
        &["closed_without_result"],
    ),
];

/// Every figure's counts as they may leave the server, for the page and the CSV alike.
struct Protected {
    people: Cell,
    households: Cell,
    arrivals: Vec<(NaiveDate, String, Cell)>,
    /// Per age group (empty: not known), female, male, not recorded.
    pyramid: Vec<(&'static str, [Cell; 3])>,
    vulnerabilities: Vec<(String, Cell)>,
    destinations: Vec<(String, Cell)>,
    cases: Vec<(&'static str, &'static str, Cell)>,
    /// Not given from fewer than 5 cases: it would be one family's timeline.
    median_days_to_match: Option<f64>,
}

fn protect(stats: &FlowStatistics) -> Protected {
    let arrivals = protected(&stats.arrivals.iter().map(|a| a.2).collect::<Vec<_>>());
    let groups: Vec<&'static str> = age_groups().collect();
    let counts: Vec<u64> = groups
        .iter()
        .flat_map(|g| {
            PYRAMID_SEXES.map(|sex| {
                stats
                    .pyramid
                    .iter()
                    .filter(|(group, s, _)| group == g && *s == sex)
                    .map(|r| r.2)
                    .sum::<u64>()
            })
        })
        .collect();
    let pyramid_cells = protected(&counts);
    let destinations = protected(&stats.destinations.iter().map(|d| d.1).collect::<Vec<_>>());
    let case_counts: Vec<u64> = CASE_FIGURES
        .iter()
        .map(|(_, _, codes)| {
            stats
                .cases
                .iter()
                .filter(|(s, _)| codes.contains(&s.as_str()))
                .map(|c| c.1)
                .sum()
        })
        .collect();
    // Cases of every status add up to all cases opened, which is not published.
    let case_cells: Vec<Cell> = case_counts.iter().map(|n| Cell::of(*n)).collect();
    Protected {
        people: Cell::of(stats.people),
        households: Cell::of(stats.households),
        arrivals: stats
            .arrivals
            .iter()
            .zip(arrivals)
            .map(|((d, site, _), c)| (*d, site.clone(), c))
            .collect(),
        pyramid: groups
            .iter()
            .zip(pyramid_cells.chunks(3))
            .map(|(g, c)| (*g, [c[0], c[1], c[2]]))
            .collect(),
        vulnerabilities: stats
            .vulnerabilities
            .iter()
            .map(|(v, n)| (v.clone(), Cell::of(*n)))
            .collect(),
        destinations: stats
            .destinations
            .iter()
            .zip(destinations)
            .map(|((p, _), c)| (p.clone(), c))
            .collect(),
        cases: CASE_FIGURES
            .iter()
            .zip(case_cells)
            .map(|((key, name, _), c)| (*key, *name, c))
            .collect(),
        median_days_to_match: if stats.days_to_match.len() < SMALL_CELL as usize {
            None
        } else {
            median(&stats.days_to_match)
        },
    }
}

fn sex_label(t: &Tr, sex: Option<Sex>) -> String {
    match sex {
        Some(s) => t.code("sex", s.code()),
        None => t.get("not-known"),
    }
}

fn province_name(t: &Tr, code: &str) -> String {
    Gazetteer::get()
        .by_code(code)
        .map(|p| place_name(t, p))
        .unwrap_or_else(|| t.get("not-known"))
}

/// The figures, protected, with labels in the user's language.
fn figures(p: &Protected, t: &Tr) -> Vec<Figure> {
    let median = p
        .median_days_to_match
        .map(|d| t.digits(&format!("{d:.1}")))
        .unwrap_or_else(|| "–".into());
    vec![
        Figure {
            key: "arrivals",
            title: t.get("fig-arrivals"),
            columns: vec![t.get("date"), t.get("site"), t.get("people")],
            rows: bars(
                p.arrivals
                    .iter()
                    .map(|(d, s, c)| (vec![t.date(*d), site_name(t, Some(s))], vec![*c]))
                    .collect(),
                t,
            ),
        },
        Figure {
            key: "pyramid",
            title: t.get("fig-pyramid"),
            columns: vec![
                t.get("age-group"),
                sex_label(t, Some(Sex::Female)),
                sex_label(t, Some(Sex::Male)),
                t.get("sex-not-recorded"),
            ],
            rows: bars(
                p.pyramid
                    .iter()
                    .map(|(g, cells)| {
                        let label = if g.is_empty() {
                            t.get("not-known")
                        } else {
                            t.digits(g)
                        };
                        (vec![label], cells.to_vec())
                    })
                    .collect(),
                t,
            ),
        },
        Figure {
            key: "vulnerabilities",
            title: t.get("fig-vulnerabilities"),
            columns: vec![t.get("vulnerabilities"), t.get("people")],
            rows: bars(
                p.vulnerabilities
                    .iter()
                    .map(|(v, c)| (vec![t.code("vuln", v)], vec![*c]))
                    .collect(),
                t,
            ),
        },
        Figure {
            key: "destinations",
            title: t.get("fig-destinations"),
            columns: vec![t.get("destination-province"), t.get("people")],
            rows: bars(
                p.destinations
                    .iter()
                    .map(|(code, c)| (vec![province_name(t, code)], vec![*c]))
                    .collect(),
                t,
            ),
        },
        Figure {
            key: "tracing",
            title: t.get("fig-tracing"),
            columns: vec![t.get("figure"), t.get("value")],
            rows: p
                .cases
                .iter()
                .map(|(k, _, c)| (*k, c.text(t)))
                .chain([("median-days-to-match", median)])
                .map(|(k, v)| FigureRow {
                    labels: vec![t.get(k)],
                    cells: vec![v],
                    bar: 0,
                })
                .collect(),
        },
    ]
}

fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    })
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    c: Chrome,
    people: String,
    households: String,
    from: String,
    to: String,
    site: String,
    sites: Vec<(String, String)>,
    query: String,
    figures: Vec<Figure>,
}

pub async fn page(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Query(q): Query<DashboardQuery>,
) -> Result<Html<String>, PageError> {
    let f = filter(&q)?;
    let stats = protect(&s.store.flow_statistics(&f).await?);
    let query = serde_urlencoded::to_string([
        ("from", q.from.clone().unwrap_or_default()),
        ("to", q.to.clone().unwrap_or_default()),
        ("site", q.site.clone().unwrap_or_default()),
    ])
    .unwrap_or_default();
    render(&DashboardPage {
        people: stats.people.text(&t),
        households: stats.households.text(&t),
        from: q.from.unwrap_or_default(),
        to: q.to.unwrap_or_default(),
        site: q.site.unwrap_or_default(),
        sites: site_options(),
        query,
        figures: figures(&stats, &t),
        c: Chrome::new(t, Some(&caller), &uri),
    })
}

/// One figure as CSV with its HXL hashtag row, in English with codes, for tools.
pub async fn csv(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, ApiError> {
    let f = filter(&q)?;
    let p = protect(&s.store.flow_statistics(&f).await?);
    let key = name.strip_suffix(".csv").unwrap_or(&name);
    let (header_row, tags, rows): (&[&str], &[&str], Vec<Vec<String>>) = match key {
        "arrivals" => (
            &["date", "site_code", "site", "people"],
            &["#date", "#loc+code", "#loc+name", "#affected+returnees+ind"],
            p.arrivals
                .iter()
                .map(|(d, site, c)| {
                    vec![
                        d.to_string(),
                        site.clone(),
                        site_name_en(Some(site)),
                        c.csv(),
                    ]
                })
                .collect(),
        ),
        "pyramid" => (
            &["age_group", "female", "male", "sex_not_recorded"],
            &[
                "#group+age",
                "#affected+returnees+f",
                "#affected+returnees+m",
                "#affected+returnees+unknown",
            ],
            p.pyramid
                .iter()
                .map(|(g, cells)| {
                    let group = if g.is_empty() { "unknown" } else { g };
                    std::iter::once(group.to_string())
                        .chain(cells.iter().map(|c| c.csv()))
                        .collect()
                })
                .collect(),
        ),
        "vulnerabilities" => (
            &["vulnerability", "people"],
            &["#group+vulnerability", "#affected+returnees+ind"],
            p.vulnerabilities
                .iter()
                .map(|(v, c)| vec![v.clone(), c.csv()])
                .collect(),
        ),
        "destinations" => (
            &["province_code", "province", "people"],
            &["#adm1+code", "#adm1+name", "#affected+returnees+ind"],
            p.destinations
                .iter()
                .map(|(code, c)| {
                    let name = Gazetteer::get()
                        .by_code(code)
                        .map(|p| p.name_en.clone())
                        .unwrap_or_default();
                    vec![code.clone(), name, c.csv()]
                })
                .collect(),
        ),
        "tracing" => (
            &["figure", "value"],
            &["#indicator+name", "#indicator+num"],
            p.cases
                .iter()
                .map(|(_, name, c)| vec![name.to_string(), c.csv()])
                .chain([vec![
                    "median_days_to_match".into(),
                    p.median_days_to_match
                        .map(|d| format!("{d:.1}"))
                        .unwrap_or_default(),
                ]])
                .collect(),
        ),
        _ => return Err(ApiError::NotFound(format!("figure {key}"))),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let written = (|| -> Result<(), csv::Error> {
        w.write_record(header_row)?;
        w.write_record(tags)?;
        for r in &rows {
            w.write_record(r.iter().map(|v| spreadsheet_safe(v).into_owned()))?;
        }
        w.flush()?;
        Ok(())
    })();
    written.map_err(|_| ApiError::Internal)?;
    let body = w.into_inner().map_err(|_| ApiError::Internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"peywand-{key}.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// A value a spreadsheet will not run as a formula: a leading = + - @ or tab gets an apostrophe.
/// Counts and codes never start so; a free-text value typed at a desk might.
fn spreadsheet_safe(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_cells_never_leave_as_numbers() {
        assert_eq!(Cell::of(0), Cell::Count(0));
        for n in 1..5 {
            assert_eq!(Cell::of(n), Cell::Suppressed);
            assert_eq!(Cell::of(n).csv(), "<5");
        }
        assert_eq!(Cell::of(5).csv(), "5");
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn one_small_cell_is_not_left_to_subtraction() {
        // 3 + 40 + 12 = 55 published as the total: the 3 would be 55 - 40 - 12.
        assert_eq!(
            protected(&[3, 40, 12, 0]),
            [
                Cell::Suppressed,
                Cell::Count(40),
                Cell::Withheld,
                Cell::Count(0)
            ]
        );
        // Two small cells already hide each other.
        assert_eq!(
            protected(&[3, 2, 12]),
            [Cell::Suppressed, Cell::Suppressed, Cell::Count(12)]
        );
        let mut stats = FlowStatistics {
            people: 55,
            days_to_match: vec![1.0, 2.0, 3.0],
            ..FlowStatistics::default()
        };
        assert_eq!(
            protect(&stats).median_days_to_match,
            None,
            "three cases are one family each"
        );
        stats.days_to_match.extend([4.0, 5.0]);
        assert_eq!(protect(&stats).median_days_to_match, Some(3.0));
    }

    #[test]
    fn csv_values_are_never_formulas() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("AF06"), "AF06");
    }
}
