//! Registrations: what was typed, kept byte for byte, and what Peywand derived from it.
//!
//! Field data is messy. A value that cannot be interpreted (a birth date in an unknown format, an
//! unknown province) is kept raw, reported as a warning, and simply not used for matching; it
//! never loses the row.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    DocumentType, HouseholdId, LegalBasis, Need, PersonId, Purpose, RecordId, Relationship,
    ReturnType, Sex, SiteKind, Vulnerability, parse_document_type, parse_sex,
};
use peywand_names::{date, document, phone, place::Gazetteer};

/// Defines the raw registration with one string field per CSV column, in contract order.
macro_rules! raw_columns {
    ($($field:ident),+ $(,)?) => {
        /// A registration exactly as typed: one field per column of the registration CSV
        /// (empty when absent). Never rewritten; normalised values live in [`Derived`].
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct RawRegistration { $(pub $field: String),+ }

        impl RawRegistration {
            /// The columns of the registration CSV, in the order Peywand writes them.
            pub const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),+];

            /// The value of a column by name.
            pub fn get(&self, column: &str) -> Option<&str> {
                match column { $(stringify!($field) => Some(&self.$field),)+ _ => None }
            }

            /// Mutable access to a column by name.
            pub fn get_mut(&mut self, column: &str) -> Option<&mut String> {
                match column { $(stringify!($field) => Some(&mut self.$field),)+ _ => None }
            }

            /// Every column's value, in `COLUMNS` order.
            pub fn values(&self) -> [&str; Self::COLUMNS.len()] {
                [$(self.$field.as_str()),+]
            }
        }
    };
}

raw_columns!(
    record_id,
    household_id,
    site,
    registered_on,
    given_name,
    father_name,
    grandfather_name,
    family_name,
    sex,
    birth_date,
    age,
    province_of_origin,
    district_of_origin,
    last_residence,
    document_type,
    document_number,
    phone,
);

/// The version of the rules by which [`RawRegistration::derive`] reads raw values. Raise it
/// whenever they change: a store that opens registrations derived under an older version
/// derives them again, so that registrations made before and after an upgrade are matched
/// and counted alike.
pub const DERIVATION_VERSION: i64 = 2;

/// Values derived from the raw ones, used for matching, filtering and statistics.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Derived {
    /// Folded names (canonical letters, honorifics set aside), for search and display.
    pub given_name: Option<String>,
    pub father_name: Option<String>,
    pub grandfather_name: Option<String>,
    pub family_name: Option<String>,
    pub sex: Option<Sex>,
    pub birth_year_min: Option<i32>,
    pub birth_year_max: Option<i32>,
    /// The full date of birth, when one was typed and is not the usual default for an unknown
    /// day (1 January, 1 Hamal). Read again from the raw date whenever a record is loaded (see
    /// [`known_birth_date`]), so registrations stored before it existed have it too.
    #[serde(default)]
    pub birth_date: Option<NaiveDate>,
    pub registered_on: Option<NaiveDate>,
    pub age: Option<u32>,
    /// OCHA p-code of the province of origin (AF06).
    pub province_code: Option<String>,
    pub district_code: Option<String>,
    /// Gazetteer code of the place of last residence in Pakistan (PK-peshawar).
    pub last_residence_code: Option<String>,
    /// Gazetteer code of the registration site (torkham).
    pub site_code: Option<String>,
    pub document_type: Option<DocumentType>,
    pub document_number: Option<String>,
    pub phone_e164: Option<String>,
}

/// The full date of birth a raw birth date gives, unless it is only a year, a month, or the
/// default day clerks type when the day is unknown.
pub fn known_birth_date(raw_birth_date: &str) -> Option<NaiveDate> {
    if raw_birth_date.trim().is_empty() {
        return None;
    }
    date::parse_birth_date(raw_birth_date).ok()?.known_date()
}

/// A value that could not be interpreted: kept raw, not used for matching.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub column: &'static str,
    pub message: String,
}

/// How wide an age-derived birth interval is made on each side: stated ages are approximate.
const AGE_SLACK_YEARS: i32 = 1;

impl RawRegistration {
    /// The longest value any field may hold, in characters, whichever way it arrives.
    pub const MAX_FIELD_CHARS: usize = 1000;

    /// Whether any name was typed (given, father's or family name).
    pub fn has_name(&self) -> bool {
        [&self.given_name, &self.father_name, &self.family_name]
            .iter()
            .any(|s| !s.trim().is_empty())
    }

    /// The person's own given, father's, grandfather's and family names, folded, as the boxes
    /// were meant. A given-name box may name a relative instead: "wife of Karim" says nothing
    /// of her own name, and a clerk who wrote it often put the husband in the father's box too;
    /// "d/o Karim" names her father. It may hold the father's name as said aloud ("Ahmad s/o
    /// Karim"). A father's box may begin with "son of" (بنت رحمت, walad Rahmat).
    fn own_names(&self) -> [Option<String>; 4] {
        use peywand_names::name::{Relation, split_relation};
        use peywand_names::{Name, normalize};
        let read = |s: &str| Some(normalize(s)).filter(|n| !n.folded.is_empty());
        let mut given = read(&self.given_name);
        let mut father = read(&self.father_name);
        let same = |a: &Name, b: &Name| peywand_names::similarity(a, b) >= 0.9;
        let relative = match split_relation(&self.given_name) {
            Some((own, relation, other)) => {
                given = read(&own);
                read(&other).map(|other| (relation, other))
            }
            None => given
                .take_if(|g| g.relation.is_some())
                .and_then(|g| g.relation.map(|relation| (relation, g))),
        };
        match relative {
            Some((Relation::SonOf | Relation::DaughterOf, parent)) if father.is_none() => {
                father = Some(parent);
            }
            Some((Relation::WifeOf | Relation::MotherOf, other))
                if father.as_ref().is_some_and(|f| same(f, &other)) =>
            {
                father = None;
            }
            _ => {}
        }
        // "w/o Karim" in the father's box names the husband.
        father.take_if(|f| matches!(f.relation, Some(Relation::WifeOf | Relation::MotherOf)));
        [
            given,
            father,
            read(&self.grandfather_name),
            read(&self.family_name),
        ]
        .map(|n| n.map(|n| n.folded))
    }

    /// Derives normalised values, with a warning for every value that could not be read.
    pub fn derive(&self) -> (Derived, Vec<Warning>) {
        let mut w = Vec::new();
        let mut warn = |column: &'static str, message: String| w.push(Warning { column, message });
        let present = |s: &str| !s.trim().is_empty();
        let g = Gazetteer::get();
        let [given_name, father_name, grandfather_name, family_name] = self.own_names();
        let mut d = Derived {
            given_name,
            father_name,
            grandfather_name,
            family_name,
            ..Derived::default()
        };

        if present(&self.sex) {
            d.sex = parse_sex(&self.sex);
            if d.sex.is_none() {
                warn("sex", format!("unrecognised sex {:?}", self.sex));
            }
        }
        if present(&self.registered_on) {
            let s = peywand_names::fold::ascii_digits(self.registered_on.trim());
            match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
                Ok(date) => d.registered_on = Some(date),
                Err(_) => warn(
                    "registered_on",
                    format!(
                        "registration date {:?} is not YYYY-MM-DD",
                        self.registered_on
                    ),
                ),
            }
        }
        if present(&self.age) {
            d.age = date::parse_age(&self.age);
            if d.age.is_none() {
                warn("age", format!("unreadable age {:?}", self.age));
            }
        }
        if present(&self.birth_date) {
            match date::parse_birth_date(&self.birth_date) {
                Ok(b) => {
                    d.birth_year_min = Some(b.year_min);
                    d.birth_year_max = Some(b.year_max);
                    d.birth_date = b.known_date();
                }
                Err(e) => warn(
                    "birth_date",
                    format!("birth date {:?} not understood: {e}", self.birth_date),
                ),
            }
        }
        if d.birth_year_min.is_none()
            && let (Some(age), Some(on)) = (d.age, d.registered_on)
        {
            let b = date::birth_from_age(age, on, AGE_SLACK_YEARS);
            d.birth_year_min = Some(b.year_min);
            d.birth_year_max = Some(b.year_max);
        }
        if present(&self.province_of_origin) {
            d.province_code = g.province(&self.province_of_origin).map(|p| p.code.clone());
            if d.province_code.is_none() {
                warn(
                    "province_of_origin",
                    format!("unknown province {:?}", self.province_of_origin),
                );
            }
        }
        if present(&self.district_of_origin) {
            d.district_code = g
                .district(&self.district_of_origin, d.province_code.as_deref())
                .map(|p| p.code.clone());
        }
        if present(&self.last_residence) {
            d.last_residence_code = g
                .pakistan_place(&self.last_residence)
                .map(|p| p.code.clone());
        }
        if present(&self.site) {
            d.site_code = g.site(&self.site).map(|p| p.code.clone());
        }
        if present(&self.document_type) {
            d.document_type = parse_document_type(&self.document_type);
            if d.document_type.is_none() {
                warn(
                    "document_type",
                    format!("unknown document type {:?}", self.document_type),
                );
            }
        }
        if present(&self.document_number) {
            d.document_number = document::canonical(&self.document_number);
        }
        if present(&self.phone) {
            d.phone_e164 = phone::to_e164(&self.phone);
            if d.phone_e164.is_none() {
                warn(
                    "phone",
                    format!(
                        "phone {:?} is not a valid Afghan or Pakistani number",
                        self.phone
                    ),
                );
            }
        }
        (d, w)
    }
}

/// A registration site: a crossing point, reception centre or camp.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// Stable code (torkham, spin-boldak).
    pub code: String,
    pub name: String,
    pub name_local: String,
    pub kind: SiteKind,
    pub province_code: Option<String>,
}

/// A household: people registered together at one desk.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Household {
    pub id: HouseholdId,
    /// The household id of the registration CSV, or the short reference printed on the card.
    pub reference: String,
    pub site_code: Option<String>,
    pub destination_province: Option<String>,
    pub destination_district: Option<String>,
    pub return_type: Option<ReturnType>,
    pub needs: Vec<Need>,
    pub legal_basis: Option<LegalBasis>,
    pub purposes: Vec<Purpose>,
    pub registered_by: Option<String>,
    pub registered_at: DateTime<Utc>,
}

/// One person's registration record.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub id: PersonId,
    pub record_id: RecordId,
    pub household_id: HouseholdId,
    pub raw: RawRegistration,
    pub derived: Derived,
    pub relationship: Option<Relationship>,
    pub vulnerabilities: Vec<Vulnerability>,
    pub registered_by: Option<String>,
    pub registered_at: DateTime<Utc>,
}

/// The prefix of household references made up for CSV rows that name no household: each such
/// person is a household of one, found again on re-import by its record id.
pub const SOLO_HOUSEHOLD_PREFIX: &str = "solo:";

/// The household reference a registration row belongs to.
pub fn household_reference(raw: &RawRegistration) -> String {
    let h = raw.household_id.trim();
    if h.is_empty() {
        format!("{SOLO_HOUSEHOLD_PREFIX}{}", raw.record_id.trim())
    } else {
        h.to_string()
    }
}

/// Joins coded values for storage ("food,cash").
pub fn join_codes<T: Copy>(values: &[T], code: impl Fn(T) -> &'static str) -> String {
    values
        .iter()
        .map(|v| code(*v))
        .collect::<Vec<_>>()
        .join(",")
}

/// Splits stored codes back into values, skipping unknown ones.
pub fn split_codes<T>(s: &str, from_code: impl Fn(&str) -> Option<T>) -> Vec<T> {
    s.split(',')
        .filter(|c| !c.is_empty())
        .filter_map(from_code)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Boxes that name a relative, or hold the father's name as said aloud, give the person's
    /// own names as meant.
    #[test]
    fn own_names_as_the_boxes_were_meant() {
        let names = |given: &str, father: &str| {
            let d = RawRegistration {
                given_name: given.into(),
                father_name: father.into(),
                ..RawRegistration::default()
            }
            .derive()
            .0;
            (d.given_name, d.father_name)
        };
        let some = |s: &str| Some(s.to_string());
        // Her own name is not known; the husband typed in the father's box is not her father.
        assert_eq!(names("wife of Karim", "Karim"), (None, None));
        assert_eq!(names("W/O Karim", "Nabi"), (None, some("nabi")));
        // A daughter named by her father.
        assert_eq!(names("d/o Rahmat", ""), (None, some("rahmat")));
        assert_eq!(names("", "بنت رحمت"), (None, some("رحمت")));
        // Own name said with the father's.
        assert_eq!(names("Ahmad s/o Karim", ""), (some("ahmad"), some("karim")));
        assert_eq!(
            names("Ahmad s/o Karim", "Kareem"),
            (some("ahmad"), some("kareem"))
        );
        assert_eq!(names("Fatima w/o Karim", ""), (some("fatima"), None));
        assert_eq!(names("Ahmad", "Karim"), (some("ahmad"), some("karim")));
    }

    fn raw() -> RawRegistration {
        RawRegistration {
            record_id: "r-1".into(),
            given_name: "ذبیح‌الله".into(),
            sex: "M".into(),
            birth_date: "۱۳۸۵".into(),
            province_of_origin: "Ningarhar".into(),
            last_residence: "Pekhawar".into(),
            site: "Torkham".into(),
            phone: "0300-1234567".into(),
            document_type: "PoR card".into(),
            document_number: "por-123 456".into(),
            registered_on: "2025-10-01".into(),
            ..RawRegistration::default()
        }
    }

    #[test]
    fn derives_everything_it_can() {
        let (d, w) = raw().derive();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(d.sex, Some(Sex::Male));
        assert_eq!(
            (d.birth_year_min, d.birth_year_max),
            (Some(2006), Some(2007))
        );
        assert_eq!(d.province_code.as_deref(), Some("AF06"));
        assert_eq!(d.last_residence_code.as_deref(), Some("PK-peshawar"));
        assert_eq!(d.site_code.as_deref(), Some("torkham"));
        assert_eq!(d.phone_e164.as_deref(), Some("+923001234567"));
        assert_eq!(d.document_number.as_deref(), Some("123456"));
    }

    #[test]
    fn uninterpretable_values_warn_and_stay_raw() {
        let mut r = raw();
        r.birth_date = "spring of the flood".into();
        r.province_of_origin = "Narnia".into();
        let (d, w) = r.derive();
        assert_eq!(d.birth_year_min, None);
        assert_eq!(d.province_code, None);
        assert_eq!(
            w.iter().map(|w| w.column).collect::<Vec<_>>(),
            vec!["birth_date", "province_of_origin"]
        );
        assert_eq!(r.birth_date, "spring of the flood");
    }

    #[test]
    fn age_gives_birth_years_when_no_date() {
        let mut r = raw();
        r.birth_date.clear();
        r.age = "12".into();
        let (d, _) = r.derive();
        assert_eq!(
            (d.birth_year_min, d.birth_year_max),
            (Some(2011), Some(2014))
        );
    }

    #[test]
    fn columns_follow_the_contract() {
        assert_eq!(RawRegistration::COLUMNS.len(), 17);
        assert_eq!(RawRegistration::COLUMNS[0], "record_id");
        assert_eq!(raw().get("phone"), Some("0300-1234567"));
    }
}
