//! Flow monitoring for information managers: arrivals per day and crossing point, the
//! sex-and-age pyramid, vulnerabilities, destinations and tracing figures, as a page and as
//! HXL-tagged CSV. Every count below 5 leaves the server as "<5", whatever asks for it, and a
//! second count is withheld wherever the first could be worked out from a published total.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, Query, State};
use axum::http::{Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;

use peywand_domain::Sex;
use peywand_interchange::spreadsheet;
use peywand_names::place::Gazetteer;
use peywand_store::{
    AGE_GROUPS, AssistanceKind, DistributionDay, FlowStatistics, StatsFilter, StockLine,
};

use crate::AppState;
use crate::auth::Caller;
use crate::charts;
use crate::error::ApiError;
use crate::i18n::Tr;
use crate::pages::{Chrome, PageError, place_name, render, site_name, site_name_en, site_options};
use crate::refusal::Refusal;

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

/// Assistance given in one week (from its Monday) at one site, of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GivenWeek {
    week: NaiveDate,
    site: String,
    kind: AssistanceKind,
    /// Households given to: one distribution each.
    households: Cell,
    /// Units given; withheld with a suppressed household count, which it would reveal.
    units: Cell,
}

/// Distributions within the dashboard's filter, per week, site and kind, newest week first.
fn given_weeks(days: &[DistributionDay], f: &StatsFilter) -> Vec<GivenWeek> {
    use chrono::Datelike;
    use std::collections::BTreeMap;
    let mut weeks: BTreeMap<(NaiveDate, String, &'static str), (AssistanceKind, u64, u64)> =
        BTreeMap::new();
    for d in days {
        if f.from.is_some_and(|from| d.given_on < from)
            || f.to.is_some_and(|to| d.given_on > to)
            || f.site_code.as_ref().is_some_and(|s| *s != d.site_code)
        {
            continue;
        }
        let monday = d.given_on
            - chrono::Duration::days(i64::from(d.given_on.weekday().num_days_from_monday()));
        let e = weeks
            .entry((monday, d.site_code.clone(), d.kind.code()))
            .or_insert((d.kind, 0, 0));
        e.1 += d.households;
        e.2 += d.quantity;
    }
    let mut out: Vec<GivenWeek> = weeks
        .into_iter()
        .map(|((week, site, _), (kind, households, units))| {
            let households = Cell::of(households);
            GivenWeek {
                week,
                site,
                kind,
                units: if households == Cell::Suppressed {
                    Cell::Withheld
                } else {
                    Cell::Count(units)
                },
                households,
            }
        })
        .collect();
    out.sort_by(|a, b| b.week.cmp(&a.week).then(a.site.cmp(&b.site)));
    out
}

/// Stock per programme and site within the site filter: units given below five are
/// suppressed (they are households), and what is left in stock, which would reveal them, is
/// withheld with them. Planned and received are goods, not people, and shown as they are.
fn stock_rows<'a>(lines: &'a [StockLine], f: &StatsFilter) -> Vec<(&'a StockLine, Cell, Cell)> {
    lines
        .iter()
        .filter(|l| f.site_code.as_ref().is_none_or(|s| *s == l.site_code))
        .map(|l| {
            let given = Cell::of(l.distributed);
            let left = if given == Cell::Suppressed {
                Cell::Withheld
            } else {
                Cell::Count(l.in_stock())
            };
            (l, given, left)
        })
        .collect()
}

struct GivenRow {
    week: String,
    site: String,
    kind: String,
    households: String,
    units: String,
}

struct StockRow {
    programme: String,
    site: String,
    kind: String,
    planned: String,
    received: String,
    given: String,
    left: String,
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

/// One ranked figure as rows of labelled, suppressed counts with a bar each.
pub struct Figure {
    pub key: &'static str,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<FigureRow>,
}

pub struct FigureRow {
    pub labels: Vec<String>,
    pub cells: Vec<String>,
    /// Length of the bar, 0 to 100, for the first count.
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
            bar: cells.first().map_or(0, |c| c.value() * 100 / most),
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
    arrivals: Vec<(NaiveDate, String, Cell)>,
    /// Per age group (empty: not known), female, male, not recorded.
    pyramid: Vec<(&'static str, [Cell; 3])>,
    vulnerabilities: Vec<(String, Cell)>,
    destinations: Vec<(String, Cell)>,
    /// Households per return type code (empty: not known).
    return_types: Vec<(String, Cell)>,
    /// Households per priority need.
    needs: Vec<(String, Cell)>,
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
    let return_types = protected(&stats.return_types.iter().map(|d| d.1).collect::<Vec<_>>());
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
        return_types: stats
            .return_types
            .iter()
            .zip(return_types)
            .map(|((r, _), c)| (r.clone(), c))
            .collect(),
        // A household has several needs: they do not add up to a total.
        needs: stats
            .needs
            .iter()
            .map(|(n, c)| (n.clone(), Cell::of(*c)))
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

fn province_name(t: &Tr, code: &str) -> String {
    Gazetteer::get()
        .by_code(code)
        .map(|p| place_name(t, p))
        .unwrap_or_else(|| t.get("not-known"))
}

/// Rows ranked by their count, largest first; rows without a count (suppressed, withheld)
/// after them, and the "not known" row last.
fn ranked(rows: &[(String, Cell)]) -> Vec<&(String, Cell)> {
    let mut rows: Vec<_> = rows.iter().collect();
    rows.sort_by_key(|(code, c)| (code.is_empty(), std::cmp::Reverse(c.value())));
    rows
}

/// The ranked figures, protected, with labels in the user's language.
fn figures(p: &Protected, t: &Tr) -> Vec<Figure> {
    let figure = |key,
                  title: &str,
                  column: &str,
                  rows: &[(String, Cell)],
                  label: &dyn Fn(&str) -> String| Figure {
        key,
        title: t.get(title),
        columns: vec![
            t.get(column),
            t.get(if key == "return_types" || key == "needs" {
                "households"
            } else {
                "people"
            }),
        ],
        rows: bars(
            ranked(rows)
                .into_iter()
                .map(|(code, c)| (vec![label(code)], vec![*c]))
                .collect(),
            t,
        ),
    };
    let or_not_known = |label: String, code: &str| {
        if code.is_empty() {
            t.get("not-known")
        } else {
            label
        }
    };
    vec![
        figure(
            "destinations",
            "fig-destinations",
            "destination-province",
            &p.destinations,
            &|code| province_name(t, code),
        ),
        figure(
            "vulnerabilities",
            "fig-vulnerabilities",
            "vulnerabilities",
            &p.vulnerabilities,
            &|code| t.code("vuln", code),
        ),
        figure(
            "return_types",
            "fig-return-types",
            "return-type",
            &p.return_types,
            &|code| or_not_known(t.code("return", code), code),
        ),
        figure("needs", "fig-needs", "priority-needs", &p.needs, &|code| {
            t.code("need", code)
        }),
    ]
}

/// The tracing figures as label and value.
fn tracing_rows(p: &Protected, t: &Tr) -> Vec<(String, String)> {
    let median = p
        .median_days_to_match
        .map(|d| t.digits(&format!("{d:.1}")))
        .unwrap_or_else(|| "–".into());
    p.cases
        .iter()
        .map(|(k, _, c)| (t.get(k), c.text(t)))
        .chain([(t.get("median-days-to-match"), median)])
        .collect()
}

/// Arrival ranges longer than this are drawn per week.
const DAILY_UP_TO_DAYS: i64 = 92;
/// Crossing points drawn apart; the others share one band.
const BANDS: usize = 6;

/// Arrivals over the range as a chart: per day or per week, one band per crossing point,
/// with its title and legend.
struct ArrivalsChart {
    title: String,
    svg: String,
    /// Band colour class index and the site's name.
    legend: Vec<(usize, String)>,
}

fn arrivals_chart(stats: &FlowStatistics, f: &StatsFilter, t: &Tr) -> Option<ArrivalsChart> {
    let first = f.from.or(stats.arrivals.iter().map(|a| a.0).min())?;
    let last = f.to.or(stats.arrivals.iter().map(|a| a.0).max())?;
    if last < first {
        return None;
    }
    let span = (last - first).num_days() + 1;
    let days = if span > DAILY_UP_TO_DAYS { 7 } else { 1 };
    let buckets = ((span + days - 1) / days) as usize;
    // Sites by their arrivals, most first; the smaller ones together in the last band.
    let mut by_site: std::collections::BTreeMap<&str, u64> = Default::default();
    for (_, site, n) in &stats.arrivals {
        *by_site.entry(site.as_str()).or_default() += n;
    }
    let mut sites: Vec<(&str, u64)> = by_site.into_iter().collect();
    sites.sort_by_key(|(s, n)| (std::cmp::Reverse(*n), *s));
    let apart = if sites.len() > BANDS {
        BANDS - 1
    } else {
        sites.len()
    };
    let band_of = |site: &str| {
        sites[..apart]
            .iter()
            .position(|(s, _)| *s == site)
            .unwrap_or(apart)
    };
    let band_count = sites.len().min(BANDS);
    let mut counts = vec![0u64; band_count * buckets];
    for (day, site, n) in &stats.arrivals {
        let i = (*day - first).num_days();
        if i < 0 || i >= span {
            continue;
        }
        counts[band_of(site) * buckets + (i / days) as usize] += n;
    }
    // Counts are protected as the CSV's are: a small cell draws as nothing.
    let cells = protected(&counts);
    let bands: Vec<charts::Band> = cells
        .chunks(buckets.max(1))
        .map(|c| charts::Band {
            values: c.iter().map(|c| c.value()).collect(),
        })
        .collect();
    let x_labels: Vec<String> = (0..buckets)
        .map(|b| t.date(first + chrono::Duration::days(b as i64 * days)))
        .collect();
    let title = t.get(if days == 1 {
        "fig-arrivals-day"
    } else {
        "fig-arrivals-week"
    });
    let legend = (0..band_count)
        .map(|k| {
            let name = match sites.get(k) {
                _ if k == apart => t.get("other-sites"),
                Some(("", _)) | None => t.get("not-known"),
                Some((code, _)) => site_name(t, Some(code)),
            };
            (k, name)
        })
        .collect();
    let digits = |n: u64| t.digits(&n.to_string());
    Some(ArrivalsChart {
        svg: charts::stacked_area(&title, &x_labels, &bands, &digits),
        title,
        legend,
    })
}

fn pyramid_chart(p: &Protected, t: &Tr) -> (String, Vec<String>) {
    let rows: Vec<charts::PyramidRow> = p
        .pyramid
        .iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, c)| charts::PyramidRow {
            label: t.digits(g),
            women: (c[0].value(), c[0].text(t)),
            men: (c[1].value(), c[1].text(t)),
        })
        .collect();
    let svg = charts::pyramid(&t.get("fig-pyramid"), &t.get("women"), &t.get("men"), &rows);
    // Who the pyramid cannot place, said under it.
    let unknown_age: Vec<Cell> = p
        .pyramid
        .iter()
        .filter(|(g, _)| g.is_empty())
        .flat_map(|(_, c)| c.iter().copied())
        .collect();
    let no_sex: Vec<Cell> = p
        .pyramid
        .iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(_, c)| c[2])
        .collect();
    let said = |key: &str, cells: &[Cell]| {
        let total: u64 = cells.iter().map(|c| c.value()).sum();
        let hidden = cells.iter().any(|c| *c != Cell::Count(0) && c.value() == 0);
        (total > 0 || hidden).then(|| {
            let n = if hidden && total < SMALL_CELL {
                Cell::Suppressed.text(t)
            } else {
                t.digits(&total.to_string())
            };
            t.with(key, "n", n)
        })
    };
    let notes = [
        said("age-not-known-n", &unknown_age),
        said("sex-not-recorded-n", &no_sex),
    ]
    .into_iter()
    .flatten()
    .collect();
    (svg, notes)
}

/// The headline figures of a period, as counted.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Headlines {
    people: u64,
    households: u64,
    female_headed: u64,
    children_alone: u64,
    disability: u64,
}

impl Headlines {
    fn of(s: &FlowStatistics) -> Headlines {
        let vuln = |codes: &[&str]| {
            s.vulnerabilities
                .iter()
                .filter(|(v, _)| codes.contains(&v.as_str()))
                .map(|v| v.1)
                .sum()
        };
        Headlines {
            people: s.people,
            households: s.households,
            female_headed: s.female_headed_households,
            children_alone: vuln(&["unaccompanied_child", "separated_child"]),
            disability: vuln(&["disability"]),
        }
    }
}

/// One headline as shown: label, value, and its change on the previous period.
pub struct Headline {
    pub key: &'static str,
    pub label: String,
    pub value: String,
    pub change: String,
    /// "up", "down" or empty.
    pub trend: &'static str,
}

/// The period the headlines compare, and the one before it, of equal length. With dates
/// chosen, the chosen range; otherwise the last four weeks with arrivals.
struct Periods {
    current: StatsFilter,
    previous: StatsFilter,
    days: i64,
    chosen: bool,
}

const RECENT_DAYS: i64 = 28;

fn periods(f: &StatsFilter, stats: &FlowStatistics) -> Option<Periods> {
    let last = f.to.or(stats.arrivals.iter().map(|a| a.0).max())?;
    let (first, chosen) = match f.from {
        Some(from) => (from, true),
        None => (last - chrono::Duration::days(RECENT_DAYS - 1), false),
    };
    let days = (last - first).num_days() + 1;
    if days < 1 {
        return None;
    }
    let previous_last = first - chrono::Duration::days(1);
    Some(Periods {
        current: StatsFilter {
            from: Some(first),
            to: Some(last),
            site_code: f.site_code.clone(),
        },
        previous: StatsFilter {
            from: Some(previous_last - chrono::Duration::days(days - 1)),
            to: Some(previous_last),
            site_code: f.site_code.clone(),
        },
        days,
        chosen,
    })
}

fn headlines(
    shown: &FlowStatistics,
    compared: Option<(Headlines, Headlines, &Periods)>,
    t: &Tr,
) -> Vec<Headline> {
    let now = Headlines::of(shown);
    let share = |h: &Headlines| {
        (h.households >= SMALL_CELL && h.female_headed >= SMALL_CELL)
            .then(|| h.female_headed as f64 * 100.0 / h.households as f64)
    };
    let sentence = |change: String, p: &Periods| {
        let days = t.digits(&p.days.to_string());
        if p.chosen {
            t.with_all("change-on-previous", &[("change", change), ("days", days)])
        } else {
            t.with_all("change-in-last", &[("change", change), ("days", days)])
        }
    };
    let trend = |d: f64| {
        if d > 0.5 {
            "up"
        } else if d < -0.5 {
            "down"
        } else {
            ""
        }
    };
    let count = |key: &'static str, label: &str, pick: fn(&Headlines) -> u64| {
        let (change, dir) = match compared {
            Some((cur, prev, p)) if pick(&cur) >= SMALL_CELL && pick(&prev) >= SMALL_CELL => {
                let d = (pick(&cur) as f64 - pick(&prev) as f64) * 100.0 / pick(&prev) as f64;
                (sentence(t.digits(&format!("{d:+.0}%")), p), trend(d))
            }
            _ => (String::new(), ""),
        };
        Headline {
            key,
            label: t.get(label),
            value: Cell::of(pick(&now)).text(t),
            change,
            trend: dir,
        }
    };
    let female_share = {
        let (change, dir) = match compared {
            Some((cur, prev, p)) => match (share(&cur), share(&prev)) {
                (Some(a), Some(b)) => (
                    sentence(
                        t.with("points", "n", t.digits(&format!("{:+.0}", a - b))),
                        p,
                    ),
                    trend(a - b),
                ),
                _ => (String::new(), ""),
            },
            None => (String::new(), ""),
        };
        Headline {
            key: "female-headed",
            label: t.get("headline-female-headed"),
            value: match share(&now) {
                Some(s) => t.digits(&format!("{s:.0}%")),
                None => Cell::of(now.female_headed).text(t),
            },
            change,
            trend: dir,
        }
    };
    vec![
        count("people", "headline-people", |h| h.people),
        count("households", "headline-households", |h| h.households),
        female_share,
        count("children-alone", "headline-children-alone", |h| {
            h.children_alone
        }),
        count("disability", "headline-disability", |h| h.disability),
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
    from: String,
    to: String,
    site: String,
    sites: Vec<(String, String)>,
    query: String,
    headlines: Vec<Headline>,
    arrivals: Option<ArrivalsChart>,
    pyramid: String,
    pyramid_notes: Vec<String>,
    figures: Vec<Figure>,
    tracing: Vec<(String, String)>,
    given: Vec<GivenRow>,
    stock: Vec<StockRow>,
    doubled: Vec<DoubledRow>,
    share: ShareBox,
}

/// The share of people sought who registered, and the information manager's form to set it.
struct ShareBox {
    in_use: String,
    set: String,
    cases: String,
    /// What the cases that ended taught the index in use; empty while no index is ready.
    learnt: String,
    percent: String,
    error: String,
}

impl ShareBox {
    fn of(
        share: &peywand_store::RegisteredShare,
        learnt: Option<peywand_linkage::LearntFromCases>,
        t: &Tr,
        error: String,
    ) -> ShareBox {
        let percent = |p: f64| t.digits(&format!("{:.0}%", p * 100.0));
        let set = match (&share.set_by, share.set_at) {
            (Some(by), Some(at)) => t.with_all(
                "registered-share-set-by",
                &[
                    ("set", percent(share.set)),
                    ("by", by.clone()),
                    ("on", t.date(at.date_naive())),
                ],
            ),
            _ => t.with_all("registered-share-default", &[("set", percent(share.set))]),
        };
        ShareBox {
            in_use: t.with_all(
                "registered-share-in-use",
                &[("share", percent(share.in_use))],
            ),
            set,
            cases: t.with_all(
                "registered-share-cases",
                &[
                    ("found", t.digits(&share.cases_found.to_string())),
                    ("unfound", t.digits(&share.cases_not_found.to_string())),
                ],
            ),
            learnt: match learnt {
                Some(l) if l.calibrated => t.with_all(
                    "registered-share-learnt",
                    &[
                        ("cases", t.digits(&(l.found + l.closed).to_string())),
                        ("scale", percent(l.evidence_scale)),
                    ],
                ),
                None => String::new(),
                Some(_) => t.with_all(
                    "registered-share-unchecked",
                    &[(
                        "needed",
                        t.digits(&peywand_linkage::CASES_FOR_EVIDENCE_SCALE.to_string()),
                    )],
                ),
            },
            percent: format!("{:.0}", share.set * 100.0),
            error,
        }
    }
}

/// The share as the form sends it: a whole percentage.
#[derive(Deserialize)]
pub struct ShareForm {
    percent: String,
}

/// Sets the share of people sought who registered (information manager), then shows the
/// dashboard again; a share out of bounds is said there.
pub async fn set_share(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Form(f): Form<ShareForm>,
) -> Result<Response, PageError> {
    let share = peywand_names::fold::ascii_digits(f.percent.trim())
        .parse::<u32>()
        .map(|p| f64::from(p) / 100.0)
        .map_err(|_| ApiError::Refused(Refusal::BadRegisteredShare));
    let result = match share {
        Ok(share) => crate::cases::set_registered_share(&s, &caller, share).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/dashboard#figure-tracing").into_response()),
        Err(e @ ApiError::Refused(_)) => {
            let worded = e.worded(&t);
            let q = DashboardQuery {
                from: None,
                to: None,
                site: None,
            };
            Ok(page_with(&s, &caller, t, &uri, q, worded)
                .await?
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// A kit given twice before two sites met: both records, for the information manager.
struct DoubledRow {
    household: String,
    kind: String,
    first: String,
    again: String,
}

pub async fn page(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Query(q): Query<DashboardQuery>,
) -> Result<Html<String>, PageError> {
    page_with(&s, &caller, t, &uri, q, String::new()).await
}

/// The dashboard, with `share_error` said beside the share's form.
async fn page_with(
    s: &AppState,
    caller: &Caller,
    t: Tr,
    uri: &Uri,
    q: DashboardQuery,
    share_error: String,
) -> Result<Html<String>, PageError> {
    let f = filter(&q)?;
    let stats = s.store.flow_statistics(&f).await?;
    let compared = match periods(&f, &stats) {
        Some(p) => {
            let current = if p.chosen && f.to.is_some() {
                Headlines::of(&stats)
            } else {
                Headlines::of(&s.store.flow_statistics(&p.current).await?)
            };
            let previous = Headlines::of(&s.store.flow_statistics(&p.previous).await?);
            Some((current, previous, p))
        }
        None => None,
    };
    let headlines = headlines(
        &stats,
        compared.as_ref().map(|(c, p, periods)| (*c, *p, periods)),
        &t,
    );
    let arrivals = arrivals_chart(&stats, &f, &t);
    let protected = protect(&stats);
    let (pyramid, pyramid_notes) = pyramid_chart(&protected, &t);
    let query = serde_urlencoded::to_string([
        ("from", q.from.clone().unwrap_or_default()),
        ("to", q.to.clone().unwrap_or_default()),
        ("site", q.site.clone().unwrap_or_default()),
    ])
    .unwrap_or_default();
    let given = given_weeks(&s.store.distribution_days().await?, &f)
        .into_iter()
        .map(|w| GivenRow {
            week: t.date(w.week),
            site: site_name(&t, Some(&w.site)),
            kind: t.code("assistance-kind", w.kind.code()),
            households: w.households.text(&t),
            units: w.units.text(&t),
        })
        .collect();
    let programmes = s.store.programmes().await?;
    let lines = s.store.stock().await?;
    let stock = stock_rows(&lines, &f)
        .into_iter()
        .map(|(l, given, left)| StockRow {
            programme: programmes
                .iter()
                .find(|p| p.id == l.programme)
                .map(|p| p.draft.name.clone())
                .unwrap_or_default(),
            site: site_name(&t, Some(&l.site_code)),
            kind: t.code("assistance-kind", l.kind.code()),
            planned: l
                .planned
                .map(|n| t.digits(&n.to_string()))
                .unwrap_or_default(),
            received: t.digits(&l.received.to_string()),
            given: given.text(&t),
            left: left.text(&t),
        })
        .collect();
    let seen = |d: &peywand_store::Distribution| {
        t.with_all(
            "doubled-given",
            &[
                ("site", site_name(&t, d.site_code.as_deref())),
                ("on", t.date(d.given_on)),
                ("by", d.given_by.clone()),
            ],
        )
    };
    let doubled = s
        .store
        .doubled_distributions()
        .await?
        .iter()
        .map(|d| DoubledRow {
            household: d.first.household.to_string(),
            kind: t.code("assistance-kind", d.first.kind.code()),
            first: seen(&d.first),
            again: seen(&d.again),
        })
        .collect();
    let share = ShareBox::of(
        &s.store.registered_share().await?,
        s.matching.learnt_from_cases(),
        &t,
        share_error,
    );
    render(&DashboardPage {
        given,
        stock,
        doubled,
        share,
        from: q.from.unwrap_or_default(),
        to: q.to.unwrap_or_default(),
        site: q.site.unwrap_or_default(),
        sites: site_options(),
        query,
        headlines,
        arrivals,
        pyramid,
        pyramid_notes,
        figures: figures(&protected, &t),
        tracing: tracing_rows(&protected, &t),
        c: Chrome::new(t, Some(caller), uri),
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
        "return_types" => (
            &["return_type", "households"],
            &["#indicator+return_type", "#affected+returnees+hh"],
            p.return_types
                .iter()
                .map(|(r, c)| vec![r.clone(), c.csv()])
                .collect(),
        ),
        "needs" => (
            &["need", "households"],
            &["#indicator+need", "#affected+returnees+hh"],
            p.needs
                .iter()
                .map(|(n, c)| vec![n.clone(), c.csv()])
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
        "distributions" => (
            &["week", "site_code", "site", "kind", "households", "units"],
            &[
                "#date+week_start",
                "#loc+code",
                "#loc+name",
                "#sector+kind",
                "#reached+hh",
                "#reached+units",
            ],
            given_weeks(&s.store.distribution_days().await?, &f)
                .into_iter()
                .map(|w| {
                    vec![
                        w.week.to_string(),
                        w.site.clone(),
                        site_name_en(Some(&w.site)),
                        w.kind.code().to_string(),
                        w.households.csv(),
                        w.units.csv(),
                    ]
                })
                .collect(),
        ),
        "stock" => {
            let lines = s.store.stock().await?;
            (
                &[
                    "programme_id",
                    "kind",
                    "site_code",
                    "site",
                    "planned",
                    "received",
                    "given",
                    "in_stock",
                ],
                &[
                    "#activity+id",
                    "#sector+kind",
                    "#loc+code",
                    "#loc+name",
                    "#targeted+units",
                    "#capacity+received+units",
                    "#reached+units",
                    "#capacity+available+units",
                ],
                stock_rows(&lines, &f)
                    .into_iter()
                    .map(|(l, given, left)| {
                        vec![
                            l.programme.to_string(),
                            l.kind.code().to_string(),
                            l.site_code.clone(),
                            site_name_en(Some(&l.site_code)),
                            l.planned.map(|n| n.to_string()).unwrap_or_default(),
                            l.received.to_string(),
                            given.csv(),
                            left.csv(),
                        ]
                    })
                    .collect(),
            )
        }
        _ => return Err(ApiError::NotFound(format!("figure {key}"))),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let written = (|| -> Result<(), csv::Error> {
        w.write_record(header_row)?;
        w.write_record(tags)?;
        for r in &rows {
            // Counts and codes never start as a formula; a free-text value typed at a desk might.
            w.write_record(r.iter().map(|v| spreadsheet::protect(v).into_owned()))?;
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
        assert_eq!(
            spreadsheet::protect("=HYPERLINK(\"x\")"),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(spreadsheet::protect("AF06"), "AF06");
    }
}
