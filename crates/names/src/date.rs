//! Birth dates as typed at a desk, to an estimated interval of birth years.
//!
//! Afghan documents use the Solar Hijri calendar, Pakistani ones the Gregorian; many people know
//! only an approximate age; many dates are defaulted to 1 January or 1 Hamal. The only thing
//! matching can trust is therefore an interval of years, which is what this module produces.
//! Conversions between calendars use ICU4X.

use chrono::{Datelike, NaiveDate};
use icu_calendar::{Date, cal::Persian};

use crate::fold::ascii_digits;

/// Solar Hijri years accepted as birth years (1921 to 2032 in the Gregorian calendar).
pub const SOLAR_HIJRI_YEARS: std::ops::RangeInclusive<i32> = 1300..=1410;
/// Gregorian years accepted as birth years.
pub const GREGORIAN_YEARS: std::ops::RangeInclusive<i32> = 1900..=2100;

/// The calendar a typed date was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Calendar {
    Gregorian,
    SolarHijri,
    /// Derived from an age, not a date.
    Age,
}

/// An estimated birth, as an inclusive interval of Gregorian years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BirthEstimate {
    pub year_min: i32,
    pub year_max: i32,
    pub calendar: Calendar,
    /// The full Gregorian date, when a whole date was typed.
    pub date: Option<NaiveDate>,
    /// 1 January or 1 Hamal: the usual default when the real day is unknown.
    pub defaulted: bool,
}

impl BirthEstimate {
    /// Whether two estimates can be the same person's, allowing `slack` years either way.
    pub fn overlaps(&self, other: &BirthEstimate, slack: i32) -> bool {
        self.year_min - slack <= other.year_max && other.year_min - slack <= self.year_max
    }
    /// The full date of birth, unless only a year or a month was typed, or the default day
    /// clerks type when the day is unknown.
    pub fn known_date(&self) -> Option<NaiveDate> {
        self.date.filter(|_| !self.defaulted)
    }
    /// Years between the two intervals (0 when they overlap).
    pub fn gap(&self, other: &BirthEstimate) -> i32 {
        (self.year_min - other.year_max)
            .max(other.year_min - self.year_max)
            .max(0)
    }
}

/// Why a typed date could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("empty")]
    Empty,
    #[error("not a date in a known format: {0:?}")]
    Format(String),
    #[error(
        "year {0} is outside the accepted range (Gregorian 1900–2100 or Solar Hijri 1300–1410)"
    )]
    YearOutOfRange(i32),
    #[error("no such day: {0:?}")]
    NoSuchDay(String),
}

/// Converts a Solar Hijri date to the Gregorian calendar.
pub fn solar_hijri_to_gregorian(year: i32, month: u8, day: u8) -> Option<NaiveDate> {
    let iso = Date::try_new_persian(year, month, day)
        .ok()?
        .to_calendar(icu_calendar::Iso);
    NaiveDate::from_ymd_opt(
        iso.year().extended_year(),
        u32::from(iso.month().ordinal),
        u32::from(iso.day_of_month().0),
    )
}

/// Converts a Gregorian date to the Solar Hijri calendar as (year, month, day).
pub fn gregorian_to_solar_hijri(date: NaiveDate) -> Option<(i32, u8, u8)> {
    let month = u8::try_from(date.month()).ok()?;
    let day = u8::try_from(date.day()).ok()?;
    let p = Date::try_new_iso(date.year(), month, day)
        .ok()?
        .to_calendar(Persian);
    Some((
        p.year().extended_year(),
        p.month().ordinal,
        p.day_of_month().0,
    ))
}

/// Reads a birth date as typed: a year or a date, Gregorian or Solar Hijri, in any digits.
///
/// Accepted: `2006`, `1385`, `2006-03-01`, `2006/03/01`, `01/03/2006`, `01-03-2006`,
/// `01.03.2006`, `1385-01-01`, `1385/1/1`, `2006-03` — in Latin, Persian or Arabic-Indic digits.
/// A four-digit year from 1300 to 1410 is Solar Hijri; from 1900 on, Gregorian.
pub fn parse_birth_date(raw: &str) -> Result<BirthEstimate, DateError> {
    let s = ascii_digits(raw.trim());
    if s.is_empty() {
        return Err(DateError::Empty);
    }
    let parts: Vec<&str> = s
        .split(['-', '/', '.', ' ', '\\'])
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty()
        || parts
            .iter()
            .any(|p| !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 4)
    {
        return Err(DateError::Format(raw.to_string()));
    }
    let num = |p: &str| {
        p.parse::<i32>()
            .map_err(|_| DateError::Format(raw.to_string()))
    };
    let (year, month, day) = match parts.as_slice() {
        [y] if y.len() == 4 => (num(y)?, None, None),
        [y, m] if y.len() == 4 => (num(y)?, Some(num(m)?), None),
        [y, m, d] if y.len() == 4 => (num(y)?, Some(num(m)?), Some(num(d)?)),
        [d, m, y] if y.len() == 4 => (num(y)?, Some(num(m)?), Some(num(d)?)),
        _ => return Err(DateError::Format(raw.to_string())),
    };
    let solar = SOLAR_HIJRI_YEARS.contains(&year);
    if !solar && !GREGORIAN_YEARS.contains(&year) {
        return Err(DateError::YearOutOfRange(year));
    }
    let calendar = if solar {
        Calendar::SolarHijri
    } else {
        Calendar::Gregorian
    };
    let no_such_day = || DateError::NoSuchDay(raw.to_string());
    let in_range = |v: i32, hi: i32| (1..=hi).contains(&v);
    match (month, day) {
        (None, _) => {
            // A Solar Hijri year straddles two Gregorian years (it starts on 21 March).
            let (lo, hi) = if solar {
                (year + 621, year + 622)
            } else {
                (year, year)
            };
            Ok(BirthEstimate {
                year_min: lo,
                year_max: hi,
                calendar,
                date: None,
                defaulted: false,
            })
        }
        (Some(m), None) => {
            if !in_range(m, 12) {
                return Err(no_such_day());
            }
            // Farvardin to Azar fall in the first Gregorian year, Bahman and Esfand in the next;
            // Dey starts on 21 or 22 December and so straddles both.
            let (lo, hi) = if solar {
                (
                    year + 621 + i32::from(m >= 11),
                    year + 621 + i32::from(m >= 10),
                )
            } else {
                (year, year)
            };
            Ok(BirthEstimate {
                year_min: lo,
                year_max: hi,
                calendar,
                date: None,
                defaulted: false,
            })
        }
        (Some(m), Some(d)) => {
            if !in_range(m, 12) || !in_range(d, 31) {
                return Err(no_such_day());
            }
            let (m8, d8) = (m as u8, d as u8);
            let date = if solar {
                solar_hijri_to_gregorian(year, m8, d8)
            } else {
                NaiveDate::from_ymd_opt(year, m as u32, d as u32)
            }
            .ok_or_else(no_such_day)?;
            Ok(BirthEstimate {
                year_min: date.year(),
                year_max: date.year(),
                calendar,
                date: Some(date),
                defaulted: m == 1 && d == 1,
            })
        }
    }
}

/// Reads an age in years as typed ("35", "۳۵", "about 35", "35 years").
pub fn parse_age(raw: &str) -> Option<u32> {
    let s = ascii_digits(raw);
    let digits: String = s
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    let age: u32 = digits.parse().ok()?;
    (age <= 120).then_some(age)
}

/// A birth estimate from an age at a registration date: one of two years, widened by `slack`
/// for the approximate ages people give.
pub fn birth_from_age(age: u32, registered_on: NaiveDate, slack: i32) -> BirthEstimate {
    let y = registered_on.year() - age as i32;
    BirthEstimate {
        year_min: y - 1 - slack,
        year_max: y + slack,
        calendar: Calendar::Age,
        date: None,
        defaulted: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solar_hijri_new_year_is_21_march() {
        assert_eq!(
            solar_hijri_to_gregorian(1385, 1, 1),
            NaiveDate::from_ymd_opt(2006, 3, 21)
        );
        assert_eq!(
            gregorian_to_solar_hijri(NaiveDate::from_ymd_opt(2006, 3, 21).unwrap()),
            Some((1385, 1, 1))
        );
    }

    #[test]
    fn years_in_both_calendars() {
        let e = parse_birth_date("1385").unwrap();
        assert_eq!(
            (e.year_min, e.year_max, e.calendar),
            (2006, 2007, Calendar::SolarHijri)
        );
        let e = parse_birth_date("۱۳۸۵").unwrap();
        assert_eq!(e.year_min, 2006);
        let e = parse_birth_date("2006").unwrap();
        assert_eq!((e.year_min, e.year_max), (2006, 2006));
    }

    #[test]
    fn dates_in_every_order_and_digit_set() {
        for s in [
            "2006-03-01",
            "01/03/2006",
            "01-03-2006",
            "01.03.2006",
            "٢٠٠٦-٠٣-٠١",
        ] {
            assert_eq!(
                parse_birth_date(s).unwrap().date,
                NaiveDate::from_ymd_opt(2006, 3, 1),
                "{s}"
            );
        }
        let e = parse_birth_date("1385-01-01").unwrap();
        assert!(e.defaulted);
        assert_eq!(e.date, NaiveDate::from_ymd_opt(2006, 3, 21));
    }

    #[test]
    fn nonsense_is_an_error_not_a_guess() {
        assert!(parse_birth_date("yesterday").is_err());
        assert!(parse_birth_date("1750").is_err());
        assert!(parse_birth_date("2006-13-01").is_err());
        // Solar Hijri months 7 to 11 have 30 days and Esfand 29 or 30: no 31st.
        assert!(matches!(
            parse_birth_date("1385-12-31"),
            Err(DateError::NoSuchDay(_))
        ));
        assert!(matches!(
            parse_birth_date("1385-07-31"),
            Err(DateError::NoSuchDay(_))
        ));
        assert!(parse_birth_date("1385-06-31").is_ok());
        assert_eq!(parse_birth_date(""), Err(DateError::Empty));
    }

    #[test]
    fn solar_hijri_year_and_month() {
        let years = |s: &str| {
            parse_birth_date(s)
                .map(|e| (e.year_min, e.year_max))
                .unwrap()
        };
        assert_eq!(years("1385-05"), (2006, 2006));
        assert_eq!(
            years("1385-10"),
            (2006, 2007),
            "Dey straddles the Gregorian new year"
        );
        assert_eq!(years("1385-11"), (2007, 2007));
        assert_eq!(years("2006-11"), (2006, 2006));
    }

    #[test]
    fn ages() {
        assert_eq!(parse_age("about 35"), Some(35));
        assert_eq!(parse_age("۱۲"), Some(12));
        assert_eq!(parse_age("old"), None);
        let e = birth_from_age(12, NaiveDate::from_ymd_opt(2025, 10, 1).unwrap(), 0);
        assert_eq!((e.year_min, e.year_max), (2012, 2013));
    }
}
