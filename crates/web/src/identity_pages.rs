//! A person's page with every record of the same person across sites and why they were linked,
//! and the information managers' queue of uncertain pairs to decide.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use peywand_domain::{LinkDecision, Person, RawRegistration, RecordId};
use peywand_store::Page;

use crate::AppState;
use crate::api::check_site;
use crate::auth::Caller;
use crate::error::{ApiError, record_in_path};
use crate::i18n::Tr;
use crate::pages::{
    Chrome, PageError, family_reason, percent, reason, render, rivals_reason, site_name,
};

fn full_name(raw: &RawRegistration) -> String {
    [
        &raw.given_name,
        &raw.father_name,
        &raw.grandfather_name,
        &raw.family_name,
    ]
    .iter()
    .map(|n| n.trim())
    .filter(|n| !n.is_empty())
    .collect::<Vec<_>>()
    .join(" ")
}

/// The fields a reviewer compares, labelled.
fn compared(t: &Tr, raw: &RawRegistration) -> Vec<(String, String)> {
    [
        ("given-name", "given_name"),
        ("father-name", "father_name"),
        ("grandfather-name", "grandfather_name"),
        ("family-name", "family_name"),
        ("sex", "sex"),
        ("birth-date", "birth_date"),
        ("age", "age"),
        ("province-of-origin", "province_of_origin"),
        ("document-type", "document_type"),
        ("document-number", "document_number"),
        ("phone", "phone"),
        ("site", "site"),
        ("registered", "registered_on"),
    ]
    .iter()
    .map(|(key, col)| (t.get(key), raw.get(col).unwrap_or_default().to_string()))
    .collect()
}

/// Why the index links two records, in words; empty while it cannot say.
fn reasons_between(
    s: &AppState,
    t: &Tr,
    a: &str,
    b: &str,
) -> (String, Vec<(String, String, &'static str)>) {
    match s.matching.explain(a, b) {
        Ok(e) => (
            percent(t, e.probability),
            family_reason(t, &e)
                .into_iter()
                .chain(rivals_reason(t, &e))
                .chain(
                    e.fields
                        .iter()
                        .filter(|f| f.level != "missing")
                        .map(|f| reason(t, f)),
                )
                .collect(),
        ),
        Err(_) => (String::new(), Vec::new()),
    }
}

struct OtherRecord {
    record_id: String,
    site: String,
    registered: String,
    /// Empty when the record is outside the caller's site.
    name: String,
    percent: String,
    reasons: Vec<(String, String, &'static str)>,
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    c: Chrome,
    name: String,
    record_id: String,
    household: String,
    facts: Vec<(String, String)>,
    others: Vec<OtherRecord>,
}

fn registered_on(t: &Tr, p: &Person) -> String {
    t.date(
        p.derived
            .registered_on
            .unwrap_or_else(|| p.registered_at.date_naive()),
    )
}

pub async fn person(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Path(record_id): Path<String>,
) -> Result<Response, PageError> {
    let record_id = record_in_path(&record_id)?;
    let p = s
        .store
        .person_by_record(&record_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("registration {record_id}")))?;
    check_site(&caller, p.derived.site_code.as_deref())?;
    let mut others = Vec::new();
    for other in s.store.identity_records(&record_id).await? {
        if other == record_id {
            continue;
        }
        let Ok(other) = RecordId::parse(&other) else {
            continue;
        };
        let Some(o) = s.store.person_by_record(&other).await? else {
            continue;
        };
        // A site-bound user learns that the person was registered elsewhere, when and why the
        // records are linked, but not what was recorded there.
        let visible = caller
            .site_scope()
            .is_none_or(|own| o.derived.site_code.as_deref() == Some(own));
        let (percent, reasons) = reasons_between(&s, &t, record_id.as_str(), other.as_str());
        others.push(OtherRecord {
            record_id: other.to_string(),
            site: site_name(&t, o.derived.site_code.as_deref()),
            registered: registered_on(&t, &o),
            name: if visible {
                full_name(&o.raw)
            } else {
                String::new()
            },
            percent,
            reasons,
        });
    }
    let mut facts = compared(&t, &p.raw);
    facts.retain(|(_, v)| !v.is_empty());
    let disclosed = crate::auth::Disclosed::records(
        std::iter::once(p.record_id.to_string()).chain(others.iter().map(|o| o.record_id.clone())),
    );
    render(&PersonPage {
        name: full_name(&p.raw),
        record_id: p.record_id.to_string(),
        household: p.household_id.to_string(),
        facts,
        others,
        c: Chrome::new(t, Some(&caller), &uri),
    })
    .map(|page| disclosed.on(page))
}

struct PairView {
    a: String,
    b: String,
    percent: String,
    fields: Vec<(String, String, String)>,
    reasons: Vec<(String, String, &'static str)>,
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    c: Chrome,
    count_line: String,
    error: String,
    pairs: Vec<PairView>,
    offset: u64,
    prev: u64,
    next: u64,
    more: bool,
}

#[derive(Deserialize)]
pub struct ReviewQuery {
    offset: Option<u64>,
}

const PAIRS_SHOWN: u64 = 10;

async fn review_page(
    s: &AppState,
    caller: &Caller,
    t: Tr,
    uri: &Uri,
    offset: u64,
    error: String,
) -> Result<Html<String>, PageError> {
    let page = s.store.review_queue(Page::new(offset, PAIRS_SHOWN)).await?;
    let mut pairs = Vec::new();
    for pair in &page.items {
        let (Ok(a), Ok(b)) = (
            RecordId::parse(&pair.record_a),
            RecordId::parse(&pair.record_b),
        ) else {
            continue;
        };
        let a = s.store.person_by_record(&a).await?;
        let b = s.store.person_by_record(&b).await?;
        let (Some(a), Some(b)) = (a, b) else { continue };
        let fields = compared(&t, &a.raw)
            .into_iter()
            .zip(compared(&t, &b.raw))
            .filter(|((_, x), (_, y))| !x.is_empty() || !y.is_empty())
            .map(|((label, x), (_, y))| (label, x, y))
            .collect();
        let (_, reasons) = reasons_between(s, &t, &pair.record_a, &pair.record_b);
        pairs.push(PairView {
            a: pair.record_a.clone(),
            b: pair.record_b.clone(),
            percent: percent(&t, pair.probability),
            fields,
            reasons,
        });
    }
    let count_line = t.digits(&t.with("review-count", "count", page.total));
    render(&ReviewPage {
        count_line,
        error,
        pairs,
        offset,
        prev: offset.saturating_sub(PAIRS_SHOWN),
        next: offset + PAIRS_SHOWN,
        more: offset + PAIRS_SHOWN < page.total,
        c: Chrome::new(t, Some(caller), uri),
    })
}

pub async fn review(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Query(q): Query<ReviewQuery>,
) -> Result<Html<String>, PageError> {
    let offset = q.offset.unwrap_or(0).min(1_000_000_000);
    review_page(&s, &caller, t, &uri, offset, String::new()).await
}

#[derive(Deserialize)]
pub struct ReviewForm {
    record_a: String,
    record_b: String,
    decision: String,
    reason: String,
}

/// A reviewer's decision: kept as law for every later deduplication, and the pair leaves the
/// queue. Identities change at the next deduplication run.
pub async fn decide(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Form(f): Form<ReviewForm>,
) -> Result<Response, PageError> {
    let same_person = match f.decision.as_str() {
        "same" => Some(true),
        "different" => Some(false),
        _ => None,
    };
    let reason = f.reason.trim();
    let problem = if same_person.is_none() || f.record_a == f.record_b {
        Some(t.get("review-choose"))
    } else if reason.is_empty() || reason.chars().count() > RawRegistration::MAX_FIELD_CHARS {
        Some(t.get("reason-needed"))
    } else {
        None
    };
    if let Some(problem) = problem {
        let page = review_page(&s, &caller, t, &uri, 0, problem).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let decision = LinkDecision {
        record_a: f.record_a,
        record_b: f.record_b,
        same_person: same_person.unwrap_or(false),
        reviewer: caller.username.clone(),
        reason: reason.to_string(),
        decided_at: chrono::Utc::now(),
    };
    s.store.record_link_decision(&decision).await?;
    Ok(Redirect::to("/review").into_response())
}
