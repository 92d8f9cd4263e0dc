//! The Fellegi–Sunter model: for each field and level, how often it occurs among true matches
//! (m) and among non-matches (u). A level's evidence is log2(m/u) bits; the bits of all fields,
//! plus the prior, give the match weight and from it a probability.
//!
//! Nothing is labelled. u comes from random pairs of records (almost all non-matches); m from
//! expectation–maximisation sessions on pairs chosen for sharing one thing (see `train` in the
//! crate root); the prior from the expected number of matches among the candidate pairs. An
//! exact or variant name agreement is weighed by how common the name is: a shared rare name says
//! more than a shared Mohammad.

use rustc_hash::FxHashMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::compare::{
    DIFFERENT_NAME, DIFFERENT_SEX, FIELD_COUNT, FIELDS, Field, GARBLED, HOUSEHOLD_LEVELS,
    MAX_LEVELS, MISSING, Pattern, TYPO, compare, same_years,
};
use crate::dataset::{Dataset, NAME_FIELDS, NO_NAME, Rec};

/// How many ended cases the registry's own agreement shares count as when learning how
/// requests compare (see [`Model::requests_compared`]).
const REGISTRY_COUNTS_AS_CASES: f64 = 20.0;

/// How relatives' requests compared with the registrations of the people they sought, in
/// cases that ended with the person found: for each field, the share of each level among
/// the cases where both gave it (`None`: no case gave it).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestsCompared {
    m: [Option<[f64; MAX_LEVELS]>; FIELD_COUNT],
    /// What a request's evidence is multiplied by so that its candidates' probabilities
    /// mean what they say in the cases that ended, found or not. A name implies a sex, a
    /// father's name often a family name: counted field by field, as if each said something
    /// of its own, the evidence says more than it does.
    pub(crate) evidence_scale: f64,
    /// How far the prior is moved, in bits: the share of people sought who registered says
    /// how many are in the registry, not how many what relatives remember can find there.
    pub(crate) prior_shift: f64,
}

/// Probabilities are kept away from 0 and 1 so that no single field is infinitely certain.
const FLOOR: f64 = 1e-5;
/// No way a true match can be recorded is rarer than this: a clerk can mistype a sex or a
/// province. It caps the evidence any one disagreement carries at about 7 bits.
const M_FLOOR: f64 = 0.005;
/// The most a common-name correction may add for a rare name, in bits.
const MAX_FREQUENCY_BONUS: f64 = 8.0;
/// The most household context may add, in bits: it supports a match, it cannot make one.
const MAX_HOUSEHOLD_BITS: f64 = 8.0;
/// The household level at which only a few other members of the two households match (see
/// [`crate::compare::household_level`]). It never counts for a pair: it is what a family
/// that split shows, and as much what two families of namesakes show, and the namesakes' pairs
/// are the very ones whose names agree. Learnt from all candidate pairs, it counted seven bits
/// for, and among a million people linked three namesakes for each relative.
const FEW_OTHERS_MATCH: u8 = 3;

/// A trained model, stored with the identities it produced and used by explain and search.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Model {
    /// Prior probability that a candidate pair is one person.
    pub lambda: f64,
    /// m and u by field, then level (level 0, missing, is unused).
    pub m: Vec<Vec<f64>>,
    pub u: Vec<Vec<f64>>,
    pub random_pairs: u64,
    pub candidate_pairs: u64,
    pub em_iterations: u32,
    /// Prior probability that two registrations of two people or more are one family
    /// registered twice (see the `household` module); 0 in a model stored before households
    /// were compared as units, which then stands in the person prior.
    #[serde(default)]
    pub household_lambda: f64,
    /// Evidence against two registrations being one family, in bits, for each member of the
    /// smaller with no one in the larger (see the `household` module); 0 in a model stored
    /// before it was learnt, which then stands in a bit.
    #[serde(default)]
    pub unaligned_bits: f64,
    /// u among the members left over in families, by field and level: how two members of
    /// one family registered twice, left over once the likeliest were matched (see the
    /// `family` module), compare in what each has of their own (given name, birth, sex,
    /// document). How often each is missing is learnt from the registry's families; where
    /// present, its levels are u's. Empty in a model stored before it was learnt.
    #[serde(default)]
    pub left_over_u: Vec<Vec<f64>>,
    /// m among the members left over in families, by field and level: how one person's two
    /// registrations compare there. Those whose given names agree were matched already, so
    /// those left are more often a woman named by her relation at one crossing point (no
    /// given name) or a child whose name was written quite differently: how often each field
    /// is missing, and how the given names compare, are learnt from the registry's families;
    /// the other levels, where present, are m's. Empty where not learnt.
    #[serde(default)]
    pub left_over_m: Vec<Vec<f64>>,
    /// Of the pairs deduplication linked whose given names both give, the share whose given
    /// names agree only crossed, in each other's boxes (see `compare`): how often the
    /// registry's clerks swap names between boxes. `None` in a model stored before it was
    /// learnt.
    #[serde(default)]
    pub crossed_share: Option<f64>,
    /// By name field, the share of random pairs of registrations (both giving the name) whose
    /// names are one slip from alike without being alike or a clerk's typo apart (see
    /// `compare::with_request_slips`): how often strangers' names meet so. A relative's
    /// request weighs such a name by it. `None` in a model stored before it was learnt.
    #[serde(default)]
    pub slip_share: Option<[f64; 4]>,
}

/// One field's part in a match weight.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contribution {
    pub field: Field,
    pub level: &'static str,
    /// Evidence in bits: positive for a match, negative against.
    pub weight: f64,
    /// The common-name correction included in `weight`, in bits, where one applied.
    pub frequency_adjustment: Option<f64>,
    /// Why the field was weighed otherwise than its level alone says, where it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<Note>,
}

/// A reason the model weighed a field otherwise than usual.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Note {
    /// One registration names her only as "wife of" a man and gives no father: his name was
    /// set against the other's father's name (where relatives often give a married woman's
    /// husband), and a father's name that does not agree with it counted for nothing.
    HusbandAsFather,
    /// The father's name a relative gave is not her father's but that of a man registered
    /// with her in her household, as relatives give a married woman's husband: it counted
    /// neither for nor against.
    HusbandInHousehold,
    /// The given name agrees only with a name in another box (the given name typed where the
    /// father's or family name goes, and that one in its place): weighed as agreeing, less
    /// the chance of such a swap, as often as the registry's clerks make it.
    NamesCrossed,
    /// A relative's request gives a name one sound from the registration's (one left out, the
    /// first too, or one changed, not the first; in either script): weighed as a clerk's typo,
    /// less how often strangers' names meet so, and never less than the name counts as
    /// written.
    SlipInRequest,
}

/// A pair's match weight, field by field.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Explanation {
    /// The prior, in bits.
    pub prior: f64,
    pub fields: Vec<Contribution>,
    pub weight: f64,
    /// The probability that the two are one person. For a search's candidate it also weighs
    /// the other candidates: two namesakes who fit equally well cannot both be likely.
    pub probability: f64,
    /// Where the two were judged as members of two registrations of one family: how many
    /// members of each match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<FamilyEvidence>,
    /// Where other members of the two households fit one of the two as well (a person is at
    /// most one member of another household): what the probability was before they were
    /// weighed against it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rivals: Option<Rivals>,
}

/// Other members of the two households who fit one of the two records: a girl's pair with her
/// sister's second registration, beside the pair with her own.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rivals {
    /// How many other members fit at all.
    pub members: usize,
    /// The pair's probability on its own evidence, before the other members were weighed.
    pub probability_alone: f64,
}

/// Two registrations of a household judged as one family: "5 of 6 members match".
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FamilyEvidence {
    /// Members of the two registrations matched one to one.
    pub matching_members: usize,
    /// Members of the larger of the two registrations.
    pub members: usize,
    /// The probability that the two registrations are one family.
    pub probability: f64,
}

fn clamp(p: f64) -> f64 {
    p.clamp(FLOOR, 1.0 - FLOOR)
}

/// A level's evidence, log2(m/u), with m and u kept off their floors.
fn level_bits(m: f64, u: f64) -> f64 {
    (m.clamp(M_FLOOR, 1.0 - FLOOR) / clamp(u)).log2()
}

pub(crate) fn probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}

/// The least 32-bit weight whose [`probability`] reaches `threshold`: comparing a hundred
/// million weights with it gives the same answers as their probabilities would, without an
/// exponential each.
pub(crate) fn weight_reaching(threshold: f64) -> f32 {
    let reaches = |w: f32| probability(f64::from(w)) >= threshold;
    // Beyond ±160 a weight's probability is 0 or 1 for any threshold a person would set.
    let (mut below, mut above) = (-160.0f32, 160.0f32);
    if reaches(below) {
        return f32::NEG_INFINITY;
    }
    if !reaches(above) {
        return f32::INFINITY;
    }
    // The probability rises with the weight: halve the interval down to two neighbours.
    loop {
        let mid = below + (above - below) / 2.0;
        if mid <= below || mid >= above {
            return above;
        }
        if reaches(mid) {
            above = mid;
        } else {
            below = mid;
        }
    }
}

impl Model {
    /// log2(m/u) of one field's level, without the common-name correction. A model stored
    /// before a field or level existed gives a new level the weight of the one it refines
    /// (see [`Field::older_level`]), and a new field none.
    pub fn level_weight(&self, f: usize, level: u8) -> f64 {
        if level == MISSING {
            return 0.0;
        }
        let learnt = |l: u8| {
            let m = *self.m.get(f)?.get(l as usize)?;
            let u = *self.u.get(f)?.get(l as usize)?;
            (m > 0.0 || u > 0.0).then_some((m, u))
        };
        match learnt(level).or_else(|| FIELDS[f].older_level(level).and_then(learnt)) {
            Some((m, u)) => level_bits(m, u),
            None => 0.0,
        }
    }

    /// log2(m/u) of one of a person's own fields' level among members left over in families
    /// ([`Model::left_over_m`], [`Model::left_over_u`]); `None` in a model stored before they
    /// were learnt, or for a field the family shares. Whether the field is missing is evidence
    /// of its own there; a level of a field present is weighed among the pairs where it is
    /// present, so that two document numbers that differ stay as telling as anywhere.
    fn left_over_weight(&self, f: usize, level: u8) -> Option<f64> {
        if !FIELDS[f].personal() {
            return None;
        }
        let u = self.left_over_u.get(f)?;
        let m = self.left_over_m.get(f).unwrap_or(self.m.get(f)?);
        let (m0, u0) = (*m.first()?, *u.first()?);
        let (ml, ul) = (*m.get(level as usize)?, *u.get(level as usize)?);
        if ml <= 0.0 && ul <= 0.0 {
            // A level never seen in a family, nor across the registry.
            return Some(0.0);
        }
        if level == MISSING {
            return Some((clamp(m0) / clamp(u0)).log2());
        }
        let present = ((1.0 - m0).max(FLOOR) / (1.0 - u0).max(FLOOR)).log2();
        let (ml, ul) = (ml / (1.0 - m0).max(FLOOR), ul / (1.0 - u0).max(FLOOR));
        Some(present + level_bits(ml, ul))
    }

    /// Each of a person's own fields' log2(m/u) among members left over in families, by field
    /// and level (0 for the fields a family shares); `None` where not learnt.
    pub(crate) fn left_over_table(&self) -> Option<[[f64; MAX_LEVELS]; FIELD_COUNT]> {
        if self.left_over_u.is_empty() {
            return None;
        }
        let mut table = [[0.0; MAX_LEVELS]; FIELD_COUNT];
        for (f, row) in table.iter_mut().enumerate() {
            for (l, w) in row.iter_mut().enumerate() {
                *w = self.left_over_weight(f, l as u8).unwrap_or(0.0);
            }
        }
        Some(table)
    }

    /// The prior, in bits, that two registrations of a family of two or more are one family.
    pub(crate) fn household_prior(&self) -> f64 {
        if self.household_lambda <= 0.0 {
            return self.prior();
        }
        let lambda = self.household_lambda.clamp(1e-15, 0.5);
        (lambda / (1.0 - lambda)).log2()
    }

    /// The evidence against two registrations being one family for each member of the
    /// smaller with no one in the larger, in bits.
    pub(crate) fn unaligned_bits(&self) -> f64 {
        if self.unaligned_bits > 0.0 {
            self.unaligned_bits
        } else {
            crate::household::LEAST_UNALIGNED_BITS
        }
    }

    pub(crate) fn prior(&self) -> f64 {
        // Not clamped like m and u: in a million records the prior is far below their floor.
        let lambda = self.lambda.clamp(1e-15, 0.5);
        (lambda / (1.0 - lambda)).log2()
    }

    /// The model's weights laid out for scoring millions of pairs: every level's log2(m/u)
    /// computed once instead of once per pair.
    pub(crate) fn scorer(&self) -> Scorer {
        let mut table = [[0.0; MAX_LEVELS]; FIELD_COUNT];
        for (f, row) in table.iter_mut().enumerate() {
            for (l, w) in row.iter_mut().enumerate().skip(1) {
                *w = self.level_weight(f, l as u8);
            }
        }
        let mut u_exact = [0.0; 4];
        for (f, u) in u_exact.iter_mut().enumerate() {
            *u = clamp(self.u[f][1]);
        }
        Scorer {
            prior: self.prior(),
            table,
            left_over: None,
            u_exact,
            strict_kinship: false,
            relatives_request: false,
            evidence_scale: 1.0,
            crossed_bits: 0.0,
            reads_slips: false,
            slip_bits: [0.0; 4],
            slips_unread: false,
        }
    }

    /// The scorer for a pair of members left over in two registrations of one family once the
    /// likeliest were matched, as deduplication matches them (see the `family` module): a
    /// person's own fields weighed as among those left over, where that was learnt. Not for
    /// a household at the desk, or two households compared as units: their members were not
    /// chosen by having been left over, and a name that agrees says there what it says
    /// anywhere.
    pub(crate) fn left_over_scorer(&self) -> Scorer {
        Scorer {
            left_over: self.left_over_table(),
            ..self.scorer()
        }
    }

    /// The scorer for a person sought or typed at a desk against the registry: there, plainly
    /// different given names make shared family fields count for nothing even when the birth
    /// years agree. A registry's two records of one person may carry a garbled given name; a
    /// request or a desk rarely gets the person's own name wrong, while brothers, sisters and
    /// twins of the same years share everything else.
    pub(crate) fn probe_scorer(&self) -> Scorer {
        Scorer {
            strict_kinship: true,
            ..self.scorer()
        }
    }

    /// What a relative's request's slip (see [`Scorer::slip_bits`]) counts for, by name field:
    /// log2 of the typo level's u over the slips' share among strangers. Never more than a
    /// typo's weight.
    fn slip_bits(&self) -> [f64; 4] {
        let Some(share) = self.slip_share else {
            return [0.0; 4];
        };
        std::array::from_fn(|f| {
            let typo = self.u.get(f).and_then(|u| u.get(TYPO as usize)).copied();
            typo.map_or(0.0, |typo| {
                (clamp(typo) / share[f].clamp(FLOOR, 1.0)).log2().min(0.0)
            })
        })
    }

    /// [`Model::probe_scorer`] for a tracing request among `records` registrations: its
    /// prior is not deduplication's (how many pairs of registrations are one person) but the
    /// chance that the person sought registered at all, `registered`, spread over the people
    /// the registry holds. Against it stands "the person sought is not in the registry".
    /// Where cases have ended with the person found, `requests` is how their requests
    /// compared with the registrations found (see [`Model::requests_compared`]): a field's
    /// levels are then weighed as relatives write them, not as a second registration would.
    pub(crate) fn tracing_scorer(
        &self,
        records: usize,
        registered: f64,
        requests: Option<&RequestsCompared>,
    ) -> Scorer {
        let n = records as f64;
        let repeats = self.lambda.clamp(0.0, 0.5) * n * (n - 1.0) / 2.0;
        let people = (n - repeats).max(n / 4.0).max(1.0);
        let registered = registered.clamp(0.001, 0.999);
        let mut scorer = Scorer {
            prior: (registered / (1.0 - registered)).log2() - people.log2(),
            relatives_request: true,
            crossed_bits: self
                .crossed_share
                .map_or(0.0, |share| share.clamp(FLOOR, 1.0).log2()),
            reads_slips: self.slip_share.is_some(),
            slip_bits: self.slip_bits(),
            ..self.probe_scorer()
        };
        if let Some(requests) = requests {
            scorer.evidence_scale = requests.evidence_scale;
            scorer.prior += requests.prior_shift;
            for (f, row) in requests.m.iter().enumerate() {
                let Some(row) = row else { continue };
                let Some(u) = self.u.get(f) else { continue };
                let present = (1.0 - u[0]).max(FLOOR);
                let registry = self.m.get(f);
                for (l, &m) in row.iter().enumerate().take(u.len()).skip(1) {
                    // A level the registry's model never saw (one stored before the level
                    // existed) keeps the weight it is given there, that of the level it refines.
                    if registry.and_then(|r| r.get(l)).is_some_and(|&rm| rm > 0.0) || u[l] > 0.0 {
                        scorer.table[f][l] = level_bits(m, u[l] / present);
                    }
                }
            }
        }
        scorer
    }

    /// How the requests of cases that ended with the person found compared with the
    /// registrations found, one pattern each. A relative's memory is not a registrar's form:
    /// an age some years off, a name heard and written in the other script, a province given
    /// where the registration has none. For each field both give, the share of each level is
    /// counted among those cases, starting from the registry's own shares as if they were
    /// [`REGISTRY_COUNTS_AS_CASES`] cases, so that a first few cases move it a little and a
    /// season of cases outweighs it. Whether a request gives a field at all is the family's
    /// memory, not evidence, and is not learnt.
    pub(crate) fn requests_compared(&self, found: &[Pattern]) -> RequestsCompared {
        let mut m = [const { None }; FIELD_COUNT];
        for (f, learnt) in m.iter_mut().enumerate() {
            let Some(registry) = self.m.get(f) else {
                continue;
            };
            let levels = registry.len().min(MAX_LEVELS);
            let mut counts = [0.0; MAX_LEVELS];
            for p in found {
                let l = p.level(f) as usize;
                if l != MISSING as usize && l < levels {
                    counts[l] += 1.0;
                }
            }
            let cases: f64 = counts.iter().sum();
            if cases == 0.0 {
                continue;
            }
            let present = (1.0 - registry[0]).max(FLOOR);
            let mut row = [0.0; MAX_LEVELS];
            for l in 1..levels {
                row[l] = (counts[l] + REGISTRY_COUNTS_AS_CASES * registry[l] / present)
                    / (cases + REGISTRY_COUNTS_AS_CASES);
            }
            *learnt = Some(row);
        }
        RequestsCompared {
            m,
            evidence_scale: 1.0,
            prior_shift: 0.0,
        }
    }

    pub(crate) fn probability(&self, ds: &Dataset, a: &Rec, b: &Rec, p: Pattern) -> f64 {
        self.scorer().probability(ds, a, b, p)
    }

    /// Each field's contribution to a compared pair's weight.
    pub(crate) fn explain(&self, ds: &Dataset, a: &Rec, b: &Rec, p: Pattern) -> Explanation {
        self.scorer().explain(ds, a, b, p)
    }
}

impl Scorer {
    /// A pair of members of two registrations of one family, as judged within the family
    /// (see the `family` module): only what each person has of their own counts (weighed as
    /// among members left over, by [`Model::left_over_scorer`]); what the family shares counts
    /// for nothing, and the household line carries the family's weight, the difference
    /// between the prior within the family and the registry's.
    pub(crate) fn explain_within_family(
        &self,
        ds: &Dataset,
        a: &Rec,
        b: &Rec,
        p: Pattern,
        family_prior: f64,
    ) -> Explanation {
        let mut e = self.explain(ds, a, b, p);
        // `explain` gives the fields in `FIELDS` order.
        for (f, c) in e.fields.iter_mut().enumerate() {
            if c.field == Field::Household {
                c.level = c.field.levels()[1];
                c.weight = family_prior - self.prior;
                c.frequency_adjustment = None;
            } else if !c.field.personal() {
                c.weight = 0.0;
                c.frequency_adjustment = None;
            } else if let Some(table) = &self.left_over {
                c.weight = table[f][p.level(f) as usize] + c.frequency_adjustment.unwrap_or(0.0);
            }
        }
        e.weight = e.prior + e.fields.iter().map(|c| c.weight).sum::<f64>();
        e.probability = probability(e.weight);
        e
    }

    /// Each field's contribution to a compared pair's weight.
    pub(crate) fn explain(&self, ds: &Dataset, a: &Rec, b: &Rec, p: Pattern) -> Explanation {
        let scorer = self;
        let prior = scorer.prior;
        let mut fields = Vec::with_capacity(FIELD_COUNT);
        let mut weight = prior;
        let family_kept = scorer.family_kept(ds, a, b, p);
        for (f, field) in FIELDS.iter().enumerate() {
            let level = p.level(f);
            let (w, adjustment) = scorer.field_weight(ds, a, b, p, f, family_kept);
            weight += w;
            let father = crate::dataset::NameField::Father;
            let husband = *field == Field::FatherName
                && a.husband_as_father != b.husband_as_father
                && a.name(father).is_some()
                && b.name(father).is_some();
            let crossed = f == 0 && scorer.crossed(ds, a, b, p);
            let slip = scorer.request_slip(ds, a, b, p, f);
            fields.push(Contribution {
                field: *field,
                level: field.levels()[level as usize],
                weight: w,
                frequency_adjustment: adjustment,
                note: (husband.then_some(Note::HusbandAsFather))
                    .or(crossed.then_some(Note::NamesCrossed))
                    .or(slip.then_some(Note::SlipInRequest)),
            });
        }
        Explanation {
            prior,
            fields,
            weight,
            probability: probability(weight),
            family: None,
            rivals: None,
        }
    }
}

/// A model's weights, precomputed for scoring.
#[derive(Clone)]
pub(crate) struct Scorer {
    prior: f64,
    table: [[f64; MAX_LEVELS]; FIELD_COUNT],
    /// Each of a person's own fields' log2(m/u) among members left over in families
    /// ([`Model::left_over_scorer`]); `None` in any other scorer, or where not learnt.
    left_over: Option<[[f64; MAX_LEVELS]; FIELD_COUNT]>,
    /// u of the exact level of each name field, for the common-name correction.
    u_exact: [f64; 4],
    /// The kinship rule applies whatever the birth years (see [`Model::probe_scorer`]).
    strict_kinship: bool,
    /// The probe is a relative's tracing request (see [`Model::tracing_scorer`]), who may give
    /// a married woman's husband where her father's name goes.
    relatives_request: bool,
    /// What every field's evidence is multiplied by: 1 but for tracing requests once ended
    /// cases have shown how far the fields' evidence, counted as if each said something of
    /// its own, overstates what they say together (see [`RequestsCompared::evidence_scale`]).
    evidence_scale: f64,
    /// Added to a relative's request's evidence where its given name agrees only crossed:
    /// log2 of how often clerks swap names between boxes (see [`Model::crossed_share`]). A
    /// swap explains such agreement only as often as swaps happen, while two strangers' names
    /// meet crossed about as often as straight. 0 for the registry's own pairs, whose weights
    /// were learnt with the swaps among them.
    crossed_bits: f64,
    /// Whether a name of the probe one slip from the registration's is read as such (see
    /// `compare::with_request_slips`): for a relative's request, where the model counted how
    /// often strangers' names meet so.
    reads_slips: bool,
    /// Added, by name field, to such a slip, which is weighed at the typo's level: log2 of
    /// the typo level's u over the share of strangers' names one slip off (see
    /// [`Model::slip_share`]), never above 0.
    slip_bits: [f64; 4],
    /// Set for a bound only (see [`Scorer::slips_unread`]).
    slips_unread: bool,
}

impl Scorer {
    /// Whether the probe is a relative's tracing request.
    pub(crate) fn relatives_request(&self) -> bool {
        self.relatives_request
    }

    /// This scorer with every name at the typo's level weighed as a clerk's typo or as the
    /// name unread, whichever counts more: never less than this one's weight of a pattern,
    /// and found without reading the names.
    pub(crate) fn slips_unread(&self) -> Scorer {
        Scorer {
            slip_bits: [0.0; 4],
            slips_unread: true,
            // Never more than 0, and found by reading the names.
            crossed_bits: 0.0,
            ..self.clone()
        }
    }

    /// Whether this scorer reads a probe's names one slip off as slips (see
    /// `compare::with_request_slips`).
    pub(crate) fn reads_slips(&self) -> bool {
        self.reads_slips
    }

    /// The common-name correction of a name agreement: log2(u / frequency of the name).
    fn frequency_adjustment(&self, ds: &Dataset, f: usize, a: &Rec, b: &Rec) -> f64 {
        let field = NAME_FIELDS[f];
        let (x, y) = (a.codes[field as usize], b.codes[field as usize]);
        if x == NO_NAME || y == NO_NAME {
            return 0.0;
        }
        let tf = ds.code_frequency(field, x).max(ds.code_frequency(field, y));
        (self.u_exact[f] / tf.max(FLOOR))
            .log2()
            .min(MAX_FREQUENCY_BONUS)
    }

    /// One field's evidence in a compared pair, in bits, with the common-name correction (if
    /// one applied) and the kinship rule: when the given names are plainly different and the
    /// birth years are not known to agree, or the sexes differ, what the two records share as a
    /// family (father's, grandfather's and family name, household, phone) is evidence of
    /// kinship (brothers and sisters share it), not of one person, and counts for nothing. A
    /// garbled given name with the same birth years keeps its family evidence: siblings are
    /// rarely born in the same year. So does a relative's request whose given name was read as
    /// one slip off (`family_kept`, see [`Scorer::family_kept`]).
    fn field_weight(
        &self,
        ds: &Dataset,
        a: &Rec,
        b: &Rec,
        p: Pattern,
        f: usize,
        family_kept: bool,
    ) -> (f64, Option<f64>) {
        let level = p.level(f);
        let adjustment = ((level == 1 || level == 2) && FIELDS[f].frequency_adjusted())
            .then(|| self.frequency_adjustment(ds, f, a, b));
        let scale = self.evidence_scale;
        let swap = if f == 0 && self.crossed(ds, a, b, p) {
            self.crossed_bits
        } else {
            0.0
        };
        let mut w = self.level_weight(p, f, adjustment, family_kept) + swap;
        if f < 4 && level == TYPO && (self.slips_unread || self.request_slip(ds, a, b, p, f)) {
            // Never less than the name would count unread, different or alike only in part:
            // a registry whose clerks make no typos learns that names one letter apart are
            // siblings', which says nothing of how relatives mishear a name.
            let unread = self
                .level_weight(p.with(f, DIFFERENT_NAME), f, None, false)
                .max(self.level_weight(p.with(f, GARBLED), f, None, false));
            w = (w + self.slip_bits[f]).max(unread);
        }
        (scale * w, adjustment.map(|a| scale * a))
    }

    /// Whether the pair's given names agree only crossed and that counts for less here. A
    /// request's given name one slip off is no crossing.
    fn crossed(&self, ds: &Dataset, a: &Rec, b: &Rec, p: Pattern) -> bool {
        self.crossed_bits != 0.0
            && crate::compare::crossed(ds, a, b, p)
            && !self.request_slip(ds, a, b, p, 0)
    }

    /// Whether a relative's request's given name was read as one slip off where the kinship
    /// rule would otherwise wipe the family it names: the name is the person's own misheard,
    /// and the family the person's. Asked once a pair, and only where the rule would hold:
    /// the reading is not free.
    fn family_kept(&self, ds: &Dataset, a: &Rec, b: &Rec, p: Pattern) -> bool {
        p.level(0) == TYPO
            && !years_agree(p)
            && (self.slips_unread || self.request_slip(ds, a, b, p, 0))
    }

    /// Whether field `f` is at the typo's level for a request's slip, where this scorer reads
    /// them (see `compare::with_request_slips`).
    fn request_slip(&self, ds: &Dataset, a: &Rec, b: &Rec, p: Pattern, f: usize) -> bool {
        self.reads_slips && crate::compare::request_slip(ds, a, b, p, f)
    }

    /// [`Scorer::field_weight`] with the common-name correction already found.
    fn level_weight(
        &self,
        p: Pattern,
        f: usize,
        adjustment: Option<f64>,
        family_kept: bool,
    ) -> f64 {
        let mut w = self.table[f][p.level(f) as usize] + adjustment.unwrap_or(0.0);
        let given = p.level(0);
        let years_agree = years_agree(p);
        // One letter apart, or alike in part, is a slip when the years agree, and as likely a
        // sister's name when they do not (Wahida, Wajida). Not in a relative's request read as
        // a slip: its names carry slips nobody saw typed, and its ages are a relative's guess.
        if FIELDS[f].kin_shared()
            && ((given == DIFFERENT_NAME && (self.strict_kinship || !years_agree))
                || ((given == TYPO || given == GARBLED) && !years_agree && !family_kept))
        {
            w = w.min(0.0);
        }
        // People registered in one week at one crossing point travelled together, as often as
        // not from one village: namesakes among them are cousins, not one person. The day
        // supports a match only where the fathers' names leave room for one; three girls named
        // Nasima of one age, registered on one day with three fathers, are three girls.
        if FIELDS[f] == Field::Registered && p.level(1) == DIFFERENT_NAME {
            w = w.min(0.0);
        }
        if FIELDS[f] == Field::Household {
            w = w.min(MAX_HOUSEHOLD_BITS);
            if p.level(f) == FEW_OTHERS_MATCH {
                w = w.min(0.0);
            }
        }
        w
    }

    /// The household context's evidence in a compared pair, in bits: the one field scored
    /// after all the others, so deduplication adds it to a weight found without it.
    pub(crate) fn household_weight(&self, p: Pattern) -> f64 {
        self.level_weight(p, Field::Household as usize, None, false)
    }

    /// The match weight of a compared pair, in bits.
    pub(crate) fn weight(&self, ds: &Dataset, a: &Rec, b: &Rec, p: Pattern) -> f64 {
        self.prior + self.evidence(ds, a, b, p)
    }

    /// The fields' evidence in a compared pair, in bits: its weight without the prior.
    pub(crate) fn evidence(&self, ds: &Dataset, a: &Rec, b: &Rec, p: Pattern) -> f64 {
        let family_kept = self.family_kept(ds, a, b, p);
        (0..FIELD_COUNT)
            .map(|f| self.field_weight(ds, a, b, p, f, family_kept).0)
            .sum::<f64>()
    }

    pub(crate) fn probability(&self, ds: &Dataset, a: &Rec, b: &Rec, p: Pattern) -> f64 {
        probability(self.weight(ds, a, b, p))
    }

    /// The prior, in bits: what a pair's weight is before any field is read.
    pub(crate) fn prior(&self) -> f64 {
        self.prior
    }

    /// The evidence of the fields that tell apart the members of one family (see
    /// [`Field::personal`]), in bits.
    pub(crate) fn personal_evidence(&self, ds: &Dataset, a: &Rec, b: &Rec, p: Pattern) -> f64 {
        let family_kept = self.family_kept(ds, a, b, p);
        (0..FIELD_COUNT)
            .filter(|&f| FIELDS[f].personal())
            .map(|f| self.field_weight(ds, a, b, p, f, family_kept).0)
            .sum::<f64>()
    }

    /// The common-name correction of a person's own fields (the given name) in a compared
    /// pair, in bits: a shared Mohammad says less than a shared rare name within a family too.
    pub(crate) fn personal_adjustment(&self, ds: &Dataset, a: &Rec, b: &Rec, p: Pattern) -> f64 {
        let family_kept = self.family_kept(ds, a, b, p);
        (0..FIELD_COUNT)
            .filter(|&f| FIELDS[f].personal())
            .filter_map(|f| self.field_weight(ds, a, b, p, f, family_kept).1)
            .sum()
    }
}

/// A compared pair's evidence by a table of a person's own fields' weights among members left
/// over in families ([`Model::left_over_table`]), in bits, without the common-name correction.
pub(crate) fn left_over_evidence(table: &[[f64; MAX_LEVELS]; FIELD_COUNT], p: Pattern) -> f64 {
    (0..FIELD_COUNT)
        .filter(|&f| FIELDS[f].personal())
        .map(|f| table[f][p.level(f) as usize])
        .sum()
}

/// Level frequencies among random pairs of records from different households: u.
pub(crate) fn estimate_u(ds: &Dataset, pairs: usize, seed: u64) -> (Vec<Vec<f64>>, [f64; 4]) {
    let n = ds.len();
    let mut counts = vec![vec![1.0f64; MAX_LEVELS]; FIELD_COUNT];
    // By name field: pairs one slip from alike (see `compare::with_request_slips`), and pairs
    // giving both names; as if one of each had been seen.
    let mut slips = [(1.0f64, 1.0f64); 4];
    if n < 2 {
        return (normalise(counts), [0.0; 4]);
    }
    let chunks = 16;
    let per_chunk = pairs.div_ceil(chunks);
    // Each chunk's level counts, and its (slips, pairs giving the name) by name field.
    type Counted = (Vec<Vec<f64>>, [(f64, f64); 4]);
    let partial: Vec<Counted> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (c as u64).wrapping_mul(0x9E37_79B9));
            let mut counts = vec![vec![0.0f64; MAX_LEVELS]; FIELD_COUNT];
            let mut slips = [(0.0f64, 0.0f64); 4];
            for _ in 0..per_chunk {
                let a = rng.random_range(0..n) as u32;
                let b = rng.random_range(0..n) as u32;
                if a == b || ds.same_household(a, b) {
                    continue;
                }
                let (ra, rb) = (&ds.recs[a as usize], &ds.recs[b as usize]);
                let p = compare(ds, ra, rb);
                for (f, c) in counts.iter_mut().enumerate() {
                    c[p.level(f) as usize] += 1.0;
                }
                let slipped = crate::compare::with_request_slips(ds, ra, rb, p);
                for (f, (found, given)) in slips.iter_mut().enumerate() {
                    if p.level(f) != MISSING {
                        *given += 1.0;
                        *found += f64::from(u8::from(slipped.level(f) != p.level(f)));
                    }
                }
            }
            (counts, slips)
        })
        .collect();
    for (part, part_slips) in partial {
        for (total, c) in counts.iter_mut().zip(part) {
            for (t, x) in total.iter_mut().zip(c) {
                *t += x;
            }
        }
        for (total, x) in slips.iter_mut().zip(part_slips) {
            total.0 += x.0;
            total.1 += x.1;
        }
    }
    (normalise(counts), slips.map(|(found, given)| found / given))
}

/// Makes each field's non-missing levels sum to one.
pub(crate) fn normalise(mut counts: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    for (f, c) in counts.iter_mut().enumerate() {
        let n = FIELDS[f].levels().len();
        let total: f64 = c[1..n].iter().sum();
        c[0] = 0.0;
        for x in &mut c[1..n] {
            *x = if total > 0.0 { *x / total } else { 0.0 };
        }
        for x in &mut c[n..] {
            *x = 0.0;
        }
    }
    counts
}

/// One training session of expectation–maximisation: on the counts of each comparison pattern
/// among a set of training pairs, learns m for the `learn` fields, holding u fixed, with the
/// `active` fields as evidence. Fields the training pairs were chosen by, or that those fields
/// imply (a shared given name implies a shared sex), are not evidence: their agreement is
/// forced, not observed. Returns the share of training pairs that are matches.
pub(crate) fn em_session(
    model: &mut Model,
    patterns: &FxHashMap<Pattern, u64>,
    active: &[Field],
    learn: &[Field],
) -> f64 {
    let index = |set: &[Field]| -> Vec<usize> {
        FIELDS
            .iter()
            .enumerate()
            .filter(|(_, f)| set.contains(f))
            .map(|(i, _)| i)
            .collect()
    };
    let (fields, learnt) = (index(active), index(learn));
    let patterns: Vec<(Pattern, f64)> = patterns.iter().map(|(&p, &c)| (p, c as f64)).collect();
    let total: f64 = patterns.iter().map(|(_, c)| c).sum();
    if total == 0.0 {
        return 0.0;
    }
    let mut lambda: f64 = 0.05;
    for iteration in 1..=100 {
        let mut m_counts = vec![vec![FLOOR; MAX_LEVELS]; FIELD_COUNT];
        let mut matched = 0.0;
        for &(p, count) in &patterns {
            let mut wm = lambda;
            let mut wu = 1.0 - lambda;
            for &f in &fields {
                let l = p.level(f) as usize;
                if l != 0 {
                    wm *= clamp(model.m[f][l]);
                    wu *= clamp(model.u[f][l]);
                }
            }
            let posterior = wm / (wm + wu);
            matched += posterior * count;
            for &f in &learnt {
                m_counts[f][p.level(f) as usize] += posterior * count;
            }
        }
        let m = normalise(m_counts);
        let new_lambda = clamp(matched / total);
        let mut change = (new_lambda - lambda).abs();
        for &f in &learnt {
            change += m[f]
                .iter()
                .zip(&model.m[f])
                .map(|(x, y)| (x - y).abs())
                .sum::<f64>();
            model.m[f] = m[f].clone();
        }
        lambda = new_lambda;
        model.em_iterations += 1;
        if change < 1e-6 || iteration == 100 {
            break;
        }
    }
    lambda
}

impl Model {
    /// A model to be trained: u from random pairs, m a neutral start (agreement likely among
    /// matches), the prior unknown.
    pub(crate) fn untrained(u: Vec<Vec<f64>>, random_pairs: u64) -> Model {
        let m = FIELDS
            .iter()
            .map(|f| {
                let n = f.levels().len();
                let mut levels = vec![0.0; MAX_LEVELS];
                // Most matches agree; the rest spread over the weaker levels.
                levels[1] = 0.8;
                for x in &mut levels[2..n] {
                    *x = 0.2 / (n - 2) as f64;
                }
                levels
            })
            .collect();
        Model {
            lambda: 0.1,
            m,
            u,
            random_pairs,
            candidate_pairs: 0,
            em_iterations: 0,
            household_lambda: 0.0,
            unaligned_bits: 0.0,
            left_over_u: Vec::new(),
            left_over_m: Vec::new(),
            crossed_share: None,
            slip_share: None,
        }
    }

    /// Learns the household field's m and u from the candidate pairs: `matched[level]` counts
    /// the pairs at each level that are matches under the rest of the model, and
    /// `unmatched[level]` the pairs weighed by their probability of not being one.
    pub(crate) fn learn_household(
        &mut self,
        matched: &[f64; HOUSEHOLD_LEVELS],
        unmatched: &[f64; HOUSEHOLD_LEVELS],
    ) {
        let f = FIELDS
            .iter()
            .position(|&x| x == Field::Household)
            .unwrap_or(FIELD_COUNT - 1);
        let mut m = vec![vec![FLOOR; MAX_LEVELS]; FIELD_COUNT];
        let mut u = vec![vec![FLOOR; MAX_LEVELS]; FIELD_COUNT];
        for level in 0..HOUSEHOLD_LEVELS {
            m[f][level] += matched[level];
            u[f][level] += unmatched[level];
        }
        self.m[f] = normalise(m).swap_remove(f);
        self.u[f] = normalise(u).swap_remove(f);
    }
}

/// The probability that two records drawn at random are one person: the fixed point of
/// λ = (expected matches among the candidate pairs under λ) / (all pairs). Blocking misses a few
/// matches, so this slightly underestimates, erring towards caution.
pub(crate) fn estimate_prior(
    model: &Model,
    candidates: &FxHashMap<Pattern, u64>,
    all_pairs: f64,
) -> f64 {
    let ratios: Vec<(f64, f64)> = candidates
        .iter()
        .map(|(&p, &count)| {
            let bits: f64 = (0..FIELD_COUNT)
                .map(|f| model.level_weight(f, p.level(f)))
                .sum();
            (bits.exp2(), count as f64)
        })
        .collect();
    let mut lambda = 1.0 / all_pairs;
    for _ in 0..100 {
        let odds = lambda / (1.0 - lambda);
        let expected: f64 = ratios
            .iter()
            .map(|&(ratio, count)| count * odds * ratio / (1.0 + odds * ratio))
            .sum();
        let next = (expected / all_pairs).clamp(1e-15, 0.5);
        if ((next - lambda) / lambda).abs() < 1e-6 {
            return next;
        }
        lambda = next;
    }
    lambda
}

/// Whether the pair's birth years agree and its sexes do not differ: siblings are rarely born
/// in the same year and of one sex both.
fn years_agree(p: Pattern) -> bool {
    same_years(p.level(4)) && p.level(5) != DIFFERENT_SEX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weight_reaching_a_threshold_is_the_boundary_of_its_probability() {
        for threshold in [0.05, 0.2, 0.5, 0.8, 0.8000001, 0.95, 0.999] {
            let w = weight_reaching(threshold);
            assert!(probability(f64::from(w)) >= threshold, "{threshold}");
            assert!(
                probability(f64::from(w.next_down())) < threshold,
                "{threshold}"
            );
        }
        assert_eq!(weight_reaching(0.0), f32::NEG_INFINITY);
        assert_eq!(weight_reaching(1.5), f32::INFINITY);
    }

    /// A father's name shared says "one person" only if the given names could be one: a
    /// garbled spelling or a slip born the same years, not a sister born years apart.
    #[test]
    fn kin_evidence_needs_a_given_name_that_could_be_the_same() {
        let mut model = Model::untrained(vec![vec![0.1; MAX_LEVELS]; FIELD_COUNT], 1);
        model.m = vec![vec![0.5; MAX_LEVELS]; FIELD_COUNT];
        let father = Field::FatherName as usize;
        let born = Field::BirthYear as usize;
        let father_bits = |scorer: &Scorer, given: u8, years: u8| {
            let p = Pattern(0).with(0, given).with(father, 1).with(born, years);
            scorer.level_weight(p, father, None, false)
        };
        for scorer in [model.scorer(), model.probe_scorer()] {
            for given in [TYPO, GARBLED] {
                assert!(father_bits(&scorer, given, 1) > 0.0, "{given}");
                assert_eq!(father_bits(&scorer, given, 5), 0.0, "{given}");
            }
            assert_eq!(father_bits(&scorer, DIFFERENT_NAME, 5), 0.0);
        }
        assert!(father_bits(&model.scorer(), DIFFERENT_NAME, 1) > 0.0);
        assert_eq!(father_bits(&model.probe_scorer(), DIFFERENT_NAME, 1), 0.0);
    }

    /// Registered in one week counts for one person only where the fathers' names could be
    /// one man's; against, it counts either way.
    #[test]
    fn a_shared_week_needs_fathers_names_that_could_be_one() {
        let mut model = Model::untrained(vec![vec![0.1; MAX_LEVELS]; FIELD_COUNT], 1);
        model.m = vec![vec![0.5; MAX_LEVELS]; FIELD_COUNT];
        let registered = Field::Registered as usize;
        model.m[registered][3] = 0.01;
        let scorer = model.scorer();
        let bits = |father: u8, gap: u8| {
            let p = Pattern(0).with(0, 1).with(1, father).with(registered, gap);
            scorer.level_weight(p, registered, None, false)
        };
        assert!(bits(1, 1) > 0.0);
        assert!(
            bits(MISSING, 1) > 0.0,
            "no father's name given: no reason against"
        );
        assert_eq!(bits(DIFFERENT_NAME, 1), 0.0);
        assert!(bits(DIFFERENT_NAME, 3) < 0.0);
    }

    /// "No other member matches" is learnt by how many could have (one, two, three or more);
    /// a model stored when it was one level weighs all three as it weighed that one.
    #[test]
    fn households_where_none_match_are_weighed_by_how_many_could_have() {
        use crate::compare::{NONE_OF_MORE, NONE_OF_ONE, NONE_OF_TWO};
        let household = Field::Household as usize;
        let mut model = Model::untrained(vec![vec![0.1; MAX_LEVELS]; FIELD_COUNT], 1);
        let mut matched = [0.0; HOUSEHOLD_LEVELS];
        let mut unmatched = [0.0; HOUSEHOLD_LEVELS];
        for (level, m, u) in [(1, 80.0, 1.0), (2, 10.0, 20.0), (3, 2.0, 10.0)] {
            matched[level] = m;
            unmatched[level] = u;
        }
        (matched[4], unmatched[4]) = (5.0, 30.0);
        (matched[5], unmatched[5]) = (3.0, 40.0);
        model.learn_household(&matched, &unmatched);
        let one = model.level_weight(household, NONE_OF_ONE);
        let two = model.level_weight(household, NONE_OF_TWO);
        let more = model.level_weight(household, NONE_OF_MORE);
        assert!(one > two && two > more, "{one} {two} {more}");

        // As stored before the split: the household field had four levels.
        for level in [NONE_OF_TWO, NONE_OF_MORE] {
            model.m[household][level as usize] = 0.0;
            model.u[household][level as usize] = 0.0;
        }
        assert_eq!(model.level_weight(household, NONE_OF_TWO), one);
        assert_eq!(model.level_weight(household, NONE_OF_MORE), one);
    }
}
