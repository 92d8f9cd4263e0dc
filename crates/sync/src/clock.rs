//! The hybrid logical clock that stamps every change (`Change::at`).
//!
//! A site laptop's clock may be a day wrong, and a clerk may set it back. Ordering edits by it
//! would let a later edit sort before one it was made on. A hybrid logical clock keeps the
//! physical time where it can (so a time still reads as a date) and adds a counter: every
//! timestamp an origin issues is later than every timestamp it issued or received before, so an
//! edit made after seeing another always sorts after it, whatever the wall clock says.
//!
//! A timestamp received from another origin moves the clock forward, but only within
//! [`MAX_AHEAD_MS`] of this machine's own clock: a laptop whose clock reads next year must not
//! drag every site's history into next year.
//!
//! The text form (stored in `Change::at`, compared as text by both databases) is fixed-width,
//! zero-padded decimal, so that sorting the text sorts the clock:
//! `0000001733500000000.000000` — 19 digits of milliseconds since 1970-01-01 UTC (room for
//! any `i64`, so it also fits a PostgreSQL `bigint`), a dot, 6 digits of counter.

use std::fmt;
use std::str::FromStr;

/// How far ahead of this machine's clock a received timestamp may be: seven days. Further
/// ahead, the other machine's clock is wrong, and its changes are refused until it is fixed.
pub const MAX_AHEAD_MS: u64 = 7 * 24 * 60 * 60 * 1000;

/// One instant on the hybrid logical clock. Ordered by wall time, then counter, as its text
/// form is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hlc {
    // Field order matters: the derived ordering compares wall time first.
    wall_ms: u64,
    counter: u32,
}

impl Hlc {
    /// The largest wall time: fits an `i64` and the text form's 19 digits.
    pub const MAX_WALL_MS: u64 = i64::MAX as u64;
    /// The largest counter the text form's 6 digits hold. Past it the clock moves on by one
    /// millisecond instead (see [`HybridClock`]).
    pub const MAX_COUNTER: u32 = 999_999;
    /// Before every timestamp any origin issues.
    pub const ZERO: Hlc = Hlc {
        wall_ms: 0,
        counter: 0,
    };

    const WALL_DIGITS: usize = 19;
    const COUNTER_DIGITS: usize = 6;
    const TEXT_LEN: usize = Self::WALL_DIGITS + 1 + Self::COUNTER_DIGITS;

    /// A timestamp, or none when a part does not fit the text form.
    pub fn new(wall_ms: u64, counter: u32) -> Option<Hlc> {
        (wall_ms <= Self::MAX_WALL_MS && counter <= Self::MAX_COUNTER)
            .then_some(Hlc { wall_ms, counter })
    }

    /// Milliseconds since 1970-01-01 UTC, as the issuing clock saw it (or later).
    pub fn wall_ms(self) -> u64 {
        self.wall_ms
    }

    /// Tells apart timestamps issued within one millisecond.
    pub fn counter(self) -> u32 {
        self.counter
    }

    /// The next instant after this one.
    fn tick(self) -> Hlc {
        if self.counter < Self::MAX_COUNTER {
            Hlc {
                wall_ms: self.wall_ms,
                counter: self.counter + 1,
            }
        } else {
            // At the last representable instant (the year 292 million) the clock stops; no
            // reachable physical clock gets there, since received times are bounded by ours.
            Hlc {
                wall_ms: (self.wall_ms + 1).min(Self::MAX_WALL_MS),
                counter: 0,
            }
        }
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:0wall$}.{:0counter$}",
            self.wall_ms,
            self.counter,
            wall = Self::WALL_DIGITS,
            counter = Self::COUNTER_DIGITS
        )
    }
}

impl FromStr for Hlc {
    type Err = ClockError;

    fn from_str(text: &str) -> Result<Hlc, ClockError> {
        let malformed = || ClockError::Malformed {
            text: text.chars().take(40).collect(),
        };
        // Exactly the shape Display writes: any other spelling of the same instant would sort
        // elsewhere as text.
        let (wall, counter) = text.split_once('.').ok_or_else(malformed)?;
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if text.len() != Self::TEXT_LEN
            || !digits(wall, Self::WALL_DIGITS)
            || !digits(counter, Self::COUNTER_DIGITS)
        {
            return Err(malformed());
        }
        let wall_ms = wall.parse::<u64>().map_err(|_| malformed())?;
        let counter = counter.parse::<u32>().map_err(|_| malformed())?;
        Hlc::new(wall_ms, counter).ok_or_else(malformed)
    }
}

/// Why a timestamp was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// Not the text form at all (a damaged or foreign value).
    #[error(
        "\"{text}\" is not a Peywand clock time (19 digits, a dot and 6 digits, \
         such as 0000001733500000000.000000)"
    )]
    Malformed { text: String },
    /// The other machine's clock is too far ahead of this one's.
    #[error(
        "a change is stamped {ahead_ms} ms ahead of this computer's clock, more than the \
         {max_ahead_ms} ms (7 days) allowed: the clock of the computer that made it, or of \
         this one, is wrong (remote time {remote})"
    )]
    TooFarAhead {
        remote: Hlc,
        ahead_ms: u64,
        max_ahead_ms: u64,
    },
}

impl ClockError {
    /// A stable key for the message shown to people (translated in the web and CLI layers).
    pub fn key(&self) -> &'static str {
        match self {
            ClockError::Malformed { .. } => "sync_clock_malformed",
            ClockError::TooFarAhead { .. } => "sync_clock_too_far_ahead",
        }
    }
}

/// An origin's clock: the last timestamp it issued or received. Keep one per origin (a site's
/// database, the hub) and start it from the latest `at` in the store, so that a restart does
/// not go back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HybridClock {
    last: Hlc,
}

impl Default for HybridClock {
    fn default() -> Self {
        HybridClock::new()
    }
}

impl HybridClock {
    /// A clock that has seen nothing yet.
    pub fn new() -> HybridClock {
        HybridClock { last: Hlc::ZERO }
    }

    /// A clock that resumes after `last` (the latest timestamp in the store).
    pub fn starting_at(last: Hlc) -> HybridClock {
        HybridClock { last }
    }

    /// The last timestamp issued or received.
    pub fn last(&self) -> Hlc {
        self.last
    }

    /// A timestamp for a change made here: later than every one before it, and the physical
    /// time when the physical clock is ahead of everything seen.
    pub fn now(&mut self, physical_ms: u64) -> Hlc {
        let physical_ms = physical_ms.min(Hlc::MAX_WALL_MS);
        let next = if physical_ms > self.last.wall_ms {
            Hlc {
                wall_ms: physical_ms,
                counter: 0,
            }
        } else {
            self.last.tick()
        };
        self.last = next;
        next
    }

    /// Takes in a timestamp received from another origin and returns this clock's time after
    /// it: later than `remote` and than everything before. Refused, leaving the clock as it
    /// was, when `remote` is more than [`MAX_AHEAD_MS`] ahead of `physical_ms`.
    pub fn observe(&mut self, remote: Hlc, physical_ms: u64) -> Result<Hlc, ClockError> {
        let physical_ms = physical_ms.min(Hlc::MAX_WALL_MS);
        let ahead_ms = remote.wall_ms.saturating_sub(physical_ms);
        if ahead_ms > MAX_AHEAD_MS {
            return Err(ClockError::TooFarAhead {
                remote,
                ahead_ms,
                max_ahead_ms: MAX_AHEAD_MS,
            });
        }
        let latest = self.last.max(remote);
        let next = if physical_ms > latest.wall_ms {
            Hlc {
                wall_ms: physical_ms,
                counter: 0,
            }
        } else {
            latest.tick()
        };
        self.last = next;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: u64 = 24 * 60 * 60 * 1000;
    /// 2024-12-06, about when the skeleton's example was written.
    const T0: u64 = 1_733_500_000_000;

    fn hlc(wall_ms: u64, counter: u32) -> Hlc {
        match Hlc::new(wall_ms, counter) {
            Some(h) => h,
            None => panic!("out of range: {wall_ms}.{counter}"),
        }
    }

    #[test]
    fn text_form_round_trips_and_has_the_documented_shape() {
        let h = hlc(T0, 7);
        assert_eq!(h.to_string(), "0000001733500000000.000007");
        assert_eq!("0000001733500000000.000007".parse::<Hlc>(), Ok(h));
        for h in [
            Hlc::ZERO,
            hlc(Hlc::MAX_WALL_MS, Hlc::MAX_COUNTER),
            hlc(1, 0),
            hlc(T0, 999_999),
        ] {
            assert_eq!(h.to_string().len(), 26);
            assert_eq!(h.to_string().parse::<Hlc>(), Ok(h));
        }
    }

    #[test]
    fn text_sorts_as_the_clock_does() {
        let mut times = [
            hlc(T0, 10),
            hlc(T0, 9),
            hlc(T0 + 1, 0),
            hlc(999, 999_999),
            hlc(1000, 0),
            Hlc::ZERO,
            hlc(Hlc::MAX_WALL_MS, 0),
            hlc(T0 - DAY_MS, 5),
        ];
        times.sort();
        let mut texts: Vec<String> = times.iter().map(Hlc::to_string).collect();
        let by_clock = texts.clone();
        texts.sort();
        assert_eq!(texts, by_clock);
    }

    #[test]
    fn other_spellings_are_refused_with_a_clear_message() {
        for bad in [
            "",
            "1733500000000.0",
            "1733500000000",
            "0000001733500000000,000000",
            "0000001733500000000.00000a",
            "+000001733500000000.000000",
            " 000001733500000000.000000",
            "0000001733500000000.0000000",
            "00000001733500000000.000000",
            "9999999999999999999.000000", // beyond i64
            "٠٠٠٠٠٠1733500000000.000000", // Arabic-Indic digits are not the text form
        ] {
            let err = bad.parse::<Hlc>().err();
            assert!(
                matches!(err, Some(ClockError::Malformed { .. })),
                "{bad:?} gave {err:?}"
            );
        }
        let message = "1733500000000".parse::<Hlc>().err().map(|e| e.to_string());
        assert_eq!(
            message.as_deref(),
            Some(
                "\"1733500000000\" is not a Peywand clock time (19 digits, a dot and 6 \
                 digits, such as 0000001733500000000.000000)"
            )
        );
    }

    #[test]
    fn out_of_range_parts_have_no_timestamp() {
        assert_eq!(Hlc::new(Hlc::MAX_WALL_MS + 1, 0), None);
        assert_eq!(Hlc::new(0, Hlc::MAX_COUNTER + 1), None);
    }

    #[test]
    fn now_follows_the_physical_clock_when_it_moves_forward() {
        let mut clock = HybridClock::new();
        assert_eq!(clock.now(T0), hlc(T0, 0));
        assert_eq!(clock.now(T0), hlc(T0, 1));
        assert_eq!(clock.now(T0 + 5), hlc(T0 + 5, 0));
    }

    #[test]
    fn stays_strictly_increasing_when_the_physical_clock_jumps_back() {
        let mut clock = HybridClock::new();
        let mut previous = clock.now(T0);
        // A clerk sets the clock back a day, then it drifts about.
        for physical in [
            T0 - DAY_MS,
            T0 - DAY_MS,
            T0 - 1,
            0,
            T0,
            T0 + 3,
            T0 - 10,
            T0 + 3,
        ] {
            let next = clock.now(physical);
            assert!(next > previous, "{next} after {previous}");
            assert!(next.to_string() > previous.to_string());
            previous = next;
        }
        assert_eq!(previous.wall_ms(), T0 + 3);
    }

    #[test]
    fn a_site_a_day_behind_orders_its_edit_after_one_it_has_seen() {
        // The hub's edit, stamped by a correct clock.
        let mut hub = HybridClock::new();
        let hub_edit = hub.now(T0);
        // Torkham's laptop reads a day earlier. It receives the hub's edit, then a clerk edits
        // the same household.
        let mut torkham = HybridClock::new();
        let site_clock = T0 - DAY_MS;
        let _ = torkham.now(site_clock - 60_000);
        let seen = torkham.observe(hub_edit, site_clock);
        assert!(matches!(seen, Ok(h) if h > hub_edit));
        let site_edit = torkham.now(site_clock + 1);
        assert!(site_edit > hub_edit);
        assert!(site_edit.to_string() > hub_edit.to_string());
        // And when the hub receives the site's edit, its next edit comes after both.
        assert!(hub.observe(site_edit, T0 + 10).is_ok());
        assert!(hub.now(T0 + 10) > site_edit);
    }

    #[test]
    fn a_day_ahead_is_taken_a_year_ahead_refused() {
        let mut hub = HybridClock::new();
        let before = hub.now(T0);

        let day_ahead = hlc(T0 + DAY_MS, 3);
        let taken = hub.observe(day_ahead, T0);
        assert_eq!(taken, Ok(hlc(T0 + DAY_MS, 4)));

        let mut other = HybridClock::starting_at(before);
        let year_ahead = hlc(T0 + 365 * DAY_MS, 0);
        let refused = other.observe(year_ahead, T0);
        assert_eq!(
            refused,
            Err(ClockError::TooFarAhead {
                remote: year_ahead,
                ahead_ms: 365 * DAY_MS,
                max_ahead_ms: MAX_AHEAD_MS,
            })
        );
        assert_eq!(
            other.last(),
            before,
            "a refused time leaves the clock alone"
        );
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("clock"), "{message}");
        assert!(message.contains("0000001765036000000.000000"), "{message}");
    }

    #[test]
    fn the_bound_is_inclusive_of_exactly_seven_days() {
        let mut clock = HybridClock::new();
        assert!(clock.observe(hlc(T0 + MAX_AHEAD_MS, 0), T0).is_ok());
        assert!(matches!(
            clock.observe(hlc(T0 + MAX_AHEAD_MS + 1, 0), T0),
            Err(ClockError::TooFarAhead { ahead_ms, .. }) if ahead_ms == MAX_AHEAD_MS + 1
        ));
    }

    #[test]
    fn observing_an_older_time_still_moves_forward() {
        let mut clock = HybridClock::new();
        let mine = clock.now(T0);
        let seen = clock.observe(hlc(T0 - DAY_MS, 50), T0);
        assert_eq!(seen, Ok(hlc(T0, 1)));
        assert!(clock.now(T0) > mine);
    }

    #[test]
    fn a_full_counter_moves_on_by_a_millisecond() {
        let mut clock = HybridClock::starting_at(hlc(T0, Hlc::MAX_COUNTER - 1));
        assert_eq!(clock.now(T0 - DAY_MS), hlc(T0, Hlc::MAX_COUNTER));
        assert_eq!(clock.now(T0 - DAY_MS), hlc(T0 + 1, 0));
        assert_eq!(clock.now(T0 - DAY_MS), hlc(T0 + 1, 1));
        let mut observer = HybridClock::new();
        assert_eq!(
            observer.observe(hlc(T0, Hlc::MAX_COUNTER), T0),
            Ok(hlc(T0 + 1, 0))
        );
    }

    #[test]
    fn every_timestamp_of_a_busy_day_is_distinct_and_in_order() {
        // 5,000 households within the same few milliseconds, then the clock set back.
        let mut clock = HybridClock::new();
        let mut previous = Hlc::ZERO;
        for i in 0..5_000u64 {
            let physical = if i < 2_500 {
                T0 + i / 1_000
            } else {
                T0 - DAY_MS
            };
            let next = clock.now(physical);
            assert!(next > previous);
            previous = next;
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// What a clock is asked: a local edit, or a received change, at some physical time
        /// within a year either side of T0 (clocks set back, set forward, wrong by a day).
        #[derive(Debug, Clone)]
        enum Event {
            Now(u64),
            Observe {
                remote_ms: u64,
                counter: u32,
                physical: u64,
            },
        }

        fn instant() -> impl Strategy<Value = u64> {
            (T0 - 365 * DAY_MS)..(T0 + 365 * DAY_MS)
        }

        fn event() -> impl Strategy<Value = Event> {
            prop_oneof![
                instant().prop_map(Event::Now),
                (instant(), 0..=Hlc::MAX_COUNTER, instant()).prop_map(
                    |(remote_ms, counter, physical)| Event::Observe {
                        remote_ms,
                        counter,
                        physical
                    }
                ),
            ]
        }

        proptest! {
            #[test]
            fn every_time_issued_is_later_than_all_before(events in prop::collection::vec(event(), 1..200)) {
                let mut clock = HybridClock::new();
                let mut previous = Hlc::ZERO;
                for e in events {
                    match e {
                        Event::Now(physical) => {
                            let t = clock.now(physical);
                            prop_assert!(t > previous);
                            prop_assert!(t.wall_ms() >= physical);
                            previous = t;
                        }
                        Event::Observe { remote_ms, counter, physical } => {
                            let remote = hlc(remote_ms, counter);
                            match clock.observe(remote, physical) {
                                Ok(t) => {
                                    prop_assert!(t > previous && t > remote);
                                    previous = t;
                                }
                                Err(ClockError::TooFarAhead { ahead_ms, .. }) => {
                                    prop_assert!(ahead_ms > MAX_AHEAD_MS);
                                    prop_assert_eq!(clock.last(), previous);
                                }
                                Err(other) => prop_assert!(false, "{other}"),
                            }
                        }
                    }
                }
            }

            #[test]
            fn text_order_is_clock_order(
                a in (0..=Hlc::MAX_WALL_MS, 0..=Hlc::MAX_COUNTER),
                b in (0..=Hlc::MAX_WALL_MS, 0..=Hlc::MAX_COUNTER),
            ) {
                let (a, b) = (hlc(a.0, a.1), hlc(b.0, b.1));
                prop_assert_eq!(a.cmp(&b), a.to_string().cmp(&b.to_string()));
                prop_assert_eq!(a.to_string().parse::<Hlc>(), Ok(a));
            }
        }
    }
}
