//! The name and place tables compiled into Peywand, as tab-separated text with a header row.
//!
//! They are facts about Afghan naming and geography, kept as data a reviewer can read and
//! correct without touching code. The synthetic data generator draws from the same tables.

/// `sex, arabic, latin (;-separated variants, commonest first), weight`.
pub const GIVEN_NAMES: &str = include_str!("../data/given_names.tsv");
/// `arabic, latin, weight`: tribal, clan and family names.
pub const FAMILY_NAMES: &str = include_str!("../data/family_names.tsv");
/// `arabic, latin, kind`: titles typed as names.
pub const HONORIFICS: &str = include_str!("../data/honorifics.tsv");
/// `pcode, name_en, name_fa, name_ps, variants`.
pub const PROVINCES: &str = include_str!("../data/provinces.tsv");
/// `pcode, province_pcode, name_en, name_fa, variants`.
pub const DISTRICTS: &str = include_str!("../data/districts.tsv");
/// `code, name_en, name_ur, pk_province, variants`.
pub const PAKISTAN_PLACES: &str = include_str!("../data/pk_places.tsv");
/// `code, name_en, name_fa, kind, province_pcode, variants`.
pub const SITES: &str = include_str!("../data/crossing_points.tsv");

/// The data rows of a table: each line split on tabs, the header skipped.
pub fn rows(table: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    table
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
}
