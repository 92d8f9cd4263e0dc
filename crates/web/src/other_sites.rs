//! What a user bound to one site may learn about registrations made at other sites through a
//! duplicate check: that someone registered elsewhere resembles the person at the desk, where
//! and when, and why in words that reveal no value recorded there (docs/security.md). Not the
//! record's id, not its probability, not which field agreed: each of those would let a guess
//! typed into the check be confirmed one field at a time. And only so often per hour.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde::Serialize;

use peywand_domain::RecordId;
use peywand_linkage::{Candidate, Explanation, Settings};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// How many checks an hour a site-bound user may make whose answers name another site's
/// registration. A registrar typing a family that registered elsewhere makes a few dozen;
/// someone guessing at other sites' people, hundreds.
pub const CHECKS_NAMING_OTHER_SITES_PER_HOUR: usize = 600;

/// Checks naming other sites, per user, over the last hour.
pub struct CrossSiteBudget {
    per_hour: usize,
    spent: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl CrossSiteBudget {
    pub fn new(per_hour: usize) -> CrossSiteBudget {
        CrossSiteBudget {
            per_hour,
            spent: Mutex::default(),
        }
    }

    /// Spends one check of `user`'s hour; `false` when the hour's checks are spent.
    fn spend(&self, user: &str) -> bool {
        let now = Instant::now();
        let mut spent = self
            .spent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let times = spent.entry(user.to_string()).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(3600))
        {
            times.pop_front();
        }
        if times.len() >= self.per_hour {
            return false;
        }
        times.push_back(now);
        true
    }
}

/// Why a registration at another site resembles the person checked, in words that reveal no
/// value recorded there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resemblance {
    /// Several members of a family registered there match this family.
    Family,
    /// The person's names and age resemble.
    Person,
}

/// A registration at another site, as a site-bound user may see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegisteredElsewhere {
    pub site_code: String,
    pub registered_on: NaiveDate,
    pub resemblance: Resemblance,
}

/// A candidate of a check, as the caller may see it.
pub(crate) enum Seen {
    /// At the caller's site, or for a caller bound to no site: everything.
    Whole(Candidate, Explanation),
    /// At another site: where, when and why in words.
    Elsewhere {
        record_id: String,
        likely: bool,
        elsewhere: RegisteredElsewhere,
    },
}

impl Seen {
    /// The record id shown to the audit log (always: an auditor must find who was surfaced).
    pub(crate) fn record_id(&self) -> &str {
        match self {
            Seen::Whole(c, _) => &c.record_id,
            Seen::Elsewhere { record_id, .. } => record_id,
        }
    }
}

/// A check's candidates, member by member, screened for the caller.
pub(crate) struct Screened {
    pub members: Vec<Vec<Seen>>,
    /// Other sites' candidates were left out: the caller's hourly checks are spent.
    pub withheld: bool,
}

impl Screened {
    /// Every registration the answer shows, for the audit log.
    pub(crate) fn records_shown(&self) -> Vec<String> {
        self.members
            .iter()
            .flatten()
            .map(|s| s.record_id().to_string())
            .collect()
    }
}

/// Screens what the matching index found for `caller`: registrations erased since the index
/// loaded are dropped (and leave the index at once), other sites' are told in words, and past
/// the hourly budget left out, audited.
pub(crate) async fn screen(
    s: &AppState,
    caller: &Caller,
    found: Vec<Vec<(Candidate, Explanation)>>,
) -> Result<Screened, ApiError> {
    let mut sites: HashMap<String, Option<(Option<String>, NaiveDate)>> = HashMap::new();
    for (c, _) in found.iter().flatten() {
        if sites.contains_key(&c.record_id) {
            continue;
        }
        let person = match RecordId::parse(&c.record_id) {
            Ok(id) => s.store.person_by_record(&id).await?,
            Err(_) => None,
        };
        let place = person.map(|p| {
            let on = p
                .derived
                .registered_on
                .unwrap_or_else(|| p.registered_at.date_naive());
            (p.derived.site_code, on)
        });
        sites.insert(c.record_id.clone(), place);
    }
    let erased: Vec<String> = sites
        .iter()
        .filter(|(_, place)| place.is_none())
        .map(|(id, _)| id.clone())
        .collect();
    if !erased.is_empty() {
        s.matching.remove(&erased);
    }
    let likely = Settings::default().link_threshold;
    let own = caller.site_scope();
    let mut elsewhere_seen = false;
    let mut members: Vec<Vec<Seen>> = found
        .into_iter()
        .map(|candidates| {
            candidates
                .into_iter()
                .filter_map(|(c, e)| {
                    let (site, on) = sites.get(&c.record_id).cloned().flatten()?;
                    match own {
                        Some(own) if site.as_deref() != Some(own) => {
                            elsewhere_seen = true;
                            let family = e.family.as_ref().is_some_and(|f| f.matching_members >= 2);
                            Some(Seen::Elsewhere {
                                likely: c.probability >= likely,
                                record_id: c.record_id,
                                elsewhere: RegisteredElsewhere {
                                    site_code: site.unwrap_or_default(),
                                    registered_on: on,
                                    resemblance: if family {
                                        Resemblance::Family
                                    } else {
                                        Resemblance::Person
                                    },
                                },
                            })
                        }
                        _ => Some(Seen::Whole(c, e)),
                    }
                })
                .collect()
        })
        .collect();
    let mut withheld = false;
    if elsewhere_seen && !s.cross_site_checks.spend(&caller.username) {
        withheld = true;
        for m in &mut members {
            m.retain(|seen| matches!(seen, Seen::Whole(..)));
        }
        tracing::warn!(
            user = caller.username,
            "a user reached the hourly limit of checks naming other sites"
        );
        let event = peywand_access::audit::AuditEvent::now(
            &caller.username,
            "cross_site_checks_limited",
            "",
        )
        .outcome("other sites' matches withheld");
        s.store.append_audit(&event).await?;
    }
    Ok(Screened { members, withheld })
}
