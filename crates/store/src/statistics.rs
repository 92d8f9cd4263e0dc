//! Flow-monitoring figures. A backend reads the facts of each registration and case that match
//! the filter; [`FlowTally`] does the counting, so every backend counts alike. Suppressing
//! small cells is the caller's job: these are exact counts.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDate, Utc};

use peywand_domain::{CaseEventKind, CaseStatus, HouseholdId, Sex, TracingRequestId};

use crate::StoreError;

/// Figures over registrations and tracing cases.
#[async_trait]
pub trait StatisticsStore: Send + Sync + 'static {
    /// Flow-monitoring figures over registrations (and tracing cases) matching the filter,
    /// as exact counts.
    async fn flow_statistics(&self, filter: &StatsFilter) -> Result<FlowStatistics, StoreError>;
}

/// Which registrations statistics count: registered (arrived) within the dates, at the site
/// (and tracing cases opened within the dates, at the site).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub site_code: Option<String>,
}

/// The age groups flow monitoring reports.
pub const AGE_GROUPS: [(&str, u32, u32); 5] = [
    ("0-4", 0, 4),
    ("5-11", 5, 11),
    ("12-17", 12, 17),
    ("18-59", 18, 59),
    ("60+", 60, 200),
];

/// Flow-monitoring figures, exact.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowStatistics {
    pub people: u64,
    pub households: u64,
    /// People per arrival day and site code (empty when the site is not known), by day.
    pub arrivals: Vec<(NaiveDate, String, u64)>,
    /// People per age group (an [`AGE_GROUPS`] name, or empty when the age is not known) and
    /// sex.
    pub pyramid: Vec<(String, Option<Sex>, u64)>,
    /// People per vulnerability code.
    pub vulnerabilities: Vec<(String, u64)>,
    /// People per intended destination province code (empty when not known).
    pub destinations: Vec<(String, u64)>,
    /// Households with a member marked as heading a female-headed household.
    pub female_headed_households: u64,
    /// Households per return type code (empty when not known).
    pub return_types: Vec<(String, u64)>,
    /// Households per priority need code.
    pub needs: Vec<(String, u64)>,
    /// Tracing cases per status code.
    pub cases: Vec<(String, u64)>,
    /// Days from request to confirmed match, for every case that reached one.
    pub days_to_match: Vec<f64>,
}

/// What statistics need of one registration, as a backend reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrivalFacts {
    /// The day registered as typed, else the day the record was saved.
    pub day: NaiveDate,
    pub site_code: Option<String>,
    pub household: HouseholdId,
    pub sex: Option<Sex>,
    pub age: Option<i64>,
    pub birth_year_min: Option<i64>,
    pub birth_year_max: Option<i64>,
    /// Vulnerability codes, comma-separated as stored.
    pub vulnerabilities: String,
    pub destination_province: Option<String>,
    /// The household's return type code.
    pub return_type: Option<String>,
    /// The household's priority need codes, comma-separated as stored.
    pub needs: String,
}

/// Counts registrations and cases into [`FlowStatistics`].
#[derive(Debug, Default)]
pub struct FlowTally {
    people: u64,
    households: HashSet<HouseholdId>,
    arrivals: BTreeMap<(NaiveDate, String), u64>,
    pyramid: BTreeMap<(String, Option<Sex>), u64>,
    vulnerabilities: BTreeMap<String, u64>,
    destinations: BTreeMap<String, u64>,
    female_headed: HashSet<HouseholdId>,
    return_types: BTreeMap<String, u64>,
    needs: BTreeMap<String, u64>,
    cases: BTreeMap<String, u64>,
    opened: HashMap<TracingRequestId, DateTime<Utc>>,
    matched: HashMap<TracingRequestId, DateTime<Utc>>,
}

impl FlowTally {
    /// Counts one registration.
    pub fn arrival(&mut self, f: ArrivalFacts) {
        self.people += 1;
        // Household facts are counted once, with the household's first member counted.
        if self.households.insert(f.household) {
            *self
                .return_types
                .entry(f.return_type.unwrap_or_default())
                .or_default() += 1;
            for n in codes(&f.needs) {
                *self.needs.entry(n.to_string()).or_default() += 1;
            }
        }
        *self
            .arrivals
            .entry((f.day, f.site_code.unwrap_or_default()))
            .or_default() += 1;
        // An age typed wins; otherwise the middle of the birth years, at the arrival day.
        let age = f.age.or(match (f.birth_year_min, f.birth_year_max) {
            (Some(a), Some(b)) => Some(i64::from(f.day.year()) - (a + b) / 2),
            _ => None,
        });
        *self
            .pyramid
            .entry((age_group(age).to_string(), f.sex))
            .or_default() += 1;
        for v in codes(&f.vulnerabilities) {
            if v == "female_headed_household" {
                self.female_headed.insert(f.household);
            }
            *self.vulnerabilities.entry(v.to_string()).or_default() += 1;
        }
        *self
            .destinations
            .entry(f.destination_province.unwrap_or_default())
            .or_default() += 1;
    }

    /// Counts one tracing case, opened at `opened`, in its current status.
    pub fn case(&mut self, id: TracingRequestId, status: CaseStatus, opened: DateTime<Utc>) {
        *self.cases.entry(status.code().to_string()).or_default() += 1;
        self.opened.insert(id, opened);
    }

    /// Takes one event of a counted case's history into account: the first time a case
    /// reached a confirmed match dates its time to match.
    pub fn case_event(&mut self, id: TracingRequestId, at: DateTime<Utc>, event: &CaseEventKind) {
        if event.status_reached() != Some(CaseStatus::MatchConfirmed) {
            return;
        }
        let first = self.matched.entry(id).or_insert(at);
        if at < *first {
            *first = at;
        }
    }

    pub fn finish(self) -> FlowStatistics {
        let mut days_to_match: Vec<(TracingRequestId, f64)> = self
            .matched
            .iter()
            .filter_map(|(id, matched)| {
                let opened = self.opened.get(id)?;
                Some((*id, (*matched - *opened).num_seconds() as f64 / 86_400.0))
            })
            .collect();
        days_to_match.sort_by_key(|(id, _)| *id);
        FlowStatistics {
            people: self.people,
            households: self.households.len() as u64,
            arrivals: self
                .arrivals
                .into_iter()
                .map(|((d, s), n)| (d, s, n))
                .collect(),
            pyramid: self
                .pyramid
                .into_iter()
                .map(|((g, s), n)| (g, s, n))
                .collect(),
            vulnerabilities: self.vulnerabilities.into_iter().collect(),
            destinations: self.destinations.into_iter().collect(),
            female_headed_households: self.female_headed.len() as u64,
            return_types: self.return_types.into_iter().collect(),
            needs: self.needs.into_iter().collect(),
            cases: self.cases.into_iter().collect(),
            days_to_match: days_to_match.into_iter().map(|(_, d)| d).collect(),
        }
    }
}

/// The codes of a comma-separated list as stored.
fn codes(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|v| !v.is_empty())
}

/// The [`AGE_GROUPS`] name of an age, empty when it is not known.
fn age_group(age: Option<i64>) -> &'static str {
    age.and_then(|a| u32::try_from(a).ok())
        .and_then(|a| {
            AGE_GROUPS
                .iter()
                .find(|(_, lo, hi)| (*lo..=*hi).contains(&a))
        })
        .map_or("", |(name, _, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(day: &str, household: HouseholdId) -> ArrivalFacts {
        ArrivalFacts {
            day: day.parse().unwrap(),
            site_code: Some("torkham".into()),
            household,
            sex: Some(Sex::Female),
            age: None,
            birth_year_min: Some(2016),
            birth_year_max: Some(2018),
            vulnerabilities: "disability, pregnant".into(),
            destination_province: None,
            return_type: Some("deported".into()),
            needs: "food,shelter".into(),
        }
    }

    #[test]
    fn arrivals_are_counted_by_day_age_and_household() {
        let (a, b) = (HouseholdId::new(), HouseholdId::new());
        let mut tally = FlowTally::default();
        tally.arrival(facts("2025-10-02", a));
        tally.arrival(facts("2025-10-02", a));
        tally.arrival(ArrivalFacts {
            age: Some(64),
            ..facts("2025-10-03", b)
        });
        let s = tally.finish();
        assert_eq!((s.people, s.households), (3, 2));
        assert_eq!(
            s.arrivals[0],
            ("2025-10-02".parse().unwrap(), "torkham".to_string(), 2)
        );
        assert_eq!(
            s.pyramid,
            [
                ("5-11".to_string(), Some(Sex::Female), 2),
                ("60+".to_string(), Some(Sex::Female), 1)
            ],
            "born 2016-2018, arrived 2025: 8 years old; an age typed wins"
        );
        assert_eq!(s.vulnerabilities[0], ("disability".to_string(), 3));
        assert_eq!(s.destinations, [(String::new(), 3)]);
        assert_eq!(
            s.return_types,
            [("deported".to_string(), 2)],
            "per household"
        );
        assert_eq!(s.needs[0], ("food".to_string(), 2));
        assert_eq!(s.female_headed_households, 0);
    }

    #[test]
    fn time_to_match_counts_from_the_first_confirmation() {
        let id = TracingRequestId::new();
        let opened: DateTime<Utc> = "2025-10-01T00:00:00Z".parse().unwrap();
        let mut tally = FlowTally::default();
        tally.case(id, CaseStatus::Reunified, opened);
        let confirmed = |to| CaseEventKind::StatusChanged {
            from: CaseStatus::CandidatesFound,
            to,
        };
        let day = |d: i64| opened + chrono::Duration::days(d);
        tally.case_event(id, day(1), &confirmed(CaseStatus::CandidatesFound));
        tally.case_event(id, day(5), &confirmed(CaseStatus::MatchConfirmed));
        tally.case_event(id, day(3), &confirmed(CaseStatus::MatchConfirmed));
        let s = tally.finish();
        assert_eq!(s.cases, [("reunified".to_string(), 1)]);
        assert_eq!(s.days_to_match, [3.0]);
    }
}
