//! The change log: this registry's own changes, written in the transaction of the change
//! itself, and the changes received from the hub or a site, applied as they arrive.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqliteConnection, Transaction};
use uuid::Uuid;

use peywand_access::audit::AuditEntry;
use peywand_domain::{HouseholdId, LinkDecision, RecordId};
use peywand_store::sync::{
    CaseLogged, Erased, HUB, HubLink, Logged, NOT_ENROLLED, SavedHousehold, applies_cleanly,
    logged_change, physical_ms, settlement, without_erased,
};
use peywand_store::{Conflict, CrossedField, Received, StoreError, SyncStore};
use peywand_sync::{Change, ChangeKind, Heads, Hlc, HybridClock};

use crate::tracing_cases::{put_request, read_case, write_changes};

use crate::{SqliteStore, db};

/// This registry's origin and a clock that has passed every time it issued or observed.
pub(crate) async fn origin_and_clock(
    conn: &mut SqliteConnection,
) -> Result<(String, HybridClock), StoreError> {
    let (origin, clock): (String, String) =
        sqlx::query_as("SELECT origin, clock FROM sync_self WHERE one = 1")
            .fetch_one(conn)
            .await
            .map_err(db("read this registry's origin"))?;
    let last: Hlc = clock
        .parse()
        .map_err(|e| StoreError::db("read this registry's clock", e))?;
    Ok((origin, HybridClock::starting_at(last)))
}

pub(crate) async fn save_clock(
    conn: &mut SqliteConnection,
    clock: &HybridClock,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sync_self SET clock = ? WHERE one = 1")
        .bind(clock.last().to_string())
        .execute(conn)
        .await
        .map_err(db("keep the clock"))?;
    Ok(())
}

pub(crate) async fn insert_change(
    conn: &mut SqliteConnection,
    c: &Change,
    received: bool,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO changes (origin, seq, id, at, kind, entity, base, body, hash, received_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&c.origin)
    .bind(c.seq)
    .bind(c.id.to_string())
    .bind(&c.at)
    .bind(c.kind.code())
    .bind(&c.entity)
    .bind(c.base.map(|b| b.to_string()))
    .bind(&c.body)
    .bind(&c.hash)
    .bind(received.then(|| chrono::Utc::now().to_rfc3339()))
    .execute(conn)
    .await
    .map_err(db("write the change log"))?;
    Ok(())
}

/// Writes a page of this registry's own changes, given as a JSON array of
/// [origin, seq, id, at, kind, entity, base, body, hash], and notes each as the version of its
/// household, for [`keep_logged_versions`].
async fn insert_changes_page(conn: &mut SqliteConnection, page: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO changes (origin, seq, id, at, kind, entity, base, body, hash) \
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
         value ->> 6, value ->> 7, value ->> 8 FROM json_each(?)",
    )
    .bind(page)
    .execute(&mut *conn)
    .await
    .map_err(db("write the change log"))?;
    sqlx::query(
        "CREATE TEMP TABLE IF NOT EXISTS logged_versions \
         (household TEXT PRIMARY KEY, version TEXT NOT NULL)",
    )
    .execute(&mut *conn)
    .await
    .map_err(db("keep households' versions"))?;
    sqlx::query(
        "INSERT OR REPLACE INTO logged_versions (household, version) \
         SELECT replace(value ->> 5, '-', ''), value ->> 2 FROM json_each(?)",
    )
    .bind(page)
    .execute(&mut *conn)
    .await
    .map_err(db("keep households' versions"))?;
    Ok(())
}

/// Makes the changes written by [`log_households`] their households' versions, in one pass
/// over the households, once an import has logged every page.
pub(crate) async fn keep_logged_versions(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE households SET version = (SELECT version FROM logged_versions \
         WHERE household = lower(hex(households.id))) \
         WHERE lower(hex(id)) IN (SELECT household FROM logged_versions)",
    )
    .execute(&mut *conn)
    .await
    .map_err(db("keep households' versions"))?;
    sqlx::query("DELETE FROM logged_versions")
        .execute(&mut *conn)
        .await
        .map_err(db("keep households' versions"))?;
    Ok(())
}

async fn version_of(
    conn: &mut SqliteConnection,
    id: HouseholdId,
) -> Result<Option<Option<Uuid>>, StoreError> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT version FROM households WHERE id = ?")
            .bind(id.0)
            .fetch_optional(conn)
            .await
            .map_err(db("read a household's version"))?;
    Ok(row.map(|(v,)| v.and_then(|v| v.parse().ok())))
}

async fn set_version(
    conn: &mut SqliteConnection,
    id: HouseholdId,
    version: Uuid,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE households SET version = ? WHERE id = ?")
        .bind(version.to_string())
        .bind(id.0)
        .execute(conn)
        .await
        .map_err(db("keep a household's version"))?;
    Ok(())
}

/// The highest number of an origin's changes this registry has seen, kept or not.
async fn seen(conn: &mut SqliteConnection, origin: &str) -> Result<i64, StoreError> {
    let (seq,): (i64,) = sqlx::query_as(
        "SELECT COALESCE(MAX(s), 0) FROM (SELECT MAX(seq) AS s FROM changes WHERE origin = ?1 \
         UNION ALL SELECT seq FROM sync_seen WHERE origin = ?1)",
    )
    .bind(origin)
    .fetch_one(conn)
    .await
    .map_err(db("number a change"))?;
    Ok(seq)
}

async fn note_seen(conn: &mut SqliteConnection, origin: &str, seq: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sync_seen (origin, seq) VALUES (?, ?) \
         ON CONFLICT (origin) DO UPDATE SET seq = MAX(seq, excluded.seq)",
    )
    .bind(origin)
    .bind(seq)
    .execute(conn)
    .await
    .map_err(db("note the changes seen"))?;
    Ok(())
}

/// Appends a change to this registry's own log, in the caller's transaction. Its number
/// follows every number this origin ever used, kept or erased since: a number is never given
/// to two changes.
pub(crate) async fn log(conn: &mut SqliteConnection, logged: Logged) -> Result<Change, StoreError> {
    let (origin, mut clock) = origin_and_clock(conn).await?;
    let seq = seen(conn, &origin).await? + 1;
    let at = clock.now(physical_ms());
    let change = logged_change(&origin, seq, &at, logged);
    insert_change(conn, &change, false).await?;
    save_clock(conn, &clock).await?;
    note_seen(conn, &origin, seq).await?;
    Ok(change)
}

/// Logs many households saved at once (a page of a file import), each made on its base, in
/// the caller's transaction: the clock and the numbering are read and kept once, not once a
/// household. Their versions are set by [`keep_logged_versions`].
pub(crate) async fn log_households(
    conn: &mut SqliteConnection,
    households: &[(SavedHousehold, Option<Uuid>)],
) -> Result<(), StoreError> {
    if households.is_empty() {
        return Ok(());
    }
    let (origin, mut clock) = origin_and_clock(conn).await?;
    let mut seq = seen(conn, &origin).await?;
    let mut changes = Vec::with_capacity(households.len());
    for (saved, base) in households {
        seq += 1;
        let body =
            serde_json::to_string(saved).map_err(|e| StoreError::db("log a household", e))?;
        let at = clock.now(physical_ms());
        changes.push(logged_change(
            &origin,
            seq,
            &at,
            Logged {
                kind: ChangeKind::HouseholdSaved,
                entity: saved.id.to_string(),
                base: *base,
                body,
            },
        ));
    }
    // A page of changes goes over as one JSON array the database unpacks itself: a statement
    // a change would cost a hop to the database's thread each.
    for page in changes.chunks(500) {
        let rows: Vec<serde_json::Value> = page
            .iter()
            .map(|c| {
                serde_json::json!([
                    c.origin,
                    c.seq,
                    c.id.to_string(),
                    c.at,
                    c.kind.code(),
                    c.entity,
                    c.base.map(|b| b.to_string()),
                    c.body,
                    c.hash
                ])
            })
            .collect();
        let page_json =
            serde_json::to_string(&rows).map_err(|e| StoreError::db("log households", e))?;
        insert_changes_page(conn, &page_json).await?;
    }
    save_clock(conn, &clock).await?;
    note_seen(conn, &origin, seq).await?;
    Ok(())
}

/// Whether a file imported here is logged: at an enrolled site only. The hub's imports (a
/// backfill of earlier registrations, often made before it becomes the hub) would make every
/// site pull them over a border link.
pub(crate) async fn logs_imports(conn: &mut SqliteConnection) -> Result<bool, StoreError> {
    let (origin, _) = origin_and_clock(conn).await?;
    Ok(origin != HUB && origin != NOT_ENROLLED)
}

/// Logs an audit entry just appended, at a site: the hub keeps every site's trail.
pub(crate) async fn log_audit(
    conn: &mut SqliteConnection,
    entry: &AuditEntry,
) -> Result<(), StoreError> {
    let (origin, _) = origin_and_clock(conn).await?;
    if origin != HUB {
        log(conn, Logged::audit(entry)).await?;
    }
    Ok(())
}

/// Which of `ids` (household or record ids) were erased here.
async fn erased_among(
    conn: &mut SqliteConnection,
    ids: &[String],
) -> Result<std::collections::HashSet<String>, StoreError> {
    let mut erased = std::collections::HashSet::new();
    for id in ids {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM erased WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db("look for an erasure"))?;
        if found.is_some() {
            erased.insert(id.clone());
        }
    }
    Ok(erased)
}

async fn mark_erased(conn: &mut SqliteConnection, id: &str) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO erased (id, erased_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING")
        .bind(id)
        .bind(chrono::Utc::now().to_rfc3339())
        .execute(conn)
        .await
        .map_err(db("keep an erasure"))?;
    Ok(())
}

/// Removes what a tombstone names: the registrations, the household once empty or erased,
/// and every logged copy of it; what was erased is remembered by id.
async fn erase_here(
    conn: &mut SqliteConnection,
    household: HouseholdId,
    erased: &Erased,
) -> Result<(), StoreError> {
    for record in &erased.records {
        sqlx::query("DELETE FROM persons WHERE record_id = ?")
            .bind(record)
            .execute(&mut *conn)
            .await
            .map_err(db("erase a registration"))?;
        mark_erased(conn, record).await?;
        // A reviewer's decision about them goes with them, and its reason with it.
        sqlx::query(
            "DELETE FROM changes WHERE kind = ?2 AND (substr(entity, 1, length(?1) + 1) = ?1 || '|' \
             OR substr(entity, length(entity) - length(?1)) = '|' || ?1)",
        )
        .bind(record)
        .bind(ChangeKind::LinkDecided.code())
        .execute(&mut *conn)
        .await
        .map_err(db("erase a decision from the change log"))?;
    }
    if erased.household_gone {
        mark_erased(conn, &household.to_string()).await?;
        sqlx::query("DELETE FROM persons WHERE household_id = ?")
            .bind(household.0)
            .execute(&mut *conn)
            .await
            .map_err(db("erase a household"))?;
    }
    sqlx::query(
        "DELETE FROM households WHERE id = ? AND NOT EXISTS \
         (SELECT 1 FROM persons WHERE persons.household_id = households.id)",
    )
    .bind(household.0)
    .execute(&mut *conn)
    .await
    .map_err(db("erase an empty household"))?;
    sqlx::query("DELETE FROM changes WHERE entity = ? AND kind <> ?")
        .bind(household.to_string())
        .bind(ChangeKind::HouseholdErased.code())
        .execute(&mut *conn)
        .await
        .map_err(db("erase from the change log"))?;
    Ok(())
}

/// A tracing case erased at the end of its retention: its logged changes go, and its id is
/// remembered so that a change about it from elsewhere is not taken.
pub(crate) async fn forget_case(conn: &mut SqliteConnection, id: &str) -> Result<(), StoreError> {
    mark_erased(conn, id).await?;
    sqlx::query("DELETE FROM changes WHERE entity = ?")
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(db("erase a case from the change log"))?;
    Ok(())
}

/// A reviewer's decision made elsewhere, recorded as theirs; skipped when held already, or
/// when a registration it names was erased here.
async fn put_link_decision(
    conn: &mut SqliteConnection,
    d: &LinkDecision,
) -> Result<(), StoreError> {
    for record in [&d.record_a, &d.record_b] {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM persons WHERE record_id = ?")
            .bind(record)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db("find a decided record"))?;
        if found.is_none() {
            return Ok(());
        }
    }
    let held: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM link_decisions WHERE record_a = ? AND record_b = ? AND reviewer = ? \
         AND decided_at = ?",
    )
    .bind(&d.record_a)
    .bind(&d.record_b)
    .bind(&d.reviewer)
    .bind(d.decided_at)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db("look for a decision"))?;
    if held.is_some() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO link_decisions (record_a, record_b, same_person, reviewer, reason, \
         decided_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&d.record_a)
    .bind(&d.record_b)
    .bind(d.same_person)
    .bind(&d.reviewer)
    .bind(&d.reason)
    .bind(d.decided_at)
    .execute(&mut *conn)
    .await
    .map_err(db("record a decision"))?;
    sqlx::query(
        "DELETE FROM review_queue WHERE (record_a = ?1 AND record_b = ?2) \
         OR (record_a = ?2 AND record_b = ?1)",
    )
    .bind(&d.record_a)
    .bind(&d.record_b)
    .execute(&mut *conn)
    .await
    .map_err(db("update the review queue"))?;
    Ok(())
}

/// Writes a case change made elsewhere, as [`peywand_store::cases::received`] says; whether
/// the case is held here (if not, the change waits for it).
async fn put_case_change(
    conn: &mut SqliteConnection,
    logged: &CaseLogged,
) -> Result<bool, StoreError> {
    let Some(case) = read_case(conn, logged.request).await? else {
        return Ok(false);
    };
    let mut held = std::collections::HashSet::new();
    for change in &logged.changes {
        if let peywand_store::cases::CaseChange::Offer { record_id, .. } = change {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT 1 FROM persons WHERE record_id = ?")
                    .bind(record_id.as_str())
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db("find a candidate"))?;
            if found.is_some() {
                held.insert(record_id.clone());
            }
        }
    }
    let changes =
        peywand_store::cases::received(&case, &logged.changes, |r: &RecordId| held.contains(r));
    write_changes(conn, logged.request, &logged.actor(), &changes).await?;
    Ok(true)
}

fn change_from_row(r: &SqliteRow) -> Result<Change, sqlx::Error> {
    let id: String = r.try_get("id")?;
    let base: Option<String> = r.try_get("base")?;
    let kind: String = r.try_get("kind")?;
    Ok(Change {
        origin: r.try_get("origin")?,
        seq: r.try_get("seq")?,
        id: id.parse().unwrap_or_default(),
        at: r.try_get("at")?,
        kind: ChangeKind::from_code(&kind).unwrap_or(ChangeKind::HouseholdSaved),
        entity: r.try_get("entity")?,
        base: base.and_then(|b| b.parse().ok()),
        body: r.try_get("body")?,
        hash: r.try_get("hash")?,
    })
}

/// What taking a change did.
enum Taken {
    Done,
    Crossed,
    Erased,
}

impl SqliteStore {
    /// Appends this registry's change for a household just saved, in the saving transaction,
    /// and makes it the household's version.
    pub(crate) async fn log_household_saved(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        saved: &SavedHousehold,
        base: Option<Uuid>,
    ) -> Result<Change, StoreError> {
        let change = log(
            tx,
            Logged {
                kind: ChangeKind::HouseholdSaved,
                entity: saved.id.to_string(),
                base,
                body: serde_json::to_string(saved)
                    .map_err(|e| StoreError::db("log a household", e))?,
            },
        )
        .await?;
        set_version(tx, saved.id, change.id).await?;
        Ok(change)
    }

    /// The version a household is at before an edit, read in the edit's transaction.
    pub(crate) async fn version_before_edit(
        tx: &mut Transaction<'_, Sqlite>,
        id: HouseholdId,
    ) -> Result<Option<Uuid>, StoreError> {
        Ok(version_of(tx, id).await?.flatten())
    }

    /// Applies one change received from elsewhere, in its transaction; whether it crossed.
    async fn apply(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        change: &Change,
        saved: SavedHousehold,
    ) -> Result<bool, StoreError> {
        let version = version_of(tx, saved.id).await?;
        let held = version.flatten();
        if version.is_none() || applies_cleanly(held, change, &saved) {
            self.put_household(tx, &saved).await?;
            set_version(tx, saved.id, change.id).await?;
            self.keep_crossed(tx, saved.id, &saved.crossed).await?;
            return Ok(false);
        }
        let (origin, _) = origin_and_clock(tx).await?;
        if origin != HUB {
            // A site keeps its own edit; the hub settles the two and sends the result.
            return Ok(true);
        }
        let current = self
            .read_household_in(tx, saved.id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("household {}", saved.id)))?;
        let kept = self.change_by_id(tx, held).await?;
        let base = self.change_by_id(tx, change.base).await?;
        let settled = settlement(change, &saved, &current, base.as_ref(), kept.as_ref());
        let crossed = settled.crossed.clone();
        self.put_household(tx, &settled).await?;
        self.keep_crossed(tx, saved.id, &crossed).await?;
        let (_, mut clock) = origin_and_clock(tx).await?;
        let _ = clock.observe(change.at_hlc().unwrap_or(Hlc::ZERO), physical_ms());
        save_clock(tx, &clock).await?;
        self.log_household_saved(tx, &settled, held).await?;
        Ok(true)
    }

    /// After an erasure: the change log keeps no copy of what was erased. Each household
    /// touched (with the records erased from it) loses its logged versions and logs a
    /// tombstone naming the records, which removes them wherever the household went and keeps
    /// them from coming back from a log that still holds them; one that still has members
    /// logs what is left, made on the version the hub may hold.
    pub(crate) async fn forget_erased_in_log(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        households: &[(Uuid, Vec<String>)],
    ) -> Result<(), StoreError> {
        let erasure = peywand_store::Actor {
            username: "erasure".into(),
            at: chrono::Utc::now(),
        };
        for (h, records) in households {
            let id = HouseholdId(*h);
            let left = self.read_household_in(tx, id).await?;
            let erased = Erased {
                records: records.clone(),
                household_gone: left.is_none(),
            };
            let base = version_of(tx, id).await?.flatten();
            erase_here(tx, id, &erased).await?;
            log(tx, Logged::erased(id, &erased)).await?;
            if let Some(left) = left {
                self.log_household_saved(tx, &SavedHousehold::of(&left, &erasure), base)
                    .await?;
            }
        }
        Ok(())
    }

    /// Takes one change made elsewhere, in its transaction: keeps it and does what it says.
    /// Whether it crossed an edit made here, and whether it was about something erased here
    /// (then neither kept nor done).
    async fn take(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        change: &Change,
        own: &str,
    ) -> Result<Taken, StoreError> {
        let unreadable = |e: serde_json::Error| StoreError::db("read a received change", e);
        match change.kind {
            ChangeKind::HouseholdSaved => {
                let saved: SavedHousehold =
                    serde_json::from_str(&change.body).map_err(unreadable)?;
                let mut ids = vec![saved.id.to_string()];
                ids.extend(
                    saved
                        .draft
                        .members
                        .iter()
                        .map(|m| m.raw.record_id.trim().to_string()),
                );
                let erased = erased_among(tx, &ids).await?;
                if erased.is_empty() {
                    insert_change(tx, change, true).await?;
                    let crossed = self.apply(tx, change, saved).await?;
                    return Ok(if crossed { Taken::Crossed } else { Taken::Done });
                }
                // It still holds someone erased here: what is left is taken, and the change
                // is not kept, since it carries what was erased.
                if let Some(left) = without_erased(saved, |id| erased.contains(id)) {
                    self.apply(tx, change, left).await?;
                }
                Ok(Taken::Erased)
            }
            ChangeKind::HouseholdErased => {
                let erased: Erased = serde_json::from_str(&change.body).map_err(unreadable)?;
                let household: HouseholdId = change
                    .entity
                    .parse()
                    .map_err(|_| StoreError::db("read a received erasure", "not a household id"))?;
                insert_change(tx, change, true).await?;
                erase_here(tx, household, &erased).await?;
                Ok(Taken::Done)
            }
            ChangeKind::ProgrammeSet | ChangeKind::DistributionGiven => {
                if change.kind == ChangeKind::DistributionGiven
                    && !erased_among(tx, std::slice::from_ref(&change.entity))
                        .await?
                        .is_empty()
                {
                    return Ok(Taken::Erased);
                }
                insert_change(tx, change, true).await?;
                self.apply_assistance(tx, change).await?;
                Ok(Taken::Done)
            }
            ChangeKind::LinkDecided => {
                let d: LinkDecision = serde_json::from_str(&change.body).map_err(unreadable)?;
                if !erased_among(tx, &[d.record_a.clone(), d.record_b.clone()])
                    .await?
                    .is_empty()
                {
                    return Ok(Taken::Erased);
                }
                insert_change(tx, change, true).await?;
                put_link_decision(tx, &d).await?;
                Ok(Taken::Done)
            }
            ChangeKind::TracingRequestOpened | ChangeKind::TracingCaseChanged => {
                let logged: CaseLogged = serde_json::from_str(&change.body).map_err(unreadable)?;
                if !erased_among(tx, std::slice::from_ref(&change.entity))
                    .await?
                    .is_empty()
                {
                    return Ok(Taken::Erased);
                }
                insert_change(tx, change, true).await?;
                if let Some(request) = &logged.opened {
                    put_request(tx, request).await?;
                }
                if !put_case_change(tx, &logged).await? {
                    sqlx::query("UPDATE changes SET waiting = 1 WHERE id = ?")
                        .bind(change.id.to_string())
                        .execute(&mut **tx)
                        .await
                        .map_err(db("keep a case change for later"))?;
                    return Ok(Taken::Done);
                }
                if logged.opened.is_some() {
                    // Changes to this case that arrived before it, in the order made.
                    let waiting: Vec<(String, String)> = sqlx::query_as(
                        "SELECT id, body FROM changes WHERE entity = ? AND waiting = 1 ORDER BY at",
                    )
                    .bind(&change.entity)
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(db("read case changes kept for later"))?;
                    for (id, body) in waiting {
                        let later: CaseLogged = serde_json::from_str(&body).map_err(unreadable)?;
                        put_case_change(tx, &later).await?;
                        sqlx::query("UPDATE changes SET waiting = 0 WHERE id = ?")
                            .bind(id)
                            .execute(&mut **tx)
                            .await
                            .map_err(db("apply a case change kept for later"))?;
                    }
                }
                Ok(Taken::Done)
            }
            ChangeKind::AuditRecorded => {
                let entry: AuditEntry = serde_json::from_str(&change.body).map_err(unreadable)?;
                insert_change(tx, change, true).await?;
                if own == HUB {
                    sqlx::query(
                        "INSERT INTO site_audit (origin, seq, entry) VALUES (?, ?, ?) \
                         ON CONFLICT (origin, seq) DO NOTHING",
                    )
                    .bind(&change.origin)
                    .bind(entry.seq)
                    .bind(&change.body)
                    .execute(&mut **tx)
                    .await
                    .map_err(db("keep a site's audit entry"))?;
                }
                Ok(Taken::Done)
            }
        }
    }

    async fn change_by_id(
        &self,
        conn: &mut SqliteConnection,
        id: Option<Uuid>,
    ) -> Result<Option<Change>, StoreError> {
        let Some(id) = id else { return Ok(None) };
        let row = sqlx::query("SELECT * FROM changes WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(conn)
            .await
            .map_err(db("read a change"))?;
        row.as_ref()
            .map(change_from_row)
            .transpose()
            .map_err(db("decode a change"))
    }

    async fn keep_crossed(
        &self,
        conn: &mut SqliteConnection,
        id: HouseholdId,
        crossed: &[CrossedField],
    ) -> Result<(), StoreError> {
        for field in crossed {
            sqlx::query(
                "INSERT INTO crossed_fields (household_id, field, detail) VALUES (?, ?, ?) \
                 ON CONFLICT (household_id, field) DO UPDATE SET detail = excluded.detail",
            )
            .bind(id.0)
            .bind(&field.field)
            .bind(serde_json::to_string(field).unwrap_or_default())
            .execute(&mut *conn)
            .await
            .map_err(db("flag a crossed edit"))?;
        }
        Ok(())
    }
}

#[async_trait]
impl SyncStore for SqliteStore {
    async fn origin(&self) -> Result<String, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db("read origin"))?;
        Ok(origin_and_clock(&mut conn).await?.0)
    }

    async fn set_origin(&self, origin: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await.map_err(db("set origin"))?;
        let (current, _) = origin_and_clock(&mut tx).await?;
        if current == origin {
            return Ok(());
        }
        if current != NOT_ENROLLED {
            return Err(StoreError::Conflict(Conflict::OriginAlreadySet(current)));
        }
        // Changes made before enrolment were never sent: they take the site's name.
        let own: Vec<Change> = sqlx::query("SELECT * FROM changes WHERE origin = ? ORDER BY seq")
            .bind(NOT_ENROLLED)
            .fetch_all(&mut *tx)
            .await
            .map_err(db("read changes before enrolment"))?
            .iter()
            .map(change_from_row)
            .collect::<Result<_, _>>()
            .map_err(db("decode changes before enrolment"))?;
        sqlx::query("DELETE FROM changes WHERE origin = ?")
            .bind(NOT_ENROLLED)
            .execute(&mut *tx)
            .await
            .map_err(db("rename changes"))?;
        for mut c in own {
            c.origin = origin.to_string();
            c.hash = c.content_hash();
            insert_change(&mut tx, &c, false).await?;
        }
        sqlx::query("UPDATE sync_seen SET origin = ? WHERE origin = ?")
            .bind(origin)
            .bind(NOT_ENROLLED)
            .execute(&mut *tx)
            .await
            .map_err(db("rename changes"))?;
        sqlx::query("UPDATE sync_self SET origin = ? WHERE one = 1")
            .bind(origin)
            .execute(&mut *tx)
            .await
            .map_err(db("set origin"))?;
        tx.commit().await.map_err(db("commit origin"))?;
        Ok(())
    }

    async fn heads(&self) -> Result<Heads, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT origin, MAX(seq) FROM (SELECT origin, seq FROM changes \
                 UNION ALL SELECT origin, seq FROM sync_seen) GROUP BY origin",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("read heads"))?;
        Ok(rows.into_iter().collect())
    }

    async fn changes_after(
        &self,
        origin: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError> {
        sqlx::query("SELECT * FROM changes WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?")
            .bind(origin)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db("read changes"))?
            .iter()
            .map(change_from_row)
            .collect::<Result<_, _>>()
            .map_err(db("decode changes"))
    }

    async fn receive(
        &self,
        changes: &[Change],
    ) -> Result<(Received, Vec<HouseholdId>), StoreError> {
        let mut done = Received::default();
        let mut households = Vec::new();
        for change in changes {
            if !change.is_intact() {
                return Err(StoreError::Conflict(Conflict::ChangeAltered {
                    origin: change.origin.clone(),
                    seq: change.seq,
                }));
            }
            let mut tx = self.begin().await.map_err(db("receive a change"))?;
            let held: Option<(String, String)> = sqlx::query_as(
                "SELECT hash, id FROM changes WHERE (origin = ? AND seq = ?) OR id = ?",
            )
            .bind(&change.origin)
            .bind(change.seq)
            .bind(change.id.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("look for a change"))?;
            match held {
                Some((hash, id)) if hash == change.hash && id == change.id.to_string() => {
                    done.already_held += 1;
                    continue;
                }
                Some(_) => {
                    return Err(StoreError::Conflict(Conflict::ChangeHeldOtherwise {
                        origin: change.origin.clone(),
                        seq: change.seq,
                    }));
                }
                None => {}
            }
            let (own, mut clock) = origin_and_clock(&mut tx).await?;
            if change.origin == own {
                return Err(StoreError::Conflict(Conflict::NotMadeHere {
                    origin: own,
                    seq: change.seq,
                }));
            }
            let at = change.at_hlc().map_err(|_| {
                StoreError::Conflict(Conflict::ChangeTime {
                    at: change.at.clone(),
                })
            })?;
            clock.observe(at, physical_ms()).map_err(|_| {
                StoreError::Conflict(Conflict::ChangeTime {
                    at: change.at.clone(),
                })
            })?;
            save_clock(&mut tx, &clock).await?;
            let taken = self.take(&mut tx, change, &own).await?;
            note_seen(&mut tx, &change.origin, change.seq).await?;
            // A distribution may arrive before its household or programme (from two origins).
            self.take_waiting_distributions(&mut tx).await?;
            tx.commit().await.map_err(db("commit a received change"))?;
            match taken {
                Taken::Erased => done.erased += 1,
                Taken::Crossed => {
                    done.crossed += 1;
                    done.stored += 1;
                }
                Taken::Done => done.stored += 1,
            }
            if matches!(
                change.kind,
                ChangeKind::HouseholdSaved | ChangeKind::HouseholdErased
            ) && let Ok(id) = change.entity.parse()
            {
                households.push(id);
            }
        }
        households.sort_by_key(|h: &HouseholdId| h.0);
        households.dedup();
        Ok((done, households))
    }

    async fn note_pulled(&self, origin: &str, seq: i64) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db("note a pull"))?;
        note_seen(&mut conn, origin, seq).await
    }

    async fn site_audit(&self, origin: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT entry FROM site_audit WHERE origin = ? ORDER BY seq")
                .bind(origin)
                .fetch_all(&self.pool)
                .await
                .map_err(db("read a site's audit entries"))?;
        rows.into_iter()
            .map(|(e,)| {
                serde_json::from_str(&e).map_err(|e| StoreError::db("read a site's audit entry", e))
            })
            .collect()
    }

    async fn crossed_fields(&self, id: HouseholdId) -> Result<Vec<CrossedField>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT detail FROM crossed_fields WHERE household_id = ? ORDER BY field",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db("read crossed edits"))?;
        Ok(rows
            .into_iter()
            .filter_map(|(d,)| serde_json::from_str(&d).ok())
            .collect())
    }
    async fn hub_link(&self) -> Result<Option<HubLink>, StoreError> {
        let row: (Option<String>, Option<String>, i64, Option<String>) = sqlx::query_as(
            "SELECT hub, credential, acknowledged, last_synced_at FROM sync_self WHERE one = 1",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db("read the hub link"))?;
        Ok(match row {
            (Some(url), Some(credential), acknowledged, last) => Some(HubLink {
                url,
                credential,
                acknowledged,
                last_synced_at: last
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.with_timezone(&chrono::Utc)),
            }),
            _ => None,
        })
    }

    async fn set_hub_link(&self, url: &str, credential: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sync_self SET hub = ?, credential = ? WHERE one = 1")
            .bind(url)
            .bind(credential)
            .execute(&self.pool)
            .await
            .map_err(db("keep the hub link"))?;
        Ok(())
    }

    async fn note_synced(
        &self,
        acknowledged: i64,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sync_self SET acknowledged = ?, last_synced_at = ? WHERE one = 1")
            .bind(acknowledged)
            .bind(at.to_rfc3339())
            .execute(&self.pool)
            .await
            .map_err(db("note a sync round"))?;
        Ok(())
    }
}
