//! The noise of real registration desks: how one clerk writes what another wrote differently.

use rand::RngExt;

use crate::lexicon::NameEntry;

/// How a desk writes: its script, and the habits of its keyboard.
#[derive(Debug, Clone, Copy)]
pub struct Clerk {
    pub arabic_script: bool,
    /// A Pashto keyboard (ګ ی ې) or an Arabic one (ي ك).
    pub pashto_keyboard: bool,
    pub arabic_keyboard: bool,
    pub persian_digits: bool,
    /// Pakistani clerks favour Urdu-influenced spellings (Rehman, Yousaf).
    pub later_variants: bool,
    /// How careless this desk is today.
    pub typo_rate: f64,
}

impl Clerk {
    pub fn random<R: RngExt + ?Sized>(rng: &mut R) -> Self {
        let arabic_script = rng.random_bool(0.45);
        Self {
            arabic_script,
            pashto_keyboard: arabic_script && rng.random_bool(0.3),
            arabic_keyboard: arabic_script && rng.random_bool(0.2),
            persian_digits: arabic_script && rng.random_bool(0.5),
            later_variants: rng.random_bool(0.4),
            typo_rate: [0.02, 0.05, 0.1][rng.random_range(0..3)],
        }
    }
}

const ZWNJ: char = '\u{200C}';

/// Writes a lexicon name as this clerk would, with the usual variation and the odd typo.
pub fn write_name<R: RngExt + ?Sized>(rng: &mut R, clerk: &Clerk, entry: &NameEntry) -> String {
    let arabic = clerk.arabic_script != rng.random_bool(0.08);
    let mut s = if arabic {
        arabic_variant(rng, clerk, entry.arabic)
    } else {
        latin_variant(rng, clerk, entry)
    };
    if rng.random_bool(clerk.typo_rate) {
        s = typo(rng, &s);
    }
    s
}

fn latin_variant<R: RngExt + ?Sized>(rng: &mut R, clerk: &Clerk, entry: &NameEntry) -> String {
    let n = entry.latin.len();
    let i = if n <= 1 || rng.random_bool(if clerk.later_variants { 0.3 } else { 0.55 }) {
        0
    } else {
        rng.random_range(1..n)
    };
    let mut s = entry
        .latin
        .get(i)
        .copied()
        .unwrap_or(entry.arabic)
        .to_string();
    // Compounds are joined, split and hyphenated at will.
    if s.contains(' ') && rng.random_bool(0.2) {
        s = if rng.random_bool(0.5) {
            s.replace(' ', "")
        } else {
            s.replace(' ', "-")
        };
    } else if let Some(rest) = s.strip_prefix("Abdul")
        && !rest.starts_with(' ')
        && rest.len() > 2
        && rng.random_bool(0.3)
    {
        s = format!("Abdul {}", capitalise(rest));
    }
    match rng.random_range(0..20) {
        0..=2 => s.to_uppercase(),
        3 => s.to_lowercase(),
        _ => s,
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn arabic_variant<R: RngExt + ?Sized>(rng: &mut R, clerk: &Clerk, name: &str) -> String {
    let zwnj = rng.random_range(0..3);
    let mut out = String::with_capacity(name.len() + 4);
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let last = i + 1 == chars.len();
        let c2 = match c {
            ZWNJ => match zwnj {
                0 => Some(ZWNJ),
                1 => Some(' '),
                _ => None,
            },
            'ی' if clerk.arabic_keyboard => Some('ي'),
            'ی' if clerk.pashto_keyboard && last && rng.random_bool(0.3) => Some('ې'),
            'ک' if clerk.arabic_keyboard => Some('ك'),
            'گ' if clerk.pashto_keyboard => Some('ګ'),
            'ه' if last && clerk.arabic_keyboard && rng.random_bool(0.3) => Some('ة'),
            _ => Some(c),
        };
        if let Some(c2) = c2 {
            out.push(c2);
        }
        if i == 0 && rng.random_bool(0.03) {
            out.push('\u{064E}'); // A fatha, as some clerks add.
        }
        if i == 1 && chars.len() > 3 && rng.random_bool(0.02) {
            out.push('ـ'); // Tatweel stretching the word.
        }
    }
    out
}

/// One slip of the keyboard: a letter dropped, doubled, swapped or replaced (never the first).
pub fn typo<R: RngExt + ?Sized>(rng: &mut R, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if chars.len() < 4 {
        return s.to_string();
    }
    let i = rng.random_range(1..chars.len() - 1);
    if !chars[i].is_alphabetic() {
        return s.to_string();
    }
    match rng.random_range(0..4) {
        0 => {
            chars.remove(i);
        }
        1 => chars.insert(i, chars[i]),
        2 => chars.swap(i, i + 1),
        _ => {
            let pool: &[char] = if chars[i].is_ascii() {
                &['a', 'e', 'i', 'o', 'u', 'h', 'n', 'r']
            } else {
                &['ا', 'ی', 'و', 'ه', 'ن', 'ر']
            };
            chars[i] = pool[rng.random_range(0..pool.len())];
        }
    }
    chars.into_iter().collect()
}

/// Renders digits in Persian when the clerk types them so.
pub fn digits(clerk: &Clerk, s: &str) -> String {
    if !clerk.persian_digits {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                char::from_u32(0x06F0 + (c as u32 - '0' as u32)).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}
