//! The change log a site and the hub exchange (issue: offline sites), and the rules that apply
//! a change made elsewhere, free of any database.
//!
//! Every household saved appends a change, in the same transaction, to the log of the origin
//! that saved it (a site's code, or `hub`), numbered 1, 2, 3… A registry holds its own log and
//! the changes it received from others, each once. A household's version is the id of the last
//! change applied to it. A change made on the version a registry holds is applied as it is;
//! one made on another version crossed an edit made elsewhere. Sites sync with the hub alone,
//! and the hub settles crossings field by field: a field changed on one side only takes that
//! side's value, a field changed on both keeps the hub's and is flagged for a person, with
//! both values, who made them, where and when. The hub's result is a change of its own that
//! names what it incorporates, so the sites take it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use peywand_access::audit::AuditEntry;
use peywand_domain::{HouseholdId, LinkDecision, TracingRequest, TracingRequestId};
use peywand_sync::{Change, ChangeKind, Heads};

use crate::cases::CaseChange;

use crate::{HouseholdDraft, StoreError};

/// The origin of changes made at the hub.
pub const HUB: &str = "hub";

/// The origin of a registry not yet enrolled: its changes take the site's code at enrolment.
pub const NOT_ENROLLED: &str = "local";

/// The body of a `household_saved` change: the household as saved, every member complete
/// (record id, site and registration day filled in), so that any registry writes it alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedHousehold {
    pub id: HouseholdId,
    pub reference: String,
    pub registered_by: Option<String>,
    pub registered_at: DateTime<Utc>,
    /// Who saved this version, and when (their clock).
    pub saved_by: String,
    pub saved_at: DateTime<Utc>,
    pub draft: HouseholdDraft,
    /// Changes this one incorporates besides its base: a hub's settlement of two crossed
    /// edits names the edit it merged in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incorporates: Vec<Uuid>,
    /// Fields that two crossed edits changed differently, for a person to settle.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crossed: Vec<CrossedField>,
}

impl SavedHousehold {
    /// A household as just saved, by `actor`.
    pub fn of(record: &crate::HouseholdRecord, actor: &crate::Actor) -> SavedHousehold {
        let h = &record.household;
        SavedHousehold {
            id: h.id,
            reference: h.reference.clone(),
            registered_by: h.registered_by.clone(),
            registered_at: h.registered_at,
            saved_by: actor.username.clone(),
            saved_at: actor.at,
            draft: HouseholdDraft {
                site_code: h.site_code.clone(),
                destination_province: h.destination_province.clone(),
                destination_district: h.destination_district.clone(),
                return_type: h.return_type,
                needs: h.needs.clone(),
                legal_basis: h.legal_basis,
                purposes: h.purposes.clone(),
                members: record
                    .members
                    .iter()
                    .map(|p| crate::MemberDraft {
                        raw: p.raw.clone(),
                        relationship: p.relationship,
                        vulnerabilities: p.vulnerabilities.clone(),
                    })
                    .collect(),
            },
            incorporates: Vec::new(),
            crossed: Vec::new(),
        }
    }

    /// Who saved it, as the store records a writer.
    pub fn actor(&self) -> crate::Actor {
        crate::Actor {
            username: self.saved_by.clone(),
            at: self.saved_at,
        }
    }
}

/// The hub's settlement of `incoming` (with `saved`, its body) crossing the household as the
/// hub holds it (`current`, at change `kept`): made on the edits' common `base` where the hub
/// holds it. Its `crossed` fields keep the hub's values and carry both, who, where and when.
pub fn settlement(
    incoming: &Change,
    saved: &SavedHousehold,
    current: &crate::HouseholdRecord,
    base: Option<&Change>,
    kept: Option<&Change>,
) -> SavedHousehold {
    let body = |c: &Change| serde_json::from_str::<SavedHousehold>(&c.body).ok();
    let base_draft = base.and_then(body).map(|s| s.draft);
    let kept_body = kept.and_then(body);
    let held = SavedHousehold::of(current, &saved.actor());
    let (draft, crossed) = settle(base_draft.as_ref(), &held.draft, &saved.draft);
    let crossed = crossed
        .into_iter()
        .map(|(field, kept_value, other)| CrossedField {
            field,
            kept: kept_value,
            other,
            kept_by: kept_body
                .as_ref()
                .map(|k| k.saved_by.clone())
                .unwrap_or_default(),
            kept_at: kept.map(|c| c.at.clone()).unwrap_or_default(),
            kept_origin: kept.map(|c| c.origin.clone()).unwrap_or_default(),
            other_by: saved.saved_by.clone(),
            other_at: incoming.at.clone(),
            other_origin: incoming.origin.clone(),
        })
        .collect();
    SavedHousehold {
        draft,
        incorporates: vec![incoming.id],
        crossed,
        saved_by: HUB.to_string(),
        ..held
    }
}

/// A new change of `origin`, numbered `seq`, at `at`, hashed: a household saved.
pub fn new_change(
    origin: &str,
    seq: i64,
    at: &peywand_sync::Hlc,
    base: Option<Uuid>,
    saved: &SavedHousehold,
) -> Change {
    logged_change(
        origin,
        seq,
        at,
        Logged {
            kind: ChangeKind::HouseholdSaved,
            entity: saved.id.to_string(),
            base,
            body: serde_json::to_string(saved).unwrap_or_default(),
        },
    )
}

/// What a registry logs besides a household: its kind, what it is about, the version it was
/// made on, and its body as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub kind: ChangeKind,
    pub entity: String,
    pub base: Option<Uuid>,
    pub body: String,
}

impl Logged {
    /// A reviewer's decision on two registrations.
    pub fn link_decision(d: &LinkDecision) -> Logged {
        Logged {
            kind: ChangeKind::LinkDecided,
            entity: format!("{}|{}", d.record_a, d.record_b),
            base: None,
            body: serde_json::to_string(d).unwrap_or_default(),
        }
    }

    /// What a tracing case's rules wrote, by `actor`; `opened` when it took the request.
    pub fn case(
        id: TracingRequestId,
        opened: Option<&TracingRequest>,
        actor: &crate::Actor,
        changes: &[CaseChange],
    ) -> Logged {
        let body = CaseLogged {
            request: id,
            opened: opened.cloned(),
            by: actor.username.clone(),
            at: actor.at,
            changes: changes.to_vec(),
        };
        Logged {
            kind: if opened.is_some() {
                ChangeKind::TracingRequestOpened
            } else {
                ChangeKind::TracingCaseChanged
            },
            entity: id.to_string(),
            base: None,
            body: serde_json::to_string(&body).unwrap_or_default(),
        }
    }

    /// An entry of this registry's audit log.
    pub fn audit(entry: &AuditEntry) -> Logged {
        Logged {
            kind: ChangeKind::AuditRecorded,
            entity: entry.seq.to_string(),
            base: None,
            body: serde_json::to_string(entry).unwrap_or_default(),
        }
    }

    /// The tombstone of registrations erased from a household.
    pub fn erased(household: HouseholdId, erased: &Erased) -> Logged {
        Logged {
            kind: ChangeKind::HouseholdErased,
            entity: household.to_string(),
            base: None,
            body: serde_json::to_string(erased).unwrap_or_default(),
        }
    }
}

/// A change of `origin`, numbered `seq`, at `at`, hashed.
pub fn logged_change(origin: &str, seq: i64, at: &peywand_sync::Hlc, logged: Logged) -> Change {
    let mut change = Change {
        origin: origin.to_string(),
        seq,
        id: Uuid::now_v7(),
        at: at.to_string(),
        kind: logged.kind,
        entity: logged.entity,
        base: logged.base,
        body: logged.body,
        hash: String::new(),
    };
    change.hash = change.content_hash();
    change
}

/// The body of a tracing change: what the case's rules wrote, in order, by whom and when, so
/// that a receiving registry records each decision as that person's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseLogged {
    pub request: TracingRequestId,
    /// The request as taken, for `tracing_request_opened`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened: Option<TracingRequest>,
    pub by: String,
    pub at: DateTime<Utc>,
    pub changes: Vec<CaseChange>,
}

impl CaseLogged {
    pub fn actor(&self) -> crate::Actor {
        crate::Actor {
            username: self.by.clone(),
            at: self.at,
        }
    }
}

/// The body of a tombstone: which registrations were erased (record ids, which say nothing
/// about a person), and whether the household went with them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erased {
    pub records: Vec<String>,
    pub household_gone: bool,
}

/// A household received from elsewhere, less the registrations this registry knows were
/// erased: `None` when the household itself was erased. An erased person never comes back
/// from a log that still held them.
pub fn without_erased(
    mut saved: SavedHousehold,
    is_erased: impl Fn(&str) -> bool,
) -> Option<SavedHousehold> {
    if is_erased(&saved.id.to_string()) {
        return None;
    }
    saved
        .draft
        .members
        .retain(|m| !is_erased(m.raw.record_id.trim()));
    Some(saved)
}

/// The wall clock in milliseconds, for the hybrid clock.
pub fn physical_ms() -> u64 {
    u64::try_from(Utc::now().timestamp_millis()).unwrap_or_default()
}

/// One field two offline edits changed differently: both values, who, where, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CrossedField {
    /// The field: `destination_province`, or `members.<record id>.raw.given_name`.
    pub field: String,
    /// The value kept (the hub's), and the other, as JSON.
    pub kept: Value,
    pub other: Value,
    pub kept_by: String,
    pub kept_at: String,
    pub kept_origin: String,
    pub other_by: String,
    pub other_at: String,
    pub other_origin: String,
}

/// What receiving a batch of changes did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Received {
    /// Stored and applied.
    pub stored: u64,
    /// Already held, identical: a retry.
    pub already_held: u64,
    /// About something erased here: not taken, and not kept.
    #[serde(default)]
    pub erased: u64,
    /// Applied over a version they were not made on: settled field by field.
    pub crossed: u64,
}

/// How a registry takes part in sync.
#[async_trait]
pub trait SyncStore: Send + Sync + 'static {
    /// The origin this registry's own changes carry.
    async fn origin(&self) -> Result<String, StoreError>;
    /// Sets the origin (at enrolment, or `hub`). Changes made before under
    /// [`NOT_ENROLLED`] take the new origin: they were never sent anywhere. Refused once
    /// changes under another origin exist.
    async fn set_origin(&self, origin: &str) -> Result<(), StoreError>;
    /// The highest change number seen per origin (held, or passed over: see
    /// [`SyncStore::note_pulled`]).
    async fn heads(&self) -> Result<Heads, StoreError>;
    /// An origin's changes after number `after`, in order, at most `limit`.
    async fn changes_after(
        &self,
        origin: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError>;
    /// Takes changes made elsewhere, in order, each in one transaction with what it does to
    /// the registry. A change already held is skipped; one whose origin and number, or id,
    /// are held with other content is refused (`Conflict`), and so is a change of an origin
    /// that skips a number. Returns what was done, and the households changed.
    async fn receive(&self, changes: &[Change])
    -> Result<(Received, Vec<HouseholdId>), StoreError>;
    /// Notes that this registry has seen an origin's changes up to `seq`, though it keeps
    /// none of the last ones (a page the hub filtered, changes about something erased): the
    /// next pull starts after it.
    async fn note_pulled(&self, origin: &str, seq: i64) -> Result<(), StoreError>;
    /// The audit entries a site sent, in order, for the hub's auditors to read and verify.
    async fn site_audit(&self, origin: &str) -> Result<Vec<AuditEntry>, StoreError>;
    /// The fields crossed edits left unsettled on a household, newest first.
    async fn crossed_fields(&self, id: HouseholdId) -> Result<Vec<CrossedField>, StoreError>;
    /// The hub a site syncs with, once enrolled.
    async fn hub_link(&self) -> Result<Option<HubLink>, StoreError>;
    /// Keeps the hub's address and the site's credential, at enrolment.
    async fn set_hub_link(&self, url: &str, credential: &str) -> Result<(), StoreError>;
    /// Notes a sync round that ended with the hub holding this registry's changes up to
    /// `acknowledged`.
    async fn note_synced(&self, acknowledged: i64, at: DateTime<Utc>) -> Result<(), StoreError>;
}

/// A site's link to its hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubLink {
    pub url: String,
    pub credential: String,
    /// This registry's own changes the hub is known to hold.
    pub acknowledged: i64,
    pub last_synced_at: Option<DateTime<Utc>>,
}

/// Whether a registry that holds a household at `version` takes `incoming` as it is.
pub fn applies_cleanly(version: Option<Uuid>, incoming: &Change, saved: &SavedHousehold) -> bool {
    match version {
        None => true,
        Some(v) => incoming.base == Some(v) || incoming.id == v || saved.incorporates.contains(&v),
    }
}

/// Settles two crossed edits of one household, field by field. `base` is the household both
/// were made on, when the registry holds it (without it, every differing field crossed);
/// `kept` is the registry's version, `other` the incoming. Returns the settled draft and the
/// fields changed differently on both sides (which keep `kept`'s value).
pub fn settle(
    base: Option<&HouseholdDraft>,
    kept: &HouseholdDraft,
    other: &HouseholdDraft,
) -> (HouseholdDraft, Vec<(String, Value, Value)>) {
    let as_value = |d: &HouseholdDraft| serde_json::to_value(d).unwrap_or(Value::Null);
    let (b, k, o) = (base.map(as_value), as_value(kept), as_value(other));
    let mut crossed = Vec::new();
    let mut settled = serde_json::Map::new();
    let field = |v: &Value, f: &str| v.get(f).cloned().unwrap_or(Value::Null);
    if let Value::Object(fields) = &k {
        for name in fields.keys().filter(|f| *f != "members") {
            let value = three_way(
                name,
                b.as_ref().map(|b| field(b, name)),
                field(&k, name),
                field(&o, name),
                &mut crossed,
            );
            settled.insert(name.clone(), value);
        }
    }
    let members = |v: &Value| -> Vec<(String, Value)> {
        v.get("members")
            .and_then(Value::as_array)
            .map(|ms| {
                ms.iter()
                    .map(|m| {
                        let id = m
                            .pointer("/raw/record_id")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .trim()
                            .to_string();
                        (id, m.clone())
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (bm, km, om) = (
        b.as_ref().map(members).unwrap_or_default(),
        members(&k),
        members(&o),
    );
    let find = |list: &[(String, Value)], id: &str| {
        list.iter().find(|(r, _)| r == id).map(|(_, m)| m.clone())
    };
    // The kept side's order, then members only the other side added.
    let mut order: Vec<String> = km.iter().map(|(r, _)| r.clone()).collect();
    for (r, _) in &om {
        if !order.contains(r) && find(&bm, r).is_none() {
            order.push(r.clone());
        }
    }
    for (r, _) in &bm {
        if !order.contains(r) && find(&om, r).is_some() {
            // Removed here, still there: settled below.
            order.push(r.clone());
        }
    }
    let mut settled_members = Vec::new();
    for r in order {
        let prefix = format!("members.{r}");
        let (bv, kv, ov) = (find(&bm, &r), find(&km, &r), find(&om, &r));
        let merged = match (&bv, &kv, &ov) {
            // Present on both sides: field by field.
            (_, Some(kv), Some(ov)) => {
                Some(merge_member(&prefix, bv.as_ref(), kv, ov, &mut crossed))
            }
            // Removed on the other side: gone, unless edited here since.
            (Some(bv), Some(kv), None) => {
                if kv == bv {
                    None
                } else {
                    crossed.push((prefix.clone(), kv.clone(), Value::Null));
                    Some(kv.clone())
                }
            }
            // Removed here: stays removed (a tombstone), unless edited there since.
            (Some(bv), None, Some(ov)) => {
                if ov != bv {
                    crossed.push((prefix.clone(), Value::Null, ov.clone()));
                }
                None
            }
            (None, Some(kv), None) => Some(kv.clone()),
            (None, None, Some(ov)) => Some(ov.clone()),
            _ => None,
        };
        settled_members.extend(merged);
    }
    settled.insert("members".into(), Value::Array(settled_members));
    let draft = serde_json::from_value(Value::Object(settled)).unwrap_or_else(|_| kept.clone());
    (draft, crossed)
}

fn merge_member(
    prefix: &str,
    base: Option<&Value>,
    kept: &Value,
    other: &Value,
    crossed: &mut Vec<(String, Value, Value)>,
) -> Value {
    let mut merged = serde_json::Map::new();
    let Value::Object(fields) = kept else {
        return kept.clone();
    };
    for (name, kv) in fields {
        let bv = base.map(|b| b.get(name).cloned().unwrap_or(Value::Null));
        let ov = other.get(name).cloned().unwrap_or(Value::Null);
        let value = match (kv, &ov) {
            // The typed values: one level further, so that a name and a phone edited on two
            // sides do not cross.
            (Value::Object(_), Value::Object(_)) if name == "raw" => {
                let mut raw = serde_json::Map::new();
                if let Value::Object(typed) = kv {
                    for (col, k) in typed {
                        let b = bv
                            .as_ref()
                            .map(|b| b.get(col).cloned().unwrap_or(Value::Null));
                        let o = ov.get(col).cloned().unwrap_or(Value::Null);
                        let path = format!("{prefix}.raw.{col}");
                        raw.insert(col.clone(), three_way(&path, b, k.clone(), o, crossed));
                    }
                }
                Value::Object(raw)
            }
            _ => three_way(&format!("{prefix}.{name}"), bv, kv.clone(), ov, crossed),
        };
        merged.insert(name.clone(), value);
    }
    Value::Object(merged)
}

/// One field of two crossed edits: the side that changed it wins; both changed it
/// differently, the kept side's value stays and the field is noted.
fn three_way(
    path: &str,
    base: Option<Value>,
    kept: Value,
    other: Value,
    crossed: &mut Vec<(String, Value, Value)>,
) -> Value {
    if kept == other {
        return kept;
    }
    match base {
        Some(b) if b == kept => other,
        Some(b) if b == other => kept,
        _ => {
            crossed.push((path.to_string(), kept.clone(), other));
            kept
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemberDraft;
    use peywand_domain::RawRegistration;

    fn member(id: &str, given: &str) -> MemberDraft {
        MemberDraft {
            raw: RawRegistration {
                record_id: id.into(),
                given_name: given.into(),
                ..RawRegistration::default()
            },
            ..MemberDraft::default()
        }
    }

    fn household(destination: &str, members: Vec<MemberDraft>) -> HouseholdDraft {
        HouseholdDraft {
            site_code: Some("torkham".into()),
            destination_province: Some(destination.into()),
            members,
            ..HouseholdDraft::default()
        }
    }

    #[test]
    fn a_field_changed_on_one_side_takes_that_sides_value() {
        let base = household("AF06", vec![member("r-1", "Gul"), member("r-2", "Nabi")]);
        let mut here = base.clone();
        here.destination_province = Some("AF01".into());
        let mut there = base.clone();
        there.members[1].raw.phone = "0700111222".into();
        let (settled, crossed) = settle(Some(&base), &here, &there);
        assert!(crossed.is_empty(), "{crossed:?}");
        assert_eq!(settled.destination_province.as_deref(), Some("AF01"));
        assert_eq!(settled.members[1].raw.phone, "0700111222");
    }

    #[test]
    fn a_field_changed_differently_on_both_sides_keeps_ours_and_is_noted() {
        let base = household("AF06", vec![member("r-1", "Gul")]);
        let mut here = base.clone();
        here.members[0].raw.given_name = "Gul Bibi".into();
        let mut there = base.clone();
        there.members[0].raw.given_name = "Gulbibi".into();
        let (settled, crossed) = settle(Some(&base), &here, &there);
        assert_eq!(settled.members[0].raw.given_name, "Gul Bibi");
        assert_eq!(crossed.len(), 1);
        assert_eq!(crossed[0].0, "members.r-1.raw.given_name");
        assert_eq!(crossed[0].2, Value::from("Gulbibi"));
    }

    #[test]
    fn a_member_removed_on_one_side_is_not_brought_back_and_one_added_is_kept() {
        let base = household("AF06", vec![member("r-1", "Gul"), member("r-2", "Nabi")]);
        let mut here = base.clone();
        here.members.remove(1);
        let mut there = base.clone();
        there.members.push(member("r-3", "Zarmina"));
        let (settled, crossed) = settle(Some(&base), &here, &there);
        assert!(crossed.is_empty(), "{crossed:?}");
        let ids: Vec<&str> = settled
            .members
            .iter()
            .map(|m| m.raw.record_id.as_str())
            .collect();
        assert_eq!(ids, ["r-1", "r-3"], "r-2 stays removed, r-3 arrives");
    }

    #[test]
    fn without_the_base_every_difference_is_noted() {
        let here = household("AF06", vec![member("r-1", "Gul")]);
        let there = household("AF01", vec![member("r-1", "Gul")]);
        let (settled, crossed) = settle(None, &here, &there);
        assert_eq!(settled.destination_province.as_deref(), Some("AF06"));
        assert_eq!(crossed.len(), 1);
    }
}
