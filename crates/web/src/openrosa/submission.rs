//! A submission as ODK Collect sends it: `multipart/form-data` with one `xml_submission_file`
//! part and any attachments, read here into a household draft. The XML is the form's instance
//! (`<data id="peywand_household" version="…">`), members one `<member>` element each.

use quick_xml::events::Event;

use peywand_domain::{
    DocumentType, LegalBasis, Need, Purpose, Relationship, ReturnType, Vulnerability,
};
use peywand_store::{HouseholdDraft, MemberDraft};

use super::form::{FORM_ID, document_type_text, field_names};

/// Why a submission could not be read; the phone's enumerator sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    #[error("the request is not multipart/form-data")]
    NotMultipart,
    #[error("the multipart body is broken or cut short")]
    BrokenMultipart,
    #[error("the request has no xml_submission_file part")]
    NoXml,
    #[error("the request has more than one xml_submission_file part")]
    SeveralXml,
    #[error("the submitted XML is not well-formed")]
    BadXml,
    #[error("this is not Peywand's household form ({0})")]
    OtherForm(String),
    #[error("the form has no instanceID")]
    NoInstanceId,
    #[error("{field} has a value the form does not offer ({value})")]
    UnknownValue { field: String, value: String },
    #[error("the form has a field Peywand does not know ({0})")]
    UnknownField(String),
}

/// One part of a multipart body.
pub struct Part<'a> {
    pub name: String,
    pub body: &'a [u8],
}

/// The boundary a `multipart/form-data` content type names.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty() && b.len() <= 70)
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The parts of a multipart body, refused whole when any part is cut short or the closing
/// boundary is missing (a connection cut mid-upload).
pub fn parts<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, Unreadable> {
    let delimiter = format!("--{boundary}");
    let start = find(body, delimiter.as_bytes()).ok_or(Unreadable::BrokenMultipart)?;
    let mut rest = &body[start + delimiter.len()..];
    let between = format!("\r\n--{boundary}");
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or(Unreadable::BrokenMultipart)?;
        let head_end = find(rest, b"\r\n\r\n").ok_or(Unreadable::BrokenMultipart)?;
        let head =
            std::str::from_utf8(&rest[..head_end]).map_err(|_| Unreadable::BrokenMultipart)?;
        let name = head
            .split("\r\n")
            .filter_map(|line| line.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-disposition"))
            .and_then(|(_, v)| {
                v.split(';').find_map(|p| {
                    let (k, v) = p.trim().split_once('=')?;
                    (k.trim() == "name").then(|| v.trim().trim_matches('"').to_string())
                })
            })
            .ok_or(Unreadable::BrokenMultipart)?;
        let content = &rest[head_end + 4..];
        let end = find(content, between.as_bytes()).ok_or(Unreadable::BrokenMultipart)?;
        parts.push(Part {
            name,
            body: &content[..end],
        });
        rest = &content[end + between.len()..];
    }
}

/// A submission read from its XML.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub instance_id: String,
    /// The submission this one edits, if any.
    pub deprecated_id: Option<String>,
    pub draft: HouseholdDraft,
}

/// Reads the form instance's XML into a household draft. Values are kept as typed; coded
/// answers must be among the form's choices.
pub fn read(xml: &[u8]) -> Result<Submitted, Unreadable> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let (household_fields, member_fields) = field_names();
    let mut path: Vec<String> = Vec::new();
    let mut top: Vec<(String, String)> = Vec::new();
    let mut members: Vec<Vec<(String, String)>> = Vec::new();
    let mut instance_id = None;
    let mut deprecated_id = None;
    let mut buf = Vec::new();
    let mut text = String::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if path.is_empty() {
                    let id = e
                        .try_get_attribute("id")
                        .ok()
                        .flatten()
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                        .unwrap_or_default();
                    if id != FORM_ID {
                        return Err(Unreadable::OtherForm(id));
                    }
                } else if path.len() == 1 && name == "member" {
                    members.push(Vec::new());
                }
                path.push(name);
                text.clear();
            }
            Ok(Event::Empty(e)) => {
                if path.is_empty() {
                    return Err(Unreadable::NoInstanceId);
                }
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if path.len() == 1 && name == "member" {
                    members.push(Vec::new());
                }
            }
            Ok(Event::Text(t)) => {
                let s = t.decode().map_err(|_| Unreadable::BadXml)?;
                text.push_str(&s);
            }
            Ok(Event::GeneralRef(r)) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    Ok(None) => match r.decode().ok().as_deref() {
                        Some("amp") => Some('&'),
                        Some("lt") => Some('<'),
                        Some("gt") => Some('>'),
                        Some("apos") => Some('\''),
                        Some("quot") => Some('"'),
                        _ => None,
                    },
                    Err(_) => None,
                };
                text.push(resolved.ok_or(Unreadable::BadXml)?);
            }
            Ok(Event::CData(c)) => {
                text.push_str(&c.decode().map_err(|_| Unreadable::BadXml)?);
            }
            Ok(Event::End(_)) => {
                let value = std::mem::take(&mut text);
                match path.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                    [_, "meta", "instanceID"] => instance_id = Some(value),
                    [_, "meta", "deprecatedID"] => deprecated_id = Some(value),
                    [_, "meta", ..] | [_, "member"] | [_] => {}
                    [_, "member", "member_id"] => {
                        if let Some(m) = members.last_mut() {
                            m.push(("member_id".into(), value));
                        }
                    }
                    [_, "member", field] => {
                        if !member_fields.contains(&field) {
                            return Err(Unreadable::UnknownField(field.to_string()));
                        }
                        if let Some(m) = members.last_mut() {
                            m.push((field.to_string(), value));
                        }
                    }
                    [_, field] => {
                        if !household_fields.contains(&field) {
                            return Err(Unreadable::UnknownField(field.to_string()));
                        }
                        top.push((field.to_string(), value));
                    }
                    _ => return Err(Unreadable::UnknownField(path.join("/"))),
                }
                path.pop();
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(_) => return Err(Unreadable::BadXml),
        }
        buf.clear();
    }
    if !path.is_empty() {
        return Err(Unreadable::BadXml);
    }
    let instance_id = instance_id
        .filter(|i| !i.trim().is_empty() && i.len() <= 100)
        .ok_or(Unreadable::NoInstanceId)?;
    let mut draft = HouseholdDraft::default();
    for (field, value) in top {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match field.as_str() {
            "destination_province" => draft.destination_province = Some(value.to_string()),
            "destination_district" => draft.destination_district = Some(value.to_string()),
            "return_type" => draft.return_type = Some(one(&field, value, ReturnType::from_code)?),
            "needs" => draft.needs = many(&field, value, Need::from_code)?,
            "legal_basis" => draft.legal_basis = Some(one(&field, value, LegalBasis::from_code)?),
            "purposes" => draft.purposes = many(&field, value, Purpose::from_code)?,
            _ => {}
        }
    }
    for fields in members {
        let mut m = MemberDraft::default();
        for (field, value) in fields {
            let trimmed = value.trim();
            match field.as_str() {
                "member_id" => m.raw.record_id = trimmed.trim_start_matches("uuid:").to_string(),
                "relationship" if !trimmed.is_empty() => {
                    m.relationship = Some(one(&field, trimmed, Relationship::from_code)?);
                }
                "vulnerabilities" => {
                    m.vulnerabilities = many(&field, trimmed, Vulnerability::from_code)?;
                }
                "document_type" if !trimmed.is_empty() => {
                    let d = one(&field, trimmed, DocumentType::from_code)?;
                    m.raw.document_type = document_type_text(d).to_string();
                }
                "sex" if !trimmed.is_empty() => {
                    let s = one(&field, trimmed, peywand_domain::Sex::from_code)?;
                    m.raw.sex = s.code().to_string();
                }
                "province_of_origin" if !trimmed.is_empty() => {
                    let g = peywand_names::place::Gazetteer::get();
                    let p = g
                        .by_code(trimmed)
                        .filter(|p| p.kind == peywand_names::place::PlaceKind::Province)
                        .ok_or_else(|| unknown(&field, trimmed))?;
                    m.raw.province_of_origin = p.name_en.clone();
                }
                other => {
                    if let Some(slot) = m.raw.get_mut(other) {
                        // Typed text is kept as typed.
                        *slot = value;
                    }
                }
            }
        }
        draft.members.push(m);
    }
    if let Some(p) = &draft.destination_province {
        let g = peywand_names::place::Gazetteer::get();
        if g.by_code(p)
            .is_none_or(|p| p.kind != peywand_names::place::PlaceKind::Province)
        {
            return Err(unknown("destination_province", p));
        }
    }
    Ok(Submitted {
        instance_id,
        deprecated_id: deprecated_id.filter(|d| !d.trim().is_empty()),
        draft,
    })
}

fn unknown(field: &str, value: &str) -> Unreadable {
    Unreadable::UnknownValue {
        field: field.to_string(),
        value: value.chars().take(40).collect(),
    }
}

fn one<T>(field: &str, value: &str, from: fn(&str) -> Option<T>) -> Result<T, Unreadable> {
    from(value).ok_or_else(|| unknown(field, value))
}

fn many<T>(field: &str, value: &str, from: fn(&str) -> Option<T>) -> Result<Vec<T>, Unreadable> {
    value
        .split_whitespace()
        .map(|v| one(field, v, from))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const XML: &str = r#"<?xml version="1.0"?>
<data xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms" id="peywand_household" version="x">
  <destination_province>AF06</destination_province><destination_district/>
  <return_type>deported</return_type><needs>food shelter</needs>
  <legal_basis>vital_interest</legal_basis><purposes>registration family_tracing</purposes>
  <member><member_id>uuid:11111111-2222-3333-4444-555555555555</member_id>
    <given_name>ذبیح‌الله</given_name><father_name>Abdul &amp; Ghani</father_name>
    <grandfather_name/><family_name/><relationship>head</relationship><sex>male</sex>
    <birth_date>۱۳۸۵</birth_date><age/><province_of_origin>AF06</province_of_origin>
    <district_of_origin/><last_residence>Peshawar</last_residence>
    <document_type>e_tazkira</document_type><document_number>1400-0101-12345</document_number>
    <phone>0300 1234567</phone><vulnerabilities>disability separated_child</vulnerabilities></member>
  <member><member_id>uuid:b</member_id><given_name>Gul</given_name><sex>female</sex><vulnerabilities/></member>
  <meta><instanceID>uuid:abc</instanceID><orx:deprecatedID>uuid:old</orx:deprecatedID></meta>
</data>"#;

    #[test]
    fn a_submission_becomes_a_household_draft() {
        let s = read(XML.as_bytes()).unwrap();
        assert_eq!(s.instance_id, "uuid:abc");
        assert_eq!(s.deprecated_id.as_deref(), Some("uuid:old"));
        let d = &s.draft;
        assert_eq!(d.destination_province.as_deref(), Some("AF06"));
        assert_eq!(d.destination_district, None);
        assert_eq!(d.needs, vec![Need::Food, Need::Shelter]);
        assert_eq!(d.legal_basis, Some(LegalBasis::VitalInterest));
        assert_eq!(d.members.len(), 2);
        let head = &d.members[0];
        assert_eq!(head.raw.record_id, "11111111-2222-3333-4444-555555555555");
        assert_eq!(head.raw.given_name, "ذبیح‌الله");
        assert_eq!(head.raw.father_name, "Abdul & Ghani");
        assert_eq!(head.raw.province_of_origin, "Nangarhar");
        assert_eq!(head.raw.document_type, "e-tazkira");
        assert_eq!(head.raw.sex, "male");
        assert_eq!(
            head.vulnerabilities,
            vec![Vulnerability::Disability, Vulnerability::SeparatedChild]
        );
        assert_eq!(head.relationship, Some(Relationship::Head));
        let (derived, warnings) = head.raw.derive();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(derived.province_code.as_deref(), Some("AF06"));
        assert_eq!(d.members[1].raw.sex, "female");
    }

    #[test]
    fn what_the_form_does_not_offer_is_refused() {
        let bad = XML.replace("<sex>female</sex>", "<sex>x</sex>");
        assert!(matches!(
            read(bad.as_bytes()),
            Err(Unreadable::UnknownValue { .. })
        ));
        let other = XML.replace("peywand_household", "another_form");
        assert_eq!(
            read(other.as_bytes()),
            Err(Unreadable::OtherForm("another_form".into()))
        );
        let extra = XML.replace("<destination_district/>", "<password>x</password>");
        assert!(matches!(
            read(extra.as_bytes()),
            Err(Unreadable::UnknownField(_))
        ));
        let no_id = XML.replace("<instanceID>uuid:abc</instanceID>", "");
        assert_eq!(read(no_id.as_bytes()), Err(Unreadable::NoInstanceId));
        assert_eq!(read(&XML.as_bytes()[..200]), Err(Unreadable::BadXml));
    }

    #[test]
    fn multipart_parts_and_cut_bodies() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"xml_submission_file\"; filename=\"a.xml\"\r\nContent-Type: text/xml\r\n\r\n<data/>\r\n--XyZ\r\nContent-Disposition: form-data; name=\"photo.jpg\"; filename=\"photo.jpg\"\r\n\r\n\x00\x01\r\n--XyZ--\r\n";
        assert_eq!(
            boundary("multipart/form-data; boundary=XyZ").as_deref(),
            Some("XyZ")
        );
        assert_eq!(boundary("application/json"), None);
        let p = parts(body, "XyZ").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].name.as_str(), p[0].body),
            ("xml_submission_file", &b"<data/>"[..])
        );
        assert_eq!(p[1].body, b"\x00\x01");
        for cut in [20, 100, body.len() - 8] {
            assert!(parts(&body[..cut], "XyZ").is_err(), "cut at {cut}");
        }
    }
}
