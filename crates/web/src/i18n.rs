//! The interface in English, Dari and Pashto: messages from Fluent resource files a translator
//! edits (`crates/web/locales/*.ftl`), the reading direction, and dates in the Gregorian or
//! Solar Hijri calendar as each user prefers.

use std::sync::LazyLock;

use axum::http::{HeaderMap, header};
use chrono::NaiveDate;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// The cookie holding the interface language.
pub const LANGUAGE_COOKIE: &str = "peywand_lang";
/// The cookie holding the calendar dates are shown in.
pub const CALENDAR_COOKIE: &str = "peywand_calendar";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    /// Dari (Afghan Persian).
    Fa,
    Ps,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Fa, Lang::Ps];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fa => "fa",
            Lang::Ps => "ps",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The language's own name, as shown in the language switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fa => "دری",
            Lang::Ps => "پښتو",
        }
    }

    pub fn dir(self) -> &'static str {
        match self {
            Lang::En => "ltr",
            Lang::Fa | Lang::Ps => "rtl",
        }
    }

    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("../locales/en.ftl"),
            Lang::Fa => include_str!("../locales/fa.ftl"),
            Lang::Ps => include_str!("../locales/ps.ftl"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calendar {
    Gregorian,
    SolarHijri,
}

impl Calendar {
    pub fn code(self) -> &'static str {
        match self {
            Calendar::Gregorian => "gregorian",
            Calendar::SolarHijri => "solar_hijri",
        }
    }

    pub fn from_code(code: &str) -> Option<Calendar> {
        [Calendar::Gregorian, Calendar::SolarHijri]
            .into_iter()
            .find(|c| c.code() == code)
    }
}

type Bundle = FluentBundle<FluentResource>;

/// Every language's messages, parsed once. A resource with a syntax error is a build mistake
/// caught by the tests; at run time its valid messages are still used.
static BUNDLES: LazyLock<Vec<Bundle>> = LazyLock::new(|| {
    Lang::ALL
        .iter()
        .map(|lang| {
            let id = lang
                .code()
                .parse()
                .unwrap_or_else(|_| unic_langid::LanguageIdentifier::default());
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // Names in another script are isolated by the templates (dir="auto"), not by
            // invisible marks inside messages, which would end up in copied text.
            bundle.set_use_isolating(false);
            let resource = match FluentResource::try_new(lang.source().to_string()) {
                Ok(r) => r,
                Err((r, errors)) => {
                    tracing::error!(
                        language = lang.code(),
                        ?errors,
                        "translation file has errors"
                    );
                    r
                }
            };
            if let Err(errors) = bundle.add_resource(resource) {
                tracing::error!(
                    language = lang.code(),
                    ?errors,
                    "translation file has duplicates"
                );
            }
            bundle
        })
        .collect()
});

fn bundle(lang: Lang) -> Option<&'static Bundle> {
    BUNDLES.get(Lang::ALL.iter().position(|l| *l == lang)?)
}

fn format(lang: Lang, key: &str, args: Option<&FluentArgs<'_>>) -> Option<String> {
    let bundle = bundle(lang)?;
    let pattern = bundle.get_message(key)?.value()?;
    let mut errors = Vec::new();
    Some(
        bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned(),
    )
}

/// The translator for one request: its language and calendar.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
    pub calendar: Calendar,
}

impl Default for Tr {
    fn default() -> Self {
        Tr {
            lang: Lang::En,
            calendar: Calendar::Gregorian,
        }
    }
}

impl Tr {
    /// From the language and calendar cookies, else the browser's languages; Dari and Pashto
    /// readers see Solar Hijri dates unless they chose otherwise.
    pub fn from_headers(headers: &HeaderMap) -> Tr {
        let cookie = |name: &str| crate::auth::cookie(headers, name);
        let lang = cookie(LANGUAGE_COOKIE)
            .and_then(Lang::from_code)
            .or_else(|| {
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| {
                        v.split(',')
                            .filter_map(|part| part.split(';').next())
                            .filter_map(|tag| tag.trim().split('-').next())
                            .find_map(|primary| match primary.to_ascii_lowercase().as_str() {
                                "en" => Some(Lang::En),
                                "fa" | "prs" => Some(Lang::Fa),
                                "ps" | "pbt" | "pbu" => Some(Lang::Ps),
                                _ => None,
                            })
                    })
            })
            .unwrap_or(Lang::En);
        let calendar = cookie(CALENDAR_COOKIE)
            .and_then(Calendar::from_code)
            .unwrap_or(match lang {
                Lang::En => Calendar::Gregorian,
                Lang::Fa | Lang::Ps => Calendar::SolarHijri,
            });
        Tr { lang, calendar }
    }

    /// A message; English when this language lacks it, the key itself when no language has it.
    pub fn get(&self, key: &str) -> String {
        format(self.lang, key, None)
            .or_else(|| format(Lang::En, key, None))
            .unwrap_or_else(|| key.to_string())
    }

    /// A message with one argument (`{ $name }` in the resource).
    pub fn with(&self, key: &str, name: &str, value: impl std::fmt::Display) -> String {
        self.with_all(key, &[(name, value.to_string())])
    }

    /// A message with several arguments, each `(name, value)`.
    pub fn with_all(&self, key: &str, values: &[(&str, String)]) -> String {
        let mut args = FluentArgs::new();
        for (name, value) in values {
            args.set(*name, FluentValue::from(value.as_str()));
        }
        format(self.lang, key, Some(&args))
            .or_else(|| format(Lang::En, key, Some(&args)))
            .unwrap_or_else(|| key.to_string())
    }

    /// The label of a coded value (`sex-female`, `need-food`, …), or the code made readable.
    pub fn code(&self, prefix: &str, code: &str) -> String {
        let key = format!("{prefix}-{}", code.replace('_', "-"));
        let text = self.get(&key);
        if text == key { readable(code) } else { text }
    }

    /// A site's name in the reader's script (the gazetteer's Dari name on Dari and Pashto
    /// pages), or its code when the gazetteer does not know it.
    pub fn site(&self, code: &str) -> String {
        match peywand_names::place::Gazetteer::get().by_code(code) {
            Some(p) if self.lang != Lang::En && !p.name_local.is_empty() => p.name_local.clone(),
            Some(p) => p.name_en.clone(),
            None => code.to_string(),
        }
    }

    pub fn code_lang(&self) -> &'static str {
        self.lang.code()
    }

    pub fn dir(&self) -> &'static str {
        self.lang.dir()
    }

    /// A date in the user's calendar: `2025-10-02`, or `1404/07/10` in Solar Hijri, with the
    /// digits of the interface's language.
    pub fn date(&self, date: NaiveDate) -> String {
        let text = match self.calendar {
            Calendar::Gregorian => date.format("%Y-%m-%d").to_string(),
            Calendar::SolarHijri => match peywand_names::date::gregorian_to_solar_hijri(date) {
                Some((y, m, d)) => format!("{y:04}/{m:02}/{d:02}"),
                None => date.format("%Y-%m-%d").to_string(),
            },
        };
        self.digits(&text)
    }

    /// Digits as the language writes them: Persian digits in Dari and Pashto.
    pub fn digits(&self, text: &str) -> String {
        match self.lang {
            Lang::En => text.to_string(),
            Lang::Fa | Lang::Ps => text
                .chars()
                .map(|c| match c.to_digit(10) {
                    Some(d) => char::from_u32(0x06F0 + d).unwrap_or(c),
                    None => c,
                })
                .collect(),
        }
    }

    pub fn languages(&self) -> Vec<(&'static str, &'static str, bool)> {
        Lang::ALL
            .iter()
            .map(|l| (l.code(), l.native_name(), *l == self.lang))
            .collect()
    }

    pub fn is_solar_hijri(&self) -> bool {
        self.calendar == Calendar::SolarHijri
    }
}

/// "female_headed_household" → "Female headed household".
pub fn readable(code: &str) -> String {
    let s = code.replace('_', " ");
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Tr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Tr::from_headers(&parts.headers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(source: &str) -> std::collections::BTreeSet<String> {
        source
            .lines()
            .filter(|l| !l.starts_with([' ', '#', '.', '\t']) && l.contains(" ="))
            .filter_map(|l| l.split(" =").next())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn every_language_has_every_message_and_parses() {
        let english = keys(Lang::En.source());
        assert!(english.len() > 50, "{}", english.len());
        for lang in Lang::ALL {
            let resource = FluentResource::try_new(lang.source().to_string());
            assert!(
                resource.is_ok(),
                "{}: {:?}",
                lang.code(),
                resource.err().map(|e| e.1)
            );
            let these = keys(lang.source());
            // A message defined twice is refused by the bundle, and the server says so at start.
            let defined = lang
                .source()
                .lines()
                .filter(|l| !l.starts_with([' ', '#', '.', '\t']) && l.contains(" ="))
                .count();
            assert_eq!(
                defined,
                these.len(),
                "{}: a message defined twice",
                lang.code()
            );
            let missing: Vec<_> = english.difference(&these).collect();
            let extra: Vec<_> = these.difference(&english).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}: missing {missing:?}, unknown {extra:?}",
                lang.code()
            );
        }
    }

    #[test]
    fn every_message_the_pages_use_exists() {
        let english = keys(Lang::En.source());
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut sources: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect();
        for file in [
            "pages.rs",
            "dashboard.rs",
            "tracing_pages.rs",
            "identity_pages.rs",
            "users_pages.rs",
            "assistance_pages.rs",
            "refusal.rs",
        ] {
            let path = format!("{}/src/{file}", env!("CARGO_MANIFEST_DIR"));
            sources.extend(std::fs::read_to_string(path).ok());
        }
        let mut used = 0;
        for source in &sources {
            // A call's first argument, a literal key, may follow on the next line.
            let calls = [".get(", ".with(", ".with_all("];
            for piece in calls
                .iter()
                .flat_map(|call| source.split(call).skip(1))
                .filter_map(|piece| piece.trim_start().strip_prefix('"'))
            {
                let key = piece.split('"').next().unwrap_or_default();
                if key.contains(' ') || key.is_empty() {
                    continue;
                }
                used += 1;
                assert!(
                    english.contains(key),
                    "message {key} is used but not in en.ftl"
                );
            }
        }
        assert!(used > 40, "{used}");
    }

    #[test]
    fn dates_follow_the_calendar_and_the_digits_the_language() {
        let d = NaiveDate::from_ymd_opt(2025, 10, 2).unwrap_or_default();
        let dari = Tr {
            lang: Lang::Fa,
            calendar: Calendar::SolarHijri,
        };
        assert_eq!(dari.date(d), "۱۴۰۴/۰۷/۱۰");
        let english = Tr {
            lang: Lang::En,
            calendar: Calendar::SolarHijri,
        };
        assert_eq!(english.date(d), "1404/07/10");
        assert_eq!(Tr::default().date(d), "2025-10-02");
    }

    #[test]
    fn the_language_comes_from_the_cookie_then_the_browser() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_LANGUAGE,
            "ps-AF,en;q=0.8"
                .parse()
                .unwrap_or(axum::http::HeaderValue::from_static("")),
        );
        assert_eq!(Tr::from_headers(&h).lang, Lang::Ps);
        h.insert(
            header::COOKIE,
            "peywand_lang=fa"
                .parse()
                .unwrap_or(axum::http::HeaderValue::from_static("")),
        );
        let tr = Tr::from_headers(&h);
        assert_eq!((tr.lang, tr.calendar), (Lang::Fa, Calendar::SolarHijri));
        assert_eq!(tr.dir(), "rtl");
    }
}
