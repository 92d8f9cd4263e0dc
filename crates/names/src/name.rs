//! A name as typed, turned into the units that matching compares.
//!
//! A unit is one part of a name: a core part (Nabi, Ghani, Zabi), a particle that compounds build
//! on (Abd-, -ullah, -uddin), or an optional part (a leading Mohammad, a lineage title such as
//! Sayed). Clerks split and join compounds at will (عبدالغنی, Abdul Ghani, Abdulghani), so units are
//! found by the same rules in both scripts and particles get one code whatever their spelling.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use crate::fold::{Script, fold, script_of};
use crate::phonetic::{Code, encode, encode_latin};

/// What a unit is to the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitRole {
    Core,
    Particle,
    Optional,
}

/// One part of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The folded text of this part as typed (or the particle's canonical spelling).
    pub text: String,
    pub code: Code,
    pub role: UnitRole,
}

/// A recorded relation standing in for the person's own name ("wife of Abdul Ghani").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    WifeOf,
    DaughterOf,
    SonOf,
    MotherOf,
}

/// A normalised name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// Folded text: canonical letters, single spaces, honorifics and relation words removed.
    pub folded: String,
    pub units: Vec<Unit>,
    /// Titles set aside, folded (haji, mullah, engineer): kept, never used to match.
    pub honorifics: Vec<String>,
    /// Set when the name only names a relative: its units are then that relative's name.
    pub relation: Option<Relation>,
    /// All unit codes one after another, to compare names that split compounds differently.
    pub joined: Code,
}

impl Name {
    /// Whether nothing matchable was typed.
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }
    /// Whether the name is only a form of address: Bibi ("lady") written where a woman's own
    /// name was not said in public. It names no one: two women recorded so share nothing, and
    /// a woman recorded so at one site and by her name at another has no name that differs.
    pub fn is_form_of_address(&self) -> bool {
        // Read for every record a registry loads: the parts are matched in place, not joined.
        let spells = |form: &str| {
            let rest = self
                .units
                .iter()
                .try_fold(form, |rest, u| rest.strip_prefix(u.text.as_str()));
            rest.is_some_and(str::is_empty)
        };
        !self.units.is_empty() && FORMS_OF_ADDRESS.iter().any(|f| spells(f))
    }
    /// The phonetic codes of the core units, the parts whose frequency weighs evidence.
    pub fn core_codes(&self) -> impl Iterator<Item = &Code> {
        self.units
            .iter()
            .filter(|u| u.role == UnitRole::Core)
            .map(|u| &u.code)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Honorific {
    /// Haji, Mullah, Engineer: a title, set aside.
    Title,
    /// Sayed, Mir, Agha: a lineage word that is also part of names; optional when it leads.
    OptionalPrefix,
}

/// Ambiguous words that are ordinary name parts far more often than titles.
const AMBIGUOUS_KEPT: &[&str] = &[
    "khan", "gul", "jan", "shah", "shahid", "shaheed", "nawab", "ghazi", "malik", "sardar", "bibi",
    "mirza", "begum", "khanum", "hazrat", "khalifa",
];

struct Lexicon {
    honorifics: HashMap<String, Honorific>,
    /// First words of two-word titles ("al" of "al haj"), so that only they cost a lookup.
    first_words: HashSet<String>,
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| {
    let mut honorifics = HashMap::new();
    for cols in crate::lexicon::rows(crate::lexicon::HONORIFICS) {
        let mut cols = cols.into_iter();
        let (Some(arabic), Some(latin), Some(kind)) = (cols.next(), cols.next(), cols.next())
        else {
            continue;
        };
        let latin_forms: Vec<String> = latin.split(';').map(fold).collect();
        let canonical = latin_forms.first().cloned().unwrap_or_default();
        let h = match kind.trim() {
            "ambiguous" if AMBIGUOUS_KEPT.contains(&canonical.as_str()) => continue,
            "ambiguous" => Honorific::OptionalPrefix,
            _ => Honorific::Title,
        };
        for form in latin_forms.into_iter().chain([fold(arabic)]) {
            if !form.is_empty() {
                honorifics.insert(form, h);
            }
        }
    }
    // Short forms clerks type that the table spells out.
    for t in [
        "eng", "engr", "dr", "doc", "prof", "hji", "mr", "mrs", "ms", "miss",
    ] {
        honorifics.insert(t.to_string(), Honorific::Title);
    }
    let first_words = honorifics
        .keys()
        .filter_map(|k| k.split_once(' ').map(|(first, _)| first.to_string()))
        .collect();
    Lexicon {
        honorifics,
        first_words,
    }
});

/// Spellings of Mohammad that may lead another name and be dropped by a clerk.
const MOHAMMAD_LATIN: &[&str] = &[
    "mohammad", "muhammad", "mohammed", "muhammed", "mohamad", "mohamed", "muhamad", "muhamed",
    "mohammd", "mohamamd", "mohamd", "mohmmad", "mohummad", "mahammad", "muhammet", "mohamma",
];
const MOHAMMAD_ARABIC: &str = "محمد";

/// Latin spellings of the particle Allah as a separate word or word ending (longest first).
const ALLAH_ENDINGS: &[&str] = &[
    "ullah", "ollah", "allah", "illah", "ulloh", "ulla", "olla", "alla", "ulah", "llah",
];
/// Latin spellings of -uddin (longest first).
const UDDIN_ENDINGS: &[&str] = &[
    "uddeen", "oddeen", "uddin", "oddin", "eddin", "addin", "aldin", "uldin", "udeen", "udin",
    "odin",
];
/// Standalone connectives between name parts (Nasir-ud-Din, Inam-ul-Haq, Fazl-ur-Rahman).
const CONNECTIVES: &[&str] = &[
    "ul", "ur", "ud", "us", "uz", "un", "ut", "al", "el", "ad", "ar", "as", "az", "ush",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Particle {
    Abd,
    Allah,
    Uddin,
}

impl Particle {
    fn canonical(self) -> &'static str {
        match self {
            Particle::Abd => "abd",
            Particle::Allah => "ullah",
            Particle::Uddin => "uddin",
        }
    }
    fn code(self) -> Code {
        encode_latin(self.canonical())
    }
}

/// Words that join a person's own name to a relative's as people say it, and what the relative
/// is: "Ahmad son of Nabi", "Ahmad s/o Nabi", "احمد ولد نبی" name the father; "Fatima w/o
/// Karim" the husband.
const JOINERS: [(&str, Relation); 18] = [
    (" son of ", Relation::SonOf),
    (" s/o ", Relation::SonOf),
    (" daughter of ", Relation::DaughterOf),
    (" d/o ", Relation::DaughterOf),
    (" bin ", Relation::SonOf),
    (" ibn ", Relation::SonOf),
    (" bint ", Relation::DaughterOf),
    (" wald ", Relation::SonOf),
    (" walad ", Relation::SonOf),
    (" ولد ", Relation::SonOf),
    (" فرزند ", Relation::SonOf),
    (" بن ", Relation::SonOf),
    (" بنت ", Relation::DaughterOf),
    (" wife of ", Relation::WifeOf),
    (" w/o ", Relation::WifeOf),
    (" widow of ", Relation::WifeOf),
    (" زوجه ", Relation::WifeOf),
    (" همسر ", Relation::WifeOf),
];

/// A name said with a relative's ("Ahmad son of Nabi", "Fatima w/o Karim"), split into the
/// person's own name, how the other is related, and the other's name, as typed (lower-cased);
/// `None` when no such word joins two names.
pub fn split_relation(typed: &str) -> Option<(String, Relation, String)> {
    let typed = format!(" {} ", typed.trim().to_lowercase());
    JOINERS
        .iter()
        .find_map(|(w, relation)| {
            typed
                .split_once(w)
                .map(|(own, other)| (own.trim().to_string(), *relation, other.trim().to_string()))
        })
        .filter(|(own, _, other)| !own.is_empty() && !other.is_empty())
}

/// A name said with the father's ("Ahmad son of Nabi"), split into the person's own name and
/// the father's, as typed (lower-cased); `None` when no such word joins them.
pub fn split_patronymic(typed: &str) -> Option<(String, String)> {
    split_relation(typed)
        .filter(|(_, relation, _)| matches!(relation, Relation::SonOf | Relation::DaughterOf))
        .map(|(own, _, father)| (own, father))
}

/// Normalises a name as typed, in any script.
pub fn normalize(raw: &str) -> Name {
    let folded_all = fold(raw);
    let mut tokens: Vec<&str> = folded_all.split(' ').filter(|t| !t.is_empty()).collect();
    let relation = take_relation(&mut tokens);
    let mut honorifics = Vec::new();
    let tokens = set_aside_honorifics(tokens, &mut honorifics);
    let mut units = Vec::with_capacity(tokens.len() + 1);
    build_units(&tokens, &mut units);
    set_apart_trailing_jan(&mut units);
    set_apart_bibi(&mut units);
    // A leading Mohammad or lineage title before a core part may be dropped by another clerk.
    let cores = units.iter().filter(|u| u.role == UnitRole::Core).count();
    if cores >= 2
        && let Some(first) = units.first_mut()
        && first.role == UnitRole::Core
        && is_mohammad(&first.text)
    {
        first.role = UnitRole::Optional;
    }
    let mut joined = Code::default();
    for u in &units {
        joined.extend(&u.code);
    }
    let folded = tokens
        .iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    Name {
        folded,
        units,
        honorifics,
        relation,
        joined,
    }
}

/// "Bibi" as clerks spell it, in both scripts, its parts written together.
const FORMS_OF_ADDRESS: [&str; 6] = ["bibi", "bebe", "bibie", "beebee", "bibee", "بیبی"];

/// Jan and Khan after a name: an endearment or a title that one clerk writes and another
/// leaves off (Ahmad Jan, Ahmad; Sardar Khan, Sardar), typed apart or joined (احمدجان).
const TRAILING_LATIN: [&str; 4] = ["jan", "jaan", "khan", "khaan"];
const TRAILING_ARABIC: [&str; 2] = ["جان", "خان"];

/// A Jan or Khan that ends a name is a part of its own and optional where a core part comes
/// before it; joined to the last part (Jamilajan, جمیلهجان), it is split off first where four
/// letters or more are left (Marjan and مرجان are names of their own). Jan Mohammad keeps its
/// Jan: there it is the name.
fn set_apart_trailing_jan(units: &mut Vec<Unit>) {
    let Some(last) = units.last() else {
        return;
    };
    if last.role != UnitRole::Core {
        return;
    }
    let endings: &[&str] = if script_of(&last.text) == Script::Arabic {
        &TRAILING_ARABIC
    } else {
        &TRAILING_LATIN
    };
    if endings.contains(&last.text.as_str()) {
        let before = units.len() - 1;
        if units[..before].iter().any(|u| u.role == UnitRole::Core) {
            units[before].role = UnitRole::Optional;
        }
        return;
    }
    if split_off_ending(units, endings, |stem| stem.chars().count() >= 4)
        && let Some(jan) = units.last_mut()
    {
        jan.role = UnitRole::Optional;
    }
}

/// Splits one of `endings` typed joined onto the last part off it, where the stem left passes
/// `keeps`: the stem and the ending as two core parts. Whether it split.
fn split_off_ending(units: &mut Vec<Unit>, endings: &[&str], keeps: impl Fn(&str) -> bool) -> bool {
    let Some(last) = units.last().filter(|u| u.role == UnitRole::Core) else {
        return false;
    };
    let Some((stem, ending)) = endings.iter().find_map(|e| {
        last.text
            .strip_suffix(e)
            .filter(|stem| keeps(stem))
            .map(|stem| (stem.to_string(), *e))
    }) else {
        return false;
    };
    let at = units.len() - 1;
    units.splice(
        at..,
        [unit(&stem, UnitRole::Core), unit(ending, UnitRole::Core)],
    );
    true
}

/// Bibi before or after a woman's name (Bibi Aisha, بی بی عایشه, Gul Bibi) is said with it by
/// one clerk and left off by another: one optional part where another core part is there, its
/// two Arabic-script words (بی بی) taken as one.
fn set_apart_bibi(units: &mut Vec<Unit>) {
    split_joined_bibi(units);
    let mut i = 0;
    while i + 1 < units.len() {
        if units[i].text == "بی" && units[i + 1].text == "بی" && units[i].role == UnitRole::Core
        {
            units[i] = unit("بیبی", UnitRole::Core);
            units.remove(i + 1);
        }
        i += 1;
    }
    let is_bibi =
        |u: &Unit| u.role == UnitRole::Core && FORMS_OF_ADDRESS.contains(&u.text.as_str());
    if units
        .iter()
        .any(|u| u.role == UnitRole::Core && !is_bibi(u))
    {
        for u in units.iter_mut().filter(|u| is_bibi(u)) {
            u.role = UnitRole::Optional;
        }
    }
}

/// Bibi typed joined to the name it goes with, before or after (Bibifatima, Gulbibi, بیبیگل),
/// as its own part, as when typed apart.
fn split_joined_bibi(units: &mut Vec<Unit>) {
    // The name left must be a name: two Arabic letters (گل), three Latin ones (Gul).
    let long_enough = |rest: &str| {
        rest.chars().count()
            >= if script_of(rest) == Script::Arabic {
                2
            } else {
                3
            }
    };
    if let Some(first) = units.first().filter(|u| u.role == UnitRole::Core)
        && let Some((bibi, rest)) = FORMS_OF_ADDRESS
            .iter()
            .find_map(|f| first.text.strip_prefix(f).map(|rest| (*f, rest)))
            .filter(|(_, rest)| long_enough(rest))
    {
        let rest = rest.to_string();
        units.splice(
            0..1,
            [unit(bibi, UnitRole::Core), unit(&rest, UnitRole::Core)],
        );
    }
    split_off_ending(units, &FORMS_OF_ADDRESS, long_enough);
}

fn is_mohammad(text: &str) -> bool {
    text == MOHAMMAD_ARABIC || MOHAMMAD_LATIN.contains(&text)
}

/// Finds "wife of", "d/o", "زوجه", "بنت" and the like before the relative's name.
fn take_relation(tokens: &mut Vec<&str>) -> Option<Relation> {
    // Longer forms first: "wife of" before "wife", "zawja e" before "zawja".
    let patterns: &[(&[&str], Relation)] = &[
        (&["wife", "of"], Relation::WifeOf),
        (&["widow", "of"], Relation::WifeOf),
        (&["w", "o"], Relation::WifeOf),
        (&["wife"], Relation::WifeOf),
        (&["widow"], Relation::WifeOf),
        (&["daughter", "of"], Relation::DaughterOf),
        // "Daughter Yasin", "Mother Amir Jan": a clerk's shorthand; none of them is a name.
        (&["daughter"], Relation::DaughterOf),
        (&["d", "o"], Relation::DaughterOf),
        (&["son", "of"], Relation::SonOf),
        (&["s", "o"], Relation::SonOf),
        (&["walad"], Relation::SonOf),
        (&["wald"], Relation::SonOf),
        (&["bin"], Relation::SonOf),
        (&["ibn"], Relation::SonOf),
        (&["bint"], Relation::DaughterOf),
        (&["mother", "of"], Relation::MotherOf),
        (&["mother"], Relation::MotherOf),
        (&["زوجه"], Relation::WifeOf),
        (&["همسر"], Relation::WifeOf),
        (&["بیوه"], Relation::WifeOf),
        (&["اهلیه"], Relation::WifeOf),
        // "زن عبدالکبیر": the wife of Abdul Kabir; زن is no one's name.
        (&["زن"], Relation::WifeOf),
        (&["خانم", "of"], Relation::WifeOf),
        (&["بنت"], Relation::DaughterOf),
        (&["دختر"], Relation::DaughterOf),
        (&["ولد"], Relation::SonOf),
        (&["فرزند"], Relation::SonOf),
        (&["بن"], Relation::SonOf),
        (&["مادر"], Relation::MotherOf),
        // والده (والدہ as Urdu writes it): "the mother of", the polite word on a form.
        (&["والده"], Relation::MotherOf),
        // بیوی: "wife" as clerks on the Pakistani side write it in Urdu.
        (&["بیوی"], Relation::WifeOf),
        (&["پسر"], Relation::SonOf),
        // "Mor of Shahzad": the Pashto for mother, as a Latin clerk writes it.
        (&["mor", "of"], Relation::MotherOf),
    ];
    for (words, relation) in patterns {
        if tokens.len() > words.len() && tokens.iter().zip(words.iter()).all(|(t, w)| t == w) {
            tokens.drain(..words.len());
            return Some(*relation);
        }
    }
    if let Some(relation) = take_ezafe_relation(tokens) {
        return Some(relation);
    }
    // Pashto joins the two with د, either way round: ښځه د حنیف, or د حنیف ښځه (Hanif's wife).
    if tokens.len() > 2 {
        let pashto = |word: &str| PASHTO_RELATIONS.iter().find(|(w, _)| *w == word);
        if tokens[1] == "د"
            && let Some(&(_, relation)) = pashto(tokens[0])
        {
            tokens.drain(..2);
            return Some(relation);
        }
        if tokens[0] == "د"
            && let Some(&(_, relation)) = pashto(tokens[tokens.len() - 1])
        {
            tokens.pop();
            tokens.drain(..1);
            return Some(relation);
        }
    }
    // "Mrs Barakatullah", "خانم گل محمد": a title before a man's name is his wife's; before a
    // woman's name (Mrs Fatima) it is only a title, set aside with the others.
    if tokens.len() > 1 && MARRIED_TITLES.contains(&tokens[0]) && names_a_man(&tokens[1..]) {
        tokens.drain(..1);
        return Some(Relation::WifeOf);
    }
    None
}

/// Whether folded name parts are a man's name: one the lexicon lists for men, or a compound
/// only men bear (-ullah, -uddin, … Khan).
fn names_a_man(parts: &[&str]) -> bool {
    let joined = parts.concat();
    MEN.contains(&joined)
        || ["ullah", "ulla", "الله", "uddin", "الدین"]
            .iter()
            .any(|end| joined.ends_with(end))
        || parts.last().is_some_and(|p| *p == "khan" || *p == "خان")
}

/// Dari words for a relative as Latin clerks write them, joined to the relative's name by the
/// ezafe (دختر محمد, Dukhtar-e Mohammad: the daughter of Mohammad), which they write -e, -i, -ye,
/// e or not at all: Zawja-e Yousuf, Zawjai Yousuf, Zauja Yousuf, Dukhtare Rohullah. Whether the
/// word may stand without its ezafe: زن is "wife" joined (Zan-e Karim) and a name part alone.
const EZAFE_RELATIONS: &[(&str, Relation, bool)] = &[
    ("zawja", Relation::WifeOf, true),
    ("zawjah", Relation::WifeOf, true),
    ("zauja", Relation::WifeOf, true),
    ("zoja", Relation::WifeOf, true),
    ("zan", Relation::WifeOf, false),
    ("bewa", Relation::WifeOf, true),
    ("biwa", Relation::WifeOf, true),
    ("dukhtar", Relation::DaughterOf, true),
    ("dokhtar", Relation::DaughterOf, true),
    ("dukhter", Relation::DaughterOf, true),
    ("pesar", Relation::SonOf, true),
    ("pisar", Relation::SonOf, true),
    ("pusar", Relation::SonOf, true),
    ("madar", Relation::MotherOf, true),
    ("modar", Relation::MotherOf, true),
    // Walida is also a girl's name (Walida Bibi): "the mother of" only with its ezafe.
    ("walida", Relation::MotherOf, false),
    ("walidah", Relation::MotherOf, false),
    ("biwi", Relation::WifeOf, true),
    ("bivi", Relation::WifeOf, true),
];

/// The ezafe as written after a word, alone or joined to it.
const EZAFE: &[&str] = &["e", "i", "ye", "yi"];

/// A leading relation word with its ezafe (see [`EZAFE_RELATIONS`]), taken off the tokens.
fn take_ezafe_relation(tokens: &mut Vec<&str>) -> Option<Relation> {
    let first = *tokens.first()?;
    let ezafe_next = tokens.get(1).is_some_and(|t| EZAFE.contains(t));
    let (relation, words) = EZAFE_RELATIONS
        .iter()
        .find_map(|&(base, relation, alone)| {
            if first == base {
                match (ezafe_next, alone) {
                    (true, _) => Some(2),
                    (false, true) => Some(1),
                    (false, false) => None,
                }
            } else {
                first
                    .strip_prefix(base)
                    .filter(|rest| EZAFE.contains(rest))
                    .map(|_| 1)
            }
            .map(|words| (relation, words))
        })?;
    (tokens.len() > words).then(|| {
        tokens.drain(..words);
        relation
    })
}

/// Pashto words for a relative, folded (ښځه is شزه, کونډه کونده): wife, Mrs, widow, daughter, son,
/// mother.
const PASHTO_RELATIONS: &[(&str, Relation)] = &[
    ("شزه", Relation::WifeOf),
    ("میرمن", Relation::WifeOf),
    ("کونده", Relation::WifeOf),
    ("لور", Relation::DaughterOf),
    ("زوی", Relation::SonOf),
    ("مور", Relation::MotherOf),
];

/// Titles of a married woman, followed by her own name or her husband's.
const MARRIED_TITLES: &[&str] = &["mrs", "خانم", "khanum", "khanim", "begum", "بیگم", "میرمن"];

/// Men's given names in both scripts, folded and without spaces, from the names lexicon: a
/// married woman's title before one of them names her husband.
static MEN: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let mut men = HashSet::new();
    for row in crate::lexicon::rows(crate::lexicon::GIVEN_NAMES) {
        let [sex, arabic, latin, ..] = row[..] else {
            continue;
        };
        if sex != "M" {
            continue;
        }
        for name in latin.split(';').chain([arabic]) {
            let folded: String = fold(name).split(' ').collect();
            if !folded.is_empty() {
                men.insert(folded);
            }
        }
    }
    men
});

struct Token {
    text: String,
    optional_prefix: bool,
}

fn set_aside_honorifics(tokens: Vec<&str>, honorifics: &mut Vec<String>) -> Vec<Token> {
    let lex = &*LEXICON;
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        // Two-word titles first ("al haj").
        if i + 1 < tokens.len() && lex.first_words.contains(tokens[i]) {
            let two = format!("{} {}", tokens[i], tokens[i + 1]);
            if lex.honorifics.get(&two) == Some(&Honorific::Title) {
                honorifics.push(two);
                i += 2;
                continue;
            }
        }
        let t = tokens[i];
        match lex.honorifics.get(t) {
            Some(Honorific::Title) => honorifics.push(t.to_string()),
            Some(Honorific::OptionalPrefix) => out.push(Token {
                text: t.to_string(),
                optional_prefix: true,
            }),
            None => out.push(Token {
                text: expand_abbreviation(t).to_string(),
                optional_prefix: false,
            }),
        }
        i += 1;
    }
    // A name that is only titles ("Haji") keeps them as its name.
    if out.is_empty() && !honorifics.is_empty() {
        out = honorifics
            .drain(..)
            .map(|text| Token {
                text,
                optional_prefix: false,
            })
            .collect();
    }
    // A lineage word is optional only before another part: "Sayed" alone is the name.
    if out.len() == 1 {
        out[0].optional_prefix = false;
    }
    out
}

fn expand_abbreviation(t: &str) -> &str {
    match t {
        "mohd" | "md" | "muhd" | "mhd" => "mohammad",
        _ => t,
    }
}

fn unit(text: &str, role: UnitRole) -> Unit {
    Unit {
        text: text.to_string(),
        code: encode(text),
        role,
    }
}

fn particle(p: Particle) -> Unit {
    Unit {
        text: p.canonical().to_string(),
        code: p.code(),
        role: UnitRole::Particle,
    }
}

fn build_units(tokens: &[Token], units: &mut Vec<Unit>) {
    let mut pending_abd = false;
    let mut i = 0;
    while i < tokens.len() {
        let tok = &tokens[i];
        let t = tok.text.as_str();
        let script = script_of(t);
        let has_prev = !units.is_empty() || pending_abd;
        // Standalone connectives (ud, ul, ur) glue the next part on; they carry no sound of their own.
        if script == Script::Latin && has_prev && i + 1 < tokens.len() && CONNECTIVES.contains(&t) {
            i += 1;
            continue;
        }
        let has_abd = pending_abd;
        if pending_abd {
            pending_abd = false;
            if is_allah_word(t) {
                // Abd Allah, عبد الله: the whole is one name, Abdullah.
                units.push(unit(
                    if script == Script::Arabic {
                        "عبدالله"
                    } else {
                        "abdullah"
                    },
                    UnitRole::Core,
                ));
                i += 1;
                continue;
            }
            units.push(particle(Particle::Abd));
        }
        let t = if has_abd && script == Script::Latin {
            without_connective(t)
        } else {
            t
        };
        if tok.optional_prefix {
            units.push(unit(t, UnitRole::Optional));
            i += 1;
            continue;
        }
        if is_abd_word(t) && i + 1 < tokens.len() {
            pending_abd = true;
            i += 1;
            continue;
        }
        if has_prev && is_allah_word(t) {
            units.push(particle(Particle::Allah));
            i += 1;
            continue;
        }
        if has_prev && is_uddin_word(t) {
            units.push(particle(Particle::Uddin));
            i += 1;
            continue;
        }
        let t = strip_linker(t, tokens.get(i + 1).map(|n| n.text.as_str()));
        split_token(t, script, has_prev, units);
        i += 1;
    }
    if pending_abd {
        units.push(unit("abd", UnitRole::Core));
    }
}

/// The part after Abd with the connective a hyphen left on it (Abd-ulkabir, Abd-urrahman): the
/// part alone, as in Abdulkabir. Only an "al" with a name of three letters or more after it, or
/// a connective doubled into the next sound (ur-r, us-s), is taken off: Abd Aziz and Abd Ali are
/// names as they stand.
fn without_connective(t: &str) -> &str {
    let b = t.as_bytes();
    let (Some(&vowel), Some(&c)) = (b.first(), b.get(1)) else {
        return t;
    };
    if !matches!(vowel, b'u' | b'a' | b'o' | b'e')
        || !matches!(c, b'l' | b'r' | b's' | b'z' | b't' | b'd' | b'n')
    {
        return t;
    }
    let rest = &t[2..];
    let takes = if c == b'l' {
        rest.len() >= 3
    } else {
        rest.as_bytes().first() == Some(&c) && rest.len() >= 3
    };
    if takes { rest } else { t }
}

/// Habibur Rahman, Ziaul Haq: the linker written onto the first part belongs between the two.
fn strip_linker<'a>(t: &'a str, next: Option<&str>) -> &'a str {
    let Some(next) = next else { return t };
    // Only plain ASCII tokens: a mixed-script token must not be cut inside a letter.
    if t.len() < 5 || !t.is_ascii() {
        return t;
    }
    let (stem, linker) = t.split_at(t.len() - 2);
    let stem_ends_vowel = stem.ends_with(['a', 'e', 'i', 'o', 'u']);
    let strip = match linker {
        // A sun letter assimilates the article: ur + Rahman, us + Salam, ud + Din, uz + Zaman.
        "ur" => next.starts_with('r'),
        "us" => next.starts_with('s'),
        "ud" => next.starts_with('d'),
        "uz" => next.starts_with('z'),
        // Rasul, Maqbul and Qabul end in -ul too: strip only where it cannot be the name.
        "ul" => {
            stem_ends_vowel
                || matches!(
                    next,
                    "haq" | "haque" | "huq" | "islam" | "amin" | "hadi" | "rahman"
                )
        }
        _ => false,
    };
    if strip { stem } else { t }
}

fn is_abd_word(t: &str) -> bool {
    matches!(
        t,
        "abd"
            | "abdul"
            | "abdur"
            | "abdus"
            | "abduz"
            | "abdal"
            | "abdel"
            | "abdol"
            | "abdu"
            | "abdo"
            | "abdual"
            | "abdool"
            | "abdoul"
            | "abdhul"
            | "abdor"
            | "abdos"
            | "abdoz"
            | "abdun"
            | "abdut"
            | "abdud"
            | "عبد"
            | "عبدال"
            | "عبدل"
    )
}

fn is_allah_word(t: &str) -> bool {
    matches!(t, "الله" | "اله" | "لله")
        || (script_of(t) == Script::Latin && ALLAH_ENDINGS.contains(&t))
}

fn is_uddin_word(t: &str) -> bool {
    matches!(t, "الدین" | "دین" | "din" | "deen") || UDDIN_ENDINGS.contains(&t)
}

/// Splits one token into prefix, stem and suffix units.
fn split_token(t: &str, script: Script, has_prev: bool, units: &mut Vec<Unit>) {
    let (abd_rest, rest) = match script {
        Script::Arabic => split_abd_arabic(t),
        _ => split_abd_latin(t),
    };
    if abd_rest {
        if is_allah_word(rest)
            || matches!(
                rest,
                "له" | "لاه" | "lah" | "la" | "llah" | "lla" | "ah" | "a"
            )
        {
            units.push(unit(t, UnitRole::Core));
            return;
        }
        units.push(particle(Particle::Abd));
    }
    let (stem, suffix) = match script {
        Script::Arabic => split_suffix_arabic(rest),
        _ => split_suffix_latin(rest),
    };
    if let Some(p) = suffix {
        units.push(unit(stem, UnitRole::Core));
        units.push(particle(p));
        return;
    }
    // The Arabic article on a later part (فضل الرحمن, انعام الحق) is spelling, not sound.
    if script == Script::Arabic && has_prev && rest.starts_with("ال") && rest.chars().count() > 3
    {
        units.push(unit(&rest["ال".len()..], UnitRole::Core));
        return;
    }
    units.push(unit(rest, UnitRole::Core));
}

fn split_abd_arabic(t: &str) -> (bool, &str) {
    for prefix in ["عبدال", "عبدل", "عبد"] {
        if let Some(rest) = t.strip_prefix(prefix)
            && rest.chars().count() >= 2
        {
            return (true, rest);
        }
    }
    (false, t)
}

/// Abdulghani, Abdurrahman, Abdurahman, Abdussalam → (true, ghani | rahman | salam).
fn split_abd_latin(t: &str) -> (bool, &str) {
    let Some(after) = t.strip_prefix("abd") else {
        return (false, t);
    };
    let b = after.as_bytes();
    let mut k = 0;
    if b.first()
        .is_some_and(|c| matches!(c, b'u' | b'o' | b'a' | b'e'))
    {
        k = 1;
    }
    let conn = b.get(k).copied();
    if conn.is_some_and(|c| matches!(c, b'l' | b'r' | b's' | b'z' | b't' | b'd' | b'n')) {
        let with_conn = &after[k + 1..];
        // A single r or s before a vowel belongs to the next part: Abdu-rahman, Abdu-salam.
        let starts_vowel = with_conn
            .as_bytes()
            .first()
            .is_some_and(|c| matches!(c, b'a' | b'e' | b'i' | b'o' | b'u'));
        let rest = if starts_vowel && conn != Some(b'l') {
            &after[k..]
        } else {
            with_conn
        };
        if rest.len() >= 2 {
            return (true, rest);
        }
        return (false, t);
    }
    let rest = &after[k..];
    if rest.len() >= 3 {
        (true, rest)
    } else {
        (false, t)
    }
}

fn split_suffix_latin(t: &str) -> (&str, Option<Particle>) {
    for (endings, p, min_stem) in [
        (ALLAH_ENDINGS, Particle::Allah, 2),
        (UDDIN_ENDINGS, Particle::Uddin, 3),
    ] {
        for e in endings {
            if let Some(stem) = t.strip_suffix(e)
                && stem.len() >= min_stem
            {
                return (stem, Some(p));
            }
        }
    }
    (t, None)
}

fn split_suffix_arabic(t: &str) -> (&str, Option<Particle>) {
    for (ending, p) in [
        ("الله", Particle::Allah),
        ("اله", Particle::Allah),
        ("الدین", Particle::Uddin),
    ] {
        if let Some(stem) = t.strip_suffix(ending)
            && stem.chars().count() >= 2
        {
            return (stem, Some(p));
        }
    }
    (t, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(a: &str, b: &str) -> f32 {
        crate::similarity::similarity(&normalize(a), &normalize(b))
    }

    fn texts(n: &Name) -> Vec<(String, UnitRole)> {
        n.units.iter().map(|u| (u.text.clone(), u.role)).collect()
    }

    #[test]
    fn a_trailing_jan_or_khan_is_optional() {
        for s in [
            "Ahmad Jan",
            "Ahmadjan",
            "احمدجان",
            "احمد جان",
            "Sardar Khan",
        ] {
            let n = normalize(s);
            assert_eq!(n.units.len(), 2, "{s}: {:?}", texts(&n));
            assert_eq!(n.units[0].role, UnitRole::Core, "{s}");
            assert_eq!(n.units[1].role, UnitRole::Optional, "{s}");
        }
        for s in ["Jan Mohammad", "Jan", "Marjan", "مرجان", "Abdul Jan"] {
            let n = normalize(s);
            assert!(
                n.units.iter().all(|u| u.role != UnitRole::Optional),
                "{s}: {:?}",
                texts(&n)
            );
        }
        assert!(
            sim("جمیلهجان", "Jameela") >= 0.75,
            "{}",
            sim("جمیلهجان", "Jameela")
        );
        assert!(sim("Ameer Jan", "Ameer") >= 0.75);
        assert!(sim("Ahmadjan", "Ahmad Jan") >= 0.99);
        assert!(
            sim("Ahmad Jan", "Mahmood Jan") < 0.5,
            "the Jan alone is no likeness"
        );
    }

    #[test]
    fn bibi_with_a_name_is_optional() {
        for s in [
            "Bibi Aisha",
            "بی بی عایشه",
            "بیبی عایشه",
            "Gul Bibi",
            "Bibifatima",
            "Gulbibi",
            "بیبیگل",
        ] {
            let n = normalize(s);
            assert_eq!(n.units.len(), 2, "{s}: {:?}", texts(&n));
            let bibi = n
                .units
                .iter()
                .filter(|u| u.role == UnitRole::Optional)
                .count();
            assert_eq!(bibi, 1, "{s}: {:?}", texts(&n));
        }
        assert!(sim("بی بی آمنه", "آمنه") >= 0.75);
        assert!(sim("بی بی عایشه", "بیبی عایشه") >= 0.99);
        assert!(
            sim("Bibi Aisha", "Bibi Amina") < 0.5,
            "Bibi alone is no likeness"
        );
    }

    #[test]
    fn bibi_alone_is_a_form_of_address() {
        for s in ["Bibi", "BEBE", "بی بی", "بیبی", "بي بي"] {
            assert!(normalize(s).is_form_of_address(), "{s}");
        }
        for s in ["Bibi Gul", "بی بی عایشه", "Bibi Jan", "Habiba", "Gul"] {
            assert!(!normalize(s).is_form_of_address(), "{s}");
        }
    }

    #[test]
    fn abd_compounds_split_alike_in_both_scripts() {
        for s in [
            "Abdul Ghani",
            "Abdulghani",
            "abdul-ghani",
            "عبدالغنی",
            "عبد الغنی",
        ] {
            let n = normalize(s);
            assert_eq!(n.units.len(), 2, "{s}: {:?}", texts(&n));
            assert_eq!(n.units[0].role, UnitRole::Particle, "{s}");
        }
        assert_eq!(normalize("Abdurahman").units[1].text, "rahman");
        for (s, part) in [
            ("Abd-ulkabir", "kabir"),
            ("Abd-ulahad", "ahad"),
            ("Abd-urrahman", "rahman"),
            ("Abd Aziz", "aziz"),
            ("Abd Alim", "alim"),
        ] {
            let n = normalize(s);
            assert_eq!(n.units.len(), 2, "{s}: {:?}", texts(&n));
            assert_eq!(n.units[1].text, part, "{s}");
        }
        assert_eq!(normalize("Abdur Rahman").units[1].text, "rahman");
    }

    #[test]
    fn abdullah_stays_whole() {
        for s in ["Abdullah", "Abd Allah", "Abdulla", "عبدالله", "عبد الله"] {
            let n = normalize(s);
            assert_eq!(n.units.len(), 1, "{s}: {:?}", texts(&n));
            assert_eq!(n.units[0].role, UnitRole::Core);
        }
    }

    #[test]
    fn ullah_and_uddin_are_particles() {
        let n = normalize("Zabiullah");
        assert_eq!(
            texts(&n),
            vec![
                ("zabi".into(), UnitRole::Core),
                ("ullah".into(), UnitRole::Particle)
            ]
        );
        let n = normalize("ذبیح‌الله");
        assert_eq!(n.units[1].role, UnitRole::Particle);
        let n = normalize("Nasir-ud-Din");
        assert_eq!(n.units.len(), 2);
        assert_eq!(n.units[1].text, "uddin");
    }

    #[test]
    fn honorifics_are_set_aside_not_lost() {
        let n = normalize("Haji Abdul Qadir");
        assert_eq!(n.honorifics, vec!["haji"]);
        assert_eq!(n.units.len(), 2);
        let n = normalize("Haji");
        assert_eq!(n.units.len(), 1);
        let n = normalize("Mowlawi Abdul Rashid");
        assert_eq!(n.honorifics, vec!["mowlawi"]);
        // Pir is a title and, far more often, the first part of a name (Pir Mohammad, Pir
        // Gul): kept, and Pir Mohammad is not Mohammad.
        let n = normalize("Pir Mohammad");
        assert!(n.honorifics.is_empty());
        assert_eq!(n.folded, "pir mohammad");
        assert!(crate::similarity(&n, &normalize("Mohammad")) < 0.9);
        assert!(crate::similarity(&n, &normalize("Peer Muhammad")) >= 0.9);
    }

    #[test]
    fn leading_mohammad_is_optional() {
        let n = normalize("Mohammad Nabi");
        assert_eq!(n.units[0].role, UnitRole::Optional);
        let n = normalize("Mohammad");
        assert_eq!(n.units[0].role, UnitRole::Core);
    }

    #[test]
    fn relations_are_recognised() {
        let n = normalize("wife of Abdul Ghani");
        assert_eq!(n.relation, Some(Relation::WifeOf));
        assert_eq!(n.units.len(), 2);
        for (typed, relation, relative) in [
            ("W/O Ahmad Zia", Relation::WifeOf, "ahmad zia"),
            ("WIFE SARDAR KHAN", Relation::WifeOf, "sardar khan"),
            ("ZAWJA-E YOSUF", Relation::WifeOf, "yosuf"),
            ("زن عبدالكبير", Relation::WifeOf, "عبدالکبیر"),
            ("Mrs Barakatullah", Relation::WifeOf, "barakatullah"),
            ("خانم گل محمد", Relation::WifeOf, "گل محمد"),
            ("walad Zabih-ullah", Relation::SonOf, "zabih ullah"),
            ("بنت رحمت", Relation::DaughterOf, "رحمت"),
            ("ښځه د حنيف", Relation::WifeOf, "حنیف"),
            ("د محمد حنیف ښځه", Relation::WifeOf, "محمد حنیف"),
            ("مېرمن عبدالغفور", Relation::WifeOf, "عبدالغفور"),
            ("د نور محمد لور", Relation::DaughterOf, "نور محمد"),
            ("لور د ولیجان", Relation::DaughterOf, "ولیجان"),
            ("د سخي زوی", Relation::SonOf, "سخی"),
            ("مور د محمد", Relation::MotherOf, "محمد"),
            ("Mor of Shahzad", Relation::MotherOf, "shahzad"),
            ("Zawjai Yousuf", Relation::WifeOf, "yousuf"),
            ("Zan-e Karim", Relation::WifeOf, "karim"),
            ("DUKHTAR-E MAWLAWI NAIM", Relation::DaughterOf, "naim"),
            ("Dukhtare Rohullah", Relation::DaughterOf, "rohullah"),
            ("والده عبدالغفور", Relation::MotherOf, "عبدالغفور"),
            ("والدہ عبدالغفور", Relation::MotherOf, "عبدالغفور"),
            (
                "Walida-e Abdul Ghafoor",
                Relation::MotherOf,
                "abdul ghafoor",
            ),
            ("بیوی سمیع الله", Relation::WifeOf, "سمیع الله"),
            ("Biwi Sami Ullah", Relation::WifeOf, "sami ullah"),
            ("dokhtar i Gul Ahmad", Relation::DaughterOf, "gul ahmad"),
            ("Pesar-e Nabi", Relation::SonOf, "nabi"),
            ("Bewa Abdul Qadir", Relation::WifeOf, "abdul qadir"),
            ("Madar-e Shafiq", Relation::MotherOf, "shafiq"),
            ("daughter Yasin", Relation::DaughterOf, "yasin"),
            ("MOTHER AMIR JAN", Relation::MotherOf, "amir jan"),
            ("پسر کریم", Relation::SonOf, "کریم"),
        ] {
            let n = normalize(typed);
            assert_eq!(n.relation, Some(relation), "{typed}");
            assert_eq!(n.folded, relative, "{typed}");
        }
        // A title before a woman's own name is only a title; زن alone is no relation.
        let n = normalize("Mrs Fatima");
        assert_eq!((n.relation, n.folded.as_str()), (None, "fatima"));
        let n = normalize("مېرمن فاطمه");
        assert_eq!((n.relation, n.folded.as_str()), (None, "فاطمه"));
        assert_eq!(normalize("زن").relation, None);
        // Walida is also a girl's name: without its ezafe it stays hers.
        assert_eq!(normalize("Walida Bibi").relation, None);
        // د alone, or a Pashto relation word with no one named, is no relation either.
        assert_eq!(normalize("د ښځه").relation, None);
        assert_eq!(normalize("لور").relation, None);
        // Nor a relation word with no one named, or a name part that only begins like one.
        assert_eq!(normalize("Dukhtar-e").relation, None);
        assert_eq!(normalize("Zan").relation, None);
        assert_eq!(normalize("Zangul").relation, None);
        assert_eq!(normalize("Zan Gul").relation, None);
    }

    #[test]
    fn a_name_said_with_a_relatives_splits() {
        assert_eq!(
            split_relation("Ahmad s/o Karim"),
            Some(("ahmad".into(), Relation::SonOf, "karim".into()))
        );
        assert_eq!(
            split_relation("Fatima w/o Karim Khan"),
            Some(("fatima".into(), Relation::WifeOf, "karim khan".into()))
        );
        assert_eq!(
            split_patronymic("احمد ولد کریم"),
            Some(("احمد".into(), "کریم".into()))
        );
        assert_eq!(split_patronymic("Fatima w/o Karim"), None);
        assert_eq!(split_relation("s/o Karim"), None);
    }
}
