//! Registrations: households and their members as desks and imports write them, the sites they
//! are registered at, and the defaults a household's members get before they are stored.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use peywand_domain::{
    Derived, Household, HouseholdId, LegalBasis, Need, Person, PersonId, Purpose, RawRegistration,
    RecordId, Relationship, ReturnType, Sex, Site, Vulnerability,
};

use crate::{Actor, Page, Paged, StoreError};

/// Registrations, households and sites.
#[async_trait]
pub trait RegistrationStore: Send + Sync + 'static {
    /// Imports a stream of rows in one transaction; rows whose record id exists are skipped and
    /// counted. An `Abort` message, or any error, leaves the database as it was.
    async fn import(
        &self,
        rows: mpsc::Receiver<ImportMessage>,
        actor: &Actor,
    ) -> Result<ImportOutcome, StoreError>;
    /// Streams every registration as typed, oldest first. Returns how many were sent.
    async fn export(&self, sink: mpsc::Sender<RawRegistration>) -> Result<u64, StoreError>;

    async fn sites(&self) -> Result<Vec<Site>, StoreError>;
    async fn upsert_site(&self, site: &Site) -> Result<(), StoreError>;

    /// Stores a new household and its members (completed by [`complete_members`]);
    /// `Conflict` when a member's record id is already registered.
    async fn create_household(
        &self,
        draft: &HouseholdDraft,
        actor: &Actor,
    ) -> Result<HouseholdRecord, StoreError>;
    /// Replaces a household's details and members; members keep their ids by record id, and
    /// members left out are removed.
    async fn update_household(
        &self,
        id: HouseholdId,
        draft: &HouseholdDraft,
        actor: &Actor,
    ) -> Result<HouseholdRecord, StoreError>;
    async fn household(&self, id: HouseholdId) -> Result<Option<HouseholdRecord>, StoreError>;

    async fn person(&self, id: PersonId) -> Result<Option<Person>, StoreError>;
    /// One registration by its record id.
    async fn person_by_record(&self, record_id: &RecordId) -> Result<Option<Person>, StoreError>;
    /// Registrations matching the filter, newest first.
    async fn persons(&self, filter: &PersonFilter, page: Page)
    -> Result<Paged<Person>, StoreError>;
    async fn count_persons(&self) -> Result<u64, StoreError>;

    /// Registrations saved or edited by any process sharing this registry, in batches as
    /// their transactions commit, for as long as the receiver is kept: the servers of a hub
    /// see each other's desks. `None` where the registry has a single server (a site's file),
    /// which knows what it saved itself.
    async fn registration_feed(&self) -> Result<Option<mpsc::Receiver<Vec<Person>>>, StoreError> {
        Ok(None)
    }
}

/// One message of a streamed import.
#[derive(Debug)]
pub enum ImportMessage {
    /// A validated row with its derived values.
    Row(Box<(RawRegistration, Derived)>),
    /// The file turned out invalid: roll everything back.
    Abort,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    pub new: u64,
    pub already_present: u64,
}

/// A household member as entered at a desk.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberDraft {
    /// The typed values; `record_id` may be empty (Peywand then makes one).
    pub raw: RawRegistration,
    pub relationship: Option<Relationship>,
    #[serde(default)]
    pub vulnerabilities: Vec<Vulnerability>,
}

/// A household as entered at a desk, with its members.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HouseholdDraft {
    pub site_code: Option<String>,
    pub destination_province: Option<String>,
    pub destination_district: Option<String>,
    pub return_type: Option<ReturnType>,
    #[serde(default)]
    pub needs: Vec<Need>,
    pub legal_basis: Option<LegalBasis>,
    #[serde(default)]
    pub purposes: Vec<Purpose>,
    pub members: Vec<MemberDraft>,
}

/// A household with its members, as read back.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HouseholdRecord {
    pub household: Household,
    pub members: Vec<Person>,
}

/// Filters for listing registrations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PersonFilter {
    pub site_code: Option<String>,
    pub sex: Option<Sex>,
    pub province_code: Option<String>,
    /// Matches the folded given, father's or family name containing this folded text.
    pub name: Option<String>,
    pub registered_from: Option<chrono::NaiveDate>,
    pub registered_to: Option<chrono::NaiveDate>,
}

/// A member ready to store: as typed, with the household's defaults filled in, and derived.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletedMember {
    pub raw: RawRegistration,
    pub derived: Derived,
    pub relationship: Option<Relationship>,
    pub vulnerabilities: Vec<Vulnerability>,
}

/// A household's members as they are stored: a member typed without a record id gets a new
/// one, without a site the household's site, without a registration day the day it is saved.
/// Every backend stores these, so a member reads back the same from each.
pub fn complete_members(draft: &HouseholdDraft, actor: &Actor) -> Vec<CompletedMember> {
    draft
        .members
        .iter()
        .map(|m| {
            let mut raw = m.raw.clone();
            if raw.record_id.trim().is_empty() {
                raw.record_id = RecordId::generate().to_string();
            }
            if raw.site.trim().is_empty() {
                raw.site = draft.site_code.clone().unwrap_or_default();
            }
            if raw.registered_on.trim().is_empty() {
                raw.registered_on = actor.at.date_naive().to_string();
            }
            let derived = raw.derive().0;
            CompletedMember {
                raw,
                derived,
                relationship: m.relationship,
                vulnerabilities: m.vulnerabilities.clone(),
            }
        })
        .collect()
}

/// The record ids a household edit keeps; members of the stored household that are not among
/// them are removed.
pub fn staying_record_ids(draft: &HouseholdDraft) -> Vec<String> {
    draft
        .members
        .iter()
        .map(|m| m.raw.record_id.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect()
}

/// A short household reference for the printed card: unambiguous letters and digits.
pub fn new_household_reference() -> String {
    const ALPHABET: &[u8] = b"ACDEFGHJKLMNPQRTUVWXY34679";
    // The low 62 bits of a UUIDv7 are random.
    let mut n = uuid::Uuid::now_v7().as_u128() & ((1u128 << 62) - 1);
    let mut s = String::from("HH-");
    for _ in 0..8 {
        s.push(ALPHABET[(n % ALPHABET.len() as u128) as usize] as char);
        n /= ALPHABET.len() as u128;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_get_the_households_defaults_and_keep_what_was_typed() {
        let at = chrono::DateTime::parse_from_rfc3339("2025-10-02T08:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let actor = Actor {
            username: "desk".into(),
            at,
        };
        let typed = |record: &str, site: &str, day: &str| MemberDraft {
            raw: RawRegistration {
                record_id: record.into(),
                site: site.into(),
                registered_on: day.into(),
                given_name: "Nabi".into(),
                ..RawRegistration::default()
            },
            ..MemberDraft::default()
        };
        let draft = HouseholdDraft {
            site_code: Some("torkham".into()),
            members: vec![typed("", "", ""), typed("R-2", "Spin Boldak", "1404-07-10")],
            ..HouseholdDraft::default()
        };
        let members = complete_members(&draft, &actor);
        assert!(members[0].raw.record_id.starts_with("pw-"));
        assert_eq!(members[0].raw.site, "torkham");
        assert_eq!(members[0].raw.registered_on, "2025-10-02");
        assert_eq!(members[1].raw.record_id, "R-2");
        assert_eq!(members[1].raw.site, "Spin Boldak", "typed values are kept");
        assert_eq!(members[1].raw.registered_on, "1404-07-10");
        assert_eq!(staying_record_ids(&draft), ["R-2"]);
    }

    #[test]
    fn household_references_are_short_and_unambiguous() {
        let r = new_household_reference();
        assert_eq!(r.len(), 11);
        assert!(!r[3..].contains(['O', '0', 'I', '1', 'B', '8', 'S', '5']));
        assert_ne!(r, new_household_reference());
    }
}
