//! Closed vocabularies with stable snake_case codes: stored in the database, sent in the API,
//! and translated in the user interface by their code.

use serde::{Deserialize, Serialize};

/// Defines an enum whose variants each have a stable code.
macro_rules! coded {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code of this value.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The value with this code.
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

coded!(
    /// Sex as recorded.
    Sex { Male = "male", Female = "female" }
);

coded!(
    /// Where a registration happens.
    SiteKind { CrossingPoint = "crossing_point", ReceptionCentre = "reception_centre", Camp = "camp" }
);

coded!(
    /// Relationship of a household member to the head of household.
    Relationship {
        Head = "head",
        Spouse = "spouse",
        Son = "son",
        Daughter = "daughter",
        Father = "father",
        Mother = "mother",
        Brother = "brother",
        Sister = "sister",
        Grandchild = "grandchild",
        Grandparent = "grandparent",
        OtherRelative = "other_relative",
        NotRelated = "not_related",
    }
);

coded!(
    /// Vulnerabilities that set priorities for assistance and protection.
    Vulnerability {
        FemaleHeadedHousehold = "female_headed_household",
        UnaccompaniedChild = "unaccompanied_child",
        SeparatedChild = "separated_child",
        OlderPersonAlone = "older_person_alone",
        Disability = "disability",
        SeriousMedicalCondition = "serious_medical_condition",
        PregnantOrLactating = "pregnant_or_lactating",
    }
);

coded!(
    /// How a household came across the border.
    ReturnType { Deported = "deported", SpontaneousReturn = "spontaneous_return", AssistedReturn = "assisted_return" }
);

coded!(
    /// Priority needs stated at registration.
    Need { Shelter = "shelter", Food = "food", Cash = "cash", Health = "health", Transport = "transport", Documentation = "documentation" }
);

coded!(
    /// The legal basis on which personal data is processed, as humanitarian data-protection
    /// guidance frames it.
    LegalBasis {
        Consent = "consent",
        VitalInterest = "vital_interest",
        PublicInterest = "public_interest",
        LegitimateInterest = "legitimate_interest",
        LegalObligation = "legal_obligation",
        Contract = "contract",
    }
);

coded!(
    /// What the data was collected for; use for any other purpose needs a new basis.
    Purpose {
        Registration = "registration",
        Assistance = "assistance",
        FamilyTracing = "family_tracing",
        Protection = "protection",
        Statistics = "statistics",
    }
);

coded!(
    /// Identity documents returnees carry.
    DocumentType { Por = "por", Acc = "acc", Tazkira = "tazkira", ETazkira = "e_tazkira", Passport = "passport", Other = "other" }
);

coded!(
    /// What a user may do; see docs/security.md for the policy.
    Role {
        Registrar = "registrar",
        Caseworker = "caseworker",
        DistributionOfficer = "distribution_officer",
        InformationManager = "information_manager",
        Auditor = "auditor",
        Administrator = "administrator",
    }
);

/// Reads sex as typed: M, F, male, female in any case, or the Dari and Pashto words.
pub fn parse_sex(raw: &str) -> Option<Sex> {
    let s = peywand_names::fold(raw);
    match s.as_str() {
        // Dari, Pashto (سړی, a man), Urdu (آدمی, عورت) and Arabic words, and Latin spellings
        // of the Dari and Pashto ones.
        "m" | "male" | "man" | "boy" | "mard" | "narina" | "مرد" | "مردانه" | "مذکر" | "ذکور"
        | "نر" | "نارینه" | "پسر" | "هلک" | "ذکر" | "سړی" | "سری" | "آدمی" | "ادمی" => {
            Some(Sex::Male)
        }
        "f" | "female" | "woman" | "girl" | "zan" | "khaza" | "زن" | "زنانه" | "مونث" | "اناث"
        | "ښځه" | "شزه" | "ښځینه" | "شزینه" | "دختر" | "نجلی" | "انثی" | "عورت" | "خانم"
        | "خاتون" => Some(Sex::Female),
        _ => None,
    }
}

/// Reads a document type as typed: PoR / PoR card, ACC, tazkira / e-tazkira, passport, other.
pub fn parse_document_type(raw: &str) -> Option<DocumentType> {
    let s: String = peywand_names::fold(raw)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    match s.as_str() {
        "por" | "porcard" | "proofofregistration" => Some(DocumentType::Por),
        "acc" | "acccard" | "afghancitizencard" => Some(DocumentType::Acc),
        "tazkira"
        | "tazkera"
        | "tazkiraa"
        | "tazkara"
        | "papertazkira"
        | "تذکره"
        | "تذکیره"
        | "تذکرهکاغذی"
        | "کاغذیتذکره" => Some(DocumentType::Tazkira),
        "etazkira"
        | "etazkera"
        | "electronictazkira"
        | "الکترونیکیتذکره"
        | "تذکرهالکترونیکی"
        | "ایتذکره"
        | "ای-تذکره"
        | "برقیتذکره"
        | "تذکرهبرقی" => Some(DocumentType::ETazkira),
        "passport" | "پاسپورت" | "passaport" => Some(DocumentType::Passport),
        "other" | "دیگر" => Some(DocumentType::Other),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for v in Vulnerability::ALL {
            assert_eq!(Vulnerability::from_code(v.code()), Some(*v));
        }
        for r in Role::ALL {
            assert_eq!(Role::from_code(r.code()), Some(*r));
        }
    }

    #[test]
    fn sex_in_three_languages() {
        assert_eq!(parse_sex("M"), Some(Sex::Male));
        assert_eq!(parse_sex("female"), Some(Sex::Female));
        assert_eq!(parse_sex("زن"), Some(Sex::Female));
        assert_eq!(parse_sex("نارینه"), Some(Sex::Male));
        assert_eq!(parse_sex("ښځه"), Some(Sex::Female));
        assert_eq!(parse_sex("سړی"), Some(Sex::Male));
        assert_eq!(parse_sex("عورت"), Some(Sex::Female));
        assert_eq!(parse_sex("Man"), Some(Sex::Male));
        assert_eq!(parse_sex("Woman"), Some(Sex::Female));
        assert_eq!(parse_sex("?"), None);
    }

    #[test]
    fn document_types() {
        assert_eq!(parse_document_type("PoR card"), Some(DocumentType::Por));
        assert_eq!(
            parse_document_type("e-Tazkira"),
            Some(DocumentType::ETazkira)
        );
        assert_eq!(parse_document_type("TAZKIRA"), Some(DocumentType::Tazkira));
        assert_eq!(
            parse_document_type("تذکره کاغذی"),
            Some(DocumentType::Tazkira)
        );
        assert_eq!(
            parse_document_type("ای تذکره"),
            Some(DocumentType::ETazkira)
        );
        assert_eq!(parse_document_type("library card"), None);
    }
}
