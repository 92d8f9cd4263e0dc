//! Comparing two records field by field: each field lands on one of a few ordered levels
//! (missing, exact, close, …, different), and the whole comparison packs into one integer.

use peywand_names::{Name, UnitRole, similarity};
use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, DocumentDigits, NAME_FIELDS, NameField, Rec, UNLISTED_PLACE};

/// The fields compared, in pattern order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Field {
    GivenName,
    FatherName,
    GrandfatherName,
    FamilyName,
    BirthYear,
    Sex,
    Province,
    Document,
    Phone,
    /// Whether the two records' households have other members who also match.
    Household,
    /// The place of last residence in Pakistan.
    Residence,
    /// The time between the two registrations.
    Registered,
}

pub const FIELDS: [Field; 12] = [
    Field::GivenName,
    Field::FatherName,
    Field::GrandfatherName,
    Field::FamilyName,
    Field::BirthYear,
    Field::Sex,
    Field::Province,
    Field::Document,
    Field::Phone,
    Field::Household,
    Field::Residence,
    Field::Registered,
];
pub const FIELD_COUNT: usize = FIELDS.len();
/// Most levels any field has.
pub const MAX_LEVELS: usize = 8;
/// Level 0 of every field: no evidence (a value missing on either side, or not applicable).
pub const MISSING: u8 = 0;
/// The sex level of two records of different sexes.
pub const DIFFERENT_SEX: u8 = 2;
/// The birth-year levels of overlapping birth years, and of one full date of birth.
pub const SAME_YEARS: u8 = 1;
pub const SAME_DATE: u8 = 6;
/// The birth-year level of two full dates of birth a slip of the keyboard apart.
pub const DATE_TYPO: u8 = 7;
/// The name level of plainly different names.
pub const DIFFERENT_NAME: u8 = 5;
/// The name level of two names in one script a single slip of the keyboard apart.
pub const TYPO: u8 = 6;
/// The name level of two names alike only in part (Khadija, Khadea): a spelling garbled
/// beyond a slip, or another name.
pub const GARBLED: u8 = 7;
/// The document level of numbers a typo or two apart.
pub const NEAR_DOCUMENT: u8 = 3;

/// Bits each field's level takes in a [`Pattern`]: names, birth years, the province (with its
/// districts), the phone (with the family's) and household context have up to eight levels,
/// the other fields up to four. All thirty-two bits are taken.
const WIDTHS: [u32; FIELD_COUNT] = [3, 3, 3, 3, 3, 2, 3, 2, 3, 3, 2, 2];
const SHIFTS: [u32; FIELD_COUNT] = {
    let mut s = [0; FIELD_COUNT];
    let mut f = 1;
    while f < FIELD_COUNT {
        s[f] = s[f - 1] + WIDTHS[f - 1];
        f += 1;
    }
    s
};

/// Whether a birth-year level says the two were born in the same years (or on one date).
pub(crate) fn same_years(level: u8) -> bool {
    level == SAME_YEARS || level == SAME_DATE
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::GivenName => "given name",
            Field::FatherName => "father's name",
            Field::GrandfatherName => "grandfather's name",
            Field::FamilyName => "family name",
            Field::BirthYear => "birth year",
            Field::Sex => "sex",
            Field::Province => "province of origin",
            Field::Document => "document number",
            Field::Phone => "phone",
            Field::Household => "household members",
            Field::Residence => "last residence in Pakistan",
            Field::Registered => "registered",
        }
    }

    /// What each level means, level 0 first.
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            Field::GivenName | Field::FatherName | Field::GrandfatherName | Field::FamilyName => &[
                "missing",
                "same name",
                "spelling variant (≥ 0.9)",
                "similar (≥ 0.75)",
                "weakly similar (≥ 0.55)",
                "different",
                "one letter apart (a typo)",
                "alike only in part (≥ 0.3)",
            ],
            Field::BirthYear => &[
                "missing",
                "same years",
                "1 year apart",
                "2–3 years apart",
                "4–6 years apart",
                "further apart",
                "same date of birth",
                "dates of birth a typo apart",
            ],
            Field::Document => &["missing", "same", "different", "a typo or two apart"],
            Field::Province => &[
                "missing",
                "same",
                "different",
                "same district",
                "same province, another district",
            ],
            Field::Sex | Field::Residence => &["missing", "same", "different"],
            Field::Registered => &[
                "missing",
                "within a week",
                "within six months",
                "further apart",
            ],
            Field::Phone => &[
                "missing",
                "same",
                "different",
                "the family's phone",
                "another family phone",
            ],
            Field::Household => &[
                "no other members",
                "other members also match",
                "the other member does not match",
                "only a few other members match",
                "neither of two other members matches",
                "none of three or more other members matches",
            ],
        }
    }

    /// Whether relatives share it: father's, grandfather's and family name, household, and
    /// the family's phone.
    pub fn kin_shared(self) -> bool {
        matches!(
            self,
            Field::FatherName
                | Field::GrandfatherName
                | Field::FamilyName
                | Field::Household
                | Field::Phone
                | Field::Registered
        )
    }

    /// Whether the field tells apart the members of one family: what each person has of their
    /// own (name, birth, sex, document), not what the family shares (father's name, where
    /// they are from, the family phone).
    pub fn personal(self) -> bool {
        matches!(
            self,
            Field::GivenName | Field::BirthYear | Field::Sex | Field::Document
        )
    }

    /// A level added after models were first stored, and the level whose weight a model
    /// stored before it stands in for it with: a stored model keeps working unchanged until
    /// the next deduplication learns the new level. A level with no such stand-in (dates a
    /// typo apart were once "same years" or "further apart") counts for nothing until then.
    pub fn older_level(self, level: u8) -> Option<u8> {
        match (self, level) {
            (Field::BirthYear, SAME_DATE) => Some(SAME_YEARS),
            (Field::Document, NEAR_DOCUMENT) => Some(2),
            (Field::Household, NONE_OF_TWO | NONE_OF_MORE) => Some(NONE_OF_ONE),
            (Field::Province, SAME_DISTRICT | OTHER_DISTRICT) => Some(1),
            (
                Field::GivenName | Field::FatherName | Field::GrandfatherName | Field::FamilyName,
                TYPO,
            ) => Some(4),
            (
                Field::GivenName | Field::FatherName | Field::GrandfatherName | Field::FamilyName,
                GARBLED,
            ) => Some(DIFFERENT_NAME),
            _ => None,
        }
    }

    /// Whether the first non-missing level is an exact agreement whose weight is adjusted by
    /// how common the value is.
    pub fn frequency_adjusted(self) -> bool {
        matches!(
            self,
            Field::GivenName | Field::FatherName | Field::GrandfatherName | Field::FamilyName
        )
    }
}

/// The levels of all fields, packed three bits each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Pattern(pub u32);

impl Pattern {
    pub fn level(self, f: usize) -> u8 {
        ((self.0 >> SHIFTS[f]) & ((1 << WIDTHS[f]) - 1)) as u8
    }
    pub fn with(self, f: usize, level: u8) -> Pattern {
        let mask = ((1u32 << WIDTHS[f]) - 1) << SHIFTS[f];
        Pattern((self.0 & !mask) | ((u32::from(level) << SHIFTS[f]) & mask))
    }
}

/// The level of `a`'s name in field `fa` against `b`'s in `fb` (two fields when names were
/// typed in each other's boxes).
fn name_level(ds: &Dataset, a: &Rec, fa: NameField, b: &Rec, fb: NameField) -> u8 {
    let (a, b) = match names_to_compare(a, fa, b, fb) {
        Ok(ids) => ids,
        Err(level) => return level,
    };
    // The same two names meet again and again among a million records' candidate pairs; a
    // direct-mapped cache per thread spares most of the similarity computations.
    LEVELS.with_borrow_mut(|cache| {
        cache.refresh(ds.generation, CACHE_BITS);
        cached(&mut cache.names, a, b, || {
            let (na, nb) = (&ds.name_info(a).name, &ds.name_info(b).name);
            match similarity(na, nb) {
                s if s >= 0.999 => 1,
                s if s >= 0.9 => 2,
                s if s >= 0.75 => 3,
                _ if one_letter_apart(&na.folded, &nb.folded) || parts_one_letter_apart(na, nb) => {
                    TYPO
                }
                s if s >= 0.55 => 4,
                s if s >= 0.3 && !one_stem(na, nb) => GARBLED,
                _ => DIFFERENT_NAME,
            }
        })
    })
}

/// `pattern`, the comparison of a relative's request `probe` with a registration, with each
/// name that is one slip from the registration's (see
/// [`peywand_names::similarity::one_slip_from_alike`]) at the typo's level where it stood as
/// different or alike only in part. A family tells the name and a caseworker writes it as
/// heard, in either script, and nobody sees it typed: a letter dropped at the start, or a
/// name heard as Navid and written وید, is a slip a clerk's registration would not carry.
/// Across scripts and at the first letter, one slip also joins more names that are different
/// than a clerk's typo does; the scorer weighs it by how often strangers' names meet so (see
/// `Model::slip_share`).
pub(crate) fn with_request_slips(
    ds: &Dataset,
    probe: &Rec,
    other: &Rec,
    pattern: Pattern,
) -> Pattern {
    let mut pattern = pattern;
    for f in NAME_FIELDS {
        if let Some((x, y)) = could_slip(probe, other, f, pattern.level(f as usize))
            && slip_between(ds, x, y)
        {
            pattern = pattern.with(f as usize, TYPO);
        }
    }
    pattern
}

/// The two records' name ids in field `f`, where both give one and their names, at `level`
/// as written, may be one slip from alike: different, or alike only in part.
fn could_slip(a: &Rec, b: &Rec, f: NameField, level: u8) -> Option<(u32, u32)> {
    matches!(level, DIFFERENT_NAME | GARBLED)
        .then(|| a.name(f).zip(b.name(f)))
        .flatten()
}

/// Whether field `f` of the pattern of a request `a` against a registration `b` is at the
/// typo's level for a request's slip (see [`with_request_slips`]): the names as written are
/// different or alike only in part, and one slip from alike.
pub(crate) fn request_slip(ds: &Dataset, a: &Rec, b: &Rec, p: Pattern, f: usize) -> bool {
    let Some(&field) = NAME_FIELDS.get(f) else {
        return false;
    };
    p.level(f) == TYPO
        && could_slip(a, b, field, name_level(ds, a, field, b, field))
            .is_some_and(|(x, y)| slip_between(ds, x, y))
}

/// `pattern` as it would be if every name of the request that could be one slip from the
/// registration's were (see [`with_request_slips`]): the most the slips could add, without
/// reading any name. `None` where no name could be.
pub(crate) fn if_request_slips(probe: &Rec, other: &Rec, pattern: Pattern) -> Option<Pattern> {
    let slipped = NAME_FIELDS
        .into_iter()
        .filter(|&f| could_slip(probe, other, f, pattern.level(f as usize)).is_some())
        .fold(pattern, |p, f| p.with(f as usize, TYPO));
    (slipped != pattern).then_some(slipped)
}

/// Whether two names (by id) are one slip from alike, from the thread's cache where it can:
/// a request meets a common father's name again in candidate after candidate.
fn slip_between(ds: &Dataset, x: u32, y: u32) -> bool {
    LEVELS.with_borrow_mut(|cache| {
        cache.refresh(ds.generation, CACHE_BITS);
        cached(&mut cache.slips, x, y, || {
            let (a, b) = (&ds.name_info(x).name, &ds.name_info(y).name);
            u8::from(similarity::one_slip_from_alike(a, b))
        }) == 1
    })
}

/// Whether `a`'s name in field `fa` and `b`'s in field `fb` are one name (see [`agreeing`]).
pub(crate) fn names_agree(ds: &Dataset, a: &Rec, fa: NameField, b: &Rec, fb: NameField) -> bool {
    agreeing(name_level(ds, a, fa, b, fb))
}

/// Whether a name level says one name: the same, spelling variants, alike, or one slip apart.
pub(crate) fn agreeing(level: u8) -> bool {
    matches!(level, 1..=3 | TYPO)
}

/// Whether two names alike only in part owe it to a part both have, the rest differing:
/// brothers are often named on one stem (Abdul Ghani and Abdul Karim, Gul Ahmad and Gul
/// Zaman), which makes their names alike without either being a garbled form of the other.
fn one_stem(a: &Name, b: &Name) -> bool {
    a.units.len() > 1
        && b.units.len() > 1
        && a.units
            .iter()
            .any(|u| b.units.iter().any(|v| v.code == u.code))
}

/// Reads, ahead of comparing a batch of pairs, the name-level cache entries their names will
/// be looked up in. Most entries are far apart in a table larger than the processor's own
/// caches: read one after another, each comparison waited for memory in turn (two fifths of
/// comparing a million records); read together first, the waits overlap.
pub(crate) fn warm_name_levels(ds: &Dataset, pairs: &[(u32, u32)]) {
    LEVELS.with_borrow_mut(|cache| {
        cache.refresh(ds.generation, BATCH_CACHE_BITS);
        let mut read = 0u64;
        for &(a, b) in pairs {
            let (ra, rb) = (&ds.recs[a as usize], &ds.recs[b as usize]);
            for f in NAME_FIELDS {
                if let Ok((x, y)) = names_to_compare(ra, f, rb, f)
                    && let Some((slot, _)) = cache_slot(&cache.names, x, y)
                {
                    read ^= cache.names[slot];
                }
            }
        }
        // Keeps the reads from being optimised away: their values are not needed.
        std::hint::black_box(read);
    });
}

/// The two name ids whose level needs the similarity (or the cache), or the level when it is
/// plain without: a name missing on either side, or the same name or phonetic code.
fn names_to_compare(a: &Rec, fa: NameField, b: &Rec, fb: NameField) -> Result<(u32, u32), u8> {
    let (Some(x), Some(y)) = (a.name(fa), b.name(fb)) else {
        return Err(MISSING);
    };
    if x == y || a.codes[fa as usize] == b.codes[fb as usize] {
        return Err(1);
    }
    Ok((x, y))
}

/// Where two different ids' level sits in `table`, and the entry's key; `None` for ids too
/// large to pack.
fn cache_slot(table: &[u64], a: u32, b: u32) -> Option<(usize, u64)> {
    let bits = table.len().trailing_zeros();
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let pair = u64::from(lo) << 32 | u64::from(hi);
    // An entry is both ids and the level in one word, so that the cache stays small.
    let slot = (pair.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize;
    (hi < 1 << 29).then_some((slot, pair << 3))
}

/// A level from a cache keyed by two ids, or computed and kept.
fn cached(table: &mut [u64], a: u32, b: u32, compute: impl FnOnce() -> u8) -> u8 {
    if a == b {
        return compute();
    }
    let Some((slot, key)) = cache_slot(table, a, b) else {
        return compute();
    };
    if table[slot] & !7 == key {
        return (table[slot] & 7) as u8;
    }
    let level = compute();
    table[slot] = key | u64::from(level);
    level
}

/// Gives every worker thread the large cache for a whole registry's comparisons, training's
/// included.
pub(crate) fn prepare_batch(ds: &Dataset) {
    rayon::broadcast(|_| {
        LEVELS.with_borrow_mut(|cache| cache.refresh(ds.generation, BATCH_CACHE_BITS));
    });
}

/// Whether two names typed in one script differ by one slip of the keyboard: a letter
/// replaced, dropped, added, or two swapped, never the first (a clerk sees the first letter
/// they type). The phonetic similarity calls عمران and عمنان, or Yousef and Youaf, different
/// names; a registry of a million people holds many such slips, and the model learns how
/// much one says.
fn one_letter_apart(a: &str, b: &str) -> bool {
    const MAX: usize = 32;
    // Most pairs differ at once: in the first letter, or in length by more than one letter
    // (four bytes); they are refused before any letter is decoded.
    if a.len().abs_diff(b.len()) > 4 || a.chars().next() != b.chars().next() {
        return false;
    }
    let letters = |s: &str| {
        let mut out = ['\0'; MAX];
        let mut n = 0;
        for c in s.chars().filter(|c| !c.is_whitespace()) {
            if n == MAX {
                return None;
            }
            out[n] = c;
            n += 1;
        }
        Some((out, n))
    };
    let (Some((x, nx)), Some((y, ny))) = (letters(a), letters(b)) else {
        return false;
    };
    let (x, y) = (&x[..nx], &y[..ny]);
    let script = peywand_names::fold::script_of;
    if nx.min(ny) < 4 || x[0] != y[0] || script(a) != script(b) {
        return false;
    }
    peywand_names::similarity::one_slip_apart(x, y)
}

/// [`one_letter_apart`] for names with an -ullah, -uddin or Abdul, read part by part with each
/// in its one spelling: Habbi-ollah is Habibullah with two letters swapped, and the -ollah
/// spelt another way is no second slip.
fn parts_one_letter_apart(a: &Name, b: &Name) -> bool {
    let particle = |n: &Name| n.units.iter().any(|u| u.role == UnitRole::Particle);
    if !particle(a) && !particle(b) {
        return false;
    }
    let spelled = |n: &Name| n.units.iter().map(|u| u.text.as_str()).collect::<String>();
    one_letter_apart(&spelled(a), &spelled(b))
}

/// The name levels one thread found, for one dataset generation. Each entry is
/// `(lo << 32 | hi) << 3 | level` by a hash of the pair; 0 is empty (no key is 0).
#[derive(Default)]
struct LevelCache {
    generation: u32,
    names: Vec<u64>,
    /// Whether a request's name is one slip from a registration's (see
    /// [`with_request_slips`]), 1 or 0 in place of the level.
    slips: Vec<u64>,
}

impl LevelCache {
    /// Empties the cache when the dataset's name ids have changed meaning, to `2^bits`
    /// entries, and makes it that large when it is smaller. A whole registry's large cache
    /// is kept while the dataset's names are the same and given back when they change: the
    /// desk's next check needs only the small one.
    fn refresh(&mut self, generation: u32, bits: u32) {
        if self.generation != generation || self.names.len() < 1 << bits {
            self.generation = generation;
            if self.names.len() == 1 << bits {
                self.names.fill(0);
            } else {
                self.names = vec![0; 1 << bits];
            }
            // Only requests are read for slips: the desk's and tracing's small table will do.
            let slip_bits = bits.min(CACHE_BITS);
            if self.slips.len() == 1 << slip_bits {
                self.slips.fill(0);
            } else {
                self.slips = vec![0; 1 << slip_bits];
            }
        }
    }
}

/// Entries (as a power of two) of a thread's cache: 2 MB for the desk's and tracing's few
/// comparisons at a time, 32 MB for a whole registry's candidate pairs. At a million records
/// the small cache missed one lookup in three, the large one in five, and each miss is a
/// similarity computed.
const CACHE_BITS: u32 = 18;
const BATCH_CACHE_BITS: u32 = 22;

thread_local! {
    static LEVELS: std::cell::RefCell<LevelCache> = std::cell::RefCell::new(LevelCache::default());
}

fn birth_level(a: &Rec, b: &Rec) -> u8 {
    if a.birth_day != 0 && b.birth_day != 0 {
        if a.birth_day == b.birth_day {
            return SAME_DATE;
        }
        if dates_typo_apart(a.birth_day, b.birth_day) {
            return DATE_TYPO;
        }
    }
    years_level(a.birth(), b.birth())
}

/// Whether two dates of birth (days since 1 January 1900) are one slip apart as a clerk types
/// them: one digit mistyped, two neighbouring digits swapped (1992 for 1929), or the day and
/// the month in each other's places. Such a pair's years may be far apart.
fn dates_typo_apart(a: u16, b: u16) -> bool {
    use chrono::Datelike;
    let ymd = |days: u16| {
        let date = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default()
            + chrono::Days::new(u64::from(days));
        (date.year() as u32, date.month(), date.day())
    };
    let (x, y) = (ymd(a), ymd(b));
    if x.0 == y.0 && x.1 == y.2 && x.2 == y.1 {
        return true;
    }
    let digits = |(year, month, day): (u32, u32, u32)| {
        let mut n = year * 10_000 + month * 100 + day;
        let mut out = [0u8; 8];
        for d in out.iter_mut().rev() {
            *d = (n % 10) as u8;
            n /= 10;
        }
        out
    };
    let (x, y) = (digits(x), digits(y));
    let mut differing = (0..8).filter(|&i| x[i] != y[i]);
    match (differing.next(), differing.next(), differing.next()) {
        (Some(_), None, None) => true,
        (Some(i), Some(j), None) => j == i + 1 && x[i] == y[j] && x[j] == y[i],
        _ => false,
    }
}

fn years_level(a: Option<(i16, i16)>, b: Option<(i16, i16)>) -> u8 {
    let (Some(a), Some(b)) = (a, b) else {
        return MISSING;
    };
    let gap = if a.1 < b.0 {
        b.0 - a.1
    } else if b.1 < a.0 {
        a.0 - b.1
    } else {
        0
    };
    match gap {
        0 => 1,
        1 => 2,
        2..=3 => 3,
        4..=6 => 4,
        _ => 5,
    }
}

/// Two document numbers: the same, or a typo or two apart (a digit mistyped, dropped or two
/// swapped), or different. Short numbers must agree exactly: one digit off in five is as
/// likely another person's.
fn document_level(a: &Rec, b: &Rec) -> u8 {
    match same_or_not(a.document, b.document) {
        2 if digits_near(a.document_digits, b.document_digits) => NEAR_DOCUMENT,
        level => level,
    }
}

/// Whether two numbers' digits are within the edits a tired clerk makes: one for numbers of
/// five or six digits, two from seven.
fn digits_near(a: DocumentDigits, b: DocumentDigits) -> bool {
    let (len_a, len_b) = (a.len as usize, b.len as usize);
    let shortest = len_a.min(len_b);
    if shortest < 5 || a.shape != b.shape {
        return false;
    }
    let allowed = if shortest >= 7 { 2 } else { 1 };
    if len_a.abs_diff(len_b) > allowed {
        return false;
    }
    let (x, y) = (a.digits(), b.digits());
    // Optimal string alignment distance on at most 19 digits: three rows of the table.
    let mut rows = [[0usize; 20]; 3];
    for (j, cell) in rows[1].iter_mut().enumerate().take(len_b + 1) {
        *cell = j;
    }
    for i in 1..=len_a {
        let (before, rest) = rows.split_at_mut(1);
        let (prev, cur) = rest.split_at_mut(1);
        let (before, prev, cur) = (&before[0], &prev[0], &mut cur[0]);
        cur[0] = i;
        for j in 1..=len_b {
            let cost = usize::from(x[i - 1] != y[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            cur[j] = d;
        }
        rows.rotate_left(1);
    }
    rows[1][len_b] <= allowed
}

fn same_or_not<T: PartialEq + Default>(a: T, b: T) -> u8 {
    let none = T::default();
    if a == none || b == none {
        MISSING
    } else if a == b {
        1
    } else {
        2
    }
}

/// Compares two records on every field but the household, which needs the other pairs' scores.
pub(crate) fn compare(ds: &Dataset, a: &Rec, b: &Rec) -> Pattern {
    let mut p = Pattern(0);
    let mut levels = [MISSING; 4];
    for (level, field) in levels.iter_mut().zip(NAME_FIELDS) {
        *level = name_level(ds, a, field, b, field);
    }
    let birth = birth_level(a, b);
    swapped_names(ds, a, b, &mut levels, birth);
    // Her husband's name where one side's father's name would be: agreeing, it is the same
    // man; not agreeing, one is likely her father and the other her husband.
    let father = NameField::Father as usize;
    if a.husband_as_father != b.husband_as_father && !agreeing(levels[father]) {
        levels[father] = MISSING;
    }
    for (f, level) in levels.into_iter().enumerate() {
        p = p.with(f, level);
    }
    p = p.with(4, birth);
    p = p.with(5, same_or_not(a.sex, b.sex));
    p = p.with(6, origin_level(a, b));
    p = p.with(7, document_level(a, b));
    p = p.with(8, phone_level(ds, a, b));
    p = p.with(10, place_level(a.residence, b.residence));
    p.with(11, registered_level(a.registered, b.registered))
}

/// How far apart two registrations were made, `a` and `b` as days (0 unknown). A family is
/// registered at the crossing point and again at a reception centre days later, or where it
/// settles within months; two strangers who share a name were registered at any time in the
/// years of the return.
fn registered_level(a: u16, b: u16) -> u8 {
    if a == 0 || b == 0 {
        return MISSING;
    }
    match a.abs_diff(b) {
        0..=7 => 1,
        8..=183 => 2,
        _ => 3,
    }
}

/// The phone levels of a record whose own phone is not given, compared by its family's: the
/// same phone, or another.
pub const FAMILY_PHONE: u8 = 3;
pub const OTHER_FAMILY_PHONE: u8 = 4;

/// The two phones, or where one record gives none, its family's: a son registering alone
/// gives the phone typed on his father's row at the family's registration. A family's phone
/// is weaker evidence than a person's own, either way (a family has several, and the one
/// given changes), so it has levels of its own, both learnt. With the family's phone alone a
/// level, a phone compared at all was more often one person's than before, "different" was
/// learnt as stronger evidence against, and at a million 413 more pairs of one person with
/// two phones were missed.
fn phone_level(ds: &Dataset, a: &Rec, b: &Rec) -> u8 {
    if a.phone != 0 && b.phone != 0 {
        return same_or_not(a.phone, b.phone);
    }
    match (ds.family_phone(a), ds.family_phone(b)) {
        (0, _) | (_, 0) => MISSING,
        (x, y) if x == y => FAMILY_PHONE,
        _ => OTHER_FAMILY_PHONE,
    }
}

/// The province level of two records that name the same district of origin.
pub const SAME_DISTRICT: u8 = 3;
/// The province level of two records of one province that name different districts.
pub const OTHER_DISTRICT: u8 = 4;

/// Where the two come from: the province, and within one province the district where both
/// give one. One field and not two: a shared district implies a shared province, and counted
/// apart the two would count the province twice. A province is shared by a million
/// returnees, a district by a few ten thousand.
fn origin_level(a: &Rec, b: &Rec) -> u8 {
    match place_level(a.province, b.province) {
        1 if a.district != 0 && b.district != 0 => {
            if a.district == b.district {
                SAME_DISTRICT
            } else {
                OTHER_DISTRICT
            }
        }
        level => level,
    }
}

/// Two places: the same, or different. A place the gazetteer does not know, kept as typed,
/// compares with another kept as typed; against a gazetteer place it is no evidence, as it
/// may be a misspelling of it.
fn place_level(a: u16, b: u16) -> u8 {
    match same_or_not(a, b) {
        2 if (a ^ b) & UNLISTED_PLACE != 0 => MISSING,
        level => level,
    }
}

/// Names typed in each other's boxes (a given name entered as the family name, or as the
/// father's name) agree crossed. Both crossings must agree: as spelling variants, or one of
/// them exactly and the other with a slip (Stubbs Jaxck for Jack Stubbs). Each field then
/// takes its crossing's level. A crossed given and father's name also describes a man and
/// his son named after his grandfather (see [`crossing_may_be_father_and_son`]).
fn swapped_names(ds: &Dataset, a: &Rec, b: &Rec, levels: &mut [u8; 4], birth: u8) {
    const WEAK: u8 = 4;
    const VARIANT: u8 = 2;
    const SIMILAR: u8 = 3;
    if levels[0] < WEAK {
        return;
    }
    let close = |level: u8| (1..=VARIANT).contains(&level);
    let slip = |level: u8| close(level) || level == SIMILAR || level == TYPO;
    let given = NameField::Given;
    for (f, other) in [(3, NameField::Family), (1, NameField::Father)] {
        if levels[f] < WEAK
            || (other == NameField::Father && crossing_may_be_father_and_son(a, b, levels, birth))
        {
            continue;
        }
        // The second crossing is compared only if the first may agree: most do not.
        let there = name_level(ds, a, given, b, other);
        if !slip(there) {
            continue;
        }
        // After a crossing with a slip, only the same name (or one with the same phonetic code)
        // can agree: that needs no similarity computed.
        let back = if close(there) {
            name_level(ds, a, other, b, given)
        } else if names_to_compare(a, other, b, given) == Err(1) {
            1
        } else {
            continue;
        };
        if close(back) || (there == 1 && slip(back)) {
            let level = |l: u8| if close(l) { VARIANT } else { l };
            levels[0] = level(there);
            levels[f] = level(back);
            return;
        }
    }
}

/// Whether the given names of a compared pair agree only crossed, with a name in another box
/// (see [`swapped_names`]).
pub(crate) fn crossed(ds: &Dataset, a: &Rec, b: &Rec, p: Pattern) -> bool {
    let given = p.level(0);
    given != MISSING && name_level(ds, a, NameField::Given, b, NameField::Given) != given
}

/// Whether Ahmad son of Karim and Karim son of Ahmad may be a father and his son named after
/// his grandfather, rather than one person whose names were typed in each other's boxes. A
/// father and son are born decades apart, are men, and do not share a grandfather: the son's
/// grandfather is the father's father, Karim, whose name the son bears.
fn crossing_may_be_father_and_son(a: &Rec, b: &Rec, levels: &[u8; 4], birth: u8) -> bool {
    const MALE: u8 = 1;
    const FEMALE: u8 = 2;
    let years_near = birth == SAME_DATE || (SAME_YEARS..=4).contains(&birth);
    let a_woman = (a.sex == FEMALE && b.sex != MALE) || (b.sex == FEMALE && a.sex != MALE);
    let same_grandfather = (1..=3).contains(&levels[2]);
    !(years_near || a_woman || same_grandfather)
}

/// How many levels household context has (see [`household_level`]).
pub(crate) const HOUSEHOLD_LEVELS: usize = 6;
/// The household levels of a pair none of whose households' other members match, by how
/// many other members the smaller household has: one, two, three or more. That none of five
/// matches says far more against one person registered twice than that a wife does not: a
/// man registered with his mother and later with his wife is one person, while a family
/// registered again brings most of its members again. At a million people, pairs scored 0.6 to
/// 0.8 with no other member matching were one person half the time where the smaller
/// household had two members and a fifth of the time where it had five or more.
pub(crate) const NONE_OF_ONE: u8 = 2;
pub(crate) const NONE_OF_TWO: u8 = 4;
pub(crate) const NONE_OF_MORE: u8 = 5;

/// The household level of a pair: whether other members of the two households also match.
/// `smaller` is the number of members of the smaller household, `other_matches` how many
/// other pairs of their members match.
///
/// A family registered again brings most of its members again: a father registered alone
/// later has a household of one, and where three of six left, the three who came match. Two
/// families of namesakes share a father's name and a common child's name or two, and little
/// else: among a million people, pairs whose households matched in under two thirds of the
/// smaller were nearly all two families, and they need a level of their own.
pub(crate) fn household_level(smaller: usize, other_matches: u32) -> u8 {
    let matched = other_matches as usize + 1;
    if smaller < 2 {
        MISSING
    } else if other_matches == 0 {
        match smaller {
            2 => NONE_OF_ONE,
            3 => NONE_OF_TWO,
            _ => NONE_OF_MORE,
        }
    } else if 3 * matched >= 2 * smaller {
        1
    } else {
        3
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use peywand_domain::MatchRecord;

    #[test]
    fn patterns_pack_and_unpack() {
        let p = Pattern(0).with(0, 5).with(9, 2).with(4, 3).with(10, 1);
        assert_eq!(p.level(0), 5);
        assert_eq!(p.level(4), 3);
        assert_eq!(p.level(9), 2);
        assert_eq!(p.level(10), 1);
        assert_eq!(p.with(4, 1).level(4), 1);
        assert_eq!(p.with(4, 1).level(0), 5);
    }

    #[test]
    fn household_levels_count_the_members_who_could_have_matched() {
        assert_eq!(household_level(1, 0), MISSING);
        assert_eq!(household_level(2, 0), NONE_OF_ONE);
        assert_eq!(household_level(3, 0), NONE_OF_TWO);
        assert_eq!(household_level(4, 0), NONE_OF_MORE);
        assert_eq!(household_level(9, 0), NONE_OF_MORE);
        assert_eq!(household_level(2, 1), 1);
        assert_eq!(household_level(6, 3), 1);
        assert_eq!(household_level(6, 2), 3);
        let levels = HOUSEHOLD_LEVELS as u32;
        assert!(levels <= 1 << WIDTHS[Field::Household as usize]);
        assert_eq!(Field::Household.levels().len(), HOUSEHOLD_LEVELS);
    }

    #[test]
    fn birth_gaps() {
        assert_eq!(years_level(Some((1990, 1992)), Some((1992, 1992))), 1);
        assert_eq!(years_level(Some((1990, 1990)), Some((1991, 1995))), 2);
        assert_eq!(years_level(Some((1990, 1990)), Some((2000, 2000))), 5);
        assert_eq!(years_level(None, Some((2000, 2000))), MISSING);
    }

    #[test]
    fn one_date_of_birth_is_more_than_one_year() {
        let born = |date: Option<&str>| {
            let mut r = record("a", "Karim", "Nabi", "", 1990);
            r.birth_date = date.map(|d| d.parse().unwrap());
            r
        };
        let level = |a: Option<&str>, b: Option<&str>| {
            let ds = Dataset::build(&[born(a), born(b)]);
            birth_level(&ds.recs[0], &ds.recs[1])
        };
        assert_eq!(level(Some("1990-05-03"), Some("1990-05-03")), SAME_DATE);
        assert_eq!(level(Some("1990-05-03"), Some("1990-07-11")), SAME_YEARS);
        assert_eq!(level(None, Some("1990-05-03")), SAME_YEARS);
    }

    #[test]
    fn dates_of_birth_a_slip_apart() {
        let born = |date: &str| {
            let mut r = record("a", "Karim", "Nabi", "", 1990);
            let date: chrono::NaiveDate = date.parse().unwrap();
            r.birth_date = Some(date);
            r.birth_year_min = Some(chrono::Datelike::year(&date));
            r.birth_year_max = r.birth_year_min;
            r
        };
        let level = |a: &str, b: &str| {
            let ds = Dataset::build(&[born(a), born(b)]);
            birth_level(&ds.recs[0], &ds.recs[1])
        };
        // A year's digits swapped, a digit mistyped, day and month exchanged.
        assert_eq!(level("1929-04-21", "1992-04-21"), DATE_TYPO);
        assert_eq!(level("1990-05-03", "1990-05-08"), DATE_TYPO);
        assert_eq!(level("1980-05-03", "1990-05-03"), DATE_TYPO);
        assert_eq!(level("1990-05-03", "1990-03-05"), DATE_TYPO);
        // Two slips, or digits swapped that are not neighbours: other dates.
        assert_eq!(level("1990-05-03", "1990-07-11"), SAME_YEARS);
        assert_eq!(level("1971-04-28", "1916-05-03"), 5);
        assert_eq!(level("1990-05-13", "1990-03-15"), SAME_YEARS);
    }

    #[test]
    fn documents_a_typo_apart() {
        let level = |a: &str, b: &str| {
            let with = |id: &str, doc: &str| MatchRecord {
                document: Some(doc.into()),
                ..record(id, "Karim", "Nabi", "", 1990)
            };
            let ds = Dataset::build(&[with("a", a), with("b", b)]);
            document_level(&ds.recs[0], &ds.recs[1])
        };
        assert_eq!(level("tazkira:1234567", "tazkira:1234567"), 1);
        assert_eq!(
            level("tazkira:1234567", "tazkira:1243567"),
            NEAR_DOCUMENT,
            "swapped"
        );
        assert_eq!(
            level("tazkira:1234567", "tazkira:1234557"),
            NEAR_DOCUMENT,
            "mistyped"
        );
        assert_eq!(
            level("tazkira:1234567", "tazkira:123456"),
            NEAR_DOCUMENT,
            "dropped"
        );
        assert_eq!(
            level("tazkira:1234567", "tazkira:1299967"),
            2,
            "three digits off"
        );
        assert_eq!(level("tazkira:12345", "tazkira:12355"), NEAR_DOCUMENT);
        assert_eq!(
            level("tazkira:1234", "tazkira:1235"),
            2,
            "too short to tell"
        );
        assert_eq!(level("tazkira:1234567", "passport:1234568"), 2, "two kinds");
        assert_eq!(
            level("passport:P1234567", "passport:X1234568"),
            2,
            "two series"
        );
    }

    #[test]
    fn slips_of_the_keyboard() {
        assert!(one_letter_apart("عمران", "عمنان"), "replaced");
        assert!(one_letter_apart("yousef", "youaf") || one_letter_apart("yousaf", "youaf"));
        assert!(one_letter_apart("mahbooba", "mahboba"), "dropped");
        assert!(one_letter_apart("shabnam", "shabnma"), "swapped");
        assert!(one_letter_apart("habib", "habibb"), "added at the end");
        assert!(!one_letter_apart("karim", "rahim"), "two letters");
        assert!(!one_letter_apart("karim", "barim"), "the first letter");
        assert!(!one_letter_apart("ali", "alu"), "too short to tell");
        assert!(!one_letter_apart("shabnam", "شبنم"), "two scripts");
        assert!(!one_letter_apart("nasir", "nasir"), "the same");
        let (a, b) = (
            peywand_names::normalize("HABIBULLAH"),
            peywand_names::normalize("Habbi-ollah"),
        );
        assert!(
            !one_letter_apart(&a.folded, &b.folded),
            "two differences as typed"
        );
        assert!(
            parts_one_letter_apart(&a, &b),
            "one slip once -ullah is read"
        );
        let (a, b) = (
            peywand_names::normalize("Najibullah"),
            peywand_names::normalize("Hamidullah"),
        );
        assert!(!parts_one_letter_apart(&a, &b));
    }

    #[test]
    fn every_level_fits_its_bits() {
        for (f, field) in FIELDS.iter().enumerate() {
            assert!(field.levels().len() <= 1 << WIDTHS[f], "{field:?}");
        }
        assert!(SHIFTS[FIELD_COUNT - 1] + WIDTHS[FIELD_COUNT - 1] <= 32);
        let mut p = Pattern(0);
        for (f, field) in FIELDS.iter().enumerate() {
            p = p.with(f, field.levels().len() as u8 - 1);
        }
        for (f, field) in FIELDS.iter().enumerate() {
            assert_eq!(p.level(f), field.levels().len() as u8 - 1, "{field:?}");
        }
    }

    fn record(id: &str, given: &str, father: &str, family: &str, born: i32) -> MatchRecord {
        MatchRecord {
            record_id: id.into(),
            household: id.into(),
            given_name: Some(given.into()),
            father_name: Some(father.into()),
            family_name: Some(family.into()),
            birth_year_min: Some(born),
            birth_year_max: Some(born),
            ..MatchRecord::default()
        }
    }

    fn names(a: MatchRecord, b: MatchRecord) -> [u8; 4] {
        let ds = Dataset::build(&[a, b]);
        let p = compare(&ds, &ds.recs[0], &ds.recs[1]);
        [p.level(0), p.level(1), p.level(2), p.level(3)]
    }

    #[test]
    fn names_in_each_others_boxes_agree_crossed() {
        // Given and family name swapped by a clerk.
        let swapped = names(
            record("a", "Karim", "Nabi", "Sahak", 1990),
            record("b", "Sahak", "Nabi", "Karim", 1990),
        );
        assert_eq!(swapped, [2, 1, MISSING, 2]);
        // Swapped, and one of them mistyped.
        let swapped = names(
            record("a", "Jack", "", "Stubbs", 1989),
            record("b", "Stubbs", "", "Jaxck", 1989),
        );
        assert!(
            swapped[0] <= 2 && matches!(swapped[3], 3 | TYPO),
            "{swapped:?}"
        );
        // Both crossings merely similar: two different people's names.
        let unlike = names(
            record("a", "Ahmad", "", "Karimi", 1989),
            record("b", "Karim", "", "Ahmadi", 1989),
        );
        assert!(unlike[0] >= 4 && unlike[3] >= 4, "{unlike:?}");
        // Given and father's name swapped, same birth years: one person.
        let swapped = names(
            record("a", "Karim", "Nabi", "", 1990),
            record("b", "Nabi", "Karim", "", 1990),
        );
        assert_eq!(&swapped[..2], &[2, 2]);
        // A man and his son named after the grandfather: not crossed, years apart.
        let father_and_son = names(
            record("son", "Ghani", "Nabi", "", 1995),
            record("father", "Nabi", "Ghani", "", 1968),
        );
        assert_eq!(&father_and_son[..2], &[5, 5]);
        // Nor when a birth year is missing: he may still be the father.
        let unknown_years = |a: MatchRecord, b: MatchRecord| {
            names(
                MatchRecord {
                    birth_year_min: None,
                    birth_year_max: None,
                    ..a
                },
                b,
            )
        };
        let crossed = unknown_years(
            record("son", "Ghani", "Nabi", "", 1995),
            record("father", "Nabi", "Ghani", "", 1968),
        );
        assert_eq!(&crossed[..2], &[5, 5]);
        // A woman's given and father's names crossed: no father and son can be that.
        let woman = |r: MatchRecord| MatchRecord {
            sex: Some(peywand_domain::Sex::Female),
            ..r
        };
        let crossed = unknown_years(
            woman(record("a", "Tabassum", "Sultan", "", 1993)),
            woman(record("b", "Sultan", "Tabassum", "", 1993)),
        );
        assert_eq!(&crossed[..2], &[2, 2]);
        // The same grandfather on both: the son's grandfather would be the crossed name.
        let grandfather = |r: MatchRecord| MatchRecord {
            grandfather_name: Some("Sher Mohammad".into()),
            ..r
        };
        let crossed = unknown_years(
            grandfather(record("a", "Zahir", "Abdul Majid", "", 1987)),
            grandfather(record("b", "Abdul Majid", "Zahir", "", 1987)),
        );
        assert_eq!(&crossed[..2], &[2, 2]);
    }

    #[test]
    fn a_leading_mohammad_is_optional_a_particle_is_not() {
        // Mohammad Usman is often written Usman: one name; Abdul Ghani, joined or not, one.
        let usman = names(
            record("a", "Mohammad Usman", "Abdul Ghani", "", 1990),
            record("b", "Usman", "Abdulghani", "", 1990),
        );
        assert_eq!(&usman[..2], &[1, 1]);
        // Aminullah and Amin, Abdul Rahman and Rahman: names alike, not one name.
        let shortened = names(
            record("a", "Aminullah", "Abdul Rahman", "", 1990),
            record("b", "Amin", "Rahman", "", 1990),
        );
        assert!(
            shortened[..2].iter().all(|&l| l > 1 && agreeing(l)),
            "{shortened:?}"
        );
    }

    #[test]
    fn a_district_refines_a_shared_province() {
        let from = |id: &str, province: &str, district: Option<&str>| MatchRecord {
            province_code: Some(province.into()),
            district_code: district.map(Into::into),
            ..record(id, "Karim", "Nabi", "", 1990)
        };
        let level = |a: MatchRecord, b: MatchRecord| {
            let ds = Dataset::build(&[a, b]);
            compare(&ds, &ds.recs[0], &ds.recs[1]).level(Field::Province as usize)
        };
        let (surkh_rod, behsud) = (Some("AF0611"), Some("AF0612"));
        let same = level(from("a", "AF06", surkh_rod), from("b", "AF06", surkh_rod));
        assert_eq!(same, SAME_DISTRICT);
        let other = level(from("a", "AF06", surkh_rod), from("b", "AF06", behsud));
        assert_eq!(other, OTHER_DISTRICT);
        assert_eq!(
            level(from("a", "AF06", surkh_rod), from("b", "AF06", None)),
            1
        );
        // Districts count only within one province.
        assert_eq!(
            level(from("a", "AF06", surkh_rod), from("b", "AF01", surkh_rod)),
            2
        );
        let province = Field::Province as usize;
        for l in [SAME_DISTRICT, OTHER_DISTRICT] {
            assert_eq!(
                Pattern(0).with(province, l).level(province),
                l,
                "fits its bits"
            );
            assert_eq!(Field::Province.older_level(l), Some(1));
        }
    }

    #[test]
    fn a_member_registering_alone_is_compared_by_the_familys_phone() {
        let member = |id: &str, household: &str, given: &str, phone: Option<&str>| MatchRecord {
            household: household.into(),
            phone_e164: phone.map(Into::into),
            ..record(id, given, "Nabi", "", 1990)
        };
        let family = "+923001234567";
        let level = |ds: &Dataset, a: &str, b: &str| {
            let at = |id: &str| ds.recs[ds.index_of(id).unwrap() as usize];
            compare(ds, &at(a), &at(b)).level(Field::Phone as usize)
        };
        // The family's phone is typed on the father's row only.
        let ds = Dataset::build(&[
            member("father", "family", "Nabi", Some(family)),
            member("son", "family", "Karim", None),
            member("alone", "alone", "Karim", Some(family)),
            member("other", "other", "Karim", Some("+93700111222")),
            member("none", "none", "Karim", None),
        ]);
        assert_eq!(level(&ds, "son", "alone"), FAMILY_PHONE);
        assert_eq!(level(&ds, "alone", "son"), FAMILY_PHONE);
        assert_eq!(level(&ds, "son", "other"), OTHER_FAMILY_PHONE);
        assert_eq!(level(&ds, "son", "none"), MISSING);
        // A person's own phones compare as before.
        assert_eq!(level(&ds, "father", "alone"), 1);
        assert_eq!(level(&ds, "father", "other"), 2);
        // A phone given by a member saved later at the desk is the family's too.
        let mut ds = Dataset::build(&[member("son", "family", "Karim", None)]);
        ds.push(&member("alone", "alone", "Karim", Some(family)));
        assert_eq!(level(&ds, "son", "alone"), MISSING);
        ds.push(&member("father", "family", "Nabi", Some(family)));
        assert_eq!(level(&ds, "son", "alone"), FAMILY_PHONE);
        let phone = Field::Phone as usize;
        for l in [FAMILY_PHONE, OTHER_FAMILY_PHONE] {
            assert_eq!(Pattern(0).with(phone, l).level(phone), l, "fits its bits");
            assert_eq!(Field::Phone.older_level(l), None);
        }
    }

    #[test]
    fn registrations_are_weighed_by_the_time_between_them() {
        let on = |id: &str, day: Option<&str>| MatchRecord {
            registered_on: day.map(|d| d.parse().unwrap()),
            ..record(id, "Karim", "Nabi", "", 1990)
        };
        let level = |a: Option<&str>, b: Option<&str>| {
            let ds = Dataset::build(&[on("a", a), on("b", b)]);
            compare(&ds, &ds.recs[0], &ds.recs[1]).level(Field::Registered as usize)
        };
        let torkham = Some("2024-08-25");
        assert_eq!(level(torkham, Some("2024-08-29")), 1, "a reception centre");
        assert_eq!(level(torkham, Some("2024-11-20")), 2, "where they settled");
        assert_eq!(level(torkham, Some("2025-08-25")), 3);
        assert_eq!(level(Some("2025-08-25"), torkham), 3);
        assert_eq!(level(torkham, None), MISSING);
        let registered = Field::Registered as usize;
        for l in 1..Field::Registered.levels().len() as u8 {
            assert_eq!(Pattern(0).with(registered, l).level(registered), l);
            assert_eq!(
                Field::Registered.older_level(l),
                None,
                "new: nothing until learnt"
            );
        }
    }

    #[test]
    fn places_the_gazetteer_does_not_know_compare_among_themselves() {
        let at = |id: &str, province: &str, residence: &str| MatchRecord {
            province_code: Some(province.into()),
            residence_code: Some(residence.into()),
            ..record(id, "Karim", "Nabi", "", 1990)
        };
        let levels = |a: MatchRecord, b: MatchRecord| {
            let ds = Dataset::build(&[a, b]);
            let p = compare(&ds, &ds.recs[0], &ds.recs[1]);
            [p.level(6), p.level(10)]
        };
        assert_eq!(
            levels(
                at("a", "AF06", "~boardbazar"),
                at("b", "AF06", "~boardbazar")
            ),
            [1, 1]
        );
        assert_eq!(
            levels(
                at("a", "AF06", "PK-peshawar"),
                at("b", "AF07", "~boardbazar")
            ),
            [2, MISSING]
        );
        assert_eq!(
            levels(
                at("a", "~qld", "~heardstreet"),
                at("b", "~nsw", "~kanbiplace")
            ),
            [2, 2]
        );
    }

    #[test]
    fn a_garbled_name_is_not_another_name() {
        let given = |a: &str, b: &str| {
            names(
                record("a", a, "Abdul Ghani", "", 1997),
                record("b", b, "Abdul Ghani", "", 1997),
            )[0]
        };
        assert_eq!(given("Khadija", "Khadea"), GARBLED);
        assert_eq!(given("Khadija", "Fatima"), DIFFERENT_NAME);
        // Brothers named on one stem are alike in part, and two people.
        assert_eq!(given("Abdul Ghani", "Abdul Karim"), DIFFERENT_NAME);
    }

    #[test]
    fn every_field_has_its_levels_within_the_packing() {
        for f in FIELDS {
            assert!(f.levels().len() <= MAX_LEVELS, "{f:?}");
        }
    }
}
