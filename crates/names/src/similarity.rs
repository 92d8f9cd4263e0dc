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

/// Costs are kept in tenths, as integers: every cost above is a whole number of tenths, and
/// integer minima are several times faster than float ones in the inner loop.
type Cost = u16;

const fn tenths(x: f32) -> Cost {
    (x * 10.0 + 0.5) as Cost
}

const SUB: [[Cost; COUNT]; COUNT] = {
    let mut t = [[0; COUNT]; COUNT];
    let mut a = 0;
    while a < COUNT {
        let mut b = 0;
        while b < COUNT {
            t[a][b] = tenths(substitution(a as Symbol, b as Symbol));
            b += 1;
        }
        a += 1;
    }
    t
};
const MASS: [Cost; COUNT] = {
    let mut m = [0; COUNT];
    let mut i = 0;
    while i < COUNT {
        m[i] = tenths(mass(i as Symbol));
        i += 1;
    }
    m
};

/// Twice the longest code: a whole name compared as one string (see `Name::joined`).
const MAX_ROW: usize = 2 * MAX_CODE + 1;

/// What exchanging two adjacent firm symbols costs (احمد typed امحد): a slip of the keyboard.
const TRANSPOSITION: Cost = tenths(0.6);
/// What writing sh for س followed by ح costs (Ishaq, اسحاق): Latin letters cannot show the
/// boundary between the two sounds.
const SPLIT_SH: Cost = tenths(0.2);

/// Weighted edit distance between two symbol strings, with adjacent transpositions and the
/// sh / s-h split as single steps; `None` as soon as it is sure to exceed `limit`.
///
/// Every path crosses each row of the table, and a step spans at most two rows, so once two
/// consecutive rows lie wholly above the limit the distance does too: unrelated names are
/// abandoned after a few rows, which is most of the work saved on a million records.
fn distance<const ROW: usize>(a: &[Symbol], b: &[Symbol], limit: Cost) -> Option<Cost> {
    // A shared beginning and ending cost nothing: Mohammad and Mohammed differ in one vowel, and
    // only that middle needs the table.
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    let (a, b) = (&a[..a.len().min(ROW - 1)], &b[..b.len().min(ROW - 1)]);
    if a.is_empty() || b.is_empty() {
        let d = total_mass(a) + total_mass(b);
        return (d <= limit).then_some(d);
    }
    let n = b.len();
    // Rows i-2, i-1 and i of the dynamic programme, rotated by swapping references (swapping
    // the arrays themselves would copy them on every row).
    let mut rows = [[0 as Cost; ROW]; 3];
    let [r0, r1, r2] = &mut rows;
    let (mut before, mut prev, mut cur) = (r0, r1, r2);
    let mut b_mass = [0 as Cost; ROW];
    for (j, &sb) in b.iter().enumerate() {
        b_mass[j] = MASS[sb as usize];
        prev[j + 1] = prev[j] + b_mass[j];
    }
    let mut prev_min: Cost = 0;
    let mut pa = Symbol::MAX;
    for &sa in a {
        let del = MASS[sa as usize];
        let row = &SUB[sa as usize];
        let mut left = prev[0] + del;
        cur[0] = left;
        let mut row_min = left;
        for ((out, (diag, up)), (&sb, &mb)) in cur[1..=n]
            .iter_mut()
            .zip(prev[..n].iter().zip(&prev[1..=n]))
            .zip(b.iter().zip(&b_mass[..n]))
        {
            left = (diag + row[sb as usize]).min(up + del).min(left + mb);
            *out = left;
        }
        // Transpositions and the sh split: rare shapes, checked in a second pass over the row.
        let firm_pair = pa != Symbol::MAX && !is_vowel(sa) && !is_vowel(pa) && sa != pa;
        if firm_pair || sa == SH || (sa == H && pa == S) {
            for j in 0..n {
                let sb = b[j];
                let pb = if j > 0 { b[j - 1] } else { Symbol::MAX };
                let mut best = cur[j + 1];
                if firm_pair && sa == pb && pa == sb {
                    best = best.min(before[j - 1] + TRANSPOSITION);
                }
                if sa == SH && pb == S && sb == H {
                    best = best.min(prev[j - 1] + SPLIT_SH);
                }
                if sb == SH && pa == S && sa == H {
                    best = best.min(before[j] + SPLIT_SH);
                }
                if best < cur[j + 1] {
                    // A cheaper cell makes its right-hand neighbours cheaper too.
                    cur[j + 1] = best;
                    for k in j + 1..n {
                        let via = cur[k] + b_mass[k];
                        if via >= cur[k + 1] {
                            break;
                        }
                        cur[k + 1] = via;
                    }
                }
            }
        }
        for &c in &cur[1..=n] {
            row_min = row_min.min(c);
        }
        if row_min > limit && prev_min > limit {
            return None;
        }
        prev_min = row_min;
        pa = sa;
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[n];
    (d <= limit).then_some(d)
}

fn total_mass(a: &[Symbol]) -> Cost {
    a.iter().map(|&s| MASS[s as usize]).sum()
}

/// Whether two spellings, as letters, differ by one slip of the keyboard: a letter dropped,
/// added or changed, or two neighbouring letters swapped.
pub fn one_slip_apart(a: &[char], b: &[char]) -> bool {
    if a == b || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let first = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (x, y) = (&a[first..], &b[first..]);
    match x.len().cmp(&y.len()) {
        std::cmp::Ordering::Greater => x[1..] == *y,
        std::cmp::Ordering::Less => *x == y[1..],
        std::cmp::Ordering::Equal => {
            x[1..] == y[1..] || (x.len() >= 2 && x[0] == y[1] && x[1] == y[0] && x[2..] == y[2..])
        }
    }
}

/// How alike two names must be, once a slip is undone, to be one name with a slip.
const ALIKE_BUT_FOR_A_SLIP: f32 = 0.9;
/// How alike the parts beside the slipped one must be: a part heard in the other script, its
/// short vowels written on one side only, is less alike than a spelling variant (محمد and
/// Mohamad 0.86).
const PARTS_AGREE: f32 = 0.8;

/// Whether two names are spelling variants of one name but for one slip: part by part, all
/// alike but one pair, and that pair alike once a sound of either is left out, or one of each
/// (a letter changed). It reads the names' sound, so it holds across scripts (Navid heard and
/// written وید), and at any letter, the first too. A relative's request carries such slips
/// where a clerk's registration does not: nobody saw the name typed. A name of fewer than
/// three sounds, or a part of one, is left out: too many names are one sound from it. A short
/// part beside others is not (عت‌الله is Ezatullah with its z dropped).
pub fn one_slip_from_alike(a: &Name, b: &Name) -> bool {
    let sounds = |n: &Name| n.units.iter().map(|u| u.code.len()).sum::<usize>();
    if a.units.len() != b.units.len() || sounds(a).min(sounds(b)) < 3 {
        return false;
    }
    let mut unlike = a
        .units
        .iter()
        .zip(&b.units)
        .filter(|(u, v)| code_similarity(&u.code, &v.code) < PARTS_AGREE);
    match (unlike.next(), unlike.next()) {
        (Some((u, v)), None) => alike_but_for_a_slip(&u.code, &v.code),
        _ => false,
    }
}

/// Whether two name parts' sounds are alike once one slip is undone; never for parts too
/// short to tell.
fn alike_but_for_a_slip(x: &Code, y: &Code) -> bool {
    let (xs, ys) = (x.as_slice(), y.as_slice());
    if xs.len().min(ys.len()) < 2 {
        return false;
    }
    // The firm consonants each has: one slip changes at most one of each side's, and an
    // exchange of two alike sounds (k and q) one more. Most pairs of names differ by more and
    // are refused before any distance is computed (a long name alike but for a slip and two
    // such exchanges is refused too).
    let firm = |s: &[Symbol]| {
        s.iter()
            .filter(|&&c| !is_vowel(c) && !matches!(c, W | Y | H))
            .fold(0u64, |m, &c| m | 1 << c)
    };
    if (firm(xs) ^ firm(ys)).count_ones() > 4 {
        return false;
    }
    // Alike as the two parts themselves would be: measured against the sounds they had
    // before the slip, so that the short vowels one script writes and the other does not
    // weigh as much as in the names themselves (Morsal without its r against مسل).
    let (mass_x, mass_y) = (total_mass(xs), total_mass(ys));
    let alike = |p: &[Symbol], q: &[Symbol]| {
        similarity_with_masses(p, q, mass_x, mass_y, ALIKE_BUT_FOR_A_SLIP) >= ALIKE_BUT_FOR_A_SLIP
    };
    let left_out = |s: &Code, other: &Code| {
        (0..s.len()).any(|i| {
            s.without(i)
                .iter()
                .flatten()
                .any(|p| alike(p.as_slice(), other.as_slice()))
        })
    };
    // A letter changed is one left out of each at one place: as many consonants before it.
    // Not the first: احمد and محمد, Ahmad and Mohammad, are one letter apart. The vowels
    // either side stay as they were: the letter is replaced, not dropped (Hasan and Hasib are
    // two letters apart, not one with the vowel left last).
    let place = |s: &[Symbol], at: usize| s[..at].iter().filter(|&&c| !is_vowel(c)).count();
    let replaced = |s: &[Symbol], at: usize| {
        let mut out = [0; MAX_CODE];
        out[..at].copy_from_slice(&s[..at]);
        out[at..s.len() - 1].copy_from_slice(&s[at + 1..]);
        (out, s.len() - 1)
    };
    left_out(x, y)
        || left_out(y, x)
        || (0..xs.len()).any(|i| {
            let at = place(xs, i);
            let (p, np) = replaced(xs, i);
            at > 0
                && (0..ys.len()).any(|j| {
                    place(ys, j) == at && {
                        let (q, nq) = replaced(ys, j);
                        alike(&p[..np], &q[..nq])
                    }
                })
        })
}

/// Similarity of two phonetic symbol strings in [0, 1].
pub fn symbols_similarity(a: &[Symbol], b: &[Symbol]) -> f32 {
    similarity_above(a, b, 0.0)
}

/// Similarity of two phonetic symbol strings, or 0 when it is below `min` (computed faster).
fn similarity_above(a: &[Symbol], b: &[Symbol], min: f32) -> f32 {
    similarity_with_masses(a, b, total_mass(a), total_mass(b), min)
}

/// [`similarity_above`] with the codes' total masses already known.
fn similarity_with_masses(a: &[Symbol], b: &[Symbol], mass_a: Cost, mass_b: Cost, min: f32) -> f32 {
    if a == b {
        return if a.is_empty() { 0.0 } else { 1.0 };
    }
    let denom = mass_a.max(mass_b);
    if denom == 0 {
        return 0.0;
    }
    // Truncation is the floor here: the product is never negative.
    let limit = ((1.0 - min) * f32::from(denom)) as Cost;
    // Unit codes need a short table; joined codes (whole names) a long one.
    let d = if a.len().max(b.len()) <= MAX_CODE {
        distance::<{ MAX_CODE + 1 }>(a, b, limit)
    } else {
        distance::<MAX_ROW>(a, b, limit)
    };
    match d {
        Some(d) => (1.0 - f32::from(d) / f32::from(denom)).clamp(0.0, 1.0),
        None => 0.0,
    }
}

/// Similarity of two unit codes in [0, 1].
pub fn code_similarity(a: &Code, b: &Code) -> f32 {
    symbols_similarity(a.as_slice(), b.as_slice())
}

/// Unit similarities below this earn no credit at all (they would earn under 0.04): the
/// comparison stops early instead of measuring how unrelated two names are.
const UNIT_CUTOFF: f32 = 0.5;

/// Units less alike than this are different names: their pairing earns only a sharply reduced
/// credit (see [`graded`]), so that a typo still outranks an unrelated name.
pub const UNIT_FLOOR: f32 = 0.7;

/// The credit a unit pairing earns: its similarity from the floor up; below it, a small and
/// steeply falling credit (0.69 → 0.34, 0.6 → 0.22, 0.5 → 0.13, 0.3 → 0.03), enough to rank a
/// typo above an unrelated name, too little to make two different names one.
fn graded(s: f32) -> f32 {
    if s >= UNIT_FLOOR {
        s
    } else {
        0.5 * s * s * s / (UNIT_FLOOR * UNIT_FLOOR)
    }
}
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
    // A compound split another way still begins with the same sound.
    let (Some(&x), Some(&y)) = (a.joined.as_slice().first(), b.joined.as_slice().first()) else {
        return None;
    };
    if SUB[x as usize][y as usize] > tenths(0.6) {
        return None;
    }
    // Below the unit floor, the whole strings agreeing is no evidence of a re-split compound.
    let joined =
        JOINED_FACTOR * similarity_above(a.joined.as_slice(), b.joined.as_slice(), UNIT_FLOOR);
    (joined > aligned).then_some(joined)
}

fn align(a: &Name, b: &Name, explain: bool) -> (f32, Option<Comparison>) {
    let na = a.units.len().min(MAX_UNITS);
    let nb = b.units.len().min(MAX_UNITS);
    let mut mass_b = [0 as Cost; MAX_UNITS];
    for (m, ub) in mass_b.iter_mut().zip(&b.units[..nb]) {
        *m = total_mass(ub.code.as_slice());
    }
    let mut sims = [[0.0f32; MAX_UNITS]; MAX_UNITS];
    for (row, ua) in sims.iter_mut().zip(&a.units[..na]) {
        let (code_a, mass_a) = (ua.code.as_slice(), total_mass(ua.code.as_slice()));
        for ((cell, ub), &mb) in row.iter_mut().zip(&b.units[..nb]).zip(&mass_b) {
            *cell = similarity_with_masses(code_a, ub.code.as_slice(), mass_a, mb, UNIT_CUTOFF);
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
                if s > 0.0
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
        pairs[npairs] = (i, j, graded(s));
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
            // Both names' parts must be core: judged from one side only, the score would
            // depend on the argument order.
            let core = [&a.units[i1], &a.units[i2], &b.units[j1], &b.units[j2]]
                .iter()
                .all(|u| u.role == UnitRole::Core);
            let firm = pairs[x].2 >= UNIT_FLOOR && pairs[y].2 >= UNIT_FLOOR;
            if core && firm && (i1 < i2) != (j1 < j2) {
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

    /// Whether two names are one slip from alike, asked both ways round.
    fn slip(a: &str, b: &str) -> bool {
        let (a, b) = (crate::normalize(a), crate::normalize(b));
        assert_eq!(one_slip_from_alike(&a, &b), one_slip_from_alike(&b, &a));
        one_slip_from_alike(&a, &b)
    }

    #[test]
    fn a_slip_in_either_script_at_any_letter() {
        // A letter left out, the first or the last, heard in the other script.
        assert!(slip("Navid", "وید"));
        assert!(slip("Monir", "نير"));
        assert!(slip("Zubair", "زبر"));
        assert!(slip("Tahmina", "تهمين"));
        assert!(slip("Yasin", "Yasi"));
        // In one script, the first letter too.
        assert!(slip("نوید", "وید"));
        assert!(slip("Qadir", "Qadi"));
        // A letter changed, in a part of a compound.
        assert!(slip("عبدالوهاب", "عبدالوهات"));
        // Names more than one slip apart, or already alike.
        assert!(!slip("Karim", "Rahim"));
        assert!(!slip("Hamid", "Ahmad"));
        assert!(!slip("Hasan", "Hasib"));
        assert!(!slip("Nabi", "نبی"));
        // Part by part: the one slip must undo the whole difference.
        assert!(!slip("Gul Ahmad", "Gul Mohammad"));
        // A first letter changed makes another name as often as a slip: Khalid and Walid,
        // Ahmad and Mohammad (احمد and محمد).
        assert!(!slip("Khalid", "Walid"));
        assert!(!slip("Ahmad", "محمد"));
        assert!(!slip("Gul Ahmad", "Gul Mohammad Jan"));
        // Too short to tell a slip from another name.
        assert!(!slip("حا", "Hawa"));
        assert!(!slip("گل جان", "ل جان"));
        assert!(!slip("عی", "Aly"));
    }

    /// What a slip leaves is read as the scripts write it: the short vowels one script leaves
    /// out, a short part beside others, two alike letters the slip brought together, a vowel
    /// left last or first.
    #[test]
    fn a_slip_read_as_the_scripts_write_what_it_leaves() {
        // Morsal without its r, written without its short vowels.
        assert!(slip("مسل", "Morsal"));
        // Ezatullah without its z: a part of two sounds, beside -ullah.
        assert!(slip("عت\u{200c}الله", "Ezatullah"));
        assert!(slip("عل گل", "لعل گل"));
        // حبیب without its ی: two b's, not one.
        assert!(slip("حبب", "Habeeb"));
        // Osman without its n: the alef left last is the name's last sound.
        assert!(slip("عثما", "Osman"));
        assert!(slip("عثما", "عثمان"));
        // Sadiq without its s: the alef left first is the part's first sound; Mohamad beside
        // it is محمد heard in the other script.
        assert!(slip("محمد ادق", "Mohamad Sadiq"));
        // A letter changed is still one letter: the vowels either side stay.
        assert!(!slip("Hasan", "Hasib"));
    }
}

#[cfg(test)]
mod fuzz_regressions {
    use crate::{normalize, similarity};

    #[test]
    fn symmetric_when_a_short_name_meets_a_joined_one() {
        let (a, b) = (normalize("عبد\0ن"), normalize("\0\0\u{604}ن\nAbdul\0\u{4}"));
        assert_eq!(similarity(&a, &b), similarity(&b, &a));
    }
}
