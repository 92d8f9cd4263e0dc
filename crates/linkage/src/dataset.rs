//! Registrations in the compact form the engine works on: every distinct name normalised once,
//! every value reduced to a small integer or a hash.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

use peywand_domain::{MatchRecord, Sex};
use peywand_names::phonetic::Code;
use peywand_names::{Name, UnitRole, blocking_keys, normalize, slip_keys};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

/// A blocking key carried by more than this share of all names is common (see
/// `Dataset::drop_common_keys`).
const COMMON_KEY_SHARE: f64 = 0.02;

/// Marks a missing name.
pub(crate) const NO_NAME: u32 = u32::MAX;

/// The four name fields, in the order records keep them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameField {
    Given = 0,
    Father = 1,
    Grandfather = 2,
    Family = 3,
}

/// The name fields, in [`NameField`] order.
pub(crate) const NAME_FIELDS: [NameField; 4] = [
    NameField::Given,
    NameField::Father,
    NameField::Grandfather,
    NameField::Family,
];

/// One registration, compact: 80 bytes instead of a dozen strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rec {
    pub household: u32,
    /// Interned names by [`NameField`], or [`NO_NAME`].
    pub names: [u32; 4],
    /// Their phonetic codes (see `Dataset::name_code`), kept beside them: every compared pair
    /// reads them, and a lookup per name and pair waited on memory.
    pub codes: [u32; 4],
    /// 0 unknown, 1 male, 2 female.
    pub sex: u8,
    /// The father's-name slot holds her husband's name: the registration names her only as
    /// "wife of" him and gives no father. A relative asking for her often gives the husband's
    /// name where the father's goes, so it is matched there; it disagreeing with a father's
    /// name says nothing.
    pub husband_as_father: bool,
    /// Birth-year interval, or (0, 0) when unknown.
    pub birth: (i16, i16),
    /// The full date of birth as days since 1 January 1900, 0 when unknown.
    pub birth_day: u16,
    /// Interned province code, 0 unknown.
    pub province: u16,
    /// Interned place of last residence, 0 unknown.
    pub residence: u16,
    /// Interned district of origin, 0 unknown.
    pub district: u16,
    /// The day of the registration as days since 1 January 1900, 0 when unknown.
    pub registered: u16,
    /// Hashes of the document and the phone number, 0 when missing.
    pub document: u64,
    pub phone: u64,
    /// The document number's digits, to tell a typo from another number.
    pub document_digits: DocumentDigits,
}

/// Up to 19 digits of a document number, packed in one integer, with the rest of it (the
/// document type, letters) as a hash: only numbers of one type and shape can be a typo apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DocumentDigits {
    value: u64,
    pub len: u8,
    pub shape: u32,
}

impl DocumentDigits {
    /// The digits of a document (`type:number`), when it has between 1 and 19.
    fn of(document: &str) -> DocumentDigits {
        let mut d = DocumentDigits::default();
        for c in document.chars().filter(char::is_ascii_digit) {
            if d.len == 19 {
                return DocumentDigits::default();
            }
            d.value = d.value * 10 + u64::from(c as u8 - b'0');
            d.len += 1;
        }
        let rest: String = document.chars().filter(|c| !c.is_ascii_digit()).collect();
        d.shape = hash_of(rest) as u32;
        d
    }

    /// The digits, most significant first.
    pub fn digits(self) -> [u8; 19] {
        let mut out = [0u8; 19];
        let mut v = self.value;
        for i in (0..self.len as usize).rev() {
            out[i] = (v % 10) as u8;
            v /= 10;
        }
        out
    }
}

impl Rec {
    pub fn name(&self, field: NameField) -> Option<u32> {
        let id = self.names[field as usize];
        (id != NO_NAME).then_some(id)
    }
    pub fn birth(&self) -> Option<(i16, i16)> {
        (self.birth != (0, 0)).then_some(self.birth)
    }
}

/// A distinct name with what matching needs of it.
pub(crate) struct NameInfo {
    pub name: Name,
    /// Hashes of the name's blocking keys.
    pub keys: Vec<u64>,
    /// Hashes of the keys it shares with its spellings one slip away (`slip_keys`).
    pub slips: Vec<u64>,
    /// The first letters of the name's coarse key, big-endian: sorting by it puts similar
    /// names next to each other.
    pub order: u32,
}

/// Every registration, compact, with the tables its values point into.
pub struct Dataset {
    pub(crate) recs: Vec<Rec>,
    record_ids: Vec<String>,
    // Record ids, household references and place codes are written by Peywand and the
    // gazetteer, not typed: a fast hash suits them.
    by_record_id: FxHashMap<String, u32>,
    pub(crate) names: Vec<NameInfo>,
    /// Interned phonetic code of each name's core parts, by name id: two spellings with one
    /// code are the same name. Apart from the names, because every compared pair reads them.
    name_codes: Vec<u32>,
    name_ids: HashMap<String, u32>,
    codes: HashMap<Code, u32>,
    /// How many records carry each phonetic code, per name field: the term frequencies.
    pub(crate) code_counts: [Vec<u32>; 4],
    pub(crate) field_totals: [u32; 4],
    households: FxHashMap<String, u32>,
    /// Records per household, to find a record's household members.
    pub(crate) household_members: Vec<Vec<u32>>,
    /// The phone each household gave (its first member's with one), 0 when none did: a family
    /// gives one phone, typed on the head's row, and a member registering alone gives it too.
    household_phones: Vec<u64>,
    provinces: FxHashMap<String, u16>,
    residences: FxHashMap<String, u16>,
    districts: FxHashMap<String, u16>,
    /// Distinguishes this dataset's name ids from another's in caches that outlive one run.
    pub(crate) generation: u32,
    /// Names and codes first seen in a probe, forgotten once it is answered: a server
    /// answering checks all day must not keep every name anyone typed.
    probe_journal: Option<ProbeJournal>,
}

#[derive(Default)]
struct ProbeJournal {
    names: usize,
    texts: Vec<String>,
    codes: Vec<Code>,
}

static GENERATIONS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

pub(crate) fn hash_of(value: impl Hash) -> u64 {
    // A fixed hasher: keys must be equal across runs and processes.
    let h = std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
        .hash_one(value);
    h.max(1)
}

fn sex_code(sex: Option<Sex>) -> u8 {
    match sex {
        Some(Sex::Male) => 1,
        Some(Sex::Female) => 2,
        None => 0,
    }
}

/// The bit of a place id that marks a place the gazetteer does not know, kept as typed.
pub(crate) const UNLISTED_PLACE: u16 = 0x8000;

/// The id of a probe's place that no record has: it agrees with no record's place.
const UNSEEN_PLACE: u16 = 0x7FFF;

/// A place code as a small integer; ids start at 1, 0 is "unknown", and places the gazetteer
/// does not know carry [`UNLISTED_PLACE`]. Gazetteer codes are a few thousand; past 32,766
/// places a new one counts as unknown rather than as another place.
fn intern_place(places: &mut FxHashMap<String, u16>, code: Option<&str>) -> u16 {
    let Some(p) = code else {
        return 0;
    };
    if let Some(&id) = places.get(p) {
        return id;
    }
    match u16::try_from(places.len() + 1) {
        Ok(id) if id < UNSEEN_PLACE => {
            let id = id | unlisted_bit(p);
            places.insert(p.to_string(), id);
            id
        }
        _ => 0,
    }
}

/// A probe's place as an id, without keeping a place no record has: a desk checks a household
/// at every change to its form, and what is typed there must not pile up in a running server.
fn seen_place(places: &FxHashMap<String, u16>, code: Option<&str>) -> u16 {
    match code {
        None => 0,
        Some(p) => places
            .get(p)
            .copied()
            .unwrap_or(UNSEEN_PLACE | unlisted_bit(p)),
    }
}

/// [`UNLISTED_PLACE`] for a place kept as typed, 0 for a gazetteer code.
fn unlisted_bit(place: &str) -> u16 {
    if place.starts_with(peywand_names::place::UNLISTED_PREFIX) {
        UNLISTED_PLACE
    } else {
        0
    }
}

/// Distinct strings by index, in the order first seen.
#[derive(Default)]
struct FirstSeen<'a> {
    index: FxHashMap<&'a str, u32>,
    values: Vec<&'a str>,
}

impl<'a> FirstSeen<'a> {
    /// The index of `value`, `u32::MAX` for none.
    fn index(&mut self, value: Option<&'a str>) -> u32 {
        let Some(value) = value else {
            return u32::MAX;
        };
        *self.index.entry(value).or_insert_with(|| {
            self.values.push(value);
            (self.values.len() - 1) as u32
        })
    }
}

/// A date as days since 1 January 1900, 0 for dates outside 1900–2079.
fn days_since_1900(date: chrono::NaiveDate) -> u16 {
    let epoch = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default();
    u16::try_from((date - epoch).num_days()).unwrap_or(0)
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A record's four names, in [`NameField`] order.
/// A record's names by [`NameField`]; her husband's name stands in the father's slot where
/// the registration names her only as his wife (see [`Rec::husband_as_father`]).
fn name_values(r: &MatchRecord) -> [&Option<String>; 4] {
    let father = if husband_as_father(r) {
        &r.husband_name
    } else {
        &r.father_name
    };
    [&r.given_name, father, &r.grandfather_name, &r.family_name]
}

fn husband_as_father(r: &MatchRecord) -> bool {
    present(&r.father_name).is_none() && present(&r.husband_name).is_some()
}

/// A record's places, interned.
#[derive(Clone, Copy)]
struct Places {
    province: u16,
    residence: u16,
    district: u16,
}

/// The parts of a record's compact form that need none of the dataset's tables.
#[derive(Clone, Copy)]
struct Values {
    sex: u8,
    husband_as_father: bool,
    birth: (i16, i16),
    birth_day: u16,
    registered: u16,
    document: u64,
    phone: u64,
    document_digits: DocumentDigits,
}

impl Values {
    /// A probe's values: a person typed at a desk or sought by a relative is compared with
    /// the registry without the day it was typed. The days between two registrations are
    /// learnt from the registry's own pairs, spread over the years of the return; a probe is
    /// always today, and a registry not fed for months would count every earlier registration
    /// of the person at the desk as "further apart". A request's day says nothing of when
    /// the person sought registered at all.
    fn of_probe(r: &MatchRecord) -> Values {
        Values {
            registered: 0,
            ..Values::of(r)
        }
    }

    fn of(r: &MatchRecord) -> Values {
        let birth = match (r.birth_year_min, r.birth_year_max) {
            (Some(lo), Some(hi)) if lo <= hi && lo > 0 && hi < i32::from(i16::MAX) => {
                (lo as i16, hi as i16)
            }
            _ => (0, 0),
        };
        Values {
            sex: sex_code(r.sex),
            husband_as_father: husband_as_father(r),
            birth,
            birth_day: r.birth_date.map_or(0, days_since_1900),
            registered: r.registered_on.map_or(0, days_since_1900),
            document: present(&r.document).map_or(0, hash_of),
            phone: present(&r.phone_e164).map_or(0, hash_of),
            document_digits: present(&r.document)
                .map_or_else(DocumentDigits::default, DocumentDigits::of),
        }
    }
}

impl Dataset {
    /// Builds the dataset, normalising each distinct name once (in parallel).
    pub fn build(records: &[MatchRecord]) -> Dataset {
        let mut ds = Dataset {
            recs: Vec::with_capacity(records.len()),
            record_ids: Vec::with_capacity(records.len()),
            by_record_id: FxHashMap::with_capacity_and_hasher(records.len(), Default::default()),
            names: Vec::new(),
            name_codes: Vec::new(),
            name_ids: HashMap::new(),
            codes: HashMap::new(),
            code_counts: Default::default(),
            field_totals: [0; 4],
            households: FxHashMap::default(),
            household_members: Vec::new(),
            household_phones: Vec::new(),
            provinces: FxHashMap::default(),
            residences: FxHashMap::default(),
            districts: FxHashMap::default(),
            generation: GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            probe_journal: None,
        };
        // Distinct names, households and places first, read in the records' own order: their
        // strings lie in memory in that order, and read in the sorted order below, each was a
        // wait on memory. Names are normalised in parallel: a million records carry far fewer.
        let mut distinct: Vec<&str> = Vec::new();
        let mut seen: FxHashSet<&str> = FxHashSet::default();
        let mut households = FirstSeen::default();
        let mut provinces = FirstSeen::default();
        let mut residences = FirstSeen::default();
        let mut districts = FirstSeen::default();
        let refs: Vec<[u32; 4]> = records
            .iter()
            .map(|r| {
                for n in name_values(r) {
                    if let Some(v) = present(n)
                        && seen.insert(v)
                    {
                        distinct.push(v);
                    }
                }
                [
                    households.index(Some(&r.household)),
                    provinces.index(present(&r.province_code)),
                    residences.index(present(&r.residence_code)),
                    districts.index(present(&r.district_code)),
                ]
            })
            .collect();
        drop(seen);
        let normalised: Vec<Name> = distinct.par_iter().map(|v| normalize(v)).collect();
        for (text, name) in distinct.into_iter().zip(normalised) {
            ds.intern_normalised(text, name);
        }
        // Every name is interned now: what else a record reduces to needs no table that
        // changes, and is worked out for all records in parallel.
        let prepared: Vec<([u32; 4], Values)> = records
            .par_iter()
            .map(|r| {
                let ids = name_values(r).map(|v| {
                    present(v)
                        .and_then(|t| ds.name_ids.get(t).copied())
                        .unwrap_or(NO_NAME)
                });
                (ids, Values::of(r))
            })
            .collect();
        // Records with like names side by side: the pairs a record is compared with then sit
        // near it in memory, and the same two names meet again while their level is cached.
        let order = |id: u32| {
            if id == NO_NAME {
                u32::MAX
            } else {
                ds.names[id as usize].order
            }
        };
        let mut by_names: Vec<(u32, u32, u32, u32)> = prepared
            .iter()
            .enumerate()
            .map(|(i, (ids, _))| (order(ids[0]), order(ids[1]), order(ids[2]), i as u32))
            .collect();
        by_names.par_sort_unstable();
        ds.record_ids = by_names
            .par_iter()
            .map(|&(_, _, _, i)| records[i as usize].record_id.clone())
            .collect();
        // Households and places are numbered as records join, in the sorted order, as a
        // record added alone is.
        let mut household_ids = vec![None; households.values.len()];
        let mut province_ids = vec![None; provinces.values.len()];
        let mut residence_ids = vec![None; residences.values.len()];
        let mut district_ids = vec![None; districts.values.len()];
        for &(_, _, _, i) in &by_names {
            let (ids, values) = prepared[i as usize];
            let [h, p, q, d] = refs[i as usize];
            let household = *household_ids[h as usize]
                .get_or_insert_with(|| ds.new_household(households.values[h as usize]));
            let place = |ids: &mut [Option<u16>], first: &FirstSeen, at: u32, table| match ids
                .get_mut(at as usize)
            {
                Some(id) => {
                    *id.get_or_insert_with(|| intern_place(table, Some(first.values[at as usize])))
                }
                None => 0,
            };
            let places = Places {
                province: place(&mut province_ids, &provinces, p, &mut ds.provinces),
                residence: place(&mut residence_ids, &residences, q, &mut ds.residences),
                district: place(&mut district_ids, &districts, d, &mut ds.districts),
            };
            let idx = ds.recs.len() as u32;
            ds.join_household(household, idx, values.phone);
            let rec = ds.assemble(ids, values, household, places, true);
            ds.recs.push(rec);
        }
        for (idx, id) in ds.record_ids.iter().enumerate() {
            ds.by_record_id.insert(id.clone(), idx as u32);
        }
        ds.drop_common_keys();
        ds
    }

    /// A key shared by a large share of all names ("Mohammad" in Mohammad Nabi) puts the name
    /// in a bucket so large that its neighbours are mostly strangers; where a name has a
    /// rarer key (Nabi, MohammadNabi), only the rarer ones are kept. Slip keys are kept whole:
    /// they only ever stand with a father's name, or a province, sex and birth period.
    fn drop_common_keys(&mut self) {
        let mut uses: FxHashMap<u64, u64> = FxHashMap::default();
        let mut total = 0u64;
        for r in &self.recs {
            for &n in r.names.iter().filter(|&&n| n != NO_NAME) {
                total += 1;
                for &k in &self.names[n as usize].keys {
                    *uses.entry(k).or_default() += 1;
                }
            }
        }
        let common =
            |k: &u64| uses.get(k).copied().unwrap_or(0) as f64 > COMMON_KEY_SHARE * total as f64;
        for info in &mut self.names {
            if info.keys.iter().any(|k| !common(k)) {
                info.keys.retain(|k| !common(k));
            }
        }
    }

    fn intern_normalised(&mut self, text: &str, name: Name) -> u32 {
        // The code of the name without its optional parts: Mohammad Usman and Usman are one
        // name, for how common it is and for whether two records carry the same name. A
        // particle is kept: Aminullah and Amin, Abdul Rahman and Rahman are two names, alike
        // (a shortening is compared as a similar name) but not one.
        let mut core = Code::default();
        for u in name.units.iter().filter(|u| u.role != UnitRole::Optional) {
            core.extend(&u.code);
        }
        if core.is_empty() {
            core = name.joined;
        }
        let next_code = self.codes.len() as u32;
        if let Some(j) = &mut self.probe_journal
            && !self.codes.contains_key(&core)
        {
            j.codes.push(core);
        }
        let code = *self.codes.entry(core).or_insert(next_code);
        let coarse = blocking_keys(&name);
        let keys = coarse.iter().map(hash_of).collect();
        let slips = slip_keys(&coarse).iter().map(hash_of).collect();
        let mut order = [0u8; 4];
        if let Some(first) = coarse.last() {
            for (o, b) in order.iter_mut().zip(first.bytes()) {
                *o = b;
            }
        }
        let order = u32::from_be_bytes(order);
        let id = self.names.len() as u32;
        self.names.push(NameInfo {
            name,
            keys,
            slips,
            order,
        });
        self.name_codes.push(code);

        if let Some(j) = &mut self.probe_journal {
            j.texts.push(text.to_string());
        }
        self.name_ids.insert(text.to_string(), id);
        id
    }

    fn intern_name(&mut self, value: &Option<String>) -> u32 {
        let Some(text) = present(value) else {
            return NO_NAME;
        };
        if let Some(&id) = self.name_ids.get(text) {
            return id;
        }
        let name = normalize(text);
        self.intern_normalised(text, name)
    }

    /// The compact form of a record whose names are interned, values worked out and places
    /// numbered; its names count towards term frequencies only when it joins the dataset
    /// (`count`).
    fn assemble(
        &mut self,
        ids: [u32; 4],
        values: Values,
        household: u32,
        places: Places,
        count: bool,
    ) -> Rec {
        let rec = self.assemble_shared(ids, values, household, places);
        if count {
            for f in 0..4 {
                if rec.names[f] == NO_NAME {
                    continue;
                }
                let code = rec.codes[f] as usize;
                let counts = &mut self.code_counts[f];
                if counts.len() <= code {
                    counts.resize(code + 1, 0);
                }
                counts[code] += 1;
                self.field_totals[f] += 1;
            }
        }
        rec
    }

    /// [`Dataset::assemble`] without counting: the dataset is only read.
    fn assemble_shared(
        &self,
        ids: [u32; 4],
        values: Values,
        household: u32,
        places: Places,
    ) -> Rec {
        let mut names = [NO_NAME; 4];
        let mut codes = [NO_NAME; 4];
        for (f, id) in ids.into_iter().enumerate() {
            // A name that only names a relative ("wife of Karim"), or only addresses her
            // ("Bibi"), says nothing of this person.
            let name = |id: u32| &self.names[id as usize].name;
            if id != NO_NAME && name(id).relation.is_none() && !name(id).is_form_of_address() {
                names[f] = id;
                codes[f] = self.name_codes[id as usize];
            }
        }
        // `name_values` put her husband's name in the father's slot; it counts as his only
        // where it could be read as a name.
        let husband_as_father =
            values.husband_as_father && names[NameField::Father as usize] != NO_NAME;
        let Values {
            sex,
            husband_as_father: _,
            birth,
            birth_day,
            registered,
            document,
            phone,
            document_digits,
        } = values;
        Rec {
            household,
            names,
            codes,
            sex,
            husband_as_father,
            birth,
            birth_day,
            province: places.province,
            residence: places.residence,
            district: places.district,
            registered,
            document,
            phone,
            document_digits,
        }
    }

    /// Adds one record (a registration saved at a desk) and returns its index.
    pub fn push(&mut self, r: &MatchRecord) -> u32 {
        // A probe's names must not be forgotten from under a record that shares them.
        self.forget_probe();
        let ids = name_values(r).map(|v| self.intern_name(v));
        self.push_prepared(r, ids, Values::of(r))
    }

    /// [`Dataset::push`] with the record's names interned and its values worked out.
    fn push_prepared(&mut self, r: &MatchRecord, ids: [u32; 4], values: Values) -> u32 {
        let idx = self.recs.len() as u32;
        let household = match self.households.get(&r.household) {
            Some(&h) => h,
            None => self.new_household(&r.household),
        };
        self.join_household(household, idx, values.phone);
        let places = self.intern_places(r);
        let rec = self.assemble(ids, values, household, places, true);
        self.recs.push(rec);
        self.by_record_id.insert(r.record_id.clone(), idx);
        self.record_ids.push(r.record_id.clone());
        idx
    }

    /// The interned places of a record.
    fn intern_places(&mut self, r: &MatchRecord) -> Places {
        Places {
            province: intern_place(&mut self.provinces, present(&r.province_code)),
            residence: intern_place(&mut self.residences, present(&r.residence_code)),
            district: intern_place(&mut self.districts, present(&r.district_code)),
        }
    }

    /// The places of a record that is not added, as far as the dataset has seen them.
    fn seen_places(&self, r: &MatchRecord) -> Places {
        Places {
            province: seen_place(&self.provinces, present(&r.province_code)),
            residence: seen_place(&self.residences, present(&r.residence_code)),
            district: seen_place(&self.districts, present(&r.district_code)),
        }
    }

    /// Numbers a household reference not seen before.
    fn new_household(&mut self, reference: &str) -> u32 {
        let h = self.households.len() as u32;
        self.households.insert(reference.to_string(), h);
        self.household_members.push(Vec::new());
        self.household_phones.push(0);
        h
    }

    /// Counts record `idx`, with its phone (0 if none), a member of `household`.
    fn join_household(&mut self, household: u32, idx: u32, phone: u64) {
        self.household_members[household as usize].push(idx);
        let family = &mut self.household_phones[household as usize];
        if *family == 0 {
            *family = phone;
        }
    }

    /// The phone of a record's family: its own, or else the one its household gave (0 when
    /// neither is known).
    pub(crate) fn family_phone(&self, r: &Rec) -> u64 {
        if r.phone != 0 {
            return r.phone;
        }
        self.household_phones
            .get(r.household as usize)
            .copied()
            .unwrap_or(0)
    }

    /// The compact form of a record that is not added: a tracing request, a search. Names
    /// it brings are kept only until [`Dataset::forget_probe`].
    pub(crate) fn probe(&mut self, r: &MatchRecord) -> Rec {
        self.probes(std::slice::from_ref(r))[0]
    }

    /// [`Dataset::probe`] for several probes at once, their names all kept until
    /// [`Dataset::forget_probe`]: a batch of tracing requests is then searched side by side.
    pub(crate) fn probes(&mut self, rs: &[MatchRecord]) -> Vec<Rec> {
        self.forget_probe();
        self.probe_journal = Some(ProbeJournal {
            names: self.names.len(),
            ..ProbeJournal::default()
        });
        rs.iter().map(|r| self.journaled_probe(r)).collect()
    }

    /// A probe's compact form, its new names noted in the open probe journal.
    fn journaled_probe(&mut self, r: &MatchRecord) -> Rec {
        let household = self.household_of(&r.household).unwrap_or(u32::MAX);
        let ids = name_values(r).map(|v| self.intern_name(v));
        let places = self.seen_places(r);
        self.assemble(ids, Values::of_probe(r), household, places, false)
    }

    /// The compact form of a probe whose names the dataset already holds, read without
    /// changing the dataset, so that several checks can run side by side. `None` when a name
    /// is new to the dataset: [`Dataset::probe`] must then add it for a while.
    pub(crate) fn probe_known(&self, r: &MatchRecord) -> Option<Rec> {
        self.known(r, Values::of_probe(r))
    }

    /// The compact form a record would be stored in, if the dataset holds its names: what a
    /// record already added is compared against to tell whether it changed.
    pub(crate) fn stored_form(&self, r: &MatchRecord) -> Option<Rec> {
        self.known(r, Values::of(r))
    }

    fn known(&self, r: &MatchRecord, values: Values) -> Option<Rec> {
        let mut ids = [NO_NAME; 4];
        for (f, value) in name_values(r).into_iter().enumerate() {
            if let Some(text) = present(value) {
                ids[f] = *self.name_ids.get(text)?;
            }
        }
        let household = self.household_of(&r.household).unwrap_or(u32::MAX);
        let places = self.seen_places(r);
        Some(self.assemble_shared(ids, values, household, places))
    }

    /// Forgets the names and codes the last probe brought. Their ids will be given to other
    /// names, so caches keyed by name id are told by a new generation.
    pub(crate) fn forget_probe(&mut self) {
        let Some(j) = self.probe_journal.take() else {
            return;
        };
        if self.names.len() == j.names {
            return;
        }
        self.names.truncate(j.names);
        self.name_codes.truncate(j.names);
        for t in &j.texts {
            self.name_ids.remove(t);
        }
        for c in &j.codes {
            self.codes.remove(c);
        }
        self.generation = GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The interned household of a household reference, if any record has it.
    pub(crate) fn household_of(&self, reference: &str) -> Option<u32> {
        self.households.get(reference).copied()
    }

    pub fn len(&self) -> usize {
        self.recs.len()
    }

    /// How many distinct names the dataset holds.
    pub fn distinct_names(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// Stops finding a record by its record id (the person was erased); returns its index.
    /// Its compact values stay until the dataset is built again.
    pub fn forget_record_id(&mut self, record_id: &str) -> Option<u32> {
        self.by_record_id.remove(record_id)
    }

    /// The index of a record by its record id.
    pub fn index_of(&self, record_id: &str) -> Option<u32> {
        self.by_record_id.get(record_id).copied()
    }

    pub fn record_id(&self, idx: u32) -> &str {
        &self.record_ids[idx as usize]
    }

    pub(crate) fn name_info(&self, id: u32) -> &NameInfo {
        &self.names[id as usize]
    }

    /// The interned phonetic code of a name's core parts.
    pub(crate) fn name_code(&self, id: u32) -> u32 {
        self.name_codes[id as usize]
    }

    /// How common a phonetic code is in a field: the share of records with that field that
    /// carry it.
    pub(crate) fn code_frequency(&self, field: NameField, code: u32) -> f64 {
        let f = field as usize;
        let code = code as usize;
        let count = self.code_counts[f].get(code).copied().unwrap_or(0).max(1);
        f64::from(count) / f64::from(self.field_totals[f].max(1))
    }

    /// Whether two records were registered together (and so are different people).
    pub(crate) fn same_household(&self, a: u32, b: u32) -> bool {
        self.recs[a as usize].household == self.recs[b as usize].household
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, household: &str, given: &str) -> MatchRecord {
        MatchRecord {
            record_id: id.into(),
            household: household.into(),
            given_name: Some(given.into()),
            ..MatchRecord::default()
        }
    }

    #[test]
    fn a_probe_is_compared_without_the_day_it_was_typed() {
        let registered = MatchRecord {
            registered_on: Some("2025-03-01".parse().unwrap()),
            ..record("a", "h1", "karim")
        };
        let mut ds = Dataset::build(std::slice::from_ref(&registered));
        assert_ne!(ds.recs[0].registered, 0, "a registration keeps its day");
        let typed = MatchRecord {
            record_id: "b".into(),
            household: "h2".into(),
            ..registered.clone()
        };
        assert_eq!(ds.probe_known(&typed).map(|p| p.registered), Some(0));
        assert_eq!(ds.probe(&typed).registered, 0);
        let pushed = ds.push(&typed);
        assert_eq!(ds.recs[pushed as usize].registered, ds.recs[0].registered);
    }

    #[test]
    fn spellings_share_a_code_and_frequencies_count_codes() {
        let ds = Dataset::build(&[
            record("a", "h1", "mohammad nabi"),
            record("b", "h2", "muhammad nabi"),
            record("c", "h2", "karim"),
        ]);
        // Records are kept in an order of their own (by name): found by their ids.
        let idx = |id: &str| ds.index_of(id).unwrap();
        let (a, b, c) = (idx("a"), idx("b"), idx("c"));
        let rec = |i: u32| ds.recs[i as usize];
        let code = |i: u32| ds.name_code(rec(i).names[0]);
        assert_ne!(rec(a).names[0], rec(b).names[0]);
        assert_eq!(code(a), code(b));
        assert_ne!(code(a), code(c));
        assert_eq!(rec(a).codes[0], code(a), "records carry their names' codes");
        assert!((ds.code_frequency(NameField::Given, code(a)) - 2.0 / 3.0).abs() < 1e-9);
        assert!(ds.same_household(b, c));
        assert!(!ds.same_household(a, b));
        assert_eq!(ds.record_id(c), "c");
    }

    #[test]
    fn probes_leave_their_places_behind_and_compare_by_them() {
        let at = |id: &str, residence: &str| MatchRecord {
            residence_code: Some(residence.into()),
            ..record(id, id, "karim")
        };
        let mut ds = Dataset::build(&[at("a", "PK-peshawar"), at("b", "~boardbazar")]);
        let places = ds.residences.len();
        for typed in [
            "~b",
            "~bo",
            "~boa",
            "PK-quetta",
            "~boardbazar",
            "PK-peshawar",
        ] {
            let probe = ds.probe(&at("", typed));
            let [peshawar, bazar] = [0, 1].map(|i| {
                let i = ds.index_of(["a", "b"][i]).unwrap() as usize;
                crate::compare::compare(&ds, &probe, &ds.recs[i]).level(10)
            });
            let expected = match typed {
                "~boardbazar" => [0, 1],
                "PK-peshawar" => [1, 0],
                "PK-quetta" => [2, 0],
                _ => [0, 2],
            };
            assert_eq!([peshawar, bazar], expected, "{typed}");
            ds.forget_probe();
        }
        assert_eq!(ds.residences.len(), places, "typed places are not kept");
    }

    #[test]
    fn a_relative_only_name_is_no_name() {
        let ds = Dataset::build(&[record("a", "h1", "wife of karim")]);
        assert_eq!(ds.recs[0].name(NameField::Given), None);
    }

    #[test]
    fn bibi_alone_is_no_name_and_bibi_gul_is_one() {
        let ds = Dataset::build(&[record("a", "h1", "بی بی"), record("b", "h2", "Bibi Gul")]);
        assert_eq!(ds.recs[0].name(NameField::Given), None);
        assert!(ds.recs[1].name(NameField::Given).is_some());
    }
}
