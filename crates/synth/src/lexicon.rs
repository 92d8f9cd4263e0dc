//! The generator's view of the name and place tables: weighted samplers over entries.

use peywand_names::lexicon::{self, rows};
use rand::RngExt;

/// Picks items by weight in O(log n).
pub struct Weighted<T> {
    items: Vec<T>,
    cumulative: Vec<u64>,
}

impl<T> Weighted<T> {
    pub fn new(pairs: impl IntoIterator<Item = (T, u64)>) -> Self {
        let mut items = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0;
        for (item, w) in pairs {
            total += w.max(1);
            items.push(item);
            cumulative.push(total);
        }
        Self { items, cumulative }
    }
    pub fn pick_index<R: RngExt + ?Sized>(&self, rng: &mut R) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1);
        let x = rng.random_range(0..total);
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.items.len().saturating_sub(1))
    }
    pub fn item(&self, i: usize) -> &T {
        &self.items[i]
    }
}

/// One name with its Arabic-script spelling and its Latin transliterations.
#[derive(Debug)]
pub struct NameEntry {
    pub arabic: &'static str,
    pub latin: Vec<&'static str>,
}

impl NameEntry {
    /// The name as the truth file identifies it: its usual Latin spelling and its Arabic-script
    /// spelling, which together tell apart names that share a transliteration (حامد and حمید
    /// are both Hamid).
    pub fn headword(&self) -> String {
        format!(
            "{} {}",
            self.latin.first().copied().unwrap_or(""),
            self.arabic
        )
    }
}

/// A place with every spelling a clerk might type.
#[derive(Debug)]
pub struct PlaceEntry {
    pub code: &'static str,
    pub spellings: Vec<&'static str>,
}

pub struct Lexicon {
    pub male: Weighted<NameEntry>,
    pub female: Weighted<NameEntry>,
    pub family: Weighted<NameEntry>,
    pub provinces: Weighted<PlaceEntry>,
    pub districts: Vec<(&'static str, PlaceEntry)>,
    pub pakistan: Weighted<PlaceEntry>,
    pub sites: Weighted<PlaceEntry>,
}

fn split(v: &'static str) -> Vec<&'static str> {
    v.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Where returnees come from: the east and south far more than the north.
fn province_weight(pcode: &str) -> u64 {
    match pcode {
        "AF06" => 40,
        "AF27" => 30,
        "AF01" => 15,
        "AF30" | "AF14" | "AF13" | "AF12" | "AF15" | "AF07" => 10,
        "AF11" | "AF26" | "AF25" | "AF05" | "AF04" => 6,
        _ => 2,
    }
}

fn pakistan_weight(code: &str) -> u64 {
    match code {
        "PK-peshawar" => 40,
        "PK-karachi" | "PK-quetta" => 20,
        "PK-islamabad" | "PK-rawalpindi" | "PK-nowshera" | "PK-lahore" => 8,
        _ => 2,
    }
}

fn site_weight(code: &str) -> u64 {
    match code {
        "torkham" => 45,
        "spin-boldak" => 35,
        "ghulam-khan" | "angoor-adda" | "dand-e-patan" | "bahramcha" => 3,
        _ => 2,
    }
}

impl Lexicon {
    pub fn load() -> Self {
        let names = |sex: &str| {
            Weighted::new(
                rows(lexicon::GIVEN_NAMES)
                    .filter(|c| c.len() >= 4 && c[0] == sex)
                    .map(|c| {
                        (
                            NameEntry {
                                arabic: c[1],
                                latin: split(c[2]),
                            },
                            c[3].trim().parse().unwrap_or(1),
                        )
                    }),
            )
        };
        let family = Weighted::new(
            rows(lexicon::FAMILY_NAMES)
                .filter(|c| c.len() >= 3)
                .map(|c| {
                    (
                        NameEntry {
                            arabic: c[0],
                            latin: split(c[1]),
                        },
                        c[2].trim().parse().unwrap_or(1),
                    )
                }),
        );
        let provinces = Weighted::new(rows(lexicon::PROVINCES).filter(|c| c.len() >= 4).map(|c| {
            let mut s = vec![c[1], c[2], c[3]];
            s.extend(c.get(4).map(|v| split(v)).unwrap_or_default());
            (
                PlaceEntry {
                    code: c[0],
                    spellings: s,
                },
                province_weight(c[0]),
            )
        }));
        let districts = rows(lexicon::DISTRICTS)
            .filter(|c| c.len() >= 4)
            .map(|c| {
                let mut s = vec![c[2], c[3]];
                s.extend(c.get(4).map(|v| split(v)).unwrap_or_default());
                (
                    c[1],
                    PlaceEntry {
                        code: c[0],
                        spellings: s,
                    },
                )
            })
            .collect();
        let pakistan = Weighted::new(rows(lexicon::PAKISTAN_PLACES).filter(|c| c.len() >= 4).map(
            |c| {
                let mut s = vec![c[1], c[2]];
                s.extend(c.get(4).map(|v| split(v)).unwrap_or_default());
                (
                    PlaceEntry {
                        code: c[0],
                        spellings: s,
                    },
                    pakistan_weight(c[0]),
                )
            },
        ));
        let sites = Weighted::new(rows(lexicon::SITES).filter(|c| c.len() >= 4).map(|c| {
            (
                PlaceEntry {
                    code: c[0],
                    spellings: vec![c[1], c[1], c[1], c[2]],
                },
                site_weight(c[0]),
            )
        }));
        Self {
            male: names("M"),
            female: names("F"),
            family,
            provinces,
            districts,
            pakistan,
            sites,
        }
    }
}
