//! What the linkage engine reads and what reviewers decide about it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{Derived, HouseholdId, Person, RawRegistration, Sex};

/// One registration as the linkage engine reads it: derived values, and places as typed
/// where the gazetteer does not know them.
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
    /// OCHA p-code of the province of origin, or the province as typed (see [`place_key`]).
    pub province_code: Option<String>,
    /// Gazetteer code of the place of last residence in Pakistan, or the place as typed.
    pub residence_code: Option<String>,
    /// Gazetteer code of the district of origin; a district the gazetteer does not know is
    /// left out: typed freely, it would tell namesakes apart by their spelling.
    pub district_code: Option<String>,
    /// Document type code and canonical number, as `type:number`.
    pub document: Option<String>,
    pub phone_e164: Option<String>,
    /// Her husband's name, folded, where the registration names her only as his wife
    /// ("wife of Karim", همسر کریم) and gives neither her own nor her father's name.
    pub husband_name: Option<String>,
    /// The day the registration was made: two registrations of one person are most often
    /// weeks apart (a crossing point, then a reception centre), two strangers' years.
    pub registered_on: Option<NaiveDate>,
}

impl MatchRecord {
    /// The matching view of a registration: its derived values, and the places the gazetteer
    /// does not know as typed (see [`place_key`]).
    pub fn from_registration(
        record_id: &str,
        household: &str,
        raw: &RawRegistration,
        d: &Derived,
    ) -> MatchRecord {
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
            province_code: place_key(d.province_code.clone(), &raw.province_of_origin),
            residence_code: place_key(d.last_residence_code.clone(), &raw.last_residence),
            district_code: d.district_code.clone(),
            // The number alone: one clerk records the card's type and another does not, and
            // numbers of different types have different lengths.
            document: d.document_number.clone(),
            phone_e164: d.phone_e164.clone(),
            husband_name: (d.given_name.is_none() && d.father_name.is_none())
                .then(|| husband_named(&raw.given_name))
                .flatten(),
            registered_on: d.registered_on,
        }
    }

    /// The matching view of a stored registration.
    pub fn from_person(p: &Person) -> MatchRecord {
        Self::from_registration(
            p.record_id.as_str(),
            &household_key(p.household_id),
            &p.raw,
            &p.derived,
        )
    }
}

/// How matching knows a place: its gazetteer code, or a place the gazetteer does not know as
/// typed, folded. Two records from a site whose places are missing from the gazetteer still
/// agree when they name one place alike.
pub fn place_key(code: Option<String>, raw: &str) -> Option<String> {
    code.or_else(|| peywand_names::place::unlisted_place_key(raw))
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

/// The husband a given-name box names, folded: "wife of Karim", "w/o Karim", همسر کریم. None
/// when the box names the person herself, or another relative.
pub fn husband_named(given_box: &str) -> Option<String> {
    use peywand_names::name::{Relation, split_relation};
    let husband = match split_relation(given_box) {
        Some((_, Relation::WifeOf, other)) => peywand_names::normalize(&other),
        Some(_) => return None,
        None => {
            let name = peywand_names::normalize(given_box);
            if name.relation != Some(Relation::WifeOf) {
                return None;
            }
            name
        }
    };
    Some(husband.folded).filter(|f| !f.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_woman_named_only_as_a_wife_is_matched_by_her_husbands_name() {
        assert_eq!(
            husband_named("wife of Mohammad Tahir").as_deref(),
            Some("mohammad tahir")
        );
        assert!(husband_named("همسر آصف").is_some());
        assert_eq!(husband_named("Nazo"), None);
        assert_eq!(husband_named("daughter of Karim"), None);
        let raw = RawRegistration {
            given_name: "w/o Karim".into(),
            sex: "F".into(),
            ..RawRegistration::default()
        };
        let (derived, _) = raw.derive();
        let m = MatchRecord::from_registration("r", "h", &raw, &derived);
        assert_eq!(m.given_name, None);
        assert_eq!(m.husband_name.as_deref(), Some("karim"));
        // A father's name recorded: her husband's is not needed in its place.
        let raw = RawRegistration {
            father_name: "Rahim".into(),
            ..raw
        };
        let (derived, _) = raw.derive();
        let m = MatchRecord::from_registration("r", "h", &raw, &derived);
        assert_eq!(m.husband_name, None);
    }
}
