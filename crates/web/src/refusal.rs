//! Why a form or a request was refused, typed: the API words it in English for the programs
//! that call it, a page in its reader's language (a registrar at a desk reads Dari or Pashto).

use peywand_store::Conflict;

use crate::i18n::Tr;

/// What was wrong with what someone filled in. Nothing was saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("a household needs at least one member")]
    NoMembers,
    #[error("a household can list at most {max} members")]
    TooManyMembers { max: usize },
    #[error("member {member} has no name: give a given, father's or family name")]
    MemberWithoutName { member: usize },
    /// `field` is a registration column (`given_name`).
    #[error("member {member}: {field} is longer than {max} characters")]
    MemberFieldTooLong {
        member: usize,
        field: &'static str,
        max: usize,
    },
    /// `field` is a form or registration column (`requester_contact`, `given_name`).
    #[error("{field} is longer than {max} characters")]
    FieldTooLong { field: &'static str, max: usize },
    #[error("a site or place code is longer than {max} characters")]
    CodeTooLong { max: usize },
    #[error("give at least one name of the person sought (given, father's or family name)")]
    SoughtWithoutName,
    #[error("choose a decision")]
    NoDecision,
    #[error("give the reason for the decision")]
    NoReason,
    #[error("choose a step")]
    NoStep,
    #[error("give the step's date as year-month-day, not after today")]
    BadStepDate,
    #[error("say where the step happened (a site, a village, a phone call)")]
    NoStepPlace,
    #[error("give a quantity of one or more")]
    QuantityBelowOne,
    #[error("give the day it was handed over: not after today")]
    GivenInFuture,
    #[error("choose the kind of assistance handed over")]
    NoKind,
    #[error("give every weight as a whole number from 0 to 100")]
    BadWeight,
    #[error("the share of people sought who registered is a percentage from 1 to 99")]
    BadRegisteredShare,
}

impl Refusal {
    /// The refusal in the reader's language.
    pub(crate) fn worded(&self, t: &Tr) -> String {
        let number = |n: usize| t.digits(&n.to_string());
        match self {
            Refusal::NoMembers => t.get("refusal-no-members"),
            Refusal::TooManyMembers { max } => {
                t.with("refusal-too-many-members", "max", number(*max))
            }
            Refusal::MemberWithoutName { member } => {
                t.with("refusal-member-without-name", "n", number(*member))
            }
            Refusal::MemberFieldTooLong { member, field, max } => t.with_all(
                "refusal-member-field-too-long",
                &[
                    ("n", number(*member)),
                    ("field", field_label(t, field)),
                    ("max", number(*max)),
                ],
            ),
            Refusal::FieldTooLong { field, max } => t.with_all(
                "refusal-field-too-long",
                &[("field", field_label(t, field)), ("max", number(*max))],
            ),
            Refusal::CodeTooLong { max } => t.with("refusal-code-too-long", "max", number(*max)),
            Refusal::SoughtWithoutName => t.get("refusal-sought-without-name"),
            Refusal::NoDecision => t.get("refusal-no-decision"),
            Refusal::NoReason => t.get("reason-needed"),
            Refusal::NoStep => t.get("refusal-no-step"),
            Refusal::BadStepDate => t.get("date-needed"),
            Refusal::NoStepPlace => t.get("place-needed"),
            Refusal::QuantityBelowOne => t.get("refusal-quantity-below-one"),
            Refusal::GivenInFuture => t.get("refusal-given-in-future"),
            Refusal::NoKind => t.get("refusal-no-kind"),
            Refusal::BadWeight => t.get("refusal-bad-weight"),
            Refusal::BadRegisteredShare => t.get("refusal-bad-registered-share"),
        }
    }
}

/// A conflict with what is recorded, in the reader's language.
pub(crate) fn conflict_worded(conflict: &Conflict, t: &Tr) -> String {
    let status = |s: &peywand_domain::CaseStatus| t.code("status", s.code());
    match conflict {
        Conflict::FileExists(file) => t.with("conflict-file-exists", "file", file),
        Conflict::RecordIdTaken => t.get("conflict-record-id-taken"),
        Conflict::UsernameTaken(name) => t.with("conflict-username-taken", "username", name),
        Conflict::CaseFinished(s) => t.with("conflict-case-finished", "status", status(s)),
        Conflict::OtherCandidateConfirmed => t.get("conflict-other-candidate-confirmed"),
        Conflict::CaseCannotMove { from, to } => t.with_all(
            "conflict-case-cannot-move",
            &[("from", status(from)), ("to", status(to))],
        ),
        Conflict::AlreadyReunified => t.get("conflict-already-reunified"),
        Conflict::CaseClosed => t.get("conflict-case-closed"),
        Conflict::NoMatchConfirmed => t.get("conflict-no-match-confirmed"),
        Conflict::AlreadyGiven { kind, site, on, by } => t.with_all(
            "conflict-already-given",
            &[
                ("kind", t.code("assistance-kind", kind)),
                ("site", t.site(site)),
                ("on", t.date(*on)),
                ("by", by.clone()),
            ],
        ),
        Conflict::MoreThanEntitled { kind, entitled } => t.with_all(
            "conflict-more-than-entitled",
            &[
                ("kind", t.code("assistance-kind", kind)),
                ("entitled", t.digits(&entitled.to_string())),
            ],
        ),
        Conflict::NotEligible { kind, criterion } => t.with_all(
            "conflict-not-eligible",
            &[
                ("kind", t.code("assistance-kind", kind)),
                ("criterion", t.code("criterion", criterion)),
            ],
        ),
        Conflict::NoProgramme { kind, on } => t.with_all(
            "conflict-no-programme",
            &[
                ("kind", t.code("assistance-kind", kind)),
                ("on", t.date(*on)),
            ],
        ),
        Conflict::ProgrammeOverlaps { kind } => t.with(
            "conflict-programme-overlaps",
            "kind",
            t.code("assistance-kind", kind),
        ),
        Conflict::ChangeAltered { origin, seq } => {
            change_worded(t, "conflict-change-altered", origin, *seq)
        }
        Conflict::ChangeHeldOtherwise { origin, seq } => {
            change_worded(t, "conflict-change-held-otherwise", origin, *seq)
        }
        Conflict::NotMadeHere { origin, seq } => {
            change_worded(t, "conflict-not-made-here", origin, *seq)
        }
        Conflict::ChangeTime { at } => t.with("conflict-change-time", "at", at),
        Conflict::OriginAlreadySet(origin) => {
            t.with("conflict-origin-already-set", "origin", origin)
        }
    }
}

fn change_worded(t: &Tr, key: &str, origin: &str, seq: i64) -> String {
    t.with_all(
        key,
        &[
            ("origin", origin.to_string()),
            ("seq", t.digits(&seq.to_string())),
        ],
    )
}

/// A column's label as the forms show it: `given_name` → "Given name", in the reader's language.
fn field_label(t: &Tr, column: &str) -> String {
    match column {
        "record_id" => t.get("record"),
        "household_id" => t.get("household"),
        "registered_on" => t.get("registered"),
        "name" => t.get("programme-name"),
        other => t.get(&other.replace('_', "-")),
    }
}

#[cfg(test)]
mod tests {
    use peywand_domain::{CaseStatus, RawRegistration};
    use peywand_store::Conflict;

    use super::{Refusal, conflict_worded, field_label};
    use crate::i18n::{Lang, Tr};

    fn every_refusal() -> Vec<Refusal> {
        let mut all = vec![
            Refusal::NoMembers,
            Refusal::TooManyMembers { max: 40 },
            Refusal::MemberWithoutName { member: 2 },
            Refusal::CodeTooLong { max: 64 },
            Refusal::SoughtWithoutName,
            Refusal::NoDecision,
            Refusal::NoReason,
            Refusal::NoStep,
            Refusal::BadStepDate,
            Refusal::NoStepPlace,
            Refusal::QuantityBelowOne,
            Refusal::GivenInFuture,
        ];
        for field in RawRegistration::COLUMNS
            .iter()
            .chain(crate::cases::TRACING_TEXTS)
            .chain(&["name", "received_by", "reason"])
        {
            all.push(Refusal::FieldTooLong { field, max: 200 });
            all.push(Refusal::MemberFieldTooLong {
                member: 3,
                field,
                max: 200,
            });
        }
        all
    }

    fn every_conflict() -> Vec<Conflict> {
        vec![
            Conflict::FileExists("copy.db".into()),
            Conflict::RecordIdTaken,
            Conflict::UsernameTaken("karima".into()),
            Conflict::CaseFinished(CaseStatus::Reunified),
            Conflict::OtherCandidateConfirmed,
            Conflict::CaseCannotMove {
                from: CaseStatus::Reunified,
                to: CaseStatus::Open,
            },
            Conflict::AlreadyReunified,
            Conflict::CaseClosed,
            Conflict::NoMatchConfirmed,
            Conflict::ChangeAltered {
                origin: "torkham".into(),
                seq: 7,
            },
            Conflict::ChangeHeldOtherwise {
                origin: "torkham".into(),
                seq: 7,
            },
            Conflict::NotMadeHere {
                origin: "hub".into(),
                seq: 7,
            },
            Conflict::ChangeTime {
                at: "0000001733500000000.000000".into(),
            },
            Conflict::OriginAlreadySet("torkham".into()),
            Conflict::AlreadyGiven {
                kind: "winter_kit".into(),
                site: "torkham".into(),
                on: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default(),
                by: "karima".into(),
            },
            Conflict::MoreThanEntitled {
                kind: "blankets".into(),
                entitled: 4,
            },
            Conflict::NoProgramme {
                kind: "cash".into(),
                on: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default(),
            },
            Conflict::ProgrammeOverlaps {
                kind: "food_ration".into(),
            },
            Conflict::NotEligible {
                kind: "cash".into(),
                criterion: "vulnerable".into(),
            },
        ]
    }

    /// A registrar reading Dari or Pashto is told what to mend in their language: no message
    /// falls back to English or shows its key, and numbers are written in Persian digits.
    #[test]
    fn every_refusal_and_conflict_is_worded_in_every_language() {
        let english = Tr::default();
        for lang in [Lang::Fa, Lang::Ps] {
            let t = Tr {
                lang,
                ..Tr::default()
            };
            let worded = every_refusal()
                .iter()
                .map(|r| (r.worded(&english), r.worded(&t)))
                .chain(
                    every_conflict()
                        .iter()
                        .map(|c| (conflict_worded(c, &english), conflict_worded(c, &t))),
                )
                .collect::<Vec<_>>();
            for (en, local) in worded {
                assert_ne!(en, local, "{lang:?}: {local}");
                assert!(!local.contains("refusal-") && !local.contains("conflict-"));
                assert!(
                    !local
                        .chars()
                        .any(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
                        || local.contains("copy.db")
                        || local.contains("karima")
                        // Codes of sites and of changes are data, not words.
                        || local.contains("torkham")
                        || local.contains("hub")
                        || local.contains("0000001733500000000.000000"),
                    "{lang:?}: {local}"
                );
            }
        }
    }

    #[test]
    fn refusals_name_the_field_and_the_member_as_the_form_does() {
        let t = Tr::default();
        let refusal = Refusal::MemberFieldTooLong {
            member: 2,
            field: "father_name",
            max: 200,
        };
        assert_eq!(
            refusal.worded(&t),
            "Member 2: Father's name is longer than 200 characters."
        );
        assert_eq!(
            refusal.to_string(),
            "member 2: father_name is longer than 200 characters"
        );
        let dari = Tr {
            lang: Lang::Fa,
            ..Tr::default()
        };
        assert_eq!(field_label(&dari, "father_name"), "نام پدر");
        assert!(refusal.worded(&dari).contains("۲۰۰"));
        assert_eq!(
            conflict_worded(&Conflict::CaseFinished(CaseStatus::Reunified), &t),
            "The case is \"Reunified\": reopen it before deciding again."
        );
    }
}
