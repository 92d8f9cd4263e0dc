//! What the linkage engine reads and what reviewers decide about it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{Derived, HouseholdId, Person, Sex};

/// One registration as the linkage engine reads it: derived values only, never raw ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchRecord {
    pub record_id: String,
    /// Rows sharing it were registered together as one household: different people.
    pub household: String,
    /// Folded names (see `Derived`).
    pub given_name: Option<String>,
    pub father_name: Option<String>,
    pub grandfather_name: Option<String>,
    pub family_name: Option<String>,
    pub sex: Option<Sex>,
    pub birth_year_min: Option<i32>,
    pub birth_year_max: Option<i32>,
    /// The full date of birth, where one was typed and is not a default (1 January, 1 Hamal).
    pub birth_date: Option<NaiveDate>,
    /// OCHA p-code of the province of origin.
    pub province_code: Option<String>,
    /// Gazetteer code of the place of last residence in Pakistan.
    pub residence_code: Option<String>,
    /// Document type code and canonical number, as `type:number`.
    pub document: Option<String>,
    pub phone_e164: Option<String>,
}

impl MatchRecord {
    /// The matching view of a registration's derived values.
    pub fn from_derived(record_id: &str, household: &str, d: &Derived) -> MatchRecord {
        MatchRecord {
            record_id: record_id.to_string(),
            household: household.to_string(),
            given_name: d.given_name.clone(),
            father_name: d.father_name.clone(),
            grandfather_name: d.grandfather_name.clone(),
            family_name: d.family_name.clone(),
            sex: d.sex,
            birth_year_min: d.birth_year_min,
            birth_year_max: d.birth_year_max,
            birth_date: d.birth_date,
            province_code: d.province_code.clone(),
            residence_code: d.last_residence_code.clone(),
            document: d.document_number.as_ref().map(|n| {
                format!(
                    "{}:{n}",
                    d.document_type.map(|t| t.code()).unwrap_or_default()
                )
            }),
            phone_e164: d.phone_e164.clone(),
        }
    }

    /// The matching view of a stored registration.
    pub fn from_person(p: &Person) -> MatchRecord {
        Self::from_derived(
            p.record_id.as_str(),
            &household_key(p.household_id),
            &p.derived,
        )
    }
}

/// How the linkage engine refers to a stored household: its id as 32 upper-case hex digits,
/// the form every store writes in [`MatchRecord::household`].
pub fn household_key(id: HouseholdId) -> String {
    format!("{:X}", id.0.simple())
}

/// A reviewer's decision that two registrations are, or are not, one person. Decisions are law:
/// no re-run of the linkage engine overrides them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkDecision {
    pub record_a: String,
    pub record_b: String,
    pub same_person: bool,
    pub reviewer: String,
    pub reason: String,
    pub decided_at: DateTime<Utc>,
}

/// Two registrations with the probability that they are one person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScoredPair {
    pub record_a: String,
    pub record_b: String,
    pub probability: f64,
}
