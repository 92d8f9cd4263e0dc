//! The change log: this registry's own changes, written in the transaction of the change
//! itself, and the changes received from the hub or a site, applied as they arrive.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqliteConnection, Transaction};
use uuid::Uuid;

use peywand_domain::HouseholdId;
use peywand_store::sync::HubLink;
use peywand_store::sync::{
    HUB, NOT_ENROLLED, SavedHousehold, applies_cleanly, new_change, physical_ms, settlement,
};
use peywand_store::{Conflict, CrossedField, Received, StoreError, SyncStore};
use peywand_sync::{Change, ChangeKind, Heads, Hlc, HybridClock};

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

impl SqliteStore {
    /// Appends this registry's change for a household just saved, in the saving transaction,
    /// and makes it the household's version.
    pub(crate) async fn log_household_saved(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        saved: &SavedHousehold,
        base: Option<Uuid>,
    ) -> Result<Change, StoreError> {
        let (origin, mut clock) = origin_and_clock(tx).await?;
        let (seq,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(seq), 0) + 1 FROM changes WHERE origin = ?")
                .bind(&origin)
                .fetch_one(&mut **tx)
                .await
                .map_err(db("number a change"))?;
        let at = clock.now(physical_ms());
        let change = new_change(&origin, seq, &at, base, saved);
        insert_change(tx, &change, false).await?;
        save_clock(tx, &clock).await?;
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
    ) -> Result<bool, StoreError> {
        if matches!(
            change.kind,
            ChangeKind::ProgrammeSet | ChangeKind::DistributionGiven
        ) {
            self.apply_assistance(tx, change).await?;
            return Ok(false);
        }
        let saved: SavedHousehold = serde_json::from_str(&change.body)
            .map_err(|e| StoreError::db("read a received household", e))?;
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
    /// touched loses its logged versions, and one that still has members logs what is left,
    /// made on the version the hub may hold, so that the erasure reaches it.
    pub(crate) async fn forget_erased_in_log(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        households: &[(Uuid,)],
    ) -> Result<(), StoreError> {
        let erasure = peywand_store::Actor {
            username: "erasure".into(),
            at: chrono::Utc::now(),
        };
        for (h,) in households {
            sqlx::query("DELETE FROM changes WHERE entity = ?")
                .bind(h.to_string())
                .execute(&mut **tx)
                .await
                .map_err(db("erase from the change log"))?;
            let id = HouseholdId(*h);
            let base = version_of(tx, id).await?.flatten();
            if let Some(left) = self.read_household_in(tx, id).await? {
                self.log_household_saved(tx, &SavedHousehold::of(&left, &erasure), base)
                    .await?;
            }
        }
        Ok(())
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
        sqlx::query("UPDATE sync_self SET origin = ? WHERE one = 1")
            .bind(origin)
            .execute(&mut *tx)
            .await
            .map_err(db("set origin"))?;
        tx.commit().await.map_err(db("commit origin"))?;
        Ok(())
    }

    async fn heads(&self) -> Result<Heads, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT origin, MAX(seq) FROM changes GROUP BY origin")
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
            insert_change(&mut tx, change, true).await?;
            if self.apply(&mut tx, change).await? {
                done.crossed += 1;
            }
            // A distribution may arrive before its household or programme (from two origins).
            self.take_waiting_distributions(&mut tx).await?;
            tx.commit().await.map_err(db("commit a received change"))?;
            done.stored += 1;
            if let Ok(id) = change.entity.parse() {
                households.push(id);
            }
        }
        households.sort_by_key(|h: &HouseholdId| h.0);
        households.dedup();
        Ok((done, households))
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
