//! Pages of the distribution point and of targeting. A distribution officer finds a household
//! by its card (a USB scanner types the id into the focused field; a camera reads the QR code
//! where the browser can), by id or by name; sees what it is entitled to and what the family
//! already received at any site; and records what is handed over and to whom. An information
//! manager overrides a rule with a reason, sets the targeting weights, and both print the
//! ranked list of the households waiting, kept with the weights it was ranked by.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use peywand_access::Permission;
use peywand_domain::{HouseholdId, Person, Relationship};
use peywand_store::assistance::AssistanceKind;
use peywand_store::targeting::{Factor, Ranked, Score};
use peywand_store::{HouseholdRecord, Page, PersonFilter, Weights};

use crate::AppState;
use crate::assistance::{DistributionRequest, assistance_of, give, household_in_path};
use crate::auth::{Caller, Disclosed};
use crate::error::ApiError;
use crate::i18n::Tr;
use crate::pages::{Chrome, PageError, render, site_name, site_options};
use crate::refusal::Refusal;
use crate::targeting::{list_in_scope, print_list, ranking, ranking_site, set_weights};

/// A member's name as the desk typed it: given, father's and family name.
fn name_of(p: &Person) -> String {
    [&p.raw.given_name, &p.raw.father_name, &p.raw.family_name]
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The head of a household, or its first member when no one is marked head.
fn head_of(r: &HouseholdRecord) -> Option<&Person> {
    r.members
        .iter()
        .find(|m| m.relationship == Some(Relationship::Head))
        .or(r.members.first())
}

#[derive(Deserialize)]
pub struct FindQuery {
    #[serde(default)]
    q: String,
}

struct Found {
    household: String,
    record: String,
    name: String,
    site: String,
}

#[derive(Template)]
#[template(path = "distribution_find.html")]
struct FindPage {
    c: Chrome,
    q: String,
    searched: bool,
    found: Vec<Found>,
}

/// How many people a name search shows: a distribution point looks for one family.
const FOUND_SHOWN: u64 = 25;

/// The distribution point: a card scanned or an id typed goes straight to the household; a
/// name is searched among the registrations the officer may see.
pub async fn find(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Query(q): Query<FindQuery>,
) -> Result<Response, PageError> {
    let text = q.q.trim();
    // A scanner types what the QR code holds, the household id; a card's printed id typed by
    // hand is the same.
    if let Ok(id) = text.parse::<HouseholdId>() {
        return Ok(Redirect::to(&format!("/assistance/households/{id}")).into_response());
    }
    let mut found = Vec::new();
    let mut disclosed = Vec::new();
    if !text.is_empty() {
        let filter = PersonFilter {
            name: Some(text.chars().take(100).collect()),
            site_code: caller.site_scope().map(str::to_string),
            ..PersonFilter::default()
        };
        let page = s.store.persons(&filter, Page::new(0, FOUND_SHOWN)).await?;
        for p in &page.items {
            disclosed.push(p.record_id.to_string());
            found.push(Found {
                household: p.household_id.to_string(),
                record: p.record_id.to_string(),
                name: name_of(p),
                site: site_name(&t, p.derived.site_code.as_deref()),
            });
        }
    }
    let page = render(&FindPage {
        q: text.to_string(),
        searched: !text.is_empty(),
        found,
        c: Chrome::new(t, Some(&caller), &uri),
    })?;
    Ok(Disclosed::records(disclosed).on(page))
}

struct EntitlementRow {
    name: String,
    kind: String,
    entitled: bool,
    why: String,
}

struct ReceivedRow {
    kind: String,
    quantity: String,
    on: String,
    site: String,
    by: String,
    to: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "distribution_household.html")]
struct HouseholdPage {
    c: Chrome,
    id: String,
    reference: String,
    head: String,
    size: String,
    site: String,
    entitlements: Vec<EntitlementRow>,
    received: Vec<ReceivedRow>,
    kinds: Vec<(&'static str, String)>,
    recipients: Vec<(String, String)>,
    can_distribute: bool,
    can_override: bool,
    given: bool,
    error: String,
}

#[derive(Deserialize)]
pub struct GivenQuery {
    #[serde(default)]
    given: Option<String>,
}

async fn household_page(
    s: &AppState,
    caller: &Caller,
    t: Tr,
    uri: &Uri,
    household: HouseholdId,
    given: bool,
    error: String,
) -> Result<Response, PageError> {
    let (record, assistance) = assistance_of(s, household).await?;
    let disclosed = Disclosed::records(record.members.iter().map(|m| m.record_id.to_string()));
    let member_name = |who: &str| {
        record
            .members
            .iter()
            .find(|m| m.record_id.as_str() == who)
            .map(name_of)
    };
    let entitlements = assistance
        .entitlements
        .iter()
        .map(|e| EntitlementRow {
            name: e.programme.draft.name.clone(),
            kind: t.code("assistance-kind", e.programme.draft.kind.code()),
            entitled: e.entitled,
            why: e
                .conflict
                .as_ref()
                .map(|c| crate::refusal::conflict_worded(c, &t))
                .unwrap_or_default(),
        })
        .collect();
    let received = assistance
        .received
        .iter()
        .map(|d| ReceivedRow {
            kind: t.code("assistance-kind", d.kind.code()),
            quantity: t.digits(&d.quantity.to_string()),
            on: t.date(d.given_on),
            site: site_name(&t, d.site_code.as_deref()),
            by: d.given_by.clone(),
            to: if d.received_by == "head" {
                t.get("head-of-household")
            } else {
                member_name(&d.received_by).unwrap_or_else(|| d.received_by.clone())
            },
            reason: d.override_reason.clone().unwrap_or_default(),
        })
        .collect();
    // The kinds in season, those the household may still receive first; every kind when none
    // is in season, so that the refusal says why.
    let mut in_season: Vec<(bool, AssistanceKind)> = assistance
        .entitlements
        .iter()
        .map(|e| (!e.entitled, e.programme.draft.kind))
        .collect();
    in_season.sort_by_key(|(used, _)| *used);
    let kinds: Vec<(&'static str, String)> = if in_season.is_empty() {
        AssistanceKind::ALL.to_vec()
    } else {
        in_season.into_iter().map(|(_, k)| k).collect()
    }
    .into_iter()
    .map(|k| (k.code(), t.code("assistance-kind", k.code())))
    .collect();
    let mut recipients = vec![("head".to_string(), t.get("head-of-household"))];
    recipients.extend(
        record
            .members
            .iter()
            .filter(|m| m.relationship != Some(Relationship::Head))
            .map(|m| (m.record_id.to_string(), name_of(m))),
    );
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = render(&HouseholdPage {
        id: household.to_string(),
        reference: record.household.reference.clone(),
        head: head_of(&record).map(name_of).unwrap_or_default(),
        size: t.digits(&record.members.len().to_string()),
        site: site_name(&t, record.household.site_code.as_deref()),
        entitlements,
        received,
        kinds,
        recipients,
        can_distribute: caller.role.can(Permission::Distribute),
        can_override: caller.role.can(Permission::ManageAssistance),
        given,
        error,
        c: Chrome::new(t, Some(caller), uri),
    })?;
    Ok(disclosed.on((status, page)))
}

/// A household at the distribution point: what it may receive today, what the family
/// received at any site, and the form to record what is handed over. A family may receive
/// wherever it reaches, so the household need not be registered at the officer's site.
pub async fn household(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<GivenQuery>,
) -> Result<Response, PageError> {
    let household = household_in_path(&id)?;
    household_page(
        &s,
        &caller,
        t,
        &uri,
        household,
        q.given.is_some(),
        String::new(),
    )
    .await
}

#[derive(Deserialize)]
pub struct GiveForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    received_by: String,
    #[serde(default)]
    reason: String,
}

async fn record(
    s: AppState,
    caller: Caller,
    t: Tr,
    uri: Uri,
    id: String,
    f: GiveForm,
    overriding: bool,
) -> Result<Response, PageError> {
    let household = household_in_path(&id)?;
    let result = async {
        let kind =
            AssistanceKind::from_code(f.kind.trim()).ok_or(ApiError::Refused(Refusal::NoKind))?;
        let quantity = f
            .quantity
            .trim()
            .parse::<i64>()
            .map_err(|_| ApiError::Refused(Refusal::QuantityBelowOne))?;
        let reason = if overriding {
            let r = f.reason.trim().to_string();
            if r.is_empty() {
                return Err(ApiError::Refused(Refusal::NoReason));
            }
            Some(r)
        } else {
            None
        };
        let request = DistributionRequest {
            household_id: household.to_string(),
            kind,
            quantity,
            given_on: None,
            received_by: Some(f.received_by.clone()),
            site_code: None,
            reason: None,
        };
        give(&s, &caller, request, reason).await
    }
    .await;
    match result {
        Ok(_) => Ok(
            Redirect::to(&format!("/assistance/households/{household}?given=1")).into_response(),
        ),
        Err(e @ (ApiError::Conflict(_) | ApiError::Refused(_) | ApiError::Invalid(_))) => {
            let worded = e.worded(&t);
            household_page(&s, &caller, t, &uri, household, false, worded).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A distribution officer records what was handed over; a refusal says where, when and by
/// whom the entitlement was used up.
pub async fn distribute(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<GiveForm>,
) -> Result<Response, PageError> {
    record(s, caller, t, uri, id, f, false).await
}

/// An information manager gives what the rule refuses, with a reason (audited).
pub async fn override_rule(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<GiveForm>,
) -> Result<Response, PageError> {
    record(s, caller, t, uri, id, f, true).await
}

/// Why a household stands where it does: each factor that gave points, largest first.
fn explained(t: &Tr, score: &Score) -> Vec<String> {
    score
        .parts
        .iter()
        .map(|p| {
            t.digits(&format!(
                "{} ×{} = {}",
                t.code("factor", p.factor.code()),
                p.count,
                p.points
            ))
        })
        .collect()
}

struct RankedRow {
    rank: String,
    id: String,
    reference: String,
    head: String,
    members: String,
    registered: String,
    score: String,
    why: Vec<String>,
}

fn ranked_row(t: &Tr, r: &Ranked, head: String) -> RankedRow {
    RankedRow {
        rank: t.digits(&r.rank.to_string()),
        id: r.household.to_string(),
        reference: r.reference.clone(),
        head,
        members: t.digits(&r.members.to_string()),
        registered: t.date(r.registered_on),
        score: t.digits(&r.score.total.to_string()),
        why: explained(t, &r.score),
    }
}

struct WeightRow {
    code: &'static str,
    label: String,
    value: u32,
    shown: String,
}

fn weight_rows(t: &Tr, w: &Weights) -> Vec<WeightRow> {
    w.each()
        .into_iter()
        .map(|(f, v)| WeightRow {
            code: f.code(),
            label: t.code("factor", f.code()),
            value: v,
            shown: t.digits(&v.to_string()),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "ranking.html")]
struct RankingPage {
    c: Chrome,
    programmes: Vec<(String, String)>,
    programme: String,
    sites: Vec<(String, String)>,
    site: String,
    site_fixed: bool,
    weights: Vec<WeightRow>,
    weights_by: String,
    rows: Vec<RankedRow>,
    chosen: bool,
    can_weigh: bool,
    error: String,
}

#[derive(Deserialize, Default)]
pub struct RankingForm {
    #[serde(default)]
    programme: String,
    #[serde(default)]
    site: String,
}

async fn ranking_page(
    s: &AppState,
    caller: &Caller,
    t: Tr,
    uri: &Uri,
    q: &RankingForm,
    error: String,
) -> Result<Response, PageError> {
    let programmes = s.store.programmes().await?;
    let programme = q
        .programme
        .trim()
        .parse::<Uuid>()
        .ok()
        .or_else(|| programmes.first().map(|p| p.id));
    let site = ranking_site(caller, Some(q.site.as_str())).ok();
    let today = chrono::Utc::now().date_naive();
    let mut rows = Vec::new();
    let mut disclosed = Vec::new();
    let weights = match (programme, &site) {
        (Some(p), Some(site)) => {
            let (ranked, waiting) = ranking(s, p, site.clone(), today).await?;
            for r in &ranked.households {
                let head = waiting
                    .iter()
                    .find(|w| w.household.id == r.household)
                    .and_then(head_of);
                disclosed.extend(head.map(|h| h.record_id.to_string()));
                rows.push(ranked_row(&t, r, head.map(name_of).unwrap_or_default()));
            }
            ranked.weights
        }
        _ => s.store.weights().await?,
    };
    let weights_by = match (&weights.set_by, weights.set_at) {
        (Some(by), Some(at)) => t.with_all(
            "weights-set-by",
            &[("by", by.clone()), ("on", t.date(at.date_naive()))],
        ),
        _ => t.get("weights-default"),
    };
    let error_shown = !error.is_empty();
    let page = render(&RankingPage {
        programmes: programmes
            .iter()
            .map(|p| (p.id.to_string(), p.draft.name.clone()))
            .collect(),
        programme: programme.map(|p| p.to_string()).unwrap_or_default(),
        sites: site_options(),
        site: site.clone().unwrap_or_default(),
        site_fixed: caller.site_scope().is_some(),
        weights: weight_rows(&t, &weights.weights),
        weights_by,
        chosen: programme.is_some() && site.is_some(),
        rows,
        can_weigh: caller.role.can(Permission::ManageAssistance),
        error,
        c: Chrome::new(t, Some(caller), uri),
    })?;
    let status = if error_shown {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(Disclosed::records(disclosed).on((status, page)))
}

/// The households at a site still waiting for a programme, most vulnerable first, each score
/// explained; the weights in force, which an information manager changes here.
pub async fn ranked(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Query(q): Query<RankingForm>,
) -> Result<Response, PageError> {
    ranking_page(&s, &caller, t, &uri, &q, String::new()).await
}

/// The weights as a form sends them: every factor, a whole number.
#[derive(Deserialize)]
pub struct WeightsForm {
    #[serde(default)]
    programme: String,
    #[serde(default)]
    site: String,
    #[serde(flatten)]
    values: std::collections::HashMap<String, String>,
}

/// Sets the weights (information manager) and shows the list re-ranked by them.
pub async fn weigh(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Form(f): Form<WeightsForm>,
) -> Result<Response, PageError> {
    let back = RankingForm {
        programme: f.programme.clone(),
        site: f.site.clone(),
    };
    let value = |factor: Factor| -> Result<u32, ApiError> {
        f.values
            .get(factor.code())
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|v| *v <= Weights::MAX)
            .ok_or(ApiError::Refused(Refusal::BadWeight))
    };
    let weights = (|| -> Result<Weights, ApiError> {
        Ok(Weights {
            female_headed_household: value(Factor::FemaleHeadedHousehold)?,
            unaccompanied_or_separated_child: value(Factor::UnaccompaniedOrSeparatedChild)?,
            older_person_alone: value(Factor::OlderPersonAlone)?,
            disability: value(Factor::Disability)?,
            serious_medical_condition: value(Factor::SeriousMedicalCondition)?,
            pregnant_or_lactating: value(Factor::PregnantOrLactating)?,
            per_member: value(Factor::HouseholdSize)?,
            per_week_waiting: value(Factor::WeeksWaiting)?,
            no_shelter: value(Factor::NoShelter)?,
        })
    })();
    let result = match weights {
        Ok(w) => set_weights(&s, &caller, &w).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            let query =
                serde_urlencoded::to_string([("programme", &back.programme), ("site", &back.site)])
                    .unwrap_or_default();
            Ok(Redirect::to(&format!("/assistance/ranking?{query}")).into_response())
        }
        Err(e @ (ApiError::Refused(_) | ApiError::Invalid(_))) => {
            let worded = e.worded(&t);
            ranking_page(&s, &caller, t, &uri, &back, worded).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Ranks the list as it stands, keeps it with its weights, and opens it to print.
pub async fn print(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Form(f): Form<RankingForm>,
) -> Result<Response, PageError> {
    let programme = f
        .programme
        .trim()
        .parse::<Uuid>()
        .map_err(|_| ApiError::NotFound(format!("programme {:?}", f.programme)))?;
    let site = ranking_site(&caller, Some(f.site.as_str()))?;
    let today = chrono::Utc::now().date_naive();
    let list = print_list(&s, &caller, programme, site, today).await?;
    Ok(Redirect::to(&format!("/assistance/lists/{}", list.id)).into_response())
}

#[derive(Template)]
#[template(path = "distribution_list.html")]
struct ListPage {
    c: Chrome,
    programme: String,
    site: String,
    on: String,
    printed: String,
    weights: Vec<WeightRow>,
    rows: Vec<RankedRow>,
}

/// A list as printed: A4, in the reader's language, with the weights it was ranked by and a
/// column to sign for what was received.
pub async fn list(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    t: Tr,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let list = list_in_scope(&s, &caller, &id).await?;
    let programme = s
        .store
        .programmes()
        .await?
        .into_iter()
        .find(|p| p.id == list.programme)
        .map(|p| p.draft.name)
        .unwrap_or_default();
    let mut rows = Vec::new();
    let mut disclosed = Vec::new();
    for r in &list.households {
        // Names are read now, not kept with the list: a household erased since is gone.
        let head = match s.store.household(r.household).await? {
            Some(rec) => head_of(&rec).map(|h| {
                disclosed.push(h.record_id.to_string());
                name_of(h)
            }),
            None => None,
        };
        rows.push(ranked_row(&t, r, head.unwrap_or_else(|| "—".into())));
    }
    let page = render(&ListPage {
        programme,
        site: site_name(&t, Some(&list.site_code)),
        on: t.date(list.on),
        printed: t.with_all(
            "list-printed-by",
            &[
                ("by", list.printed_by.clone()),
                ("on", t.date(list.printed_at.date_naive())),
            ],
        ),
        weights: weight_rows(&t, &list.weights),
        rows,
        c: Chrome::new(t, Some(&caller), &uri),
    })?;
    Ok(Disclosed::records(disclosed).on(page))
}

/// The distribution point's script: reads a card's QR code with the camera where the browser
/// has a barcode detector. A USB scanner needs no script: it types into the focused field.
pub async fn script() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../static/distribution.js"),
    )
}
