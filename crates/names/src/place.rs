//! A gazetteer of the places returnees come from, lived in and cross at, in both scripts.
//!
//! Afghan provinces and districts resolve to OCHA p-codes (AF06 Nangarhar, AF0601 Jalalabad);
//! where a district p-code is not known with certainty the code is `<province>-<slug>`.
//! Pakistani places resolve to `PK-<slug>`, crossing points and reception sites to their slug.
//! Lookup first tries the folded spelling, then a coarse phonetic key, which resolves only
//! when it points to a single place (so a typo never silently lands on the wrong province).

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use crate::fold::fold;
use crate::phonetic::{coarse_key, encode};
use crate::similarity::one_slip_apart;

/// What kind of place an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    Province,
    District,
    PakistanPlace,
    CrossingPoint,
    ReceptionCentre,
    Camp,
}

/// One gazetteer entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Place {
    pub code: String,
    pub kind: PlaceKind,
    pub name_en: String,
    /// The name in Dari (Afghan places) or Urdu (Pakistani places).
    pub name_local: String,
    /// The province p-code of a district or site; the Pakistani province of a Pakistani place.
    pub parent: Option<String>,
}

/// The whole gazetteer, loaded once from the tables compiled into the binary.
pub struct Gazetteer {
    places: Vec<Place>,
    exact: HashMap<(PlaceKind, String), usize>,
    /// Coarse phonetic key → place, or `None` when two places share the key.
    fuzzy: HashMap<(PlaceKind, String), Option<usize>>,
    /// District names found in more than one province (Surobi, Arghandab).
    shared_district_names: HashSet<String>,
}

/// Words that say what kind of place follows, not which ("Nangarhar province", "ولایت ننگرهار").
const NOISE: &[&str] = &[
    "province",
    "provence",
    "prov",
    "district",
    "dist",
    "city",
    "wilayat",
    "woluswali",
    "ولایت",
    "ولسوالی",
    "شهر",
    "camp",
    "border",
    "crossing",
    "point",
];

/// What separates the parts of a place typed as an address.
const ADDRESS_SEPARATORS: [char; 6] = [',', '،', ';', '؛', '/', '|'];

/// What clerks type in a place's box when they do not know it.
const UNKNOWN_PLACE: &[&str] = &[
    "unknown",
    "unkown",
    "n/a",
    "none",
    "nil",
    "no",
    "not known",
    "don't know",
    "other",
    "نامعلوم",
    "معلوم نیست",
    "نامعلومه",
    "نشته",
];

/// What begins the key of a place the gazetteer does not know, and no gazetteer code.
pub const UNLISTED_PREFIX: char = '~';

/// A place the gazetteer does not know, as matching compares it: folded as place names are,
/// prefixed so that it can never equal a gazetteer code. Two records that type it alike agree
/// on it; "unknown" and the like are no place.
pub fn unlisted_place_key(raw: &str) -> Option<String> {
    static UNKNOWN: LazyLock<Vec<String>> =
        LazyLock::new(|| UNKNOWN_PLACE.iter().map(|w| key(w)).collect());
    let k = key(raw);
    let usable = k.chars().any(char::is_alphanumeric) && !UNKNOWN.contains(&k);
    usable.then(|| format!("{UNLISTED_PREFIX}{k}"))
}

fn key(raw: &str) -> String {
    fold(raw)
        .split(' ')
        .filter(|t| !NOISE.contains(t))
        .collect::<Vec<_>>()
        .concat()
}

fn fuzzy_key(k: &str) -> String {
    coarse_key(&encode(k))
}

static GAZETTEER: LazyLock<Gazetteer> = LazyLock::new(Gazetteer::load);

impl Gazetteer {
    /// The gazetteer compiled into Peywand.
    pub fn get() -> &'static Gazetteer {
        &GAZETTEER
    }

    fn load() -> Gazetteer {
        let mut g = Gazetteer {
            places: Vec::new(),
            exact: HashMap::new(),
            fuzzy: HashMap::new(),
            shared_district_names: HashSet::new(),
        };
        use crate::lexicon;
        let rows = |text: &'static str| lexicon::rows(text).filter(|c| c.len() >= 4);
        for c in rows(lexicon::PROVINCES) {
            let names = [c[1], c[2], c[3]]
                .into_iter()
                .chain(c.get(4).into_iter().flat_map(|v| v.split(';')));
            g.add(
                Place {
                    code: c[0].into(),
                    kind: PlaceKind::Province,
                    name_en: c[1].into(),
                    name_local: c[2].into(),
                    parent: None,
                },
                names,
            );
        }
        for c in rows(lexicon::DISTRICTS) {
            let names = [c[2], c[3]]
                .into_iter()
                .chain(c.get(4).into_iter().flat_map(|v| v.split(';')));
            g.add(
                Place {
                    code: c[0].into(),
                    kind: PlaceKind::District,
                    name_en: c[2].into(),
                    name_local: c[3].into(),
                    parent: Some(c[1].into()),
                },
                names,
            );
        }
        for c in rows(lexicon::PAKISTAN_PLACES) {
            let names = [c[1], c[2]]
                .into_iter()
                .chain(c.get(4).into_iter().flat_map(|v| v.split(';')));
            g.add(
                Place {
                    code: c[0].into(),
                    kind: PlaceKind::PakistanPlace,
                    name_en: c[1].into(),
                    name_local: c[2].into(),
                    parent: Some(c[3].into()),
                },
                names,
            );
        }
        for c in rows(lexicon::SITES) {
            let kind = match c[3] {
                "crossing_point" => PlaceKind::CrossingPoint,
                "camp" => PlaceKind::Camp,
                _ => PlaceKind::ReceptionCentre,
            };
            let names = [c[0], c[1], c[2]]
                .into_iter()
                .chain(c.get(5).into_iter().flat_map(|v| v.split(';')));
            g.add(
                Place {
                    code: c[0].into(),
                    kind,
                    name_en: c[1].into(),
                    name_local: c[2].into(),
                    parent: Some(c[4].into()),
                },
                names,
            );
        }
        g
    }

    fn add<'a>(&mut self, place: Place, names: impl Iterator<Item = &'a str>) {
        let idx = self.places.len();
        let kind = place.kind;
        self.places.push(place);
        for name in names {
            let k = key(name);
            if k.is_empty() {
                continue;
            }
            let first = *self.exact.entry((kind, k.clone())).or_insert(idx);
            if kind == PlaceKind::District && self.places[first].parent != self.places[idx].parent {
                self.shared_district_names.insert(k.clone());
            }
            let fk = fuzzy_key(&k);
            if fk.len() >= 2 {
                self.fuzzy
                    .entry((kind, fk))
                    .and_modify(|e| {
                        if *e != Some(idx) {
                            *e = None
                        }
                    })
                    .or_insert(Some(idx));
            }
        }
    }

    /// Resolves a typed place name among places of the given kinds, exact spellings first. A
    /// place typed as an address ("Hayatabad, Peshawar", "Nangarhar، Afghanistan") that is not
    /// known whole is resolved by its first part the gazetteer knows.
    pub fn resolve(&self, raw: &str, kinds: &[PlaceKind]) -> Option<&Place> {
        self.resolve_whole(raw, kinds).or_else(|| {
            let mut parts = raw.split(ADDRESS_SEPARATORS);
            // A value with no separator was tried whole already.
            let first = parts.next()?;
            if first.len() == raw.len() {
                return None;
            }
            std::iter::once(first)
                .chain(parts)
                .find_map(|part| self.resolve_whole(part, kinds))
        })
    }

    fn resolve_whole(&self, raw: &str, kinds: &[PlaceKind]) -> Option<&Place> {
        let k = key(raw);
        if k.is_empty() {
            return None;
        }
        for kind in kinds {
            if let Some(&i) = self.exact.get(&(*kind, k.clone())) {
                return Some(&self.places[i]);
            }
        }
        let fk = fuzzy_key(&k);
        kinds
            .iter()
            .find_map(|kind| self.fuzzy.get(&(*kind, fk.clone())).copied().flatten())
            .map(|i| &self.places[i])
    }

    /// An Afghan province, by any spelling in any script. Clerks often type the provincial
    /// capital or the district in the province's box (Jalalabad for Nangarhar): a district
    /// spelt as the gazetteer lists it, and found in one province only, gives that province.
    /// Not by sound alone: short values from elsewhere ("NSW") sound like some district.
    pub fn province(&self, raw: &str) -> Option<&Place> {
        self.resolve(raw, &[PlaceKind::Province])
            .or_else(|| {
                let k = key(raw);
                let &district = self.exact.get(&(PlaceKind::District, k.clone()))?;
                if self.shared_district_names.contains(&k) {
                    return None;
                }
                self.by_code(self.places[district].parent.as_deref()?)
            })
            .or_else(|| self.province_one_slip_away(&key(raw)))
    }

    /// The one province a value is a keyboard slip away from (a letter dropped, added, changed,
    /// or two swapped: Helmad, Kandaha, Paktiak), by any of its listed spellings. Values under
    /// five letters are left alone: among short names one slip reaches too far (Khot, Khost).
    fn province_one_slip_away(&self, k: &str) -> Option<&Place> {
        const SHORTEST: usize = 5;
        let letters: Vec<char> = k.chars().collect();
        if letters.len() < SHORTEST {
            return None;
        }
        let mut found: Option<usize> = None;
        for ((kind, name), &i) in &self.exact {
            if *kind != PlaceKind::Province
                || !one_slip_apart(&letters, &name.chars().collect::<Vec<_>>())
            {
                continue;
            }
            match found {
                Some(j) if j != i => return None,
                _ => found = Some(i),
            }
        }
        found.map(|i| &self.places[i])
    }

    /// An Afghan district; with a province p-code, only that province's districts.
    pub fn district(&self, raw: &str, province: Option<&str>) -> Option<&Place> {
        let p = self.resolve(raw, &[PlaceKind::District])?;
        match province {
            Some(pc) if p.parent.as_deref() != Some(pc) => {
                // Names recur across provinces (Surobi, Arghandab): look for the one in `pc`.
                let k = key(raw);
                self.places.iter().find(|q| {
                    q.kind == PlaceKind::District
                        && q.parent.as_deref() == Some(pc)
                        && key(&q.name_en) == k
                })
            }
            _ => Some(p),
        }
    }

    /// A place of last residence in Pakistan.
    pub fn pakistan_place(&self, raw: &str) -> Option<&Place> {
        self.resolve(raw, &[PlaceKind::PakistanPlace])
    }

    /// A crossing point, reception centre or camp.
    pub fn site(&self, raw: &str) -> Option<&Place> {
        self.resolve(
            raw,
            &[
                PlaceKind::CrossingPoint,
                PlaceKind::ReceptionCentre,
                PlaceKind::Camp,
            ],
        )
    }

    /// The entry with this code.
    pub fn by_code(&self, code: &str) -> Option<&Place> {
        self.places.iter().find(|p| p.code == code)
    }

    /// Every entry of one kind, in table order.
    pub fn all(&self, kind: PlaceKind) -> impl Iterator<Item = &Place> {
        self.places.iter().filter(move |p| p.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provinces_in_both_scripts() {
        let g = Gazetteer::get();
        assert_eq!(g.all(PlaceKind::Province).count(), 34);
        for s in [
            "Nangarhar",
            "Ningarhar",
            "ننگرهار",
            "nangarhar province",
            "NANGARHAR",
        ] {
            assert_eq!(g.province(s).map(|p| p.code.as_str()), Some("AF06"), "{s}");
        }
        for s in ["Kandahar", "Qandahar", "کندهار", "قندهار"] {
            assert_eq!(g.province(s).map(|p| p.code.as_str()), Some("AF27"), "{s}");
        }
        assert_eq!(g.province("Atlantis"), None);
    }

    #[test]
    fn places_typed_as_addresses_resolve_by_their_known_part() {
        let g = Gazetteer::get();
        let code = |raw| g.pakistan_place(raw).map(|p| p.code.as_str());
        assert_eq!(code("House 12 Street 4, Peshawar"), Some("PK-peshawar"));
        assert_eq!(code("Board Bazaar, Peshawar"), Some("PK-board-bazaar"));
        assert_eq!(code("Peshawar / KPK"), Some("PK-peshawar"));
        assert_eq!(code("House 12 Street 4, Nowhere"), None);
        let province = |raw| g.province(raw).map(|p| p.code.as_str());
        assert_eq!(province("ننگرهار، افغانستان"), Some("AF06"));
        assert_eq!(province("Atlantis, Lemuria"), None);
    }

    #[test]
    fn unlisted_places_keep_their_spelling_and_unknown_is_no_place() {
        assert_eq!(
            unlisted_place_key("  Board   BAZAAR ").as_deref(),
            unlisted_place_key("board bazaar").as_deref()
        );
        assert_ne!(
            unlisted_place_key("Board Bazaar"),
            unlisted_place_key("Kacha Garhi")
        );
        assert!(unlisted_place_key("Board Bazaar").is_some_and(|k| k.starts_with('~')));
        for nothing in ["unknown", "N/A", "-", "نامعلوم", "?", ""] {
            assert_eq!(unlisted_place_key(nothing), None, "{nothing:?}");
        }
    }

    #[test]
    fn pakistani_places_and_sites() {
        let g = Gazetteer::get();
        assert_eq!(
            g.pakistan_place("Peshawar").map(|p| p.code.as_str()),
            Some("PK-peshawar")
        );
        assert_eq!(
            g.pakistan_place("پشاور").map(|p| p.code.as_str()),
            Some("PK-peshawar")
        );
        assert_eq!(g.site("Torkham").map(|p| p.code.as_str()), Some("torkham"));
        assert_eq!(
            g.site("Spin Boldak").map(|p| p.code.as_str()),
            Some("spin-boldak")
        );
    }

    #[test]
    fn districts_resolve() {
        let g = Gazetteer::get();
        assert_eq!(
            g.district("Jalalabad", None)
                .and_then(|p| p.parent.as_deref()),
            Some("AF06")
        );
    }

    #[test]
    fn a_capital_or_district_typed_as_the_province_gives_its_province() {
        let g = Gazetteer::get();
        for (typed, province) in [
            ("Jalalabad", "AF06"),
            ("جلال‌آباد", "AF06"),
            ("Jalal Abad", "AF06"),
            ("Lashkar Gah", "AF30"),
            ("لشکرگاه", "AF30"),
            ("Asadabad", "AF15"),
            ("Mazar-e-Sharif", "AF21"),
            ("Gardez", "AF13"),
            ("Pul-e-Khumri", "AF09"),
        ] {
            assert_eq!(
                g.province(typed).map(|p| p.code.as_str()),
                Some(province),
                "{typed}"
            );
        }
        // A slip of the keyboard in a province's name; کندها is as near کنرها (Kunar) as
        // کندهار, and stays unknown.
        for (typed, province) in [("Helmad", "AF30"), ("Kandaha", "AF27"), ("ننگرها", "AF06")]
        {
            assert_eq!(
                g.province(typed).map(|p| p.code.as_str()),
                Some(province),
                "{typed}"
            );
        }
        assert_eq!(g.province("کندها"), None);
        // A district name found in two provinces says nothing of which; nor does a value that
        // only sounds like a district.
        assert_eq!(g.province("Surobi"), None);
        assert_eq!(g.province("NSW"), None);
        assert_eq!(g.province("Arghandab"), None);
    }
}
