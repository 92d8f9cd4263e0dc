//! How alike two names are, from 0 (unrelated) to 1 (the same name however spelled).
//!
//! Two layers. A unit (one name part such as Nabi, Ghani, or the particle -ullah) is compared by a
//! weighted edit distance over phonetic codes, where exchanging confusable sounds or soft vowels
//! is cheap and touching a firm consonant is dear. A whole name is compared by aligning its units
//! with the other name's, weighting core parts above particles and the optional leading Mohammad
//! or lineage title, so that Mohammad Nabi ~ Nabi holds while Gul Ahmad ~ Gul Mohammad does not.

use crate::name::{Name, UnitRole};
use crate::phonetic::{Code, MAX_CODE, Symbol, sym::*};

/// What deleting or inserting a symbol costs: how much of a name it is.
const fn mass(s: Symbol) -> f32 {
    if is_initial(s) {
        1.0
    } else if is_soft(s) {
        0.2
    } else if is_long(s) {
        // A written ی or و says more than a written alef (رحمان and رحمن are both common).
        if s == A_LONG { 0.6 } else { 0.9 }
    } else if is_final(s) {
        1.5
    } else {
        match s {
            W | Y => 0.8,
            H => 0.7,
            _ => 1.0,
        }
    }
}

const fn pair(a: Symbol, b: Symbol, x: Symbol, y: Symbol) -> bool {
    (a == x && b == y) || (a == y && b == x)
}

/// Exchanging two vowels: cheap when only length or spelling differs (i/ee, o/u, a/e), dearer
/// when the quality differs (Aman/Amin, Hasan/Hussain), dearest between firm positions.
const fn vowel_substitution(a: Symbol, b: Symbol) -> f32 {
    let (qa, qb) = (quality(a), quality(b));
    let same_quality =
        qa == qb || qa == 0 || qb == 0 || (qa == 4 && qb != 3) || (qb == 4 && qa != 3);
    if is_initial(a) && is_initial(b) {
        if same_quality { 0.1 } else { 0.9 }
    } else if is_final(a) && is_final(b) {
        // Arabic-script final ی is read i (Ali) or a (Musa, Yahya): quality matters less here.
        if same_quality { 0.1 } else { 0.3 }
    } else if (is_soft(a) || is_long(a)) && (is_soft(b) || is_long(b)) {
        if same_quality {
            0.1
        } else if is_long(a) || is_long(b) {
            0.9
        } else {
            0.5
        }
    } else if is_initial(a) || is_initial(b) {
        0.6
    } else if same_quality {
        1.0
    } else {
        1.3
    }
}

/// What exchanging one symbol for another costs.
const fn substitution(a: Symbol, b: Symbol) -> f32 {
    if a == b {
        return 0.0;
    }
    let explicit = if is_vowel(a) && is_vowel(b) {
        vowel_substitution(a, b)
    } else if (a == W && quality(b) == 3 && !is_initial(b))
        || (b == W && quality(a) == 3 && !is_initial(a))
        || (a == Y && quality(b) == 2 && !is_initial(b))
        || (b == Y && quality(a) == 2 && !is_initial(a))
    {
        if is_final(a) || is_final(b) { 0.5 } else { 0.1 }
    } else if (a == W || a == Y) && (is_soft(b) || is_long(b))
        || (b == W || b == Y) && (is_soft(a) || is_long(a))
    {
        0.6
    } else if (a == W || a == Y) && is_initial(b) || (b == W || b == Y) && is_initial(a) {
        0.9
    } else if (a == H && is_initial(b)) || (b == H && is_initial(a)) {
        0.8
    } else if pair(a, b, K, Q) {
        0.3
    } else if pair(a, b, G, Q)
        || pair(a, b, X, K)
        || pair(a, b, X, H)
        || pair(a, b, X, Q)
        || pair(a, b, A_FINAL, T)
    {
        0.5
    } else if pair(a, b, K, G)
        || pair(a, b, X, G)
        || pair(a, b, SH, X)
        || pair(a, b, CH, SH)
        || pair(a, b, CH, J)
        || pair(a, b, B, P)
        || pair(a, b, F, P)
    {
        0.6
    } else if pair(a, b, T, D) {
        0.7
    } else if pair(a, b, J, Z) {
        0.9
    } else if pair(a, b, S, SH) {
        1.0
    } else {
        // Two different firm consonants: a different name far more often than a typo.
        1.5
    };
    let via_delete = mass(a) + mass(b);
    if explicit < via_delete {
        explicit
    } else {
        via_delete
    }
}

const fn build_table() -> [[f32; COUNT]; COUNT] {
    let mut t = [[0.0; COUNT]; COUNT];
    let mut a = 0;
    while a < COUNT {
        let mut b = 0;
        while b < COUNT {
            t[a][b] = substitution(a as Symbol, b as Symbol);
            b += 1;
        }
        a += 1;
    }
    t
}

const SUB: [[f32; COUNT]; COUNT] = build_table();
const MASS: [f32; COUNT] = {
    let mut m = [0.0; COUNT];
    let mut i = 0;
    while i < COUNT {
        m[i] = mass(i as Symbol);
        i += 1;
    }
    m
};

/// Twice the longest code: a whole name compared as one string (see `Name::joined`).
const MAX_ROW: usize = 2 * MAX_CODE + 1;

/// Weighted edit distance between two symbol strings.
fn distance(a: &[Symbol], b: &[Symbol]) -> f32 {
    let (a, b) = (
        &a[..a.len().min(MAX_ROW - 1)],
        &b[..b.len().min(MAX_ROW - 1)],
    );
    let mut prev = [0.0f32; MAX_ROW];
    let mut cur = [0.0f32; MAX_ROW];
    for (j, &sb) in b.iter().enumerate() {
        prev[j + 1] = prev[j] + MASS[sb as usize];
    }
    for &sa in a {
        let del = MASS[sa as usize];
        cur[0] = prev[0] + del;
        let row = &SUB[sa as usize];
        for (j, &sb) in b.iter().enumerate() {
            let sub = prev[j] + row[sb as usize];
            let dele = prev[j + 1] + del;
            let ins = cur[j] + MASS[sb as usize];
            cur[j + 1] = sub.min(dele).min(ins);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

fn total_mass(a: &[Symbol]) -> f32 {
    a.iter().map(|&s| MASS[s as usize]).sum()
}

/// Similarity of two phonetic symbol strings in [0, 1].
pub fn symbols_similarity(a: &[Symbol], b: &[Symbol]) -> f32 {
    if a == b {
        return if a.is_empty() { 0.0 } else { 1.0 };
    }
    let denom = total_mass(a).max(total_mass(b));
    if denom <= 0.0 {
        return 0.0;
    }
    (1.0 - distance(a, b) / denom).clamp(0.0, 1.0)
}

/// Similarity of two unit codes in [0, 1].
pub fn code_similarity(a: &Code, b: &Code) -> f32 {
    symbols_similarity(a.as_slice(), b.as_slice())
}

/// Units less alike than this are not paired at all: half-similar parts are different names.
pub const UNIT_FLOOR: f32 = 0.7;
/// Paired units in crossed order (Gul Ahmad ~ Ahmad Gul) count this much.
const SWAP_FACTOR: f32 = 0.72;
/// The joined string alone is trusted a little less than a unit-by-unit agreement.
const JOINED_FACTOR: f32 = 0.96;

fn weight(role: UnitRole) -> f32 {
    match role {
        UnitRole::Core => 1.0,
        UnitRole::Optional => 0.35,
        UnitRole::Particle => 0.5,
    }
}

/// One pairing of a unit of each name, for explanations.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct UnitMatch {
    pub left: String,
    pub right: String,
    pub score: f32,
}

/// A similarity with its reasons, for people diagnosing a match.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Comparison {
    pub score: f32,
    pub matched: Vec<UnitMatch>,
    pub unmatched_left: Vec<String>,
    pub unmatched_right: Vec<String>,
    pub order_swapped: bool,
    /// The names agreed better as whole strings than part by part (joined or split compounds).
    pub joined: bool,
}

const MAX_UNITS: usize = 8;

/// Similarity of two normalised names in [0, 1]; symmetric.
pub fn similarity(a: &Name, b: &Name) -> f32 {
    if a.units.is_empty() || b.units.is_empty() {
        return 0.0;
    }
    if a.joined == b.joined {
        return 1.0;
    }
    let (aligned, _) = align(a, b, false);
    joined_score(a, b, aligned).unwrap_or(aligned)
}

/// Similarity with the pairing that produced it.
pub fn compare(a: &Name, b: &Name) -> Comparison {
    if a.units.is_empty() || b.units.is_empty() {
        return Comparison::default();
    }
    let (aligned, detail) = align(a, b, true);
    let mut c = detail.unwrap_or_default();
    c.score = aligned;
    if a.joined == b.joined {
        c.score = 1.0;
    } else if let Some(joined) = joined_score(a, b, aligned) {
        c.score = joined;
        c.joined = true;
    }
    c
}

/// The whole-string score, where it beats the part-by-part one. It only helps where the two
/// clerks split a compound differently, so it is not computed when the parts already agree or
/// number the same.
fn joined_score(a: &Name, b: &Name, aligned: f32) -> Option<f32> {
    if aligned >= 0.9 || a.units.len() == b.units.len() {
        return None;
    }
    let joined = JOINED_FACTOR * code_similarity(&a.joined, &b.joined);
    (joined > aligned).then_some(joined)
}

fn align(a: &Name, b: &Name, explain: bool) -> (f32, Option<Comparison>) {
    let na = a.units.len().min(MAX_UNITS);
    let nb = b.units.len().min(MAX_UNITS);
    let mut sims = [[0.0f32; MAX_UNITS]; MAX_UNITS];
    for (row, ua) in sims.iter_mut().zip(&a.units[..na]) {
        for (cell, ub) in row.iter_mut().zip(&b.units[..nb]) {
            *cell = code_similarity(&ua.code, &ub.code);
        }
    }
    let mut used_a = [false; MAX_UNITS];
    let mut used_b = [false; MAX_UNITS];
    let mut pairs: [(usize, usize, f32); MAX_UNITS] = [(0, 0, 0.0); MAX_UNITS];
    let mut npairs = 0;
    // Greedy by best similarity; ties go to the pair closest to its own position.
    loop {
        let mut best: Option<(usize, usize, f32)> = None;
        for i in 0..na {
            if used_a[i] {
                continue;
            }
            for j in 0..nb {
                if used_b[j] {
                    continue;
                }
                let s = sims[i][j];
                if s >= UNIT_FLOOR
                    && best.is_none_or(|(bi, bj, bs)| {
                        s > bs || (s == bs && i.abs_diff(j) < bi.abs_diff(bj))
                    })
                {
                    best = Some((i, j, s));
                }
            }
        }
        let Some((i, j, s)) = best else { break };
        used_a[i] = true;
        used_b[j] = true;
        pairs[npairs] = (i, j, s);
        npairs += 1;
    }
    let total: f32 = a.units[..na].iter().map(|u| weight(u.role)).sum::<f32>()
        + b.units[..nb].iter().map(|u| weight(u.role)).sum::<f32>();
    let mut got = 0.0;
    for &(i, j, s) in &pairs[..npairs] {
        got += s * (weight(a.units[i].role) + weight(b.units[j].role));
    }
    let mut score = if total > 0.0 { got / total } else { 0.0 };
    // Crossed pairs among core units mean the parts were given in another order.
    let mut swapped = false;
    for x in 0..npairs {
        for y in x + 1..npairs {
            let (i1, j1, _) = pairs[x];
            let (i2, j2, _) = pairs[y];
            let core = a.units[i1].role == UnitRole::Core && a.units[i2].role == UnitRole::Core;
            if core && (i1 < i2) != (j1 < j2) {
                swapped = true;
            }
        }
    }
    if swapped {
        score *= SWAP_FACTOR;
    }
    let detail = explain.then(|| Comparison {
        score,
        matched: pairs[..npairs]
            .iter()
            .map(|&(i, j, s)| UnitMatch {
                left: a.units[i].text.clone(),
                right: b.units[j].text.clone(),
                score: s,
            })
            .collect(),
        unmatched_left: (0..na)
            .filter(|&i| !used_a[i])
            .map(|i| a.units[i].text.clone())
            .collect(),
        unmatched_right: (0..nb)
            .filter(|&j| !used_b[j])
            .map(|j| b.units[j].text.clone())
            .collect(),
        order_swapped: swapped,
        joined: false,
    });
    (score.clamp(0.0, 1.0), detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phonetic::encode;

    #[test]
    #[allow(clippy::needless_range_loop)] // Indexes are the symbols being checked.
    fn substitution_table_is_symmetric() {
        for a in 0..COUNT {
            for b in 0..COUNT {
                assert_eq!(SUB[a][b], SUB[b][a], "{a} {b}");
            }
        }
    }

    #[test]
    fn soft_vowels_are_cheap_consonants_dear() {
        let s = |a: &str, b: &str| code_similarity(&encode(a), &encode(b));
        assert!(s("mohammad", "muhammad") > 0.9);
        assert!(s("karim", "rahim") < 0.6);
        assert!(s("hamid", "ahmad") < 0.75);
    }
}
