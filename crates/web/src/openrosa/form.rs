//! The household registration form for ODK Collect and KoboCollect, generated from Peywand's
//! own vocabularies and gazetteer rather than kept by hand: a new vocabulary value or label
//! gives a new form version and a new `md5:` hash, which Collect sees in the form list and
//! downloads. Labels come from the interface's translations (English, Dari, Pashto); Collect
//! picks the phone's language. Constraints mirror the desk's checks; the server checks again.

use std::fmt::Write as _;
use std::sync::LazyLock;

use md5::{Digest, Md5};
use quick_xml::escape::escape;

use peywand_domain::{
    DocumentType, LegalBasis, Need, Purpose, Relationship, ReturnType, Vulnerability,
};
use peywand_names::place::{Gazetteer, PlaceKind};

use crate::i18n::{Lang, Tr};

/// The form's id, as Collect lists it and as a submission's root element names it.
pub const FORM_ID: &str = "peywand_household";

/// The longest text a field takes, as at the desk: the constraint below says 1000.
const MAX_CHARS: usize = peywand_domain::RawRegistration::MAX_FIELD_CHARS;
const _: () = assert!(MAX_CHARS == 1000, "change the form's length constraint too");

/// The generated form, once per process: its vocabularies are compiled in.
pub struct HouseholdForm {
    pub xml: String,
    pub version: String,
    /// `md5:` and the hex digest of `xml`, as the form list gives it.
    pub hash: String,
}

pub static HOUSEHOLD_FORM: LazyLock<HouseholdForm> = LazyLock::new(HouseholdForm::generate);

/// The text a document type is kept as, as the desk's list offers it.
pub fn document_type_text(d: DocumentType) -> &'static str {
    match d {
        DocumentType::Por => "PoR",
        DocumentType::Acc => "ACC",
        DocumentType::Tazkira => "tazkira",
        DocumentType::ETazkira => "e-tazkira",
        DocumentType::Passport => "passport",
        DocumentType::Other => "other",
    }
}

/// How Collect matches a translation to the phone's language: the code in parentheses.
fn language_name(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "English (en)",
        Lang::Fa => "Dari (fa)",
        Lang::Ps => "Pashto (ps)",
    }
}

/// A choice: its value and its label in each language.
struct Choice {
    value: String,
    label: Box<dyn Fn(&Tr) -> String>,
}

fn coded<T: Copy + 'static>(
    all: &'static [T],
    code: fn(T) -> &'static str,
    prefix: &'static str,
) -> Vec<Choice> {
    all.iter()
        .map(|v| {
            let c = code(*v);
            Choice {
                value: c.to_string(),
                label: Box::new(move |t: &Tr| t.code(prefix, c)),
            }
        })
        .collect()
}

fn provinces() -> Vec<Choice> {
    Gazetteer::get()
        .all(PlaceKind::Province)
        .map(|p| {
            let place = p.clone();
            Choice {
                value: p.code.clone(),
                label: Box::new(move |t: &Tr| match t.lang {
                    Lang::Fa | Lang::Ps if !place.name_local.is_empty() => place.name_local.clone(),
                    _ => place.name_en.clone(),
                }),
            }
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Int,
    One,
    Many,
}

/// One question: where its answer goes, its label's translation key, its kind and choices.
struct Question {
    name: &'static str,
    label: &'static str,
    kind: Kind,
    /// The choice list's name: its secondary instance, shared by questions that offer it.
    list: &'static str,
    choices: Vec<Choice>,
    required: Option<&'static str>,
    constraint: Option<(&'static str, &'static str)>,
}

impl Question {
    fn new(name: &'static str, label: &'static str, kind: Kind) -> Question {
        let constraint = match kind {
            Kind::Text => Some(("string-length(.) <= 1000", "xform-too-long")),
            Kind::Int => Some((". >= 0 and . <= 120", "xform-age-range")),
            Kind::One | Kind::Many => None,
        };
        Question {
            name,
            label,
            kind,
            list: "",
            choices: Vec::new(),
            required: None,
            constraint,
        }
    }

    fn choices(mut self, list: &'static str, choices: Vec<Choice>) -> Question {
        self.list = list;
        self.choices = choices;
        self
    }

    fn required(mut self, when: &'static str) -> Question {
        self.required = Some(when);
        self
    }
}

fn household_questions() -> Vec<Question> {
    vec![
        Question::new("destination_province", "destination-province", Kind::One)
            .choices("provinces", provinces()),
        Question::new("destination_district", "destination-district", Kind::Text),
        Question::new("return_type", "return-type", Kind::One).choices(
            "return_types",
            coded(ReturnType::ALL, ReturnType::code, "return"),
        ),
        Question::new("needs", "priority-needs", Kind::Many)
            .choices("needs", coded(Need::ALL, Need::code, "need")),
        Question::new("legal_basis", "legal-basis", Kind::One).choices(
            "legal_bases",
            coded(LegalBasis::ALL, LegalBasis::code, "basis"),
        ),
        Question::new("purposes", "consent-purposes", Kind::Many)
            .choices("purposes", coded(Purpose::ALL, Purpose::code, "purpose")),
    ]
}

fn member_questions() -> Vec<Question> {
    let documents = DocumentType::ALL
        .iter()
        .map(|d| {
            let code = d.code();
            Choice {
                value: code.to_string(),
                label: Box::new(move |t: &Tr| t.code("doc", code)),
            }
        })
        .collect();
    vec![
        // A member without any name is refused at the desk: the given name is asked for
        // unless a father's or family name is given.
        Question::new("given_name", "given-name", Kind::Text)
            .required("../father_name = '' and ../family_name = ''"),
        Question::new("father_name", "father-name", Kind::Text),
        Question::new("grandfather_name", "grandfather-name", Kind::Text),
        Question::new("family_name", "family-name", Kind::Text),
        Question::new("relationship", "relationship", Kind::One).choices(
            "relationships",
            coded(Relationship::ALL, Relationship::code, "rel"),
        ),
        Question::new("sex", "sex", Kind::One).choices(
            "sexes",
            coded(peywand_domain::Sex::ALL, peywand_domain::Sex::code, "sex"),
        ),
        Question::new("birth_date", "birth-date", Kind::Text),
        Question::new("age", "age", Kind::Int),
        Question::new("province_of_origin", "province-of-origin", Kind::One)
            .choices("provinces", provinces()),
        Question::new("district_of_origin", "district-of-origin", Kind::Text),
        Question::new("last_residence", "last-residence", Kind::Text),
        Question::new("document_type", "document-type", Kind::One)
            .choices("document_types", documents),
        Question::new("document_number", "document-number", Kind::Text),
        Question::new("phone", "phone", Kind::Text),
        Question::new("vulnerabilities", "vulnerabilities", Kind::Many).choices(
            "vulnerabilities",
            coded(Vulnerability::ALL, Vulnerability::code, "vuln"),
        ),
    ]
}

/// The household's questions, then the repeated member's, by name: what a submission may hold.
pub fn field_names() -> (Vec<&'static str>, Vec<&'static str>) {
    (
        household_questions().iter().map(|q| q.name).collect(),
        member_questions().iter().map(|q| q.name).collect(),
    )
}

const VERSION_PLACEHOLDER: &str = "@VERSION@";

impl HouseholdForm {
    fn generate() -> HouseholdForm {
        let template = xform(VERSION_PLACEHOLDER);
        // The version is the template's own digest: any change to a vocabulary, a place or a
        // label is a new version, and the same build always gives the same one.
        let version = hex(&Md5::digest(template.as_bytes()))[..12].to_string();
        let xml = template.replace(VERSION_PLACEHOLDER, &version);
        let hash = format!("md5:{}", hex(&Md5::digest(xml.as_bytes())));
        HouseholdForm { xml, version, hash }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn xform(version: &str) -> String {
    let household = household_questions();
    let members = member_questions();
    // Each choice list once, in the order questions first offer it, as pyxform writes them.
    let mut lists: Vec<&Question> = Vec::new();
    for q in household.iter().chain(&members) {
        if !q.list.is_empty() && !lists.iter().any(|l| l.list == q.list) {
            lists.push(q);
        }
    }
    let mut x = String::new();
    let _ = write!(
        x,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml" xmlns:jr="http://openrosa.org/javarosa" xmlns:odk="http://www.opendatakit.org/xforms" xmlns:orx="http://openrosa.org/xforms" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <h:head>
    <h:title>{title}</h:title>
    <model odk:xforms-version="1.0.0">
      <itext>
"#,
        title = escape(Tr::default().get("xform-title").as_str())
    );
    for lang in Lang::ALL {
        let t = Tr {
            lang,
            ..Tr::default()
        };
        let default = if lang == Lang::En {
            r#" default="true()""#
        } else {
            ""
        };
        let _ = writeln!(
            x,
            r#"        <translation lang="{}"{default}>"#,
            language_name(lang)
        );
        let mut text = |id: &str, value: &str| {
            let _ = writeln!(
                x,
                r#"          <text id="{id}"><value>{}</value></text>"#,
                escape(value)
            );
        };
        text("/data/member:label", &t.get("xform-member"));
        for key in ["xform-too-long", "xform-age-range", "xform-name-needed"] {
            text(&format!("{key}:message"), &t.get(key));
        }
        for (path, q) in household
            .iter()
            .map(|q| ("/data", q))
            .chain(members.iter().map(|q| ("/data/member", q)))
        {
            text(&format!("{path}/{}:label", q.name), &t.get(q.label));
        }
        for q in &lists {
            for (i, c) in q.choices.iter().enumerate() {
                text(&format!("{}-{i}", q.list), &(c.label)(&t));
            }
        }
        let _ = writeln!(x, "        </translation>");
    }
    let _ = writeln!(x, "      </itext>");
    let _ = writeln!(x, "      <instance>");
    let _ = writeln!(x, r#"        <data id="{FORM_ID}" version="{version}">"#);
    for q in &household {
        let _ = writeln!(x, "          <{}/>", q.name);
    }
    let _ = writeln!(x, r#"          <member jr:template="">"#);
    let _ = writeln!(x, "            <member_id/>");
    for q in &members {
        let _ = writeln!(x, "            <{}/>", q.name);
    }
    let _ = writeln!(x, "          </member>");
    let _ = writeln!(
        x,
        "          <meta>\n            <instanceID/>\n          </meta>"
    );
    let _ = writeln!(x, "        </data>\n      </instance>");
    for q in &lists {
        let _ = writeln!(x, "      <instance id=\"{}\">\n        <root>", q.list);
        for (i, c) in q.choices.iter().enumerate() {
            let _ = writeln!(
                x,
                "          <item>\n            <itextId>{}-{i}</itextId>\n            <name>{}</name>\n          </item>",
                q.list,
                escape(c.value.as_str())
            );
        }
        let _ = writeln!(x, "        </root>\n      </instance>");
    }
    let bind = |x: &mut String, path: &str, q: &Question| {
        let kind = match q.kind {
            Kind::Text => "string",
            Kind::Int => "int",
            Kind::One => "string",
            Kind::Many => "string",
        };
        let _ = write!(
            x,
            r#"      <bind nodeset="{path}/{}" type="{kind}""#,
            q.name
        );
        if let Some(when) = q.required {
            let _ = write!(
                x,
                r#" required="{}" jr:requiredMsg="jr:itext('xform-name-needed:message')""#,
                escape(when)
            );
        }
        if let Some((constraint, message)) = q.constraint {
            let _ = write!(
                x,
                r#" constraint="{}" jr:constraintMsg="jr:itext('{message}:message')""#,
                escape(constraint)
            );
        }
        let _ = writeln!(x, "/>");
    };
    for q in &household {
        bind(&mut x, "/data", q);
    }
    // Each member keeps an id of its own across edits of the form on the phone, so that an
    // edited household keeps its members' registrations.
    let _ = writeln!(
        x,
        r#"      <bind nodeset="/data/member/member_id" type="string" readonly="true()" calculate="once(uuid())"/>"#
    );
    for q in &members {
        bind(&mut x, "/data/member", q);
    }
    let _ = writeln!(
        x,
        r#"      <bind nodeset="/data/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/>"#
    );
    let _ = writeln!(x, "    </model>\n  </h:head>\n  <h:body>");
    let body = |x: &mut String, indent: &str, path: &str, q: &Question| {
        let r = format!("{path}/{}", q.name);
        let (open, close) = match q.kind {
            Kind::Text | Kind::Int => ("input", "input"),
            Kind::One => ("select1", "select1"),
            Kind::Many => ("select", "select"),
        };
        let _ = writeln!(x, r#"{indent}<{open} ref="{r}">"#);
        let _ = writeln!(x, r#"{indent}  <label ref="jr:itext('{r}:label')"/>"#);
        if !q.list.is_empty() {
            let _ = writeln!(
                x,
                r#"{indent}  <itemset nodeset="instance('{}')/root/item">"#,
                q.list
            );
            let _ = writeln!(x, r#"{indent}    <value ref="name"/>"#);
            let _ = writeln!(x, r#"{indent}    <label ref="jr:itext(itextId)"/>"#);
            let _ = writeln!(x, "{indent}  </itemset>");
        }
        let _ = writeln!(x, "{indent}</{close}>");
    };
    for q in &household {
        body(&mut x, "    ", "/data", q);
    }
    let _ = writeln!(x, r#"    <group ref="/data/member">"#);
    let _ = writeln!(x, r#"      <label ref="jr:itext('/data/member:label')"/>"#);
    let _ = writeln!(x, r#"      <repeat nodeset="/data/member">"#);
    for q in &members {
        body(&mut x, "        ", "/data/member", q);
    }
    let _ = writeln!(x, "      </repeat>\n    </group>\n  </h:body>\n</h:html>");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_is_stable_and_lists_every_vocabulary_value() {
        let f = &*HOUSEHOLD_FORM;
        assert_eq!(
            HouseholdForm::generate().xml,
            f.xml,
            "the same build, the same form"
        );
        assert!(f.hash.starts_with("md5:") && f.hash.len() == 36);
        assert!(
            f.xml
                .contains(&format!(r#"<data id="{FORM_ID}" version="{}">"#, f.version))
        );
        for v in Vulnerability::ALL {
            assert!(f.xml.contains(&format!("<name>{}</name>", v.code())));
        }
        assert_eq!(
            f.xml.matches("<name>AF06</name>").count(),
            1,
            "one list of provinces"
        );
        for lang in ["English (en)", "Dari (fa)", "Pashto (ps)"] {
            assert!(f.xml.contains(lang));
        }
        // Dari labels, not the English ones, in the Dari translation.
        assert!(f.xml.contains("ننگرهار"));
    }

    #[test]
    fn every_label_is_translated() {
        let f = &*HOUSEHOLD_FORM;
        // A missing translation comes back as its key.
        for key in [
            "xform-", "doc-", "rel-", "vuln-", "need-", "basis-", "purpose-",
        ] {
            assert!(
                !f.xml.contains(&format!("<value>{key}")),
                "an untranslated {key} label"
            );
        }
    }
}
