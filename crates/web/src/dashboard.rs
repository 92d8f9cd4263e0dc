//! Flow monitoring for information managers: arrivals per day and crossing point, the
//! sex-and-age pyramid, vulnerabilities, destinations and tracing figures, as a page and as
//! HXL-tagged CSV. Every count below 5 leaves the server as "<5", whatever asks for it.

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
use crate::pages::{Chrome, PageError, place_name, render, site_name, site_options};

/// Counts below this are shown as "<5": a small cell can name a person.
pub const SMALL_CELL: u64 = 5;

/// A count as it may leave the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Count(u64),
    /// Between 1 and 4.
    Suppressed,
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
        }
    }

    fn csv(self) -> String {
        match self {
            Cell::Count(n) => n.to_string(),
            Cell::Suppressed => "<5".into(),
        }
    }

    fn value(self) -> u64 {
        match self {
            Cell::Count(n) => n,
            Cell::Suppressed => 0,
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

fn sex_label(t: &Tr, sex: Option<Sex>) -> String {
    match sex {
        Some(s) => t.code("sex", s.code()),
        None => t.get("not-known"),
    }
}

/// The figures, suppressed, with labels in the user's language.
fn figures(stats: &FlowStatistics, t: &Tr) -> Vec<Figure> {
    let mut out = Vec::new();
    out.push(Figure {
        key: "arrivals",
        title: t.get("fig-arrivals"),
        columns: vec![t.get("date"), t.get("site"), t.get("people")],
        rows: bars(
            stats
                .arrivals
                .iter()
                .map(|(d, s, n)| (vec![t.date(*d), site_name(Some(s))], vec![Cell::of(*n)]))
                .collect(),
            t,
        ),
    });
    let groups: Vec<&str> = AGE_GROUPS.iter().map(|g| g.0).chain([""]).collect();
    let count = |g: &str, s: Option<Sex>| {
        stats
            .pyramid
            .iter()
            .filter(|(group, sex, _)| group == g && *sex == s)
            .map(|r| r.2)
            .sum::<u64>()
    };
    out.push(Figure {
        key: "pyramid",
        title: t.get("fig-pyramid"),
        columns: vec![
            t.get("age-group"),
            sex_label(t, Some(Sex::Female)),
            sex_label(t, Some(Sex::Male)),
            t.get("sex-not-recorded"),
        ],
        rows: bars(
            groups
                .iter()
                .map(|g| {
                    let label = if g.is_empty() {
                        t.get("not-known")
                    } else {
                        t.digits(g)
                    };
                    let cells = [Some(Sex::Female), Some(Sex::Male), None]
                        .map(|s| Cell::of(count(g, s)))
                        .to_vec();
                    (vec![label], cells)
                })
                .collect(),
            t,
        ),
    });
    out.push(Figure {
        key: "vulnerabilities",
        title: t.get("fig-vulnerabilities"),
        columns: vec![t.get("vulnerabilities"), t.get("people")],
        rows: bars(
            stats
                .vulnerabilities
                .iter()
                .map(|(v, n)| (vec![t.code("vuln", v)], vec![Cell::of(*n)]))
                .collect(),
            t,
        ),
    });
    out.push(Figure {
        key: "destinations",
        title: t.get("fig-destinations"),
        columns: vec![t.get("destination-province"), t.get("people")],
        rows: bars(
            stats
                .destinations
                .iter()
                .map(|(p, n)| {
                    let name = Gazetteer::get()
                        .by_code(p)
                        .map(|p| place_name(t, p))
                        .unwrap_or_else(|| t.get("not-known"));
                    (vec![name], vec![Cell::of(*n)])
                })
                .collect(),
            t,
        ),
    });
    let cases = |codes: &[&str]| {
        stats
            .cases
            .iter()
            .filter(|(s, _)| codes.contains(&s.as_str()))
            .map(|c| c.1)
            .sum::<u64>()
    };
    let median = median(&stats.days_to_match)
        .map(|d| t.digits(&format!("{d:.1}")))
        .unwrap_or_else(|| "–".into());
    out.push(Figure {
        key: "tracing",
        title: t.get("fig-tracing"),
        columns: vec![t.get("figure"), t.get("value")],
        rows: vec![
            (
                "cases-open",
                Cell::of(cases(&["open", "candidates_found"])).text(t),
            ),
            (
                "cases-matched",
                Cell::of(cases(&["match_confirmed"])).text(t),
            ),
            ("cases-reunified", Cell::of(cases(&["reunified"])).text(t)),
            (
                "cases-closed",
                Cell::of(cases(&["closed_without_result"])).text(t),
            ),
            ("median-days-to-match", median),
        ]
        .into_iter()
        .map(|(k, v)| FigureRow {
            labels: vec![t.get(k)],
            cells: vec![v],
            bar: 0,
        })
        .collect(),
    });
    out
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
    let stats = s.store.flow_statistics(&f).await?;
    let query = serde_urlencoded::to_string([
        ("from", q.from.clone().unwrap_or_default()),
        ("to", q.to.clone().unwrap_or_default()),
        ("site", q.site.clone().unwrap_or_default()),
    ])
    .unwrap_or_default();
    render(&DashboardPage {
        people: Cell::of(stats.people).text(&t),
        households: Cell::of(stats.households).text(&t),
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
    let stats = s.store.flow_statistics(&f).await?;
    let key = name.strip_suffix(".csv").unwrap_or(&name);
    let (header_row, tags, rows): (&[&str], &[&str], Vec<Vec<String>>) = match key {
        "arrivals" => (
            &["date", "site_code", "site", "people"],
            &["#date", "#loc+code", "#loc+name", "#affected+returnees+ind"],
            stats
                .arrivals
                .iter()
                .map(|(d, site, n)| {
                    vec![
                        d.to_string(),
                        site.clone(),
                        site_name(Some(site)),
                        Cell::of(*n).csv(),
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
            AGE_GROUPS
                .iter()
                .map(|g| g.0)
                .chain([""])
                .map(|g| {
                    let n = |s: Option<Sex>| {
                        Cell::of(
                            stats
                                .pyramid
                                .iter()
                                .filter(|(group, sex, _)| group == g && *sex == s)
                                .map(|r| r.2)
                                .sum(),
                        )
                        .csv()
                    };
                    vec![
                        if g.is_empty() {
                            "unknown".into()
                        } else {
                            g.to_string()
                        },
                        n(Some(Sex::Female)),
                        n(Some(Sex::Male)),
                        n(None),
                    ]
                })
                .collect(),
        ),
        "vulnerabilities" => (
            &["vulnerability", "people"],
            &["#group+vulnerability", "#affected+returnees+ind"],
            stats
                .vulnerabilities
                .iter()
                .map(|(v, n)| vec![v.clone(), Cell::of(*n).csv()])
                .collect(),
        ),
        "destinations" => (
            &["province_code", "province", "people"],
            &["#adm1+code", "#adm1+name", "#affected+returnees+ind"],
            stats
                .destinations
                .iter()
                .map(|(p, n)| {
                    let name = Gazetteer::get()
                        .by_code(p)
                        .map(|p| p.name_en.clone())
                        .unwrap_or_default();
                    vec![p.clone(), name, Cell::of(*n).csv()]
                })
                .collect(),
        ),
        "tracing" => {
            let cases = |codes: &[&str]| {
                Cell::of(
                    stats
                        .cases
                        .iter()
                        .filter(|(s, _)| codes.contains(&s.as_str()))
                        .map(|c| c.1)
                        .sum(),
                )
                .csv()
            };
            (
                &["figure", "value"],
                &["#indicator+name", "#indicator+num"],
                vec![
                    vec!["cases_open".into(), cases(&["open", "candidates_found"])],
                    vec!["cases_match_confirmed".into(), cases(&["match_confirmed"])],
                    vec!["cases_reunified".into(), cases(&["reunified"])],
                    vec![
                        "cases_closed_without_result".into(),
                        cases(&["closed_without_result"]),
                    ],
                    vec![
                        "median_days_to_match".into(),
                        median(&stats.days_to_match)
                            .map(|d| format!("{d:.1}"))
                            .unwrap_or_default(),
                    ],
                ],
            )
        }
        _ => return Err(ApiError::NotFound(format!("figure {key}"))),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let written = (|| -> Result<(), csv::Error> {
        w.write_record(header_row)?;
        w.write_record(tags)?;
        for r in &rows {
            w.write_record(r)?;
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
}
