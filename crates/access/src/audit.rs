//! The audit log as a hash chain: each entry's hash covers its own fields and the previous
//! entry's hash, so altering, inserting or deleting any entry breaks every hash after it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::secret::hex;

/// What happened: who, what, when, from where, for what purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    /// The username, or `cli:<account>` for the command line.
    pub actor: String,
    /// What was done, e.g. `login`, `login_failed`, `view_person`, `register_household`.
    pub action: String,
    /// What it was done to: a record, household or user id; empty when none.
    pub target: String,
    /// Why, as the user stated it or as the route implies.
    pub purpose: String,
    /// Where from: the client's address, or `cli`.
    pub origin: String,
    /// `ok`, `denied`, or a short reason.
    pub outcome: String,
    /// What was asked, for a search or a duplicate check: the query as the user sent it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub query: String,
    /// The registrations (record ids) the answer showed: the auditors' way back from a person
    /// to everyone who looked at them, and how they found them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records_shown: Vec<String>,
}

impl AuditEvent {
    /// An event now, its time cut to the microsecond the log keeps.
    pub fn now(actor: &str, action: &str, target: &str) -> AuditEvent {
        let at = Utc::now();
        let at = DateTime::parse_from_rfc3339(&at.to_rfc3339_opts(SecondsFormat::Micros, true))
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(at);
        AuditEvent {
            at,
            actor: actor.to_string(),
            action: action.to_string(),
            target: target.to_string(),
            purpose: String::new(),
            origin: String::new(),
            outcome: "ok".into(),
            query: String::new(),
            records_shown: Vec::new(),
        }
    }

    /// What was asked, and the registrations the answer showed.
    pub fn answered(mut self, query: &str, mut records_shown: Vec<String>) -> Self {
        let mut seen = std::collections::HashSet::new();
        records_shown.retain(|r| seen.insert(r.clone()));
        self.query = query.to_string();
        self.records_shown = records_shown;
        self
    }

    pub fn purpose(mut self, purpose: &str) -> Self {
        self.purpose = purpose.to_string();
        self
    }

    pub fn origin(mut self, origin: &str) -> Self {
        self.origin = origin.to_string();
        self
    }

    pub fn outcome(mut self, outcome: &str) -> Self {
        self.outcome = outcome.to_string();
        self
    }
}

/// One stored entry of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// 1, 2, 3, … with no gaps.
    pub seq: i64,
    #[serde(flatten)]
    pub event: AuditEvent,
    pub prev_hash: String,
    pub hash: String,
}

/// The previous hash of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The time as the chain hashes it.
pub fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The hash of entry `seq` holding `event`, after an entry whose hash is `prev_hash`.
pub fn chain_hash(seq: i64, prev_hash: &str, event: &AuditEvent) -> String {
    let mut h = Sha256::new();
    // Each field length-prefixed: no two different entries hash the same text.
    for field in [
        seq.to_string().as_str(),
        prev_hash,
        &timestamp(&event.at),
        &event.actor,
        &event.action,
        &event.target,
        &event.purpose,
        &event.origin,
        &event.outcome,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    // Covered only where present, so that entries written before they existed keep their
    // hashes. The count comes first: an entry cannot pass its query off as a record shown.
    if !event.query.is_empty() || !event.records_shown.is_empty() {
        h.update(b"answered");
        h.update((event.records_shown.len() as u64).to_be_bytes());
        for field in std::iter::once(&event.query).chain(&event.records_shown) {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
    }
    hex(&h.finalize())
}

/// Where the chain is broken, and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the audit log is broken at entry {seq}: {reason}")]
pub struct ChainBreak {
    pub seq: i64,
    pub reason: &'static str,
}

/// Walks the chain in order; returns how many entries and the last hash.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    count: i64,
    last: Option<String>,
}

impl ChainVerifier {
    pub fn check(&mut self, entry: &AuditEntry) -> Result<(), ChainBreak> {
        let expected_seq = self.count + 1;
        let fail = |reason| ChainBreak {
            seq: expected_seq,
            reason,
        };
        if entry.seq != expected_seq {
            return Err(fail("an entry is missing or out of order"));
        }
        let prev = self.last.as_deref().unwrap_or(GENESIS);
        if entry.prev_hash != prev {
            return Err(fail("it does not follow the entry before it"));
        }
        if chain_hash(entry.seq, prev, &entry.event) != entry.hash {
            return Err(fail("its content was altered"));
        }
        self.count = entry.seq;
        self.last = Some(entry.hash.clone());
        Ok(())
    }

    /// Entries checked, and the hash of the last: write it down to detect a truncated log
    /// later.
    pub fn head(&self) -> (i64, &str) {
        (self.count, self.last.as_deref().unwrap_or(GENESIS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_string();
        (1..=n as i64)
            .map(|seq| {
                let event = AuditEvent::now("amina", "view_person", &format!("r-{seq}"))
                    .purpose("tracing")
                    .origin("10.0.0.7");
                let hash = chain_hash(seq, &prev, &event);
                let e = AuditEntry {
                    seq,
                    event,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                e
            })
            .collect()
    }

    fn verify(entries: &[AuditEntry]) -> Result<(), ChainBreak> {
        let mut v = ChainVerifier::default();
        entries.iter().try_for_each(|e| v.check(e))
    }

    #[test]
    fn any_alteration_deletion_or_insertion_is_found() {
        let good = chain(5);
        assert_eq!(verify(&good), Ok(()));
        let mut altered = good.clone();
        altered[2].event.target = "r-99".into();
        assert_eq!(verify(&altered).unwrap_err().seq, 3);
        let mut deleted = good.clone();
        deleted.remove(1);
        assert_eq!(verify(&deleted).unwrap_err().seq, 2);
        let mut renumbered = deleted.clone();
        for (i, e) in renumbered.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        assert_eq!(verify(&renumbered).unwrap_err().seq, 2);
        let mut rehashed = good.clone();
        rehashed[3].event.actor = "someone".into();
        rehashed[3].hash = chain_hash(4, &rehashed[3].prev_hash, &rehashed[3].event);
        assert_eq!(
            verify(&rehashed).unwrap_err().seq,
            5,
            "the next entry exposes it"
        );
    }

    #[test]
    fn what_was_asked_and_shown_is_covered_and_older_entries_keep_their_hashes() {
        let plain = AuditEvent::now("amina", "check_duplicates", "/api/v1/matching/check");
        // An entry with nothing asked hashes as entries always have.
        let mut older = plain.clone();
        older.query = String::new();
        assert_eq!(
            chain_hash(1, GENESIS, &plain),
            chain_hash(1, GENESIS, &older)
        );
        let asked = plain
            .clone()
            .answered("Gul Bibi d/o Nabi", vec!["r-1".into(), "r-2".into()]);
        let hash = chain_hash(1, GENESIS, &asked);
        assert_ne!(hash, chain_hash(1, GENESIS, &plain));
        let mut hidden = asked.clone();
        hidden.records_shown.pop();
        assert_ne!(
            hash,
            chain_hash(1, GENESIS, &hidden),
            "a record shown removed"
        );
        let mut moved = asked.clone();
        moved.query = String::new();
        moved.records_shown.insert(0, "Gul Bibi d/o Nabi".into());
        assert_ne!(
            hash,
            chain_hash(1, GENESIS, &moved),
            "the query passed off as a record"
        );
    }
}
