//! Realistic synthetic registrations with ground truth, for tests, demos and benchmarks.
//!
//! People are generated as Afghan households (heads, spouses, children named after their
//! father, siblings and cousins sharing father's and grandfather's names), then registered at
//! crossing points by clerks who each write names their own way: in Dari or Latin letters, with
//! their keyboards' code points, transliteration habits, typos, honorifics, missing fields,
//! Solar Hijri or Gregorian dates, approximate ages. A quarter of households register again
//! elsewhere. Tracing requests look for registered people and for people never registered.
//! Everything is deterministic for a given seed.

mod lexicon;
mod noise;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use lexicon::{Lexicon, NameEntry};
use noise::{Clerk, digits, write_name};
use peywand_domain::RawRegistration;

/// What went wrong writing the files.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// Counts of what was generated.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub people: u64,
    pub households: u64,
    pub records: u64,
    pub requests: u64,
    pub requests_for_unregistered: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sex {
    Male,
    Female,
}

/// A person as they really are.
struct Person {
    id: u64,
    sex: Sex,
    given: usize,
    father: usize,
    grandfather: usize,
    family: Option<usize>,
    birth: NaiveDate,
    province: usize,
    district: Option<usize>,
    residence: usize,
    document: Option<(&'static str, String)>,
    phone: Option<String>,
}

/// Where names come from: indexes into the male or female lexicon.
fn name(lex: &Lexicon, sex: Sex, i: usize) -> &NameEntry {
    let w = if sex == Sex::Male {
        &lex.male
    } else {
        &lex.female
    };
    w.item(i)
}

/// What brothers' households share: father, grandfather, family name, origin and residence.
type Kin = (usize, usize, Option<usize>, Origin);
/// Province, district and place of last residence (lexicon indexes).
type Origin = (usize, Option<usize>, usize);

const REGISTRATION_START: (i32, u32, u32) = (2025, 9, 1);
const REGISTRATION_DAYS: i64 = 120;

struct Generator {
    rng: ChaCha8Rng,
    lex: Lexicon,
    next_person: u64,
}

impl Generator {
    fn pick_male(&mut self) -> usize {
        self.lex.male.pick_index(&mut self.rng)
    }
    fn pick_female(&mut self) -> usize {
        self.lex.female.pick_index(&mut self.rng)
    }

    fn birth(&mut self, age: i32, on: NaiveDate) -> NaiveDate {
        let day = self.rng.random_range(0..365);
        NaiveDate::from_ymd_opt(on.year() - age - 1, 1, 1).unwrap_or(on) + Duration::days(day)
    }

    fn document(&mut self, age: i32) -> Option<(&'static str, String)> {
        if age < 16 || self.rng.random_bool(0.25) {
            return None;
        }
        let kind = ["PoR", "PoR", "ACC", "tazkira", "e-tazkira"][self.rng.random_range(0..5)];
        let number = match kind {
            "e-tazkira" => format!(
                "{}-{:04}-{:05}",
                self.rng.random_range(1398..1404),
                self.rng.random_range(101..1232),
                self.rng.random_range(0..100_000)
            ),
            "tazkira" => format!("{}", self.rng.random_range(100_000..9_999_999)),
            _ => format!("{:07}", self.rng.random_range(0..10_000_000)),
        };
        Some((kind, number))
    }

    fn phone(&mut self) -> String {
        if self.rng.random_bool(0.6) {
            format!(
                "03{:02}{:07}",
                self.rng.random_range(0..50),
                self.rng.random_range(0..10_000_000)
            )
        } else {
            format!(
                "07{}{:07}",
                [0, 2, 3, 7, 8, 9][self.rng.random_range(0..6)],
                self.rng.random_range(0..10_000_000)
            )
        }
    }

    #[allow(clippy::too_many_arguments)] // One argument per fact about a person; a struct adds nothing.
    fn person(
        &mut self,
        sex: Sex,
        given: usize,
        father: usize,
        grandfather: usize,
        family: Option<usize>,
        age: i32,
        origin: Origin,
        on: NaiveDate,
    ) -> Person {
        let id = self.next_person;
        self.next_person += 1;
        let birth = self.birth(age, on);
        let document = self.document(age);
        let phone = (age >= 18 && self.rng.random_bool(0.5)).then(|| self.phone());
        Person {
            id,
            sex,
            given,
            father,
            grandfather,
            family,
            birth,
            province: origin.0,
            district: origin.1,
            residence: origin.2,
            document,
            phone,
        }
    }

    /// One household: a head, usually a spouse, children named as Afghans name them, sometimes a
    /// grandparent or the head's brother. `kin` makes the head a brother of an earlier head.
    fn household(&mut self, on: NaiveDate, kin: Option<Kin>) -> Vec<Person> {
        let mut members = Vec::new();
        let (head_father, head_grandfather, family, origin) = match kin {
            Some(k) => k,
            None => {
                let province = self.lex.provinces.pick_index(&mut self.rng);
                let pcode = self.lex.provinces.item(province).code;
                let districts: Vec<usize> = self
                    .lex
                    .districts
                    .iter()
                    .enumerate()
                    .filter(|(_, (p, _))| *p == pcode)
                    .map(|(i, _)| i)
                    .collect();
                let district = (!districts.is_empty() && self.rng.random_bool(0.7))
                    .then(|| districts[self.rng.random_range(0..districts.len())]);
                let residence = self.lex.pakistan.pick_index(&mut self.rng);
                let family = self
                    .rng
                    .random_bool(0.45)
                    .then(|| self.lex.family.pick_index(&mut self.rng));
                (
                    self.pick_male(),
                    self.pick_male(),
                    family,
                    (province, district, residence),
                )
            }
        };
        let female_head = self.rng.random_bool(0.15);
        let head_age = self.rng.random_range(24..66);
        let head_given = if female_head {
            self.pick_female()
        } else {
            self.pick_male()
        };
        let husband = if female_head {
            self.pick_male()
        } else {
            head_given
        };
        let head = self.person(
            if female_head { Sex::Female } else { Sex::Male },
            head_given,
            head_father,
            head_grandfather,
            family,
            head_age,
            origin,
            on,
        );
        members.push(head);
        let mother_age = if !female_head && self.rng.random_bool(0.9) {
            let age = (head_age - self.rng.random_range(0..10)).max(18);
            let (g, f, gf) = (self.pick_female(), self.pick_male(), self.pick_male());
            let spouse = self.person(Sex::Female, g, f, gf, family, age, origin, on);
            members.push(spouse);
            Some(age)
        } else {
            female_head.then_some(head_age)
        };
        if let Some(mother_age) = mother_age {
            let children = self.rng.random_range(0..8);
            let max_age = (mother_age - 16).clamp(1, 25);
            let mut used: Vec<usize> = Vec::new();
            for _ in 0..children {
                let sex = if self.rng.random_bool(0.5) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                // A son now and then carries his father's given name.
                let given = if sex == Sex::Male && !female_head && self.rng.random_bool(0.05) {
                    husband
                } else {
                    let mut g = if sex == Sex::Male {
                        self.pick_male()
                    } else {
                        self.pick_female()
                    };
                    for _ in 0..3 {
                        if !used.contains(&g) {
                            break;
                        }
                        g = if sex == Sex::Male {
                            self.pick_male()
                        } else {
                            self.pick_female()
                        };
                    }
                    g
                };
                used.push(given);
                let age = self.rng.random_range(0..max_age);
                let child = self.person(sex, given, husband, head_father, family, age, origin, on);
                members.push(child);
            }
        }
        if self.rng.random_bool(0.12) {
            let age = (head_age + self.rng.random_range(20..30)).min(95);
            let (g, f, gf) = (self.pick_female(), self.pick_male(), self.pick_male());
            members.push(self.person(Sex::Female, g, f, gf, family, age, origin, on));
        }
        if self.rng.random_bool(0.08) {
            let age = (head_age + self.rng.random_range(-8..8)).max(16);
            let g = self.pick_male();
            members.push(self.person(
                Sex::Male,
                g,
                head_father,
                head_grandfather,
                family,
                age,
                origin,
                on,
            ));
        }
        members
    }

    /// One registration record of a person, as one clerk at one desk wrote it.
    fn record(
        &mut self,
        p: &Person,
        record_id: String,
        household_id: &str,
        site: usize,
        on: NaiveDate,
        clerk: &Clerk,
    ) -> RawRegistration {
        let lex = &self.lex;
        let rng = &mut self.rng;
        let age = (on - p.birth).num_days() / 365;
        let mut given = write_name(rng, clerk, name(lex, p.sex, p.given));
        if rng.random_bool(0.25) {
            for prefix in ["Mohammad ", "Muhammad ", "محمد "] {
                if let Some(rest) = given.strip_prefix(prefix) {
                    given = rest.to_string();
                }
            }
        }
        if p.sex == Sex::Male && age > 45 && rng.random_bool(0.2) {
            given = format!(
                "{} {given}",
                if clerk.arabic_script {
                    "حاجی"
                } else {
                    "Haji"
                }
            );
        }
        let father = if rng.random_bool(0.95) {
            write_name(rng, clerk, lex.male.item(p.father))
        } else {
            String::new()
        };
        let grandfather = if rng.random_bool(0.55) {
            write_name(rng, clerk, lex.male.item(p.grandfather))
        } else {
            String::new()
        };
        let family = match p.family {
            Some(f) if rng.random_bool(0.7) => write_name(rng, clerk, lex.family.item(f)),
            _ => String::new(),
        };
        let sex = if rng.random_bool(0.97) {
            let options: &[&str] = match (p.sex, clerk.arabic_script) {
                (Sex::Male, false) => &["M", "M", "Male", "male", "m"],
                (Sex::Female, false) => &["F", "F", "Female", "female", "f"],
                (Sex::Male, true) => &["مرد", "نارینه", "M"],
                (Sex::Female, true) => &["زن", "ښځه", "F"],
            };
            options[rng.random_range(0..options.len())].to_string()
        } else {
            String::new()
        };
        let (birth_date, age_text) = birth_fields(rng, clerk, p.birth, age as i32);
        let pick = |rng: &mut ChaCha8Rng, spellings: &[&str]| -> String {
            let i = if rng.random_bool(0.6) {
                0
            } else {
                rng.random_range(0..spellings.len())
            };
            spellings[i].to_string()
        };
        let province = if rng.random_bool(0.9) {
            pick(rng, &lex.provinces.item(p.province).spellings)
        } else {
            String::new()
        };
        let district = match p.district {
            Some(d) if rng.random_bool(0.4) => pick(rng, &lex.districts[d].1.spellings),
            _ => String::new(),
        };
        let residence = if rng.random_bool(0.8) {
            pick(rng, &lex.pakistan.item(p.residence).spellings)
        } else {
            String::new()
        };
        let (document_type, document_number) = match &p.document {
            Some((kind, number)) if rng.random_bool(0.7) => {
                let mut n = number.clone();
                if rng.random_bool(0.05) {
                    n = typo_digit(rng, &n);
                }
                if rng.random_bool(0.3) {
                    n = n.replace('-', " ");
                }
                (kind.to_string(), digits(clerk, &n))
            }
            _ => (String::new(), String::new()),
        };
        let phone = match &p.phone {
            Some(ph) if rng.random_bool(0.7) => {
                let ph = if rng.random_bool(0.03) {
                    typo_digit(rng, ph)
                } else {
                    ph.clone()
                };
                digits(clerk, &phone_format(rng, &ph))
            }
            _ => String::new(),
        };
        RawRegistration {
            record_id,
            household_id: household_id.to_string(),
            site: pick(rng, &lex.sites.item(site).spellings),
            registered_on: on.to_string(),
            given_name: given,
            father_name: father,
            grandfather_name: grandfather,
            family_name: family,
            sex,
            birth_date,
            age: age_text,
            province_of_origin: province,
            district_of_origin: district,
            last_residence: residence,
            document_type,
            document_number,
            phone,
        }
    }
}

fn typo_digit<R: RngExt + ?Sized>(rng: &mut R, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let positions: Vec<usize> = chars
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_ascii_digit())
        .map(|(i, _)| i)
        .collect();
    if let Some(&i) = positions.get(rng.random_range(0..positions.len().max(1))) {
        chars[i] = char::from(b'0' + rng.random_range(0..10u8));
    }
    chars.into_iter().collect()
}

fn phone_format<R: RngExt + ?Sized>(rng: &mut R, national: &str) -> String {
    let (cc, rest) = if national.starts_with("03") {
        ("92", &national[1..])
    } else {
        ("93", &national[1..])
    };
    match rng.random_range(0..5) {
        0 => national.to_string(),
        1 => format!("{}-{}", &national[..4], &national[4..]),
        2 => format!("+{cc} {} {}", &rest[..3], &rest[3..]),
        3 => format!("00{cc}{rest}"),
        _ => format!("{} {} {}", &national[..4], &national[4..7], &national[7..]),
    }
}

/// A birth as a desk records it: a Solar Hijri or Gregorian year or date, often defaulted to
/// 1 Hamal or 1 January, or only an approximate age.
fn birth_fields<R: RngExt + ?Sized>(
    rng: &mut R,
    clerk: &Clerk,
    birth: NaiveDate,
    age: i32,
) -> (String, String) {
    let shamsi = peywand_names::date::gregorian_to_solar_hijri(birth);
    let roll = rng.random_range(0..100);
    let date = match (roll, shamsi) {
        (0..=29, Some((y, _, _))) => digits(clerk, &y.to_string()),
        (30..=44, Some((y, m, d))) => {
            let (m, d) = if rng.random_bool(0.6) { (1, 1) } else { (m, d) };
            digits(clerk, &format!("{y}-{m:02}-{d:02}"))
        }
        (45..=64, _) => birth.year().to_string(),
        (65..=79, _) => {
            let (m, d) = if rng.random_bool(0.5) {
                (1, 1)
            } else {
                (birth.month(), birth.day())
            };
            if rng.random_bool(0.5) {
                format!("{}-{m:02}-{d:02}", birth.year())
            } else {
                format!("{d:02}/{m:02}/{}", birth.year())
            }
        }
        _ => String::new(),
    };
    let age_text = if date.is_empty() || rng.random_bool(0.3) {
        let a = age
            + if rng.random_bool(0.3) {
                rng.random_range(-2..=2)
            } else {
                0
            };
        digits(clerk, &a.max(0).to_string())
    } else {
        String::new()
    };
    (date, age_text)
}

/// What a household says at the desk besides its names: where it is going, how it came, what
/// it needs first, and each member's vulnerabilities (codes of `peywand_domain`).
struct Said {
    destination: &'static str,
    return_type: &'static str,
    needs: Vec<&'static str>,
    vulnerabilities: Vec<Vec<&'static str>>,
}

/// Rates are of the order border monitoring reports: most families deported, most going back
/// to their province of origin or to a city; a few children separated, a few people disabled.
fn household_details(
    rng: &mut ChaCha8Rng,
    lex: &Lexicon,
    members: &[Person],
    on: NaiveDate,
) -> Said {
    // Kabul, Nangarhar (Jalalabad), Kandahar, Herat, Balkh (Mazar-e-Sharif).
    const CITIES: [&str; 5] = ["AF01", "AF06", "AF27", "AF32", "AF21"];
    let origin = lex.provinces.item(members[0].province).code;
    let destination = match rng.random_range(0..100) {
        0..=64 => origin,
        65..=89 => CITIES[rng.random_range(0..CITIES.len())],
        _ => lex.provinces.item(lex.provinces.pick_index(rng)).code,
    };
    let return_type = match rng.random_range(0..100) {
        0..=61 => "deported",
        62..=91 => "spontaneous_return",
        _ => "assisted_return",
    };
    const NEEDS: [(&str, f64); 6] = [
        ("shelter", 0.55),
        ("food", 0.7),
        ("cash", 0.6),
        ("health", 0.2),
        ("transport", 0.35),
        ("documentation", 0.25),
    ];
    let needs = NEEDS
        .iter()
        .filter(|(_, p)| rng.random_bool(*p))
        .map(|(n, _)| *n)
        .collect();
    let female_headed = rng.random_bool(0.07);
    let mut head_marked = false;
    let vulnerabilities = members
        .iter()
        .map(|p| {
            let age = (on - p.birth).num_days() / 365;
            let mut v = Vec::new();
            // The flag goes to the woman who heads the family: the first adult woman.
            if female_headed && !head_marked && p.sex == Sex::Female && age >= 18 {
                v.push("female_headed_household");
                head_marked = true;
            }
            if age < 18 && rng.random_bool(0.01) {
                v.push("unaccompanied_child");
            } else if age < 18 && rng.random_bool(0.025) {
                v.push("separated_child");
            }
            if age >= 60 && rng.random_bool(0.15) {
                v.push("older_person_alone");
            }
            if rng.random_bool(0.03) {
                v.push("disability");
            }
            if rng.random_bool(0.02) {
                v.push("serious_medical_condition");
            }
            if p.sex == Sex::Female && (18..=45).contains(&age) && rng.random_bool(0.12) {
                v.push("pregnant_or_lactating");
            }
            v
        })
        .collect();
    Said {
        destination,
        return_type,
        needs,
        vulnerabilities,
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SynthError + '_ {
    move |source| SynthError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Generates `people` people with registrations and tracing requests into `dir`:
/// `registry.csv`, `truth.csv`, `tracing.jsonl` and `households.jsonl`.
///
/// `households.jsonl` holds, per registered household (`household_id`), what the family said
/// besides names: `destination_province`, `return_type`, `needs`, and `members`, each record
/// id with its vulnerabilities. `peywand import --household-details` reads it.
///
/// `truth.csv` holds `record_id,person_id` and then the person's true names
/// (`given_name,father_name,grandfather_name,family_name`, each as its lexicon headword), so that
/// the name library can be evaluated on the same data as the linkage engine.
pub fn generate(people: u64, seed: u64, dir: &Path) -> Result<Summary, SynthError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let registry_path = dir.join("registry.csv");
    let truth_path = dir.join("truth.csv");
    let tracing_path = dir.join("tracing.jsonl");
    let details_path = dir.join("households.jsonl");
    let mut registry =
        peywand_interchange::registration_csv::Writer::new(BufWriter::with_capacity(
            1 << 20,
            File::create(&registry_path).map_err(io(&registry_path))?,
        ))?;
    let mut truth =
        BufWriter::with_capacity(1 << 20, File::create(&truth_path).map_err(io(&truth_path))?);
    let mut tracing = BufWriter::new(File::create(&tracing_path).map_err(io(&tracing_path))?);
    let mut details = BufWriter::new(File::create(&details_path).map_err(io(&details_path))?);
    // What households say besides their names draws from its own generator, so that the
    // registry of a seed stays the same as before it existed.
    let mut details_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x005e_edde_7a11_u64);
    writeln!(
        truth,
        "record_id,person_id,given_name,father_name,grandfather_name,family_name"
    )
    .map_err(io(&truth_path))?;

    let mut g = Generator {
        rng: ChaCha8Rng::seed_from_u64(seed),
        lex: Lexicon::load(),
        next_person: 1,
    };
    let start = NaiveDate::from_ymd_opt(
        REGISTRATION_START.0,
        REGISTRATION_START.1,
        REGISTRATION_START.2,
    )
    .unwrap_or_default();
    let mut summary = Summary::default();
    let mut next_record = 1u64;
    let mut next_household = 1u64;
    // A sample of people (registered or not) who relatives will ask for, kept small.
    let request_target = (people / 50).max(20);
    let mut sought: Vec<(Person, bool)> = Vec::new();
    let mut last_kin: Option<Kin> = None;

    while summary.people < people {
        let on = start + Duration::days(g.rng.random_range(0..REGISTRATION_DAYS));
        // One household in ten is a brother's: the heads share father and grandfather (cousins).
        let kin = if g.rng.random_bool(0.1) {
            last_kin
        } else {
            None
        };
        let mut members = g.household(on, kin);
        let head = &members[0];
        last_kin = Some((
            head.father,
            head.grandfather,
            head.family,
            (head.province, head.district, head.residence),
        ));
        // Now and then a member never reaches a desk: a relative will ask for them in vain.
        let unregistered = if members.len() > 2 && g.rng.random_bool(0.04) {
            Some(members.remove(g.rng.random_range(1..members.len())))
        } else {
            None
        };
        summary.people += members.len() as u64 + u64::from(unregistered.is_some());
        summary.households += 1;

        let registrations = match g.rng.random_range(0..100) {
            0..=74 => 1,
            75..=94 => 2,
            _ => 3,
        };
        let mut day = on;
        let mut site = g.lex.sites.pick_index(&mut g.rng);
        let said = household_details(&mut details_rng, &g.lex, &members, on);
        for r in 0..registrations {
            let clerk = Clerk::random(&mut g.rng);
            let household_id = format!("H{next_household:07}");
            next_household += 1;
            let mut registered: Vec<(String, &[&str])> = Vec::new();
            for (i, p) in members.iter().enumerate() {
                // Later registrations are partial: families split up on the way.
                if r > 0 && i > 0 && g.rng.random_bool(0.2) {
                    continue;
                }
                let record_id = format!("R{next_record:08}");
                next_record += 1;
                let raw = g.record(p, record_id.clone(), &household_id, site, day, &clerk);
                registry.write(&raw)?;
                registered.push((record_id.clone(), &said.vulnerabilities[i]));
                let lex = &g.lex;
                writeln!(
                    truth,
                    "{record_id},P{:07},{},{},{},{}",
                    p.id,
                    name(lex, p.sex, p.given).headword(),
                    lex.male.item(p.father).headword(),
                    lex.male.item(p.grandfather).headword(),
                    p.family
                        .map(|f| lex.family.item(f).headword())
                        .unwrap_or_default(),
                )
                .map_err(io(&truth_path))?;
                summary.records += 1;
            }
            let line = serde_json::json!({
                "household_id": household_id,
                "destination_province": said.destination,
                "return_type": said.return_type,
                "needs": said.needs,
                "members": registered
                    .iter()
                    .map(|(r, v)| (r.clone(), serde_json::json!(v)))
                    .collect::<serde_json::Map<_, _>>(),
            });
            writeln!(details, "{line}").map_err(io(&details_path))?;
            day += Duration::days(g.rng.random_range(1..6));
            if g.rng.random_bool(0.7) {
                site = g.lex.sites.pick_index(&mut g.rng);
            }
        }
        // Reservoir of sought people, biased to children and to the unregistered.
        if let Some(u) = unregistered
            && sought.len() < (request_target as usize) / 4
        {
            sought.push((u, false));
        }
        if (sought.len() as u64) < request_target
            && g.rng
                .random_bool((request_target as f64 * 8.0 / people as f64).min(1.0))
        {
            let i = g.rng.random_range(0..members.len());
            sought.push((members.swap_remove(i), true));
        }
    }
    for (n, (p, registered)) in sought.iter().enumerate() {
        let clerk = Clerk::random(&mut g.rng);
        let on = start + Duration::days(REGISTRATION_DAYS);
        let raw = g.record(p, String::new(), "", 0, on, &clerk);
        let age = (on - p.birth).num_days() / 365
            + if g.rng.random_bool(0.4) {
                g.rng.random_range(-2..=2)
            } else {
                0
            };
        let opt = |s: String| {
            if s.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::Value::String(s)
            }
        };
        let request = serde_json::json!({
            "request_id": format!("T{:06}", n + 1),
            "given_name": opt(raw.given_name),
            "father_name": opt(raw.father_name),
            "grandfather_name": if g.rng.random_bool(0.3) { opt(raw.grandfather_name) } else { serde_json::Value::Null },
            "family_name": opt(raw.family_name),
            "sex": opt(raw.sex),
            "age": if g.rng.random_bool(0.9) { serde_json::json!(age.max(0)) } else { serde_json::Value::Null },
            "province_of_origin": opt(raw.province_of_origin),
            "last_residence": if g.rng.random_bool(0.6) { opt(raw.last_residence) } else { serde_json::Value::Null },
            "person_id": if *registered { serde_json::Value::String(format!("P{:07}", p.id)) } else { serde_json::Value::Null },
        });
        writeln!(tracing, "{request}").map_err(io(&tracing_path))?;
        summary.requests += 1;
        summary.requests_for_unregistered += u64::from(!registered);
    }
    registry.finish().map_err(io(&registry_path))?;
    truth.flush().map_err(io(&truth_path))?;
    tracing.flush().map_err(io(&tracing_path))?;
    details.flush().map_err(io(&details_path))?;
    Ok(summary)
}
