//! What one side holds of every origin's log: the highest number per origin.
//!
//! Each origin numbers its log 1, 2, 3… without gaps and a side keeps a log only up to its
//! first gap, so "the highest number I hold" says everything I hold of that origin. Comparing
//! two sides' heads gives, per origin, where the other side's copy stops: the changes to send
//! are the ones after it. Cursors are per origin on purpose: one "highest seen" across every
//! origin would skip changes that were numbered earlier but arrived later.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Change;

/// Per origin (a site's code, or `hub`), the highest `seq` held. An origin not listed is one
/// of which nothing is held (as if its head were 0).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Heads(pub BTreeMap<String, i64>);

impl Heads {
    pub fn new() -> Heads {
        Heads::default()
    }

    /// The highest `seq` held of `origin`; 0 when none.
    pub fn get(&self, origin: &str) -> i64 {
        self.0.get(origin).copied().unwrap_or(0).max(0)
    }

    /// Records that everything of `origin` up to `seq` is held. Never moves a head back.
    pub fn advance(&mut self, origin: &str, seq: i64) {
        let head = self.0.entry(origin.to_owned()).or_insert(0);
        *head = (*head).max(seq);
    }

    /// Advances over a change just stored.
    pub fn record(&mut self, change: &Change) {
        self.advance(&change.origin, change.seq);
    }

    /// For each origin of which this side holds more than `other`, the origin and the highest
    /// `seq` the other side holds (0 for none): send `other` that origin's changes after it.
    /// In origin order; origins of which `other` holds as much or more are left out.
    pub fn missing_from(&self, other: &Heads) -> Vec<(String, i64)> {
        self.0
            .iter()
            .filter_map(|(origin, &mine)| {
                let theirs = other.get(origin);
                (mine > theirs).then(|| (origin.clone(), theirs))
            })
            .collect()
    }
}

impl From<BTreeMap<String, i64>> for Heads {
    fn from(map: BTreeMap<String, i64>) -> Heads {
        Heads(map)
    }
}

impl From<Heads> for BTreeMap<String, i64> {
    fn from(heads: Heads) -> BTreeMap<String, i64> {
        heads.0
    }
}

impl FromIterator<(String, i64)> for Heads {
    fn from_iter<I: IntoIterator<Item = (String, i64)>>(iter: I) -> Heads {
        let mut heads = Heads::new();
        for (origin, seq) in iter {
            heads.advance(&origin, seq);
        }
        heads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heads(pairs: &[(&str, i64)]) -> Heads {
        pairs.iter().map(|&(o, s)| (o.to_owned(), s)).collect()
    }

    #[test]
    fn what_the_other_side_lacks_starts_after_its_head() {
        let site = heads(&[("hub", 4), ("torkham", 120), ("spin-boldak", 7)]);
        let hub = heads(&[("hub", 9), ("torkham", 100), ("angoor-adda", 3)]);
        assert_eq!(
            site.missing_from(&hub),
            vec![("spin-boldak".to_owned(), 0), ("torkham".to_owned(), 100)]
        );
        assert_eq!(
            hub.missing_from(&site),
            vec![("angoor-adda".to_owned(), 0), ("hub".to_owned(), 4)]
        );
    }

    #[test]
    fn equal_heads_lack_nothing() {
        let a = heads(&[("hub", 4), ("torkham", 120)]);
        assert!(a.missing_from(&a.clone()).is_empty());
        assert!(Heads::new().missing_from(&a).is_empty());
        assert_eq!(
            a.missing_from(&Heads::new()),
            vec![("hub".to_owned(), 0), ("torkham".to_owned(), 0)]
        );
    }

    #[test]
    fn a_zero_head_is_nothing_held() {
        let listed_empty = heads(&[("torkham", 0)]);
        assert!(listed_empty.missing_from(&Heads::new()).is_empty());
        let other = heads(&[("torkham", 2)]);
        assert_eq!(
            other.missing_from(&listed_empty),
            vec![("torkham".into(), 0)]
        );
    }

    #[test]
    fn heads_never_move_back() {
        let mut h = Heads::new();
        h.advance("torkham", 5);
        h.advance("torkham", 3);
        assert_eq!(h.get("torkham"), 5);
        assert_eq!(h.get("spin-boldak"), 0);
    }

    #[test]
    fn serialises_as_a_plain_map() {
        let h = heads(&[("hub", 4), ("torkham", 120)]);
        let json = serde_json::to_string(&h).unwrap_or_default();
        assert_eq!(json, r#"{"hub":4,"torkham":120}"#);
        let back: Result<Heads, _> = serde_json::from_str(&json);
        assert_eq!(back.ok(), Some(h));
    }
}
