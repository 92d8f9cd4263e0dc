//! Assistance: programmes an information manager sets (a kind of aid, a season and a rule)
//! and the distributions made under them. The rules live here, above every backend: a backend
//! reads, in one transaction, the programme, the household's size and what the household
//! already received — through its members' identities, at any site — asks [`check`], and
//! writes the distribution only when it is allowed or overridden.

use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use peywand_domain::HouseholdId;

use crate::{Actor, Conflict, HouseholdRecord, StoreError};

/// Programmes and distributions.
#[async_trait]
pub trait AssistanceStore: Send + Sync + 'static {
    /// Stores a new programme; `Conflict::ProgrammeOverlaps` when another programme of the
    /// same kind covers part of its season (a distribution must name one programme).
    async fn create_programme(
        &self,
        draft: &ProgrammeDraft,
        actor: &Actor,
    ) -> Result<Programme, StoreError>;
    /// Every programme, newest season first.
    async fn programmes(&self) -> Result<Vec<Programme>, StoreError>;
    /// Records a distribution after checking the programme's rule against what the household
    /// and every household sharing an identity with it already received, in one transaction
    /// that concurrent distributions wait for. `NotFound` for an unknown household,
    /// `Conflict::NoProgramme` when no programme of the kind covers the date,
    /// `Conflict::AlreadyGiven` when the rule refuses and no override is given.
    async fn record_distribution(
        &self,
        draft: &DistributionDraft,
        actor: &Actor,
    ) -> Result<Distribution, StoreError>;
    /// What the household and the households sharing an identity with it received, oldest
    /// first. `NotFound` for an unknown household.
    async fn household_distributions(
        &self,
        household: HouseholdId,
    ) -> Result<Vec<Distribution>, StoreError>;
    /// Sets how many units of a programme a site plans to give, replacing the site's last
    /// plan. `NotFound` for an unknown programme.
    async fn set_plan(&self, plan: &Plan, actor: &Actor) -> Result<(), StoreError>;
    /// Records stock received at a site for a programme. `NotFound` for an unknown programme.
    async fn receive_stock(&self, receipt: &StockReceipt, actor: &Actor) -> Result<(), StoreError>;
    /// Per programme and site: planned, received and distributed ([`stock_lines`]).
    async fn stock(&self) -> Result<Vec<StockLine>, StoreError>;
    /// Distributions counted per programme, site and day, naming no household.
    async fn distribution_days(&self) -> Result<Vec<DistributionDay>, StoreError>;
    /// Distributions within the filter, oldest first, each with the reference of the household
    /// given to (the household id of the registration CSV, or the card's reference), which an
    /// export pseudonymises as it does the registrations'.
    async fn distributions(
        &self,
        filter: &DistributionFilter,
    ) -> Result<Vec<(Distribution, String)>, StoreError>;
    /// Distributions that two registries made to one family before they synced, each with
    /// the earlier one it doubles, newest first: for the information manager.
    async fn doubled_distributions(&self) -> Result<Vec<DoubledDistribution>, StoreError>;
}

/// A distribution that, received from another registry, turned out to exceed the rule with
/// one this registry already held: both were handed over, offline, before the two met.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoubledDistribution {
    /// The one counted in reports.
    pub first: Distribution,
    /// The one left out of them.
    pub again: Distribution,
}

/// The earlier distributions `again` doubles: those of its programme, held for the family,
/// that the rule already counted when `again` was given. Empty when the rule allowed it or
/// it was an override.
pub fn doubled(
    programme: &Programme,
    household: &HouseholdRecord,
    others: &[Distribution],
    again: &Distribution,
) -> Vec<Uuid> {
    if again.override_reason.is_some() {
        return Vec::new();
    }
    match entitled(programme, household, others, again.quantity, again.given_on) {
        Err(Conflict::AlreadyGiven { .. } | Conflict::MoreThanEntitled { .. }) => others
            .iter()
            .filter(|d| d.programme == programme.id && d.id != again.id)
            .filter(|d| match programme.draft.entitlement {
                Entitlement::PerMonth => {
                    d.given_on.year() == again.given_on.year()
                        && d.given_on.month() == again.given_on.month()
                }
                Entitlement::OncePerHousehold | Entitlement::PerPerson => true,
            })
            .map(|d| d.id)
            .collect(),
        _ => Vec::new(),
    }
}

/// A change of this registry's log for a programme set or a distribution given.
pub fn assistance_change(
    origin: &str,
    seq: i64,
    at: &peywand_sync::Hlc,
    kind: peywand_sync::ChangeKind,
    entity: String,
    body: String,
) -> peywand_sync::Change {
    let mut change = peywand_sync::Change {
        origin: origin.to_string(),
        seq,
        id: Uuid::now_v7(),
        at: at.to_string(),
        kind,
        entity,
        base: None,
        body,
        hash: String::new(),
    };
    change.hash = change.content_hash();
    change
}

/// Which distributions to list: given at a site, between two days (both included).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct DistributionFilter {
    #[serde(default)]
    pub site_code: Option<String>,
    #[serde(default)]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    pub to: Option<NaiveDate>,
}

/// How many units of a programme a site plans to give in its season.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub programme: Uuid,
    pub site_code: String,
    pub planned: u32,
}

/// Stock of a programme received at a site.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockReceipt {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub programme: Uuid,
    pub site_code: String,
    pub quantity: u32,
    pub received_on: NaiveDate,
}

/// A programme at a site: what was planned, received and given.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLine {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub programme: Uuid,
    pub kind: AssistanceKind,
    pub site_code: String,
    /// `None` when no plan was set for the site.
    pub planned: Option<u64>,
    pub received: u64,
    pub distributed: u64,
}

impl StockLine {
    /// What is left in the site's store: received less given, never below zero on paper
    /// (a site that gave more than it recorded receiving shows zero, and its `distributed`
    /// says by how much).
    pub fn in_stock(&self) -> u64 {
        self.received.saturating_sub(self.distributed)
    }
}

/// Distributions of one programme at one site on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistributionDay {
    pub programme: Uuid,
    pub kind: AssistanceKind,
    /// Empty when the distribution named no site.
    pub site_code: String,
    pub given_on: NaiveDate,
    /// Households given to (distributions, each to one household).
    pub households: u64,
    /// Units given.
    pub quantity: u64,
}

/// One line per programme and site that has a plan, a receipt or a distribution, in the
/// order of `programmes` then of site. Each input is `(programme, site, amount)`.
pub fn stock_lines(
    programmes: &[Programme],
    plans: &[(Uuid, String, u64)],
    received: &[(Uuid, String, u64)],
    given: &[(Uuid, String, u64)],
) -> Vec<StockLine> {
    use std::collections::BTreeMap;
    let mut lines: BTreeMap<(Uuid, String), StockLine> = BTreeMap::new();
    let kind_of = |id: Uuid| programmes.iter().find(|p| p.id == id).map(|p| p.draft.kind);
    fn line<'a>(
        lines: &'a mut BTreeMap<(Uuid, String), StockLine>,
        kind: Option<AssistanceKind>,
        id: Uuid,
        site: &str,
    ) -> Option<&'a mut StockLine> {
        let kind = kind?;
        Some(
            lines
                .entry((id, site.to_string()))
                .or_insert_with(|| StockLine {
                    programme: id,
                    kind,
                    site_code: site.to_string(),
                    planned: None,
                    received: 0,
                    distributed: 0,
                }),
        )
    }
    for (id, site, n) in plans {
        if let Some(l) = line(&mut lines, kind_of(*id), *id, site) {
            l.planned = Some(*n);
        }
    }
    for (id, site, n) in received {
        if let Some(l) = line(&mut lines, kind_of(*id), *id, site) {
            l.received += n;
        }
    }
    for (id, site, n) in given {
        if let Some(l) = line(&mut lines, kind_of(*id), *id, site) {
            l.distributed += n;
        }
    }
    let order = |id: &Uuid| programmes.iter().position(|p| p.id == *id);
    let mut out: Vec<StockLine> = lines.into_values().collect();
    out.sort_by(|a, b| {
        order(&a.programme)
            .cmp(&order(&b.programme))
            .then(a.site_code.cmp(&b.site_code))
    });
    out
}

/// A kind of assistance.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssistanceKind {
    /// Cash, with an amount and a currency.
    Cash,
    FoodRation,
    WinterKit,
    Blankets,
    OnwardTransport,
}

impl AssistanceKind {
    pub const ALL: [AssistanceKind; 5] = [
        AssistanceKind::Cash,
        AssistanceKind::FoodRation,
        AssistanceKind::WinterKit,
        AssistanceKind::Blankets,
        AssistanceKind::OnwardTransport,
    ];
    pub fn code(self) -> &'static str {
        match self {
            AssistanceKind::Cash => "cash",
            AssistanceKind::FoodRation => "food_ration",
            AssistanceKind::WinterKit => "winter_kit",
            AssistanceKind::Blankets => "blankets",
            AssistanceKind::OnwardTransport => "onward_transport",
        }
    }
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// How often a household may receive a programme's assistance within its season.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entitlement {
    /// Once per household in the season (a winter kit).
    OncePerHousehold,
    /// One unit per member of the household in the season (blankets).
    PerPerson,
    /// Once per household per calendar month of the season (a food ration).
    PerMonth,
}

impl Entitlement {
    pub const ALL: [Entitlement; 3] = [
        Entitlement::OncePerHousehold,
        Entitlement::PerPerson,
        Entitlement::PerMonth,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Entitlement::OncePerHousehold => "once_per_household",
            Entitlement::PerPerson => "per_person",
            Entitlement::PerMonth => "per_month",
        }
    }
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// A programme as an information manager sets it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgrammeDraft {
    pub name: String,
    pub kind: AssistanceKind,
    /// Cash only: the amount per distribution, in whole units of the currency.
    #[serde(default)]
    pub amount: Option<i64>,
    /// Cash only: ISO 4217 (AFN, USD).
    #[serde(default)]
    pub currency: Option<String>,
    pub entitlement: Entitlement,
    /// The season, first and last day included.
    pub season_from: NaiveDate,
    pub season_to: NaiveDate,
    /// Which households the programme is for, beyond its rule; none: every household.
    #[serde(default)]
    pub criteria: Criteria,
}

/// Which households a programme is for. Every criterion set must hold; an override sets them
/// aside as it sets the rule aside.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criteria {
    /// Only households registered at this site (a site's own stock, say).
    #[serde(default)]
    pub registered_at: Option<String>,
    /// Only households registered after this day. Peywand records the day of registration,
    /// which at a crossing point is the day of arrival.
    #[serde(default)]
    pub arrived_after: Option<NaiveDate>,
    /// Only households with at least one vulnerability recorded for a member.
    #[serde(default)]
    pub vulnerable: bool,
}

impl Criteria {
    /// The first criterion the household does not meet, by its code (`registered_at`,
    /// `arrived_after`, `vulnerable`).
    pub fn unmet(&self, household: &HouseholdRecord) -> Option<&'static str> {
        if let Some(site) = &self.registered_at
            && household.household.site_code.as_deref() != Some(site.as_str())
        {
            return Some("registered_at");
        }
        if let Some(day) = self.arrived_after
            && household.household.registered_at.date_naive() <= day
        {
            return Some("arrived_after");
        }
        if self.vulnerable
            && household
                .members
                .iter()
                .all(|m| m.vulnerabilities.is_empty())
        {
            return Some("vulnerable");
        }
        None
    }
}

/// Why a programme cannot be set as drafted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgrammeError {
    #[error("give the programme a name")]
    NoName,
    #[error("the season ends before it starts")]
    SeasonBackwards,
    #[error("cash needs an amount above zero and a three-letter currency (AFN, USD)")]
    CashWithoutAmount,
    #[error("only cash has an amount and a currency")]
    AmountNotCash,
}

impl ProgrammeDraft {
    /// Whether the draft makes a programme.
    pub fn validate(&self) -> Result<(), ProgrammeError> {
        if self.name.trim().is_empty() {
            return Err(ProgrammeError::NoName);
        }
        if self.season_to < self.season_from {
            return Err(ProgrammeError::SeasonBackwards);
        }
        let currency_ok = self
            .currency
            .as_deref()
            .is_some_and(|c| c.len() == 3 && c.chars().all(|c| c.is_ascii_uppercase()));
        match self.kind {
            AssistanceKind::Cash if !(self.amount.is_some_and(|a| a > 0) && currency_ok) => {
                Err(ProgrammeError::CashWithoutAmount)
            }
            AssistanceKind::Cash => Ok(()),
            _ if self.amount.is_some() || self.currency.is_some() => {
                Err(ProgrammeError::AmountNotCash)
            }
            _ => Ok(()),
        }
    }

    /// Whether this programme's season shares a day with `other`'s, for the same kind.
    pub fn overlaps(&self, other: &Programme) -> bool {
        self.kind == other.draft.kind
            && self.season_from <= other.draft.season_to
            && other.draft.season_from <= self.season_to
    }
}

/// A stored programme.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Programme {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: Uuid,
    #[serde(flatten)]
    pub draft: ProgrammeDraft,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl Programme {
    /// Whether the programme gives this kind on this day.
    pub fn covers(&self, kind: AssistanceKind, on: NaiveDate) -> bool {
        self.draft.kind == kind && self.draft.season_from <= on && on <= self.draft.season_to
    }
}

/// A distribution as a distribution officer records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributionDraft {
    pub household: HouseholdId,
    pub kind: AssistanceKind,
    pub quantity: u32,
    pub given_on: NaiveDate,
    /// Who took it: the head, or a named member (their record id or name).
    pub received_by: String,
    /// Where it was given.
    pub site_code: Option<String>,
    /// A supervisor's reason for giving what the rule refuses; `None` for an ordinary
    /// distribution.
    pub override_reason: Option<String>,
}

/// A stored distribution.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distribution {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub programme: Uuid,
    pub household: HouseholdId,
    pub kind: AssistanceKind,
    pub quantity: u32,
    pub given_on: NaiveDate,
    pub received_by: String,
    pub site_code: Option<String>,
    pub given_by: String,
    pub recorded_at: DateTime<Utc>,
    pub override_reason: Option<String>,
}

/// The programme of `kind` that covers `on`, or the conflict that says there is none.
pub fn programme_for(
    programmes: &[Programme],
    kind: AssistanceKind,
    on: NaiveDate,
) -> Result<&Programme, Conflict> {
    programmes
        .iter()
        .find(|p| p.covers(kind, on))
        .ok_or_else(|| Conflict::NoProgramme {
            kind: kind.code().to_string(),
            on,
        })
}

/// Whether the programme's rule lets the household receive `quantity` on `on`, given what it
/// and the households sharing an identity with it already `received` (any programme: only
/// this programme's count) and its number of `members`. The refusal names the distribution
/// that used the entitlement up: where, when and by whom.
pub fn check(
    programme: &Programme,
    members: u32,
    received: &[Distribution],
    quantity: u32,
    on: NaiveDate,
) -> Result<(), Conflict> {
    let mine = received.iter().filter(|d| d.programme == programme.id);
    let used: Vec<&Distribution> = match programme.draft.entitlement {
        Entitlement::OncePerHousehold => mine.collect(),
        Entitlement::PerMonth => mine
            .filter(|d| d.given_on.year() == on.year() && d.given_on.month() == on.month())
            .collect(),
        Entitlement::PerPerson => {
            let mine: Vec<&Distribution> = mine.collect();
            let given: u32 = mine.iter().map(|d| d.quantity).sum();
            if given.saturating_add(quantity) <= members.max(1) {
                Vec::new()
            } else {
                mine
            }
        }
    };
    // Per person, a first distribution larger than the household is refused too.
    if programme.draft.entitlement == Entitlement::PerPerson
        && used.is_empty()
        && quantity > members.max(1)
    {
        return Err(Conflict::MoreThanEntitled {
            kind: programme.draft.kind.code().to_string(),
            entitled: members.max(1),
        });
    }
    match used.iter().max_by_key(|d| (d.given_on, d.recorded_at)) {
        None => Ok(()),
        Some(last) => Err(Conflict::AlreadyGiven {
            kind: programme.draft.kind.code().to_string(),
            site: last.site_code.clone().unwrap_or_default(),
            on: last.given_on,
            by: last.given_by.clone(),
        }),
    }
}

/// Whether the household meets the programme's criteria and its rule lets it receive
/// `quantity` on `on`: [`Criteria::unmet`] then [`check`].
pub fn entitled(
    programme: &Programme,
    household: &HouseholdRecord,
    received: &[Distribution],
    quantity: u32,
    on: NaiveDate,
) -> Result<(), Conflict> {
    if let Some(criterion) = programme.draft.criteria.unmet(household) {
        return Err(Conflict::NotEligible {
            kind: programme.draft.kind.code().to_string(),
            criterion: criterion.to_string(),
        });
    }
    let members = u32::try_from(household.members.len()).unwrap_or(u32::MAX);
    check(programme, members, received, quantity, on)
}

/// The distribution to store for `draft`, or why not: the programme of its kind covering its
/// day, and that programme's criteria and rule unless a reason to override them is given.
/// `programmes` are every programme, `received` what the household and the households sharing
/// an identity with it already received.
pub fn decide(
    programmes: &[Programme],
    household: &HouseholdRecord,
    received: &[Distribution],
    draft: &DistributionDraft,
    actor: &Actor,
) -> Result<Distribution, Conflict> {
    let programme = programme_for(programmes, draft.kind, draft.given_on)?;
    let overridden = draft
        .override_reason
        .as_deref()
        .is_some_and(|r| !r.trim().is_empty());
    if !overridden {
        entitled(
            programme,
            household,
            received,
            draft.quantity,
            draft.given_on,
        )?;
    }
    Ok(Distribution {
        id: Uuid::now_v7(),
        programme: programme.id,
        household: draft.household,
        kind: draft.kind,
        quantity: draft.quantity,
        given_on: draft.given_on,
        received_by: draft.received_by.clone(),
        site_code: draft.site_code.clone(),
        given_by: actor.username.clone(),
        recorded_at: actor.at,
        override_reason: draft.override_reason.clone().filter(|_| overridden),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn programme(kind: AssistanceKind, entitlement: Entitlement) -> Programme {
        Programme {
            id: Uuid::now_v7(),
            draft: ProgrammeDraft {
                name: "Winter 2026".into(),
                kind,
                amount: None,
                currency: None,
                entitlement,
                season_from: day("2026-11-01"),
                season_to: day("2027-02-28"),
                criteria: Criteria::default(),
            },
            created_by: "im".into(),
            created_at: Utc::now(),
        }
    }

    fn given(p: &Programme, on: &str, quantity: u32, site: &str) -> Distribution {
        Distribution {
            id: Uuid::now_v7(),
            programme: p.id,
            household: HouseholdId::new(),
            kind: p.draft.kind,
            quantity,
            given_on: day(on),
            received_by: "head".into(),
            site_code: Some(site.into()),
            given_by: "nadia".into(),
            recorded_at: Utc::now(),
            override_reason: None,
        }
    }

    #[test]
    fn a_winter_kit_is_given_once_and_the_refusal_says_where_and_by_whom() {
        let p = programme(AssistanceKind::WinterKit, Entitlement::OncePerHousehold);
        assert_eq!(check(&p, 5, &[], 1, day("2026-12-01")), Ok(()));
        let first = given(&p, "2026-12-01", 1, "torkham");
        assert_eq!(
            check(&p, 5, &[first], 1, day("2027-01-10")),
            Err(Conflict::AlreadyGiven {
                kind: "winter_kit".into(),
                site: "torkham".into(),
                on: day("2026-12-01"),
                by: "nadia".into(),
            })
        );
        // Another programme's distribution uses nothing of this one.
        let other = programme(AssistanceKind::WinterKit, Entitlement::OncePerHousehold);
        let elsewhere = given(&other, "2026-12-01", 1, "torkham");
        assert_eq!(check(&p, 5, &[elsewhere], 1, day("2026-12-02")), Ok(()));
    }

    #[test]
    fn a_ration_is_given_once_a_month() {
        let p = programme(AssistanceKind::FoodRation, Entitlement::PerMonth);
        let november = given(&p, "2026-11-20", 1, "torkham");
        assert!(check(&p, 3, std::slice::from_ref(&november), 1, day("2026-11-30")).is_err());
        assert_eq!(check(&p, 3, &[november], 1, day("2026-12-01")), Ok(()));
    }

    #[test]
    fn a_kit_given_twice_offline_doubles_the_first() {
        use peywand_domain::Household;
        let p = programme(AssistanceKind::WinterKit, Entitlement::OncePerHousehold);
        let household = HouseholdRecord {
            household: Household {
                id: HouseholdId::new(),
                reference: "H1".into(),
                site_code: Some("torkham".into()),
                destination_province: None,
                destination_district: None,
                return_type: None,
                needs: Vec::new(),
                legal_basis: None,
                purposes: Vec::new(),
                registered_by: None,
                registered_at: Utc::now(),
            },
            members: Vec::new(),
        };
        let first = given(&p, "2026-12-01", 1, "torkham");
        let again = given(&p, "2026-12-01", 1, "spin_boldak");
        assert_eq!(
            doubled(&p, &household, std::slice::from_ref(&first), &again),
            vec![first.id]
        );
        assert!(doubled(&p, &household, &[], &again).is_empty());
        let mut overridden = again.clone();
        overridden.override_reason = Some("stolen".into());
        assert!(doubled(&p, &household, &[first], &overridden).is_empty());
    }

    #[test]
    fn stock_lines_join_plans_receipts_and_distributions_per_site() {
        let kit = programme(AssistanceKind::WinterKit, Entitlement::OncePerHousehold);
        let lines = stock_lines(
            std::slice::from_ref(&kit),
            &[(kit.id, "torkham".into(), 500)],
            &[
                (kit.id, "torkham".into(), 200),
                (kit.id, "torkham".into(), 100),
            ],
            &[
                (kit.id, "torkham".into(), 120),
                (kit.id, "spin_boldak".into(), 7),
                (Uuid::now_v7(), "torkham".into(), 1),
            ],
        );
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0].site_code, "spin_boldak");
        assert_eq!(
            (lines[0].planned, lines[0].received, lines[0].distributed),
            (None, 0, 7)
        );
        assert_eq!(lines[0].in_stock(), 0);
        assert_eq!(
            (lines[1].planned, lines[1].received, lines[1].distributed),
            (Some(500), 300, 120)
        );
        assert_eq!(lines[1].in_stock(), 180);
    }

    #[test]
    fn criteria_name_the_one_unmet() {
        use peywand_domain::{Household, Vulnerability};
        let mut record = HouseholdRecord {
            household: Household {
                id: HouseholdId::new(),
                reference: "H1".into(),
                site_code: Some("torkham".into()),
                destination_province: None,
                destination_district: None,
                return_type: None,
                needs: Vec::new(),
                legal_basis: None,
                purposes: Vec::new(),
                registered_by: None,
                registered_at: "2026-11-15T10:00:00Z".parse().unwrap(),
            },
            members: Vec::new(),
        };
        let mut c = Criteria::default();
        assert_eq!(c.unmet(&record), None);
        c.registered_at = Some("spin_boldak".into());
        assert_eq!(c.unmet(&record), Some("registered_at"));
        c.registered_at = Some("torkham".into());
        c.arrived_after = Some(day("2026-11-15"));
        assert_eq!(c.unmet(&record), Some("arrived_after"));
        c.arrived_after = Some(day("2026-11-14"));
        c.vulnerable = true;
        assert_eq!(c.unmet(&record), Some("vulnerable"));
        let raw = peywand_domain::RawRegistration::default();
        record.members.push(peywand_domain::Person {
            id: peywand_domain::PersonId::new(),
            record_id: peywand_domain::RecordId::parse("r1").unwrap(),
            household_id: record.household.id,
            derived: raw.derive().0,
            raw,
            relationship: None,
            vulnerabilities: vec![Vulnerability::Disability],
            registered_by: None,
            registered_at: Utc::now(),
        });
        assert_eq!(c.unmet(&record), None);
    }

    #[test]
    fn blankets_are_one_per_member() {
        let p = programme(AssistanceKind::Blankets, Entitlement::PerPerson);
        assert_eq!(check(&p, 4, &[], 4, day("2026-12-01")), Ok(()));
        assert_eq!(
            check(&p, 4, &[], 5, day("2026-12-01")),
            Err(Conflict::MoreThanEntitled {
                kind: "blankets".into(),
                entitled: 4
            })
        );
        let three = given(&p, "2026-12-01", 3, "spin_boldak");
        assert_eq!(
            check(&p, 4, std::slice::from_ref(&three), 1, day("2026-12-02")),
            Ok(())
        );
        assert!(matches!(
            check(&p, 4, &[three], 2, day("2026-12-02")),
            Err(Conflict::AlreadyGiven { site, .. }) if site == "spin_boldak"
        ));
    }

    #[test]
    fn a_distribution_finds_the_programme_of_its_kind_and_day() {
        let kit = programme(AssistanceKind::WinterKit, Entitlement::OncePerHousehold);
        let all = [kit.clone()];
        assert_eq!(
            programme_for(&all, AssistanceKind::WinterKit, day("2026-12-01")),
            Ok(&kit)
        );
        assert!(programme_for(&all, AssistanceKind::WinterKit, day("2027-03-01")).is_err());
        assert_eq!(
            programme_for(&all, AssistanceKind::Cash, day("2026-12-01")),
            Err(Conflict::NoProgramme {
                kind: "cash".into(),
                on: day("2026-12-01")
            })
        );
    }

    #[test]
    fn programmes_are_checked_before_they_are_set() {
        let mut d = programme(AssistanceKind::Cash, Entitlement::OncePerHousehold).draft;
        assert_eq!(d.validate(), Err(ProgrammeError::CashWithoutAmount));
        d.amount = Some(10_000);
        d.currency = Some("AFN".into());
        assert_eq!(d.validate(), Ok(()));
        d.season_to = day("2026-10-01");
        assert_eq!(d.validate(), Err(ProgrammeError::SeasonBackwards));
        let mut kit = programme(AssistanceKind::WinterKit, Entitlement::OncePerHousehold).draft;
        kit.currency = Some("AFN".into());
        assert_eq!(kit.validate(), Err(ProgrammeError::AmountNotCash));
        let stored = programme(AssistanceKind::WinterKit, Entitlement::OncePerHousehold);
        let mut next = stored.draft.clone();
        assert!(next.overlaps(&stored));
        next.season_from = day("2027-03-01");
        next.season_to = day("2027-04-01");
        assert!(!next.overlaps(&stored));
    }
}
