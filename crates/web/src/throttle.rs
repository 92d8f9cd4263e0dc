//! Sign-in throttling, by where a guess comes from. Failures are counted per (address,
//! username) with a lock that doubles at each further failure, and per address across every
//! username; never per username alone, so that a stranger guessing from elsewhere cannot lock
//! a user out of their own account. Many failures against one username from anywhere are a
//! burst: the server warns and the caller audits it, for an administrator or auditor to see.
//!
//! Counts live in this server's memory: a restart forgets them, and servers sharing a hub
//! count apart. Both only loosen the limits, which the argon2 cost and 12-character
//! passwords are sized for.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use peywand_access::MAX_FAILED_LOGINS;

/// The first lock of an (address, username) pair, doubled at each further failure.
const FIRST_LOCK_SECONDS: i64 = 60;
/// The longest lock of a pair.
const LONGEST_LOCK_MINUTES: i64 = 60;
/// Failures from one address, whatever the username, within [`WINDOW_MINUTES`], that block
/// the address until the window ends. Desks behind one shared connection count together, so
/// this is well above what a room of people mistyping reaches.
pub const MAX_FAILURES_PER_ADDRESS: u32 = 30;
/// Failures against one username from any address within the window that raise an alert.
pub const BURST_FAILURES: u32 = 20;
pub const WINDOW_MINUTES: i64 = 15;
/// Entries kept at most per table; beyond it, those no longer locked are forgotten first.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Tally {
    failures: u32,
    /// When the counting started (per address and per username) or the last failure (per pair).
    since: DateTime<Utc>,
    locked_until: Option<DateTime<Utc>>,
    alerted: bool,
}

impl Tally {
    fn new(now: DateTime<Utc>) -> Tally {
        Tally {
            failures: 0,
            since: now,
            locked_until: None,
            alerted: false,
        }
    }
}

#[derive(Default)]
struct Tables {
    pairs: HashMap<(String, String), Tally>,
    addresses: HashMap<String, Tally>,
    usernames: HashMap<String, Tally>,
}

/// What a failure set off, for the server log and the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    /// This address reached the per-address limit and is blocked until the window ends.
    AddressBlocked { failures: u32 },
    /// This username failed this often from all addresses within the window.
    Burst { failures: u32 },
}

#[derive(Default)]
pub struct SignInThrottle {
    tables: Mutex<Tables>,
}

/// The key of an address: IPv6 by its /64, which one machine may hold whole.
fn address_key(address: &str) -> String {
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or_else(String::new, |v4| v4.to_string()),
        _ => address.to_string(),
    }
}

fn window() -> Duration {
    Duration::minutes(WINDOW_MINUTES)
}

impl SignInThrottle {
    /// Until when a sign-in as `username` from `address` is refused without checking the
    /// password, if it is.
    pub fn locked_until(
        &self,
        address: &str,
        username: &str,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let t = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        let address = address_key(address);
        let pair = t
            .pairs
            .get(&(address.clone(), username.to_string()))
            .and_then(|p| p.locked_until);
        let whole = t.addresses.get(&address).and_then(|a| a.locked_until);
        [pair, whole]
            .into_iter()
            .flatten()
            .filter(|u| *u > now)
            .max()
    }

    /// Counts a failure; returns what it set off.
    pub fn failed(&self, address: &str, username: &str, now: DateTime<Utc>) -> Vec<Alert> {
        let mut t = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        t.forget_old(now);
        let address = address_key(address);
        let mut alerts = Vec::new();

        let pair = t
            .pairs
            .entry((address.clone(), username.to_string()))
            .or_insert_with(|| Tally::new(now));
        pair.failures += 1;
        pair.since = now;
        if pair.failures >= MAX_FAILED_LOGINS {
            let doublings = (pair.failures - MAX_FAILED_LOGINS).min(16);
            let seconds = (FIRST_LOCK_SECONDS << doublings).min(LONGEST_LOCK_MINUTES * 60);
            pair.locked_until = Some(now + Duration::seconds(seconds));
        }

        let whole = t
            .addresses
            .entry(address)
            .or_insert_with(|| Tally::new(now));
        if now - whole.since > window() {
            *whole = Tally::new(now);
        }
        whole.failures += 1;
        if whole.failures >= MAX_FAILURES_PER_ADDRESS && whole.locked_until.is_none() {
            whole.locked_until = Some(whole.since + window());
            alerts.push(Alert::AddressBlocked {
                failures: whole.failures,
            });
        }

        let named = t
            .usernames
            .entry(username.to_string())
            .or_insert_with(|| Tally::new(now));
        if now - named.since > window() {
            *named = Tally::new(now);
        }
        named.failures += 1;
        if named.failures >= BURST_FAILURES && !named.alerted {
            named.alerted = true;
            alerts.push(Alert::Burst {
                failures: named.failures,
            });
        }
        alerts
    }

    /// A right password: this pair starts afresh (the address's count stays).
    pub fn succeeded(&self, address: &str, username: &str) {
        let mut t = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        t.pairs
            .remove(&(address_key(address), username.to_string()));
    }
}

impl Tables {
    /// Forgets what no longer counts, so that guesses from ever new addresses cannot fill
    /// the memory.
    fn forget_old(&mut self, now: DateTime<Utc>) {
        let live = |t: &Tally| {
            t.locked_until.is_some_and(|u| u > now) || now - t.since <= Duration::hours(24)
        };
        let live_window =
            |t: &Tally| t.locked_until.is_some_and(|u| u > now) || now - t.since <= window();
        if self.pairs.len() >= MAX_ENTRIES {
            self.pairs.retain(|_, t| live(t));
        }
        if self.pairs.len() >= MAX_ENTRIES {
            self.pairs
                .retain(|_, t| t.locked_until.is_some_and(|u| u > now));
        }
        if self.addresses.len() >= MAX_ENTRIES {
            self.addresses.retain(|_, t| live_window(t));
        }
        if self.usernames.len() >= MAX_ENTRIES {
            self.usernames.retain(|_, t| live_window(t));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_is_locked_longer_at_each_failure_and_others_are_not() {
        let th = SignInThrottle::default();
        let now = Utc::now();
        for _ in 1..MAX_FAILED_LOGINS {
            th.failed("203.0.113.9", "amina", now);
        }
        assert_eq!(th.locked_until("203.0.113.9", "amina", now), None);
        th.failed("203.0.113.9", "amina", now);
        assert_eq!(
            th.locked_until("203.0.113.9", "amina", now),
            Some(now + Duration::seconds(60))
        );
        th.failed("203.0.113.9", "amina", now);
        assert_eq!(
            th.locked_until("203.0.113.9", "amina", now),
            Some(now + Duration::seconds(120))
        );
        assert_eq!(th.locked_until("10.0.0.5", "amina", now), None, "the owner");
        assert_eq!(th.locked_until("203.0.113.9", "omar", now), None);
        th.succeeded("203.0.113.9", "amina");
        assert_eq!(th.locked_until("203.0.113.9", "amina", now), None);
    }

    #[test]
    fn an_address_guessing_many_names_is_blocked_and_alerted_once() {
        let th = SignInThrottle::default();
        let now = Utc::now();
        let mut alerts = Vec::new();
        for i in 0..MAX_FAILURES_PER_ADDRESS + 5 {
            alerts.extend(th.failed("2001:db8::1", &format!("user{i}"), now));
        }
        assert_eq!(
            alerts,
            vec![Alert::AddressBlocked {
                failures: MAX_FAILURES_PER_ADDRESS
            }]
        );
        // The whole /64 is one address.
        assert!(th.locked_until("2001:db8::2", "someone", now).is_some());
        assert!(th.locked_until("2001:db9::1", "someone", now).is_none());
        let later = now + Duration::minutes(WINDOW_MINUTES + 1);
        assert!(th.locked_until("2001:db8::2", "someone", later).is_none());
    }

    #[test]
    fn a_burst_against_one_name_from_many_addresses_is_alerted() {
        let th = SignInThrottle::default();
        let now = Utc::now();
        let alerts: Vec<Alert> = (0..BURST_FAILURES + 3)
            .flat_map(|i| th.failed(&format!("198.51.100.{i}"), "amina", now))
            .collect();
        assert_eq!(
            alerts,
            vec![Alert::Burst {
                failures: BURST_FAILURES
            }]
        );
        assert!(th.locked_until("10.0.0.5", "amina", now).is_none());
    }
}
