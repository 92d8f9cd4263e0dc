//! Targeting: which of the households still waiting for a programme are helped first. An
//! information manager sets the weights; the score of a household is the sum of each weight
//! times what its registration records for that factor, and every part is kept so that the
//! list can say why a household stands where it does. The arithmetic lives here, above every
//! backend: a backend only reads the households waiting and stores the weights and the lists
//! printed.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use peywand_domain::{HouseholdId, Need, Relationship, Sex, Vulnerability};

use crate::{Actor, HouseholdRecord, StoreError};

/// Weights, the households waiting, and the lists printed.
#[async_trait]
pub trait TargetingStore: Send + Sync + 'static {
    /// The weights in force: the last set, or [`Weights::default`] (with no one named) before
    /// an information manager sets any.
    async fn weights(&self) -> Result<WeightsRecord, StoreError>;
    /// Sets the weights in force from now on; earlier weights stay with the lists printed
    /// under them.
    async fn set_weights(
        &self,
        weights: &Weights,
        actor: &Actor,
    ) -> Result<WeightsRecord, StoreError>;
    /// The households registered at `site` that the programme's rule still lets receive on
    /// `on`, counting what the same family received at any site through its identities.
    /// `NotFound` for an unknown programme.
    async fn waiting_households(
        &self,
        site: &str,
        programme: Uuid,
        on: NaiveDate,
    ) -> Result<Vec<HouseholdRecord>, StoreError>;
    /// Keeps a list as printed, with the weights it was ranked by.
    async fn save_list(&self, list: &DistributionList) -> Result<(), StoreError>;
    /// A list as it was printed.
    async fn distribution_list(&self, id: Uuid) -> Result<Option<DistributionList>, StoreError>;
}

/// How much each thing a registration records adds to a household's score. Whole numbers
/// from 0 to [`Weights::MAX`]: an information manager reads and sets them on a form, and a
/// score made of whole points can be explained next to the household on paper.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weights {
    /// Once, when the head is a woman or the registrar marked the household female-headed.
    pub female_headed_household: u32,
    /// For each child marked unaccompanied or separated.
    pub unaccompanied_or_separated_child: u32,
    /// Once, when a member is marked an older person alone.
    pub older_person_alone: u32,
    /// For each member with a disability.
    pub disability: u32,
    /// For each member with a serious medical condition.
    pub serious_medical_condition: u32,
    /// For each member pregnant or breastfeeding.
    pub pregnant_or_lactating: u32,
    /// For each member of the household.
    pub per_member: u32,
    /// For each full week since the household registered, up to [`MAX_WEEKS`].
    pub per_week_waiting: u32,
    /// Once, when the household named shelter among its priority needs.
    pub no_shelter: u32,
}

/// Weeks of waiting count up to this many: after a season, waiting longer says little more.
pub const MAX_WEEKS: u32 = 26;

impl Default for Weights {
    /// A starting point, to be set by the information manager of each operation: protection
    /// cases first, then the household without shelter, then size and waiting.
    fn default() -> Self {
        Weights {
            female_headed_household: 30,
            unaccompanied_or_separated_child: 40,
            older_person_alone: 30,
            disability: 20,
            serious_medical_condition: 20,
            pregnant_or_lactating: 15,
            per_member: 2,
            per_week_waiting: 3,
            no_shelter: 20,
        }
    }
}

impl Weights {
    pub const MAX: u32 = 100;

    /// Each factor's weight, in the order a list prints them.
    pub fn each(&self) -> [(Factor, u32); 9] {
        [
            (Factor::FemaleHeadedHousehold, self.female_headed_household),
            (
                Factor::UnaccompaniedOrSeparatedChild,
                self.unaccompanied_or_separated_child,
            ),
            (Factor::OlderPersonAlone, self.older_person_alone),
            (Factor::Disability, self.disability),
            (
                Factor::SeriousMedicalCondition,
                self.serious_medical_condition,
            ),
            (Factor::PregnantOrLactating, self.pregnant_or_lactating),
            (Factor::HouseholdSize, self.per_member),
            (Factor::WeeksWaiting, self.per_week_waiting),
            (Factor::NoShelter, self.no_shelter),
        ]
    }

    /// The factor above [`Weights::MAX`], if any.
    pub fn too_heavy(&self) -> Option<Factor> {
        self.each()
            .into_iter()
            .find(|(_, w)| *w > Self::MAX)
            .map(|(f, _)| f)
    }
}

/// What a registration records that counts toward a household's score.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    FemaleHeadedHousehold,
    UnaccompaniedOrSeparatedChild,
    OlderPersonAlone,
    Disability,
    SeriousMedicalCondition,
    PregnantOrLactating,
    HouseholdSize,
    WeeksWaiting,
    NoShelter,
}

impl Factor {
    /// The stable code, translated in the interface as `factor-<code>`.
    pub fn code(self) -> &'static str {
        match self {
            Factor::FemaleHeadedHousehold => "female_headed_household",
            Factor::UnaccompaniedOrSeparatedChild => "unaccompanied_or_separated_child",
            Factor::OlderPersonAlone => "older_person_alone",
            Factor::Disability => "disability",
            Factor::SeriousMedicalCondition => "serious_medical_condition",
            Factor::PregnantOrLactating => "pregnant_or_lactating",
            Factor::HouseholdSize => "household_size",
            Factor::WeeksWaiting => "weeks_waiting",
            Factor::NoShelter => "no_shelter",
        }
    }
}

/// One factor's share of a score: how many times it was found, and the points it gave.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScorePart {
    pub factor: Factor,
    pub count: u32,
    pub points: u32,
}

/// A household's score and why: only the factors that gave points, largest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    pub total: u32,
    pub parts: Vec<ScorePart>,
}

/// How many times each factor is found in a household's registration on `today`.
pub fn counts(record: &HouseholdRecord, today: NaiveDate) -> [(Factor, u32); 9] {
    let with = |v: &[Vulnerability]| {
        let n = record
            .members
            .iter()
            .filter(|m| m.vulnerabilities.iter().any(|x| v.contains(x)))
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    };
    let female_head = record.members.iter().any(|m| {
        m.vulnerabilities
            .contains(&Vulnerability::FemaleHeadedHousehold)
            || (m.relationship == Some(Relationship::Head) && m.derived.sex == Some(Sex::Female))
    });
    let registered = record.household.registered_at.date_naive();
    let weeks = u32::try_from((today - registered).num_days().max(0) / 7)
        .unwrap_or(MAX_WEEKS)
        .min(MAX_WEEKS);
    [
        (Factor::FemaleHeadedHousehold, u32::from(female_head)),
        (
            Factor::UnaccompaniedOrSeparatedChild,
            with(&[
                Vulnerability::UnaccompaniedChild,
                Vulnerability::SeparatedChild,
            ]),
        ),
        (
            Factor::OlderPersonAlone,
            with(&[Vulnerability::OlderPersonAlone]).min(1),
        ),
        (Factor::Disability, with(&[Vulnerability::Disability])),
        (
            Factor::SeriousMedicalCondition,
            with(&[Vulnerability::SeriousMedicalCondition]),
        ),
        (
            Factor::PregnantOrLactating,
            with(&[Vulnerability::PregnantOrLactating]),
        ),
        (
            Factor::HouseholdSize,
            u32::try_from(record.members.len()).unwrap_or(u32::MAX),
        ),
        (Factor::WeeksWaiting, weeks),
        (
            Factor::NoShelter,
            u32::from(record.household.needs.contains(&Need::Shelter)),
        ),
    ]
}

/// The household's score under `weights` on `today`, with its parts.
pub fn score(record: &HouseholdRecord, weights: &Weights, today: NaiveDate) -> Score {
    let found = counts(record, today);
    let mut parts: Vec<ScorePart> = weights
        .each()
        .into_iter()
        .zip(found)
        .map(|((factor, weight), (_, count))| ScorePart {
            factor,
            count,
            points: weight.saturating_mul(count),
        })
        .filter(|p| p.points > 0)
        .collect();
    // Largest first: the reason read first is the one that weighed most.
    parts.sort_by_key(|p| std::cmp::Reverse(p.points));
    Score {
        total: parts.iter().fold(0, |t, p| t.saturating_add(p.points)),
        parts,
    }
}

/// One household's place on a ranked list. Names are not kept here: a list printed is stored,
/// and a household erased later must not live on in it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ranked {
    /// 1 for the most vulnerable.
    pub rank: u32,
    pub household: HouseholdId,
    pub reference: String,
    pub members: u32,
    pub registered_on: NaiveDate,
    pub score: Score,
}

/// The households ranked most vulnerable first; equal scores go to the household that has
/// waited longest, then by reference, so that the same data always gives the same list.
pub fn rank(records: &[HouseholdRecord], weights: &Weights, today: NaiveDate) -> Vec<Ranked> {
    let mut scored: Vec<(Score, &HouseholdRecord)> = records
        .iter()
        .map(|r| (score(r, weights, today), r))
        .collect();
    scored.sort_by(|(a, ra), (b, rb)| {
        b.total
            .cmp(&a.total)
            .then(ra.household.registered_at.cmp(&rb.household.registered_at))
            .then(ra.household.reference.cmp(&rb.household.reference))
    });
    scored
        .into_iter()
        .zip(1u32..)
        .map(|((score, r), rank)| Ranked {
            rank,
            household: r.household.id,
            reference: r.household.reference.clone(),
            members: u32::try_from(r.members.len()).unwrap_or(u32::MAX),
            registered_on: r.household.registered_at.date_naive(),
            score,
        })
        .collect()
}

/// The weights in force, who set them and when (`None`: Peywand's defaults, never set).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightsRecord {
    pub weights: Weights,
    pub set_by: Option<String>,
    pub set_at: Option<DateTime<Utc>>,
}

/// A ranked list as printed: the weights it was ranked by go with it, so that anyone can later
/// see why a household came before another that day.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistributionList {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub programme: Uuid,
    pub site_code: String,
    /// The day the list was ranked for (weeks of waiting count to it).
    pub on: NaiveDate,
    pub weights: Weights,
    pub households: Vec<Ranked>,
    pub printed_by: String,
    pub printed_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use peywand_domain::{Household, Person, PersonId, RawRegistration, RecordId};

    fn member(sex: Sex, head: bool, vulnerabilities: &[Vulnerability]) -> Person {
        let raw = RawRegistration::default();
        let mut derived = raw.derive().0;
        derived.sex = Some(sex);
        Person {
            id: PersonId::new(),
            record_id: RecordId::parse("r1").unwrap(),
            household_id: HouseholdId::new(),
            raw,
            derived,
            relationship: Some(if head {
                Relationship::Head
            } else {
                Relationship::Son
            }),
            vulnerabilities: vulnerabilities.to_vec(),
            registered_by: None,
            registered_at: Utc::now(),
        }
    }

    fn household(
        reference: &str,
        days_ago: i64,
        members: Vec<Person>,
        needs: &[Need],
    ) -> HouseholdRecord {
        HouseholdRecord {
            household: Household {
                id: HouseholdId::new(),
                reference: reference.into(),
                site_code: Some("torkham".into()),
                destination_province: None,
                destination_district: None,
                return_type: None,
                needs: needs.to_vec(),
                legal_basis: None,
                purposes: Vec::new(),
                registered_by: None,
                registered_at: Utc::now() - chrono::Duration::days(days_ago),
            },
            members,
        }
    }

    fn today() -> NaiveDate {
        Utc::now().date_naive()
    }

    #[test]
    fn a_score_is_explained_by_its_parts() {
        let h = household(
            "H-1",
            15,
            vec![
                member(Sex::Female, true, &[Vulnerability::Disability]),
                member(Sex::Male, false, &[Vulnerability::SeparatedChild]),
            ],
            &[Need::Shelter],
        );
        let s = score(&h, &Weights::default(), today());
        // 40 separated child + 30 female head + 20 disability + 20 no shelter + 2×2 members
        // + 3×2 weeks.
        assert_eq!(s.total, 40 + 30 + 20 + 20 + 4 + 6);
        assert_eq!(s.parts[0].factor, Factor::UnaccompaniedOrSeparatedChild);
        let weeks = s
            .parts
            .iter()
            .find(|p| p.factor == Factor::WeeksWaiting)
            .unwrap();
        assert_eq!((weeks.count, weeks.points), (2, 6));
        assert!(
            !s.parts
                .iter()
                .any(|p| p.factor == Factor::PregnantOrLactating)
        );
    }

    #[test]
    fn the_ranking_follows_the_weights() {
        let large = household(
            "LARGE",
            1,
            (0..9).map(|_| member(Sex::Male, false, &[])).collect(),
            &[],
        );
        let alone = household(
            "ALONE",
            1,
            vec![member(Sex::Male, true, &[Vulnerability::OlderPersonAlone])],
            &[],
        );
        let both = [large, alone];
        let order = |w: &Weights| -> Vec<String> {
            rank(&both, w, today())
                .into_iter()
                .map(|r| r.reference)
                .collect()
        };
        assert_eq!(order(&Weights::default()), ["ALONE", "LARGE"]);
        let size_first = Weights {
            per_member: 10,
            ..Weights::default()
        };
        assert_eq!(order(&size_first), ["LARGE", "ALONE"]);
        let ranked = rank(&both, &size_first, today());
        assert_eq!(ranked[0].rank, 1);
        assert_eq!(ranked[0].score.total, 90);
    }

    #[test]
    fn equal_scores_go_to_the_longest_waiting() {
        let zero = Weights {
            per_week_waiting: 0,
            ..Weights::default()
        };
        let newer = household("A", 1, vec![member(Sex::Male, true, &[])], &[]);
        let older = household("B", 30, vec![member(Sex::Male, true, &[])], &[]);
        let ranked = rank(&[newer, older], &zero, today());
        assert_eq!(ranked[0].reference, "B");
    }

    #[test]
    fn weights_above_the_maximum_are_named() {
        let w = Weights {
            no_shelter: 101,
            ..Weights::default()
        };
        assert_eq!(w.too_heavy(), Some(Factor::NoShelter));
        assert_eq!(Weights::default().too_heavy(), None);
    }
}
