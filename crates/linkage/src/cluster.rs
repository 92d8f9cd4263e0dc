//! From scored pairs to identities, without chaining different people together.
//!
//! Plain connected components over "likely match" links chain: A~B and B~C put A and C in one
//! identity even when A and C are plainly two people. Here links are taken strongest first, and
//! two groups merge only if the merge is sound for every pair across them: no reviewer said
//! "not the same person", no two were registered in one household, none is a clear non-match,
//! and on average the pairs across are likely matches. Reviewers' "same person" decisions are
//! applied first and unconditionally.

/// What decides whether two groups of records may become one identity.
pub(crate) trait MergeRule {
    /// Whether the two records may never be one person (a reviewer said so, or they were
    /// registered together).
    fn cannot_link(&self, a: u32, b: u32) -> bool;
    /// The probability that the two records are one person, as a join judges it (see
    /// [`as_a_join_judges`]).
    fn probability(&self, a: u32, b: u32) -> f64;
}

/// The prior odds, in bits, at which the pairs across two groups are judged: those of one
/// person among about 200,000 registrations. A pair's probability falls as the registry
/// grows, since more strangers could share its names; whether two records of an identity
/// already linked contradict each other does not. Judged at the registry's own prior, a
/// million people made every record across a merge need some twenty bits of evidence with
/// each of the other group's, and two registrations of one woman ("wife of Karim" and her
/// own name) linked through a third stayed apart. The rule was set and measured at 100,000
/// people, where the prior is about these odds; it no longer tightens beyond them.
pub(crate) const CROSS_PRIOR_BITS: f64 = -17.6;

/// A pair's probability `p`, found at the registry's prior `prior` (in bits), as a join
/// judges it: at the odds of [`CROSS_PRIOR_BITS`] where the registry's are lower.
pub(crate) fn as_a_join_judges(p: f64, prior: f64) -> f64 {
    let bits = CROSS_PRIOR_BITS - prior;
    if bits <= 0.0 || p <= 0.0 || p >= 1.0 {
        return p;
    }
    crate::model::probability((p / (1.0 - p)).log2() + bits)
}

/// A cross pair below this is a clear non-match and blocks a merge.
const CLEAR_NON_MATCH: f64 = 0.02;
/// No one registers this often: a larger identity is a chain of different people.
const MAX_IDENTITY: usize = 24;

struct Groups {
    parent: Vec<u32>,
    members: Vec<Vec<u32>>,
}

impl Groups {
    fn new(n: usize) -> Groups {
        Groups {
            parent: (0..n as u32).collect(),
            members: (0..n as u32).map(|i| vec![i]).collect(),
        }
    }
    fn root(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }
    fn union(&mut self, a: u32, b: u32) {
        let (big, small) = if self.members[a as usize].len() >= self.members[b as usize].len() {
            (a, b)
        } else {
            (b, a)
        };
        self.parent[small as usize] = big;
        let moved = std::mem::take(&mut self.members[small as usize]);
        self.members[big as usize].extend(moved);
    }
}

/// Groups `n` records into identities. `links` are (a, b, probability) at or above the link
/// threshold (a family's members at or above [`holds_together`]); `must_link` are reviewers'
/// "same person" decisions. Returns each record's
/// identity as the smallest record index in it.
pub(crate) fn cluster(
    n: usize,
    mut links: Vec<(u32, u32, f64)>,
    must_link: &[(u32, u32)],
    rule: &impl MergeRule,
    link_threshold: f64,
) -> Vec<u32> {
    let mut g = Groups::new(n);
    for &(a, b) in must_link {
        let (ra, rb) = (g.root(a), g.root(b));
        if ra != rb {
            g.union(ra, rb);
        }
    }
    links.sort_by(|x, y| y.2.total_cmp(&x.2).then((x.0, x.1).cmp(&(y.0, y.1))));
    for (a, b, _) in links {
        let (ra, rb) = (g.root(a), g.root(b));
        if ra == rb {
            continue;
        }
        if mergeable(
            &g.members[ra as usize],
            &g.members[rb as usize],
            rule,
            link_threshold,
        ) {
            g.union(ra, rb);
        }
    }
    let mut identity = vec![0u32; n];
    for x in 0..n as u32 {
        let r = g.root(x);
        if let Some(&min) = g.members[r as usize].iter().min() {
            identity[x as usize] = min;
        }
    }
    identity
}

fn mergeable(a: &[u32], b: &[u32], rule: &impl MergeRule, link_threshold: f64) -> bool {
    if a.len() + b.len() > MAX_IDENTITY {
        return false;
    }
    let mut sum = 0.0;
    let mut count = 0usize;
    for &x in a {
        for &y in b {
            if rule.cannot_link(x, y) {
                return false;
            }
            let p = rule.probability(x, y);
            if p < CLEAR_NON_MATCH {
                return false;
            }
            sum += p;
            count += 1;
        }
    }
    // A single link between two single records is its own average; larger groups must hold
    // together as a whole.
    count == 0 || sum / count as f64 >= holds_together(link_threshold)
}

/// The average probability across two groups at which they may become one identity.
pub(crate) fn holds_together(link_threshold: f64) -> f64 {
    link_threshold * 0.8
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Table {
        p: HashMap<(u32, u32), f64>,
        cannot: Vec<(u32, u32)>,
    }

    impl MergeRule for Table {
        fn cannot_link(&self, a: u32, b: u32) -> bool {
            self.cannot.contains(&(a.min(b), a.max(b)))
        }
        fn probability(&self, a: u32, b: u32) -> f64 {
            self.p.get(&(a.min(b), a.max(b))).copied().unwrap_or(0.0)
        }
    }

    #[test]
    fn a_merge_is_judged_at_the_same_odds_however_large_the_registry() {
        // 0 and 1 are one woman ("wife of Karim" and her own name, joined through her
        // family); 2 is her registration elsewhere, plainly her against 1 and, against 0,
        // alike in all but the name: 17 bits of evidence, 6% among a million people.
        let million = -21.0;
        let with_evidence = |bits: f64| crate::model::probability(bits + million);
        let links = vec![(0, 1, 0.99), (1, 2, 0.995)];
        let judged = |against_0: f64, judge: &dyn Fn(f64) -> f64| {
            let p = HashMap::from([
                ((0, 1), judge(0.99)),
                ((1, 2), judge(0.995)),
                ((0, 2), judge(with_evidence(against_0))),
            ]);
            let rule = Table { p, cannot: vec![] };
            cluster(3, links.clone(), &[], &rule, 0.8)
        };
        let at_the_registrys_odds = judged(17.0, &|p| p);
        assert_ne!(at_the_registrys_odds[0], at_the_registrys_odds[2]);
        let ids = judged(17.0, &|p| as_a_join_judges(p, million));
        assert!(ids.iter().all(|&i| i == 0), "{ids:?}");
        // Evidence against stays evidence against, at any odds.
        let ids = judged(-3.0, &|p| as_a_join_judges(p, million));
        assert_ne!(ids[0], ids[2]);
        // A registry smaller than the odds' is judged at its own.
        assert_eq!(as_a_join_judges(0.3, -12.0), 0.3);
    }

    #[test]
    fn a_weak_chain_does_not_join_two_people() {
        // 0~1 strong, 1~2 strong, but 0 and 2 are clearly different: 2 stays apart.
        let p = HashMap::from([((0, 1), 0.99), ((1, 2), 0.9), ((0, 2), 0.001)]);
        let rule = Table { p, cannot: vec![] };
        let links = vec![(0, 1, 0.99), (1, 2, 0.9)];
        let ids = cluster(3, links, &[], &rule, 0.5);
        assert_eq!(ids[0], ids[1]);
        assert_ne!(ids[1], ids[2]);
    }

    #[test]
    fn reviewers_decide_both_ways() {
        let p = HashMap::from([((0, 1), 0.99), ((2, 3), 0.01)]);
        let rule = Table {
            p,
            cannot: vec![(0, 1)],
        };
        let ids = cluster(4, vec![(0, 1, 0.99)], &[(2, 3)], &rule, 0.5);
        assert_ne!(ids[0], ids[1], "a cannot-link beats a strong score");
        assert_eq!(ids[2], ids[3], "a must-link beats a weak score");
        assert_eq!(ids[3], 2, "an identity is named by its smallest record");
    }
}
