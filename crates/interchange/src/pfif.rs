//! PFIF, the People Finder Interchange Format (version 1.4, reading 1.1 to 1.3 too): person
//! records with their notes, as Person Finder and other tracing tools exchange them.
//!
//! Reading is all-or-nothing: a document with one invalid record is refused whole, with every
//! problem found (up to [`MAX_PROBLEMS`]) named by line, so that nothing half-read is stored.
//! Field values are kept as written, with surrounding white space removed, so that an imported
//! record can be exported again unchanged.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use peywand_domain::{
    CaseEvent, CaseStatus, PfifNote, PfifPartner, PfifPerson, RawRegistration, TracingRequest,
    TracingRequestDraft,
};
use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

/// The namespace Peywand writes.
pub const NAMESPACE: &str = "http://zesty.ca/pfif/1.4";
/// The namespaces Peywand reads: the same records, some fields under older names.
const NAMESPACES: [&str; 4] = [
    NAMESPACE,
    "http://zesty.ca/pfif/1.3",
    "http://zesty.ca/pfif/1.2",
    "http://zesty.ca/pfif/1.1",
];

/// A larger document is refused before it is read: 16 MiB holds tens of thousands of records.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;
/// At most this many person records in one document.
pub const MAX_PERSONS: usize = 50_000;
/// At most this many characters in one field.
pub const MAX_FIELD_CHARS: usize = 20_000;
/// Reading stops after this many problems.
pub const MAX_PROBLEMS: usize = 100;

/// PFIF 1.4 person fields, in the order the format's schema puts them.
pub const PERSON_FIELDS: [&str; 25] = [
    "person_record_id",
    "entry_date",
    "expiry_date",
    "author_name",
    "author_email",
    "author_phone",
    "source_name",
    "source_date",
    "source_url",
    "full_name",
    "given_name",
    "family_name",
    "alternate_names",
    "description",
    "sex",
    "date_of_birth",
    "age",
    "home_street",
    "home_neighborhood",
    "home_city",
    "home_state",
    "home_postal_code",
    "home_country",
    "photo_url",
    "profile_urls",
];

/// PFIF 1.4 note fields, in schema order.
pub const NOTE_FIELDS: [&str; 15] = [
    "note_record_id",
    "person_record_id",
    "linked_person_record_id",
    "entry_date",
    "author_name",
    "author_email",
    "author_phone",
    "source_date",
    "author_made_contact",
    "status",
    "email_of_found_person",
    "phone_of_found_person",
    "last_known_location",
    "text",
    "photo_url",
];

/// What a note's `status` may say.
pub const NOTE_STATUSES: [&str; 5] = [
    "information_sought",
    "is_note_author",
    "believed_alive",
    "believed_missing",
    "believed_dead",
];

/// Field names of earlier PFIF versions, read under their 1.4 names (as Person Finder does).
fn current_name(name: &str) -> &str {
    match name {
        "first_name" => "given_name",
        "last_name" => "family_name",
        "home_zip" => "home_postal_code",
        "found" => "author_made_contact",
        "other" => "description",
        _ => name,
    }
}

/// A PFIF document: its person records (each with its notes), and notes about people it does
/// not contain (people the receiving registry should already hold).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    pub persons: Vec<PfifPerson>,
    pub notes: Vec<PfifNote>,
}

/// The domain of PFIF record ids made by a registry that was not given its own.
pub const DEFAULT_DOMAIN: &str = "peywand.local";

impl Document {
    /// The document as this registry received it at `at`: PFIF's `entry_date` is when a
    /// record entered the repository that holds it.
    pub fn received(mut self, at: DateTime<Utc>) -> Document {
        let stamp = time(at);
        for p in &mut self.persons {
            p.fields.insert("entry_date".into(), stamp.clone());
            for n in &mut p.notes {
                n.fields.insert("entry_date".into(), stamp.clone());
            }
        }
        for n in &mut self.notes {
            n.fields.insert("entry_date".into(), stamp.clone());
        }
        self
    }
}

/// Who sent a document, as far as what it may write.
#[derive(Debug, Clone, Copy)]
pub enum Sender<'a> {
    /// A partner's credential: records of its domains only, a death only if it may report one.
    Partner(&'a PfifPartner),
    /// Someone of this registry with the file in hand (a caseworker signed in, an administrator
    /// at the server): every domain; a death report only when `may_report_death`.
    Staff { may_report_death: bool },
}

impl Sender<'_> {
    fn may_write(&self, record_id: &str) -> bool {
        match self {
            Sender::Partner(p) => p.may_write(record_id),
            Sender::Staff { .. } => true,
        }
    }

    fn may_report_death(&self) -> bool {
        match self {
            Sender::Partner(p) => p.may_report_death,
            Sender::Staff { may_report_death } => *may_report_death,
        }
    }
}

/// Records a document held that its sender may not write, left out of it and counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotAdmitted {
    /// Persons of a domain the sender may not write for (their notes left out with them).
    pub persons_outside_domains: u64,
    /// Notes of a domain the sender may not write for.
    pub notes_outside_domains: u64,
    /// Notes saying `believed_dead` from a sender not allowed to report a death.
    pub death_reports: u64,
}

impl Document {
    /// The records `sender` may write, and a count of the others. A feed arrives in pieces
    /// from several partners: a record outside what its sender may write is left out, the rest
    /// of the document kept, as Person Finder does.
    pub fn admitted(self, sender: Sender<'_>) -> (Document, NotAdmitted) {
        let mut refused = NotAdmitted::default();
        let mut keep_note = |n: &PfifNote| {
            if !sender.may_write(n.record_id()) {
                refused.notes_outside_domains += 1;
                false
            } else if n.field("status") == "believed_dead" && !sender.may_report_death() {
                refused.death_reports += 1;
                false
            } else {
                true
            }
        };
        let mut persons = Vec::with_capacity(self.persons.len());
        for mut p in self.persons {
            if sender.may_write(p.record_id()) {
                p.notes.retain(&mut keep_note);
                persons.push(p);
            } else {
                refused.persons_outside_domains += 1;
            }
        }
        let notes = self.notes.into_iter().filter(|n| keep_note(n)).collect();
        (Document { persons, notes }, refused)
    }
}

/// Whether `domain` can name a PFIF repository: letters, digits, dots and hyphens.
pub fn is_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// One thing wrong with a document, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, when known.
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Why a document was refused: every problem found, in order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {}; nothing was imported", self.problems.len(), if self.problems.len() == 1 { "problem" } else { "problems" })]
pub struct Invalid {
    pub problems: Vec<Problem>,
}

impl Invalid {
    fn one(line: Option<usize>, message: impl Into<String>) -> Self {
        Invalid {
            problems: vec![Problem {
                line,
                message: message.into(),
            }],
        }
    }
}

/// Reads a whole PFIF document, or says everything wrong with it.
pub fn read(bytes: &[u8]) -> Result<Document, Invalid> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(Invalid::one(
            None,
            format!(
                "the file is {} MiB; a PFIF file may be at most {} MiB: split it into smaller files",
                bytes.len().div_ceil(1024 * 1024),
                MAX_DOCUMENT_BYTES / (1024 * 1024)
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = line_at(&bytes[..e.valid_up_to()], e.valid_up_to());
        Invalid::one(
            Some(line),
            "the file is not UTF-8 text: save it as UTF-8 and import it again",
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser = Parser {
        text,
        reader: NsReader::from_str(text),
        problems: Vec::new(),
        counted: std::cell::Cell::new((0, 0)),
    };
    let document = parser.document();
    match document {
        Ok(document) if parser.problems.is_empty() => Ok(document),
        Ok(_) => Err(Invalid {
            problems: parser.problems,
        }),
        Err(fatal) => {
            parser.problems.push(fatal);
            Err(Invalid {
                problems: parser.problems,
            })
        }
    }
}

fn line_at(text: &[u8], offset: usize) -> usize {
    1 + text[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

struct Parser<'a> {
    text: &'a str,
    reader: NsReader<&'a [u8]>,
    problems: Vec<Problem>,
    /// The last offset a line was asked for and the line breaks before it: lines are counted
    /// forward from there, never again from the start (which made reading quadratic).
    counted: std::cell::Cell<(usize, usize)>,
}

/// Which record an element belongs to.
#[derive(Clone, Copy, PartialEq)]
enum Record {
    Person,
    Note,
}

impl<'a> Parser<'a> {
    fn line(&self) -> usize {
        let bytes = self.text.as_bytes();
        let at = usize::try_from(self.reader.buffer_position())
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let (from, breaks) = self.counted.get();
        if at < from {
            return line_at(bytes, at);
        }
        let breaks = breaks + bytes[from..at].iter().filter(|&&b| b == b'\n').count();
        self.counted.set((at, breaks));
        breaks + 1
    }

    fn problem(&mut self, line: usize, message: impl Into<String>) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                line: Some(line),
                message: message.into(),
            });
        }
    }

    fn fatal(&self, message: impl Into<String>) -> Problem {
        Problem {
            line: Some(self.line()),
            message: message.into(),
        }
    }

    fn xml_error(&self, e: &quick_xml::Error) -> Problem {
        let at = usize::try_from(self.reader.error_position()).unwrap_or(usize::MAX);
        Problem {
            line: Some(line_at(self.text.as_bytes(), at)),
            message: format!("the file is not well-formed XML ({e})"),
        }
    }

    /// The next event with its element's namespace, or a fatal problem.
    fn next(&mut self) -> Result<(Option<String>, Event<'a>), Problem> {
        match self.reader.read_resolved_event() {
            Ok((ns, event)) => {
                let ns = match ns {
                    ResolveResult::Bound(ns) => Some(String::from_utf8_lossy(ns.0).into_owned()),
                    ResolveResult::Unbound => None,
                    ResolveResult::Unknown(prefix) => {
                        return Err(self.fatal(format!(
                            "the prefix '{}' is used but never declared",
                            String::from_utf8_lossy(&prefix)
                        )));
                    }
                };
                Ok((ns, event))
            }
            Err(e) => Err(self.xml_error(&e)),
        }
    }

    fn document(&mut self) -> Result<Document, Problem> {
        let mut document = Document::default();
        let mut seen_root = false;
        loop {
            let line = self.line();
            match self.next()? {
                (_, Event::Decl(decl)) => {
                    if let Some(Ok(encoding)) = decl.encoding() {
                        let encoding = String::from_utf8_lossy(&encoding).to_ascii_lowercase();
                        if encoding != "utf-8" && encoding != "utf8" {
                            return Err(self.fatal(format!(
                                "the file says it is encoded as {encoding}; Peywand reads PFIF in UTF-8 only: save it as UTF-8"
                            )));
                        }
                    }
                }
                (_, Event::DocType(_)) => {
                    return Err(self.fatal(
                        "the file has a DOCTYPE declaration; PFIF needs none, and entity definitions are refused for safety",
                    ));
                }
                (_, Event::Comment(_) | Event::PI(_)) => {}
                (_, Event::Text(t)) if is_blank(&t) => {}
                (ns, Event::Start(e)) if !seen_root => {
                    self.expect_root(ns.as_deref(), &e)?;
                    seen_root = true;
                    self.root(&mut document)?;
                }
                (ns, Event::Empty(e)) if !seen_root => {
                    self.expect_root(ns.as_deref(), &e)?;
                    seen_root = true;
                }
                (_, Event::Eof) => break,
                _ => {
                    let message = if seen_root {
                        "there is content after the </pfif:pfif> element"
                    } else {
                        "this is not a PFIF document: it must start with <pfif:pfif>"
                    };
                    return Err(Problem {
                        line: Some(line),
                        message: message.into(),
                    });
                }
            }
        }
        if !seen_root {
            return Err(
                Invalid::one(None, "the file is empty: it has no <pfif:pfif> element")
                    .problems
                    .remove(0),
            );
        }
        self.check_references(&document);
        Ok(document)
    }

    fn expect_root(&self, ns: Option<&str>, e: &BytesStart<'_>) -> Result<(), Problem> {
        let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        match ns {
            Some(ns) if local == "pfif" && NAMESPACES.contains(&ns) => Ok(()),
            Some(ns) if local == "pfif" && ns.starts_with("http://zesty.ca/pfif/") => {
                Err(self.fatal(format!(
                    "this is PFIF of another version ({ns}); Peywand reads PFIF 1.1 to 1.4"
                )))
            }
            _ => Err(self.fatal(format!(
                "this is not a PFIF document: it starts with <{local}> instead of <pfif:pfif xmlns:pfif=\"{NAMESPACE}\">"
            ))),
        }
    }

    fn root(&mut self, document: &mut Document) -> Result<(), Problem> {
        loop {
            let line = self.line();
            match self.next()? {
                (_, Event::End(_)) => return Ok(()),
                (_, Event::Comment(_) | Event::PI(_)) => {}
                (_, Event::Text(t)) if is_blank(&t) => {}
                (ns, Event::Start(e)) if is_pfif(ns.as_deref()) => match e.local_name().as_ref() {
                    b"person" => {
                        if document.persons.len() == MAX_PERSONS {
                            return Err(self.fatal(format!(
                                    "the file has more than {MAX_PERSONS} person records: split it into smaller files"
                                )));
                        }
                        let person = self.person(line)?;
                        document.persons.push(person);
                    }
                    b"note" => {
                        let note = self.note(line, None)?;
                        document.notes.push(note);
                    }
                    other => {
                        let other = String::from_utf8_lossy(other).into_owned();
                        self.problem(line, format!("<pfif:{other}> is not a PFIF record: expected <pfif:person> or <pfif:note>"));
                        self.skip(&e)?;
                    }
                },
                // Elements of other vocabularies are extensions PFIF allows: passed over.
                (_, Event::Start(e)) => self.skip(&e)?,
                (ns, Event::Empty(e)) if is_pfif(ns.as_deref()) => {
                    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                    self.problem(
                        line,
                        format!("an empty <pfif:{name}/>: a record needs its fields"),
                    );
                }
                (_, Event::Empty(_)) => {}
                (_, Event::Eof) => return Err(self.fatal("the file ends before </pfif:pfif>")),
                _ => self.problem(line, "text directly inside <pfif:pfif>"),
            }
        }
    }

    fn skip(&mut self, e: &BytesStart<'_>) -> Result<(), Problem> {
        let name = e.name().as_ref().to_vec();
        self.reader
            .read_to_end(quick_xml::name::QName(&name))
            .map(|_| ())
            .map_err(|e| self.xml_error(&e))
    }

    fn person(&mut self, start: usize) -> Result<PfifPerson, Problem> {
        let mut person = PfifPerson::default();
        let mut lines = Vec::new();
        loop {
            let line = self.line();
            match self.next()? {
                (_, Event::End(_)) => break,
                (_, Event::Comment(_) | Event::PI(_)) => {}
                (_, Event::Text(t)) if is_blank(&t) => {}
                (ns, Event::Start(e))
                    if is_pfif(ns.as_deref()) && e.local_name().as_ref() == b"note" =>
                {
                    lines.push(line);
                    let note = self.note(line, Some(&person))?;
                    person.notes.push(note);
                }
                (ns, Event::Start(e)) if is_pfif(ns.as_deref()) => {
                    let value = self.field_text(&e)?;
                    self.set_field(&mut person.fields, Record::Person, &e, value, line);
                }
                (ns, Event::Empty(e)) if is_pfif(ns.as_deref()) => {
                    self.set_field(&mut person.fields, Record::Person, &e, String::new(), line);
                }
                (_, Event::Start(e)) => self.skip(&e)?,
                (_, Event::Empty(_)) => {}
                (_, Event::Eof) => return Err(self.fatal("the file ends inside a <pfif:person>")),
                _ => self.problem(
                    line,
                    "text directly inside <pfif:person>, outside any field",
                ),
            }
        }
        // A note written before its person's id still belongs to that person.
        let id = person.record_id().to_string();
        for (note, line) in person.notes.iter_mut().zip(lines) {
            match note.fields.get("person_record_id") {
                None if !id.is_empty() => {
                    note.fields.insert("person_record_id".into(), id.clone());
                }
                Some(about) if *about != id => {
                    let message = format!(
                        "note {} inside person {id} says it is about {about}",
                        note.record_id()
                    );
                    self.problem(line, message);
                }
                _ => {}
            }
        }
        self.check_person(&mut person, start);
        Ok(person)
    }

    fn note(&mut self, start: usize, person: Option<&PfifPerson>) -> Result<PfifNote, Problem> {
        let mut note = PfifNote::default();
        if let Some(person) = person.filter(|p| !p.record_id().is_empty()) {
            note.fields
                .insert("person_record_id".into(), person.record_id().into());
        }
        let inherited = note.fields.get("person_record_id").cloned();
        loop {
            let line = self.line();
            match self.next()? {
                (_, Event::End(_)) => break,
                (_, Event::Comment(_) | Event::PI(_)) => {}
                (_, Event::Text(t)) if is_blank(&t) => {}
                (ns, Event::Start(e)) if is_pfif(ns.as_deref()) => {
                    let value = self.field_text(&e)?;
                    if e.local_name().as_ref() == b"person_record_id" && inherited.is_some() {
                        if inherited.as_deref() != Some(value.as_str()) {
                            self.problem(
                                line,
                                format!(
                                    "this note is inside person {} but says it is about {value}",
                                    inherited.as_deref().unwrap_or_default()
                                ),
                            );
                        }
                        continue;
                    }
                    self.set_field(&mut note.fields, Record::Note, &e, value, line);
                }
                (ns, Event::Empty(e)) if is_pfif(ns.as_deref()) => {
                    self.set_field(&mut note.fields, Record::Note, &e, String::new(), line);
                }
                (_, Event::Start(e)) => self.skip(&e)?,
                (_, Event::Empty(_)) => {}
                (_, Event::Eof) => return Err(self.fatal("the file ends inside a <pfif:note>")),
                _ => self.problem(line, "text directly inside <pfif:note>, outside any field"),
            }
        }
        self.check_note(&note, start);
        Ok(note)
    }

    /// The text of a field element, entities resolved, surrounding white space removed.
    fn field_text(&mut self, start: &BytesStart<'_>) -> Result<String, Problem> {
        let mut value = String::new();
        loop {
            match self.next()? {
                (_, Event::Text(t)) => {
                    let text = t
                        .decode()
                        .map_err(|e| self.fatal(format!("unreadable text ({e})")))?;
                    push_line_ends_normalised(&mut value, &text);
                }
                (_, Event::CData(c)) => {
                    let text = c
                        .decode()
                        .map_err(|e| self.fatal(format!("unreadable text ({e})")))?;
                    push_line_ends_normalised(&mut value, &text);
                }
                (_, Event::GeneralRef(r)) => {
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
                    match resolved {
                        Some(c) => value.push(c),
                        None => {
                            return Err(self.fatal(format!(
                                "unknown entity &{};",
                                String::from_utf8_lossy(r.as_ref())
                            )));
                        }
                    }
                }
                (_, Event::Comment(_)) => {}
                (_, Event::End(_)) => break,
                (_, Event::Eof) => return Err(self.fatal("the file ends inside a field")),
                _ => {
                    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                    return Err(self.fatal(format!(
                        "the field <pfif:{name}> contains elements; PFIF fields hold text only"
                    )));
                }
            }
        }
        if let Some(c) = value.chars().find(|c| not_xml(*c)) {
            return Err(self.fatal(format!(
                "a field holds the character U+{:04X}, which XML does not allow",
                u32::from(c)
            )));
        }
        Ok(value.trim().to_string())
    }

    fn set_field(
        &mut self,
        fields: &mut BTreeMap<String, String>,
        record: Record,
        e: &BytesStart<'_>,
        value: String,
        line: usize,
    ) {
        let raw = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        let name = current_name(&raw);
        let (known, what): (&[&str], &str) = match record {
            Record::Person => (&PERSON_FIELDS, "person"),
            Record::Note => (&NOTE_FIELDS, "note"),
        };
        if !known.contains(&name) {
            self.problem(
                line,
                format!("<pfif:{raw}> is not a field of a PFIF {what}"),
            );
            return;
        }
        if value.chars().count() > MAX_FIELD_CHARS {
            self.problem(
                line,
                format!("{name} is longer than {MAX_FIELD_CHARS} characters"),
            );
            return;
        }
        if value.is_empty() {
            return;
        }
        if fields.insert(name.to_string(), value).is_some() {
            self.problem(line, format!("{name} is given twice in one {what}"));
        }
    }

    /// Checks a record's id (`domain/identifier`) and returns how problems name the record.
    fn check_record_id(&mut self, id: &str, kind: &str, line: usize) -> String {
        if id.is_empty() {
            self.problem(line, format!("a {kind} has no {kind}_record_id"));
            return format!("a {kind}");
        }
        if !is_record_id(id) {
            self.problem(
                line,
                format!("{kind}_record_id '{id}' is not of the form domain/identifier"),
            );
        }
        format!("{kind} {id}")
    }

    /// `source_date` is required; it and the `optional` times are UTC times.
    fn check_times(
        &mut self,
        who: &str,
        fields: &BTreeMap<String, String>,
        optional: &[&str],
        line: usize,
    ) {
        if fields.get("source_date").is_none_or(String::is_empty) {
            self.problem(line, format!("{who} has no source_date"));
        }
        for field in optional.iter().chain(&["source_date"]) {
            let value = fields.get(*field).map_or("", String::as_str);
            if !value.is_empty() && parse_time(value).is_none() {
                self.problem(
                    line,
                    format!("{who}: {field} '{value}' is not a UTC time like 2024-03-01T08:30:00Z"),
                );
            }
        }
    }

    fn check_person(&mut self, person: &mut PfifPerson, line: usize) {
        let who = self.check_record_id(person.record_id(), "person", line);
        if person.field("full_name").is_empty() {
            // Before PFIF 1.4 a person had only given and family names.
            let full = [person.field("given_name"), person.field("family_name")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            if full.is_empty() {
                self.problem(line, format!("{who} has no full_name"));
            } else {
                person.fields.insert("full_name".into(), full);
            }
        }
        self.check_times(&who, &person.fields, &["entry_date", "expiry_date"], line);
        let sex = person.field("sex");
        if !sex.is_empty() && !["female", "male", "other"].contains(&sex) {
            self.problem(
                line,
                format!("{who}: sex '{sex}' must be female, male or other"),
            );
        }
        let born = person.field("date_of_birth");
        if !born.is_empty() && birth_date(born).is_none() {
            self.problem(
                line,
                format!("{who}: date_of_birth '{born}' must be YYYY, YYYY-MM or YYYY-MM-DD"),
            );
        }
        let age = person.field("age");
        if !age.is_empty() && age_range(age).is_none() {
            self.problem(
                line,
                format!("{who}: age '{age}' must be a number or a range like 35-45"),
            );
        }
    }

    fn check_note(&mut self, note: &PfifNote, line: usize) {
        let who = self.check_record_id(note.record_id(), "note", line);
        if note.field("person_record_id").is_empty() {
            self.problem(line, format!("{who} does not say which person it is about"));
        }
        self.check_times(&who, &note.fields, &["entry_date"], line);
        let contact = note.field("author_made_contact");
        if !contact.is_empty() && contact != "true" && contact != "false" {
            self.problem(
                line,
                format!("{who}: author_made_contact must be true or false"),
            );
        }
        let status = note.field("status");
        if !status.is_empty() && !NOTE_STATUSES.contains(&status) {
            self.problem(
                line,
                format!(
                    "{who}: status '{status}' must be one of {}",
                    NOTE_STATUSES.join(", ")
                ),
            );
        }
    }

    /// Record ids are unique within a document.
    fn check_references(&mut self, document: &Document) {
        let mut persons = HashSet::new();
        for p in &document.persons {
            if !p.record_id().is_empty() && !persons.insert(p.record_id()) {
                self.problem(0, format!("person {} appears twice", p.record_id()));
            }
        }
        let mut notes = HashSet::new();
        let all = document
            .persons
            .iter()
            .flat_map(|p| &p.notes)
            .chain(&document.notes);
        for n in all {
            if !n.record_id().is_empty() && !notes.insert(n.record_id()) {
                self.problem(0, format!("note {} appears twice", n.record_id()));
            }
        }
        for p in self.problems.iter_mut().filter(|p| p.line == Some(0)) {
            p.line = None;
        }
    }
}

/// XML 1.0 line-end handling for raw text: CR LF and a lone CR are read as LF. A CR written
/// as a character reference (`&#13;`) is kept.
fn push_line_ends_normalised(value: &mut String, text: &str) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            value.push('\n');
        } else {
            value.push(c);
        }
    }
}

/// Characters XML 1.0 does not allow in a document, even as references.
fn not_xml(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// A value as XML text: escaped, a CR kept as a reference (a reader would turn a raw one into
/// a line feed), and characters XML cannot carry left out (a desk may have typed one).
fn xml_text(value: &str) -> String {
    let kept: String = value.chars().filter(|c| !not_xml(*c)).collect();
    quick_xml::escape::escape(kept.as_str()).replace('\r', "&#13;")
}

fn is_pfif(ns: Option<&str>) -> bool {
    ns.is_some_and(|ns| NAMESPACES.contains(&ns))
}

fn is_blank(t: &quick_xml::events::BytesText<'_>) -> bool {
    t.iter().all(u8::is_ascii_whitespace)
}

fn is_record_id(id: &str) -> bool {
    id.split_once('/')
        .is_some_and(|(domain, rest)| !domain.is_empty() && !rest.is_empty())
        && !id.chars().any(char::is_whitespace)
}

/// A PFIF time: UTC, to the second.
fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .ok()
        .filter(|_| value.ends_with('Z'))
        .map(|t| t.with_timezone(&Utc))
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, as the earliest day it may mean.
fn birth_date(value: &str) -> Option<NaiveDate> {
    let parts: Vec<&str> = value.split('-').collect();
    let number = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let year = i32::try_from(number(parts.first()?, 4)?).ok()?;
    let month = match parts.get(1) {
        Some(m) => number(m, 2)?,
        None => 1,
    };
    let day = match parts.get(2) {
        Some(d) => number(d, 2)?,
        None => 1,
    };
    if parts.len() > 3 {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

/// `N` or `N-M`, in years.
fn age_range(value: &str) -> Option<(u32, u32)> {
    let (low, high) = value.split_once('-').unwrap_or((value, value));
    let (low, high) = (low.trim().parse().ok()?, high.trim().parse().ok()?);
    (low <= high && high <= 130).then_some((low, high))
}

/// Writes a PFIF 1.4 document: fields in schema order, each person's notes inside it.
pub fn write(persons: &[PfifPerson]) -> String {
    let mut out = String::with_capacity(1024 * persons.len().max(1));
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(out, "<pfif:pfif xmlns:pfif=\"{NAMESPACE}\">");
    for person in persons {
        out.push_str("  <pfif:person>\n");
        write_fields(&mut out, "    ", &PERSON_FIELDS, &person.fields);
        for note in &person.notes {
            out.push_str("    <pfif:note>\n");
            write_fields(&mut out, "      ", &NOTE_FIELDS, &note.fields);
            out.push_str("    </pfif:note>\n");
        }
        out.push_str("  </pfif:person>\n");
    }
    out.push_str("</pfif:pfif>\n");
    out
}

fn write_fields(out: &mut String, indent: &str, order: &[&str], fields: &BTreeMap<String, String>) {
    for name in order {
        if let Some(value) = fields.get(*name).filter(|v| !v.is_empty()) {
            let _ = writeln!(
                out,
                "{indent}<pfif:{name}>{}</pfif:{name}>",
                xml_text(value)
            );
        }
    }
}

/// A PFIF time as written: UTC, to the second.
pub fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The tracing request a PFIF person record stands for: the person sought, as another tool
/// recorded them, and whoever reported them as the requester.
pub fn tracing_request(person: &PfifPerson, site_code: Option<String>) -> TracingRequestDraft {
    let field = |name| person.field(name).to_string();
    let mut sought = RawRegistration::default();
    let (given, family) = (person.field("given_name"), person.field("family_name"));
    let full = person.field("full_name");
    if let Some((own, father)) = peywand_names::name::split_patronymic(full) {
        // "Ahmad son of Nabi": the father's name is the strongest clue an Afghan name gives.
        sought.father_name = father;
        sought.given_name = if given.is_empty() {
            own
        } else {
            given.to_string()
        };
        sought.family_name = family.to_string();
    } else if given.is_empty() && family.is_empty() {
        // Only a full name: its first word is the given name, the rest the family's, which is
        // how most Afghans' names are written in the Latin script.
        let full = person
            .field("full_name")
            .split_whitespace()
            .collect::<Vec<_>>();
        if let Some((first, rest)) = full.split_first() {
            sought.given_name = (*first).to_string();
            sought.family_name = rest.join(" ");
        }
    } else {
        sought.given_name = given.to_string();
        sought.family_name = family.to_string();
    }
    sought.sex = match person.field("sex") {
        sex @ ("female" | "male") => sex.to_string(),
        _ => String::new(),
    };
    let born = person.field("date_of_birth");
    if born.len() == 10 {
        sought.birth_date = born.to_string();
    } else if let Some(year) = born.get(..4) {
        sought.birth_date = year.to_string();
    }
    if sought.birth_date.is_empty()
        && let Some((low, high)) = age_range(person.field("age"))
    {
        sought.age = ((low + high) / 2).to_string();
        // A PFIF age is the age when the record was written.
        if let Some(at) = parse_time(person.field("source_date")) {
            sought.registered_on = at.date_naive().to_string();
        }
    }
    sought.province_of_origin = field("home_state");
    sought.last_residence = [
        person.field("home_street"),
        person.field("home_neighborhood"),
        person.field("home_city"),
        person.field("home_country"),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(", ");
    let latest = person
        .notes
        .iter()
        .filter(|n| !n.field("last_known_location").is_empty())
        .max_by_key(|n| n.field("source_date").to_string());
    let contact = [person.field("author_phone"), person.field("author_email")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let source = match person.field("source_name") {
        "" => "another tracing system".to_string(),
        name => name.to_string(),
    };
    let mut draft = TracingRequestDraft {
        requester_name: field("author_name"),
        requester_relationship: String::new(),
        requester_contact: contact,
        site_code,
        sought,
        last_seen_place: latest
            .map(|n| n.field("last_known_location").to_string())
            .unwrap_or_default(),
        last_seen_on: latest
            .and_then(|n| parse_time(n.field("source_date")))
            .map(|t| t.date_naive()),
        circumstances: format!("Received in PFIF from {source} ({})", person.record_id()),
        distinguishing_details: field("description"),
        separated_child: false,
    };
    // A request's fields have the registry's length limit; the PFIF record keeps them whole.
    let fit = |v: &mut String| {
        if v.chars().count() > RawRegistration::MAX_FIELD_CHARS {
            *v = v.chars().take(RawRegistration::MAX_FIELD_CHARS).collect();
        }
    };
    for v in [
        &mut draft.requester_name,
        &mut draft.requester_contact,
        &mut draft.last_seen_place,
        &mut draft.circumstances,
        &mut draft.distinguishing_details,
    ] {
        fit(v);
    }
    for column in RawRegistration::COLUMNS {
        if let Some(v) = draft.sought.get_mut(column) {
            fit(v);
        }
    }
    draft
}

/// The PFIF person record of a tracing case: the record it was imported from when it came in
/// PFIF (kept as received), otherwise one made from the request under `domain`. Each milestone
/// of the case (found, reunified, closed) is added as a note, without names of registrations,
/// places of registration or caseworkers' reasons: a partner learns the outcome, not the file.
pub fn case_record(
    request: &TracingRequest,
    events: &[CaseEvent],
    imported: Option<&PfifPerson>,
    domain: &str,
) -> PfifPerson {
    let mut person = match imported {
        Some(p) => p.clone(),
        None => request_record(request, domain),
    };
    let id = person.record_id().to_string();
    for (n, event) in events.iter().enumerate() {
        let Some((status, contact, text)) = event.event.status_reached().and_then(milestone) else {
            continue;
        };
        let note_id = format!("{domain}/note.{}.{n}", request.id);
        // A partner may have sent our own note back: it is written once.
        if person.notes.iter().any(|x| x.record_id() == note_id) {
            continue;
        }
        let mut note = PfifNote::default();
        let mut set = |k: &str, v: String| {
            note.fields.insert(k.to_string(), v);
        };
        set("note_record_id", note_id);
        set("person_record_id", id.clone());
        set("entry_date", time(event.at));
        set("author_name", "Peywand".into());
        set("source_date", time(event.at));
        set("author_made_contact", contact.to_string());
        if let Some(status) = status {
            set("status", status.into());
        }
        set("text", text.into());
        person.notes.push(note);
    }
    person
}

/// What a case reaching a status tells a partner: the note's status, whether contact was
/// made, and text.
fn milestone(to: CaseStatus) -> Option<(Option<&'static str>, bool, &'static str)> {
    match to {
        CaseStatus::MatchConfirmed => Some((
            Some("believed_alive"),
            false,
            "A caseworker confirmed a registration of this person.",
        )),
        CaseStatus::Reunified => Some((
            Some("believed_alive"),
            true,
            "This person has been reunited with their family.",
        )),
        CaseStatus::ClosedWithoutResult => Some((
            None,
            false,
            "The tracing case was closed without finding this person.",
        )),
        CaseStatus::Open | CaseStatus::CandidatesFound => None,
    }
}

/// A PFIF person made from a request taken at a Peywand desk.
fn request_record(request: &TracingRequest, domain: &str) -> PfifPerson {
    let draft = &request.draft;
    let sought = &draft.sought;
    let mut fields = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        let v = v.trim().to_string();
        if !v.is_empty() {
            fields.insert(k.to_string(), v);
        }
    };
    set(
        "person_record_id",
        format!("{domain}/person.{}", request.id),
    );
    set("entry_date", time(request.created_at));
    set("author_name", draft.requester_name.clone());
    set("author_phone", draft.requester_contact.clone());
    set("source_name", "Peywand".into());
    set("source_date", time(request.created_at));
    let full = [sought.given_name.trim(), sought.family_name.trim()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    set(
        "full_name",
        if full.is_empty() {
            "(name not known)".into()
        } else {
            full
        },
    );
    set("given_name", sought.given_name.clone());
    set("family_name", sought.family_name.clone());
    let also = [
        ("father", &sought.father_name),
        ("grandfather", &sought.grandfather_name),
    ]
    .into_iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .map(|(who, v)| format!("{who}: {}", v.trim()))
    .chain(
        [
            draft.circumstances.trim(),
            draft.distinguishing_details.trim(),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(str::to_string),
    )
    // Where they lived in Pakistan is not a PFIF home (home fields are where they live now).
    .chain(
        Some(sought.last_residence.trim())
            .filter(|s| !s.is_empty())
            .map(|s| format!("last lived in: {s}")),
    )
    .collect::<Vec<_>>()
    .join("\n");
    set("description", also);
    set(
        "sex",
        match peywand_domain::parse_sex(&sought.sex) {
            Some(peywand_domain::Sex::Female) => "female".into(),
            Some(peywand_domain::Sex::Male) => "male".into(),
            None => String::new(),
        },
    );
    // Birth dates are typed in either calendar: PFIF takes the Gregorian year when it is
    // certain, otherwise the age.
    match peywand_names::date::parse_birth_date(&sought.birth_date) {
        Ok(b) if b.date.is_some() && !b.defaulted => {
            set(
                "date_of_birth",
                b.date.map(|d| d.to_string()).unwrap_or_default(),
            );
        }
        Ok(b) if b.year_min == b.year_max => set("date_of_birth", format!("{:04}", b.year_min)),
        _ => set(
            "age",
            peywand_names::date::parse_age(&sought.age)
                .map(|a| a.to_string())
                .unwrap_or_default(),
        ),
    }
    set("home_state", sought.province_of_origin.clone());
    set("home_country", "AF".into());
    PfifPerson {
        fields,
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERSON_FINDER: &[u8] = include_bytes!("../../../testdata/pfif/person-finder-1.4.xml");

    #[test]
    fn reads_what_person_finder_writes() {
        let doc = read(PERSON_FINDER).unwrap_or_else(|e| panic!("{e}: {:?}", e.problems));
        assert_eq!(doc.persons.len(), 1);
        let p = &doc.persons[0];
        assert_eq!(p.record_id(), "test.google.com/person.21009");
        assert_eq!(p.field("full_name"), "_test_full_name1\n_test_full_name2");
        assert_eq!(
            p.field("given_name"),
            "_test_first_name",
            "first_name read as given_name"
        );
        assert_eq!(p.field("family_name"), "_test_last_name");
        assert_eq!(
            p.field("home_city"),
            "_test_home_city",
            "white space stripped"
        );
        assert_eq!(p.notes.len(), 4);
        assert!(
            p.notes
                .iter()
                .all(|n| n.field("person_record_id") == p.record_id())
        );
        assert_eq!(
            p.notes[0].field("linked_person_record_id"),
            "test.google.com/person.999"
        );
        assert_eq!(
            p.notes[1].field("email_of_found_person"),
            "",
            "empty fields are absent"
        );
    }

    fn person_finder_file(name: &str) -> Document {
        let path = format!("{}/../../testdata/pfif/{name}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        read(&bytes).unwrap_or_else(|e| panic!("{name}: {e}: {:?}", e.problems))
    }

    #[test]
    fn person_finder_pfif_1_1_is_read_with_its_names_mapped() {
        let doc = person_finder_file("person-finder-pfif-1.1.xml");
        let p = &doc.persons[0];
        assert_eq!(p.record_id(), "test.google.com/person.21009");
        assert_eq!(p.field("given_name"), "_test_first_name");
        assert_eq!(p.field("family_name"), "_test_last_name");
        assert_eq!(p.field("full_name"), "_test_first_name _test_last_name");
        assert_eq!(p.field("home_postal_code"), "_test_home_zip");
        assert_eq!(p.field("home_city"), "_test_home_city");
        assert_eq!(
            p.field("description"),
            "description:\n    _test_description"
        );
        assert_eq!(p.notes.len(), 2);
        assert_eq!(p.notes[0].field("author_made_contact"), "true", "found");
        assert!(
            p.notes
                .iter()
                .all(|n| n.field("person_record_id") == p.record_id())
        );
        // Written again as PFIF 1.4.
        let again = read(write(&doc.persons).as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.persons, doc.persons);
    }

    #[test]
    fn person_finder_pfif_1_2_is_read_with_every_note() {
        let doc = person_finder_file("person-finder-pfif-1.2.xml");
        let p = &doc.persons[0];
        assert_eq!(
            p.field("home_city"),
            "_test_home_city",
            "white space stripped"
        );
        assert_eq!(p.field("date_of_birth"), "1970-01");
        let ids: Vec<&str> = p.notes.iter().map(PfifNote::record_id).collect();
        assert_eq!(
            ids,
            [
                "test.google.com/note.27009",
                "test.google.com/note.31095",
                "test.google.com/note.40121",
                "test.google.com/note.50121"
            ]
        );
        assert!(
            p.notes
                .iter()
                .all(|n| n.field("person_record_id") == p.record_id())
        );
        assert_eq!(
            p.notes[3].field("source_date"),
            "2000-01-18T20:00:00Z",
            "the backdated note keeps its date"
        );
    }

    #[test]
    fn person_finder_notes_without_persons_are_read_as_separate_notes() {
        for (name, about) in [
            (
                "person-finder-pfif-1.2-note.xml",
                &[
                    "test.google.com/person.21009",
                    "test.google.com/person.21010",
                ][..],
            ),
            (
                "person-finder-pfif-1.2-believed-dead.xml",
                &["test.google.com/person.21009"][..],
            ),
            (
                "person-finder-pfif-1.2-notification.xml",
                &["test.google.com/person.21009"][..],
            ),
        ] {
            let doc = person_finder_file(name);
            assert!(doc.persons.is_empty(), "{name}");
            let persons: Vec<&str> = doc
                .notes
                .iter()
                .map(|n| n.field("person_record_id"))
                .collect();
            assert_eq!(persons, about, "{name}");
        }
        let dead = person_finder_file("person-finder-pfif-1.2-believed-dead.xml");
        assert_eq!(dead.notes[0].field("status"), "believed_dead");
    }

    #[test]
    fn person_finder_source_and_bad_record_files_are_read() {
        for (name, ids) in [
            (
                "person-finder-pfif-1.2-source.xml",
                &["mytestdomain.com/person.21009"][..],
            ),
            (
                "person-finder-global-1.2-source.xml",
                &["globaltestdomain.com/person.21009"][..],
            ),
            (
                "person-finder-pfif-1.2-badrecord.xml",
                &["test.google.com/person.21009", "foo.google.com/person.666"][..],
            ),
        ] {
            let doc = person_finder_file(name);
            let read_ids: Vec<&str> = doc.persons.iter().map(PfifPerson::record_id).collect();
            assert_eq!(read_ids, ids, "{name}");
            assert_eq!(doc.persons[0].field("source_name"), "_test_source_name");
            assert_eq!(doc.persons[0].field("source_url"), "_test_source_url");
        }
    }

    #[test]
    fn a_partner_writes_only_for_its_domains_and_reports_a_death_only_if_allowed() {
        let bad = person_finder_file("person-finder-pfif-1.2-badrecord.xml");
        let partner = PfifPartner {
            domains: vec!["Test.Google.com".into()],
            may_report_death: false,
        };
        let (kept, refused) = bad.clone().admitted(Sender::Partner(&partner));
        assert_eq!(kept.persons.len(), 1);
        assert_eq!(kept.persons[0].record_id(), "test.google.com/person.21009");
        assert_eq!(kept.persons[0].notes.len(), 4);
        assert_eq!(refused.persons_outside_domains, 1);
        let (all, none) = bad.admitted(Sender::Staff {
            may_report_death: false,
        });
        assert_eq!((all.persons.len(), none), (2, NotAdmitted::default()));

        let dead = person_finder_file("person-finder-pfif-1.2-believed-dead.xml");
        let (kept, refused) = dead.clone().admitted(Sender::Partner(&partner));
        assert!(kept.notes.is_empty());
        assert_eq!(refused.death_reports, 1);
        let allowed = PfifPartner {
            may_report_death: true,
            ..partner.clone()
        };
        let (kept, refused) = dead.clone().admitted(Sender::Partner(&allowed));
        assert_eq!((kept.notes.len(), refused), (1, NotAdmitted::default()));
        let elsewhere = PfifPartner {
            domains: vec!["example.org".into()],
            may_report_death: true,
        };
        let (kept, refused) = dead.admitted(Sender::Partner(&elsewhere));
        assert!(kept.notes.is_empty());
        assert_eq!(refused.notes_outside_domains, 1);
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        let doc = read(PERSON_FINDER).unwrap_or_else(|e| panic!("{e}"));
        let mut persons = doc.persons.clone();
        persons[0].fields.insert(
            "description".into(),
            "scar <left> & \"hand\"\n'second line'".into(),
        );
        persons[0]
            .fields
            .insert("full_name".into(), "احمد شاه کریمی".into());
        persons[0]
            .fields
            .insert("home_street".into(), "a\rb and a bell \u{7}".into());
        let written = write(&persons);
        assert!(written.contains("<pfif:pfif xmlns:pfif=\"http://zesty.ca/pfif/1.4\">"));
        assert!(
            written.contains("a&#13;b"),
            "a carriage return survives other readers"
        );
        persons[0]
            .fields
            .insert("home_street".into(), "a\rb and a bell".into());
        let again = read(written.as_bytes()).unwrap_or_else(|e| panic!("{e}: {:?}", e.problems));
        assert_eq!(again.persons, persons);
    }

    fn problems(doc: &str) -> Vec<String> {
        match read(doc.as_bytes()) {
            Ok(_) => vec![],
            Err(e) => e.problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn invalid_documents_are_refused_with_reasons() {
        let wrap = |body: &str| {
            format!(
                "<?xml version=\"1.0\"?>\n<pfif:pfif xmlns:pfif=\"{NAMESPACE}\">\n{body}\n</pfif:pfif>"
            )
        };
        let person = |fields: &str| wrap(&format!("<pfif:person>{fields}</pfif:person>"));
        let ok = "<pfif:person_record_id>a.org/1</pfif:person_record_id><pfif:source_date>2024-01-01T00:00:00Z</pfif:source_date><pfif:full_name>Gul Bibi</pfif:full_name>";
        assert!(problems(&person(ok)).is_empty());
        let cases = [
            ("not xml at all", "not a PFIF document".to_string()),
            ("<html><body/></html>", "not a PFIF document".into()),
            (
                "<pfif:pfif xmlns:pfif=\"http://zesty.ca/pfif/9.9\"/>",
                "another version".into(),
            ),
            (
                &person(
                    "<pfif:source_date>2024-01-01T00:00:00Z</pfif:source_date><pfif:full_name>x</pfif:full_name>",
                ),
                "no person_record_id".into(),
            ),
            (
                &person(&format!("{ok}<pfif:sex>boy</pfif:sex>")),
                "sex 'boy'".into(),
            ),
            (
                &person(&format!(
                    "{ok}<pfif:date_of_birth>1990-13</pfif:date_of_birth>"
                )),
                "date_of_birth".into(),
            ),
            (
                &person(&format!("{ok}<pfif:full_name>again</pfif:full_name>")),
                "given twice".into(),
            ),
            (
                &person(&format!(
                    "{ok}<pfif:favourite_colour>red</pfif:favourite_colour>"
                )),
                "not a field".into(),
            ),
            (
                &person(&format!(
                    "{ok}<pfif:note><pfif:text>x</pfif:text></pfif:note>"
                )),
                "no note_record_id".into(),
            ),
            (
                &person(ok).replace("</pfif:person>", ""),
                "not well-formed".into(),
            ),
            (
                &format!("<!DOCTYPE x [<!ENTITY a \"aaaa\">]>{}", person(ok)),
                "DOCTYPE".into(),
            ),
            (
                &person(ok).replace(
                    "<?xml version=\"1.0\"?>",
                    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
                ),
                "UTF-8".into(),
            ),
            (
                &wrap(&format!(
                    "<pfif:person>{ok}</pfif:person><pfif:person>{ok}</pfif:person>"
                )),
                "appears twice".into(),
            ),
            (
                &person(&ok.replace("Gul Bibi", "&bogus;")),
                "unknown entity".into(),
            ),
            (
                &person(&ok.replace("Gul Bibi", "Gul&#1;Bibi")),
                "XML does not allow".into(),
            ),
            (
                &wrap(&format!("<pfif:person/>{}", "")),
                "empty <pfif:person/>".into(),
            ),
        ];
        for (doc, expected) in cases {
            let found = problems(doc);
            assert!(
                found.iter().any(|p| p.contains(expected.as_str())),
                "{doc}\n → {found:?}"
            );
        }
        let latin1 = person(ok)
            .replace("Gul Bibi", "Gul\u{e9}")
            .replace('\u{e9}', "\u{fffd}");
        let mut bytes = latin1.into_bytes();
        let at = bytes
            .windows(3)
            .position(|w| w == "\u{fffd}".as_bytes())
            .unwrap_or(0);
        bytes.splice(at..at + 3, [0xE9]);
        let err = read(&bytes).unwrap_err();
        assert!(err.problems[0].message.contains("not UTF-8"), "{err:?}");
        assert!(
            read(&vec![b' '; MAX_DOCUMENT_BYTES + 1])
                .unwrap_err()
                .problems[0]
                .message
                .contains("at most")
        );
    }

    #[test]
    fn a_desk_request_is_exported_as_valid_pfif_with_its_milestones() {
        use peywand_domain::{CaseStatus, Priority};
        let at = Utc::now();
        let mut request = TracingRequest {
            id: peywand_domain::TracingRequestId(uuid::Uuid::nil()),
            draft: TracingRequestDraft::default(),
            priority: Priority::Urgent,
            status: CaseStatus::Reunified,
            created_by: "karima".into(),
            created_at: at,
            assigned_to: None,
        };
        request.draft.requester_name = "Bibi Hawa".into();
        request.draft.sought.given_name = "ذبیح‌الله".into();
        request.draft.sought.father_name = "عبدالغنی".into();
        request.draft.sought.sex = "M".into();
        request.draft.sought.birth_date = "۱۳۸۵".into();
        use peywand_domain::CaseEventKind;
        let event = |event: CaseEventKind| CaseEvent {
            at,
            actor: "karima".into(),
            event,
            why: "the mother recognised him at Torkham".into(),
        };
        let moved = |from, to| event(CaseEventKind::StatusChanged { from, to });
        let events = [
            event(CaseEventKind::RequestOpened),
            moved(CaseStatus::Open, CaseStatus::CandidatesFound),
            moved(CaseStatus::CandidatesFound, CaseStatus::MatchConfirmed),
            moved(CaseStatus::MatchConfirmed, CaseStatus::Reunified),
        ];
        let person = case_record(&request, &events, None, "torkham.example.org");
        let written = write(std::slice::from_ref(&person));
        let back = read(written.as_bytes()).unwrap_or_else(|e| panic!("{e}: {:?}", e.problems));
        let p = &back.persons[0];
        assert!(p.record_id().starts_with("torkham.example.org/person."));
        assert_eq!(p.field("sex"), "male");
        assert!(
            p.field("date_of_birth").is_empty(),
            "1385 SH spans two Gregorian years"
        );
        assert!(p.field("description").contains("father: عبدالغنی"));
        assert_eq!(p.notes.len(), 2, "found and reunified");
        assert_eq!(p.notes[1].field("author_made_contact"), "true");
        assert!(
            !written.contains("Torkham"),
            "caseworkers' reasons stay inside"
        );
    }

    #[test]
    fn line_ends_are_read_as_xml_says_and_problems_name_their_line() {
        let doc = format!(
            "<?xml version=\"1.0\"?>\r\n<pfif:pfif xmlns:pfif=\"{NAMESPACE}\">\r\n\
             <pfif:person><pfif:person_record_id>a.org/1</pfif:person_record_id>\
             <pfif:source_date>2024-01-01T00:00:00Z</pfif:source_date>\
             <pfif:full_name>Gul\r\nBibi\rJan</pfif:full_name></pfif:person>\r\n\n\n\
             <pfif:person><pfif:sex>boy</pfif:sex></pfif:person></pfif:pfif>"
        );
        let err = read(doc.as_bytes()).unwrap_err();
        assert!(
            err.problems.iter().all(|p| p.line == Some(7)),
            "{:?}",
            err.problems
        );
        let ok = doc.replace("<pfif:person><pfif:sex>boy</pfif:sex></pfif:person>", "");
        let read_back = read(ok.as_bytes()).unwrap_or_else(|e| panic!("{e}: {:?}", e.problems));
        assert_eq!(read_back.persons[0].field("full_name"), "Gul\nBibi\nJan");
    }

    #[test]
    fn a_person_record_becomes_a_tracing_request() {
        let doc = read(PERSON_FINDER).unwrap_or_else(|e| panic!("{e}"));
        let draft = tracing_request(&doc.persons[0], Some("torkham".into()));
        assert_eq!(draft.sought.given_name, "_test_first_name");
        assert_eq!(draft.sought.sex, "female");
        assert_eq!(draft.sought.birth_date, "1970");
        assert_eq!(draft.requester_name, "_test_author_name");
        assert_eq!(draft.last_seen_place, "19.16592425362802 -71.9384765625");
        assert_eq!(draft.site_code.as_deref(), Some("torkham"));

        let mut said = PfifPerson::default();
        said.fields
            .insert("full_name".into(), "Zabihullah son of Abdul Ghani".into());
        let draft = tracing_request(&said, None);
        assert_eq!(
            (
                draft.sought.given_name.as_str(),
                draft.sought.father_name.as_str()
            ),
            ("zabihullah", "abdul ghani"),
            "the father's name said with the person's is kept as the father's"
        );
    }
}
