//! Deduplication runs, identities, review pairs and reviewers' decisions.

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt};
use sqlx::{AssertSqlSafe, Connection, Row};
use tokio::sync::mpsc;

use peywand_domain::{LinkDecision, MatchRecord, RecordId, ScoredPair};
use peywand_store::{LinkageRun, LinkageStore, Page, Paged, StoreError};

use crate::{SqliteStore, db};

impl SqliteStore {
    /// The registrations with rowids from `start` to `start + MATCH_PAGE - 1`.
    async fn match_page(&self, start: i64) -> Result<Vec<MatchRecord>, StoreError> {
        let page: String = sqlx::query_scalar(
            "SELECT json_group_array(json_array(record_id, hex(household_id), \
             given_name, father_name, grandfather_name, family_name, sex, birth_year_min, \
             birth_year_max, raw_birth_date, province_code, \
             CASE WHEN province_code IS NULL THEN raw_province_of_origin END, \
             last_residence_code, \
             CASE WHEN last_residence_code IS NULL THEN raw_last_residence END, \
             document_number, phone_e164, \
             CASE WHEN given_name IS NULL AND father_name IS NULL THEN raw_given_name END, district_code, \
             registered_on)) \
             FROM (SELECT * FROM persons WHERE rowid >= ? AND rowid < ? ORDER BY rowid)",
        )
        .bind(start)
        .bind(start + MATCH_PAGE)
        .fetch_one(&self.pool)
        .await
        .map_err(db("read for matching"))?;
        // Decoded on a thread of its own: decoding and reading dates took longer than SQLite
        // took to build the page, and the next page's decoding can run beside it.
        tokio::task::spawn_blocking(move || peywand_store::linkage::decode_match_page(&page))
            .await
            .map_err(|e| StoreError::db("decode for matching", e))?
    }
}

#[async_trait]
impl LinkageStore for SqliteStore {
    async fn match_records(&self, sink: mpsc::Sender<MatchRecord>) -> Result<u64, StoreError> {
        // A page of rows at a time, as one JSON array SQLite builds: handing a million rows
        // over one by one from the database's thread costs several times reading them. Pages
        // are ranges of rowids, two in flight: SQLite builds one while the other is decoded
        // (see `match_page`).
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(rowid), 0) FROM persons")
            .fetch_one(&self.pool)
            .await
            .map_err(db("read for matching"))?;
        let pages = futures_util::stream::iter(0..=last / MATCH_PAGE)
            .map(|p| self.match_page(p * MATCH_PAGE))
            .buffered(2);
        let mut pages = std::pin::pin!(pages);
        let mut n = 0;
        while let Some(records) = pages.try_next().await? {
            for record in records {
                if sink.send(record).await.is_err() {
                    return Ok(n);
                }
                n += 1;
            }
        }
        Ok(n)
    }
    async fn save_linkage(&self, run: &LinkageRun) -> Result<(), StoreError> {
        // A run replaces the previous one's identities and review pairs in one transaction
        // that touches several hundred megabytes of pages at a million registrations. With
        // the pool's cache, each index seek read its pages back from the file: 13 s of
        // saving, 5 s with a cache that holds them. The cache lives on a connection of its
        // own, closed afterwards, so that its memory and settings go with it.
        //
        // The same connection checks that every record still exists once, after writing,
        // instead of once per row and deleted row: that halved what was left. A registration
        // erased while the run was working is left out, not refused.
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(db("begin saving identities"))?
            .detach();
        for pragma in ["PRAGMA cache_size = -1048576", "PRAGMA foreign_keys = OFF"] {
            sqlx::query(pragma)
                .execute(&mut conn)
                .await
                .map_err(db("begin saving identities"))?;
        }
        let mut tx = conn
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("begin saving identities"))?;
        for table in ["identities", "review_queue"] {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {table}")))
                .execute(&mut *tx)
                .await
                .map_err(db("clear the previous run"))?;
        }
        // Each page goes over as one JSON array that SQLite unpacks itself: binding a
        // million rows one value at a time costs more than writing them.
        for chunk in run.identities.chunks(LINK_BATCH) {
            let page =
                serde_json::to_string(chunk).map_err(|e| StoreError::db("save identities", e))?;
            sqlx::query(
                "INSERT INTO identities (record_id, identity) \
                 SELECT value ->> 0, value ->> 1 FROM json_each(?)",
            )
            .bind(page)
            .execute(&mut *tx)
            .await
            .map_err(db("save identities"))?;
        }
        for chunk in run.review.chunks(LINK_BATCH) {
            let rows: Vec<(&str, &str, f64)> = chunk
                .iter()
                .map(|p| (p.record_a.as_str(), p.record_b.as_str(), p.probability))
                .collect();
            let page = serde_json::to_string(&rows)
                .map_err(|e| StoreError::db("save the review queue", e))?;
            sqlx::query(
                "INSERT OR REPLACE INTO review_queue (record_a, record_b, probability) \
                 SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?)",
            )
            .bind(page)
            .execute(&mut *tx)
            .await
            .map_err(db("save the review queue"))?;
        }
        for orphans in [
            "DELETE FROM identities WHERE NOT EXISTS \
             (SELECT 1 FROM persons p WHERE p.record_id = identities.record_id)",
            "DELETE FROM review_queue WHERE NOT EXISTS \
             (SELECT 1 FROM persons p WHERE p.record_id = review_queue.record_a) \
             OR NOT EXISTS (SELECT 1 FROM persons p WHERE p.record_id = review_queue.record_b)",
        ] {
            sqlx::query(orphans)
                .execute(&mut *tx)
                .await
                .map_err(db("leave out erased registrations"))?;
        }
        sqlx::query("INSERT INTO linkage_runs (finished_at, model, stats) VALUES (?, ?, ?)")
            .bind(run.finished_at)
            .bind(&run.model)
            .bind(&run.stats)
            .execute(&mut *tx)
            .await
            .map_err(db("save the linkage model"))?;
        tx.commit().await.map_err(db("commit identities"))?;
        conn.close().await.map_err(db("commit identities"))
    }
    async fn linkage_model(&self) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT model FROM linkage_runs ORDER BY id DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read the linkage model"))
    }
    async fn identities(&self) -> Result<Vec<(String, String)>, StoreError> {
        sqlx::query_as(
            "SELECT i.record_id, i.identity FROM identities i \
             JOIN persons p ON p.record_id = i.record_id ORDER BY p.rowid",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("read identities"))
    }
    async fn identity_records(&self, record_id: &RecordId) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT i.record_id FROM identities i JOIN persons p ON p.record_id = i.record_id \
             WHERE i.identity = (SELECT identity FROM identities WHERE record_id = ?) \
             ORDER BY p.registered_at, i.record_id",
        )
        .bind(record_id.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db("read an identity"))
    }
    async fn review_queue(&self, page: Page) -> Result<Paged<ScoredPair>, StoreError> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM review_queue")
            .fetch_one(&self.pool)
            .await
            .map_err(db("count the review queue"))?;
        let rows: Vec<(String, String, f64)> = sqlx::query_as(
            "SELECT record_a, record_b, probability FROM review_queue \
             ORDER BY ABS(probability - 0.5), probability DESC, record_a, record_b LIMIT ? OFFSET ?",
        )
        .bind(page.limit as i64)
        .bind(page.offset as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db("read the review queue"))?;
        Ok(Paged {
            items: rows
                .into_iter()
                .map(|(record_a, record_b, probability)| ScoredPair {
                    record_a,
                    record_b,
                    probability,
                })
                .collect(),
            total: total as u64,
            offset: page.offset,
            limit: page.limit,
        })
    }
    async fn record_link_decision(&self, d: &LinkDecision) -> Result<(), StoreError> {
        let mut tx = self.begin().await.map_err(db("begin a decision"))?;
        for record in [&d.record_a, &d.record_b] {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT 1 FROM persons WHERE record_id = ?")
                    .bind(record)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db("find a decided record"))?;
            if found.is_none() {
                return Err(StoreError::NotFound(format!("registration {record}")));
            }
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
        .execute(&mut *tx)
        .await
        .map_err(db("record a decision"))?;
        // A decided pair leaves the review queue.
        sqlx::query(
            "DELETE FROM review_queue WHERE (record_a = ? AND record_b = ?) \
             OR (record_a = ? AND record_b = ?)",
        )
        .bind(&d.record_a)
        .bind(&d.record_b)
        .bind(&d.record_b)
        .bind(&d.record_a)
        .execute(&mut *tx)
        .await
        .map_err(db("update the review queue"))?;
        crate::sync::log(&mut tx, peywand_store::sync::Logged::link_decision(d)).await?;
        tx.commit().await.map_err(db("commit a decision"))
    }
    async fn link_decisions(&self) -> Result<Vec<LinkDecision>, StoreError> {
        let rows = sqlx::query(
            "SELECT record_a, record_b, same_person, reviewer, reason, decided_at \
             FROM link_decisions ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("read decisions"))?;
        rows.iter()
            .map(|r| {
                Ok(LinkDecision {
                    record_a: r.try_get(0)?,
                    record_b: r.try_get(1)?,
                    same_person: r.try_get(2)?,
                    reviewer: r.try_get(3)?,
                    reason: r.try_get(4)?,
                    decided_at: r.try_get(5)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db("decode decisions"))
    }
}

/// Rows per page of identities and review pairs saved.
const LINK_BATCH: usize = 100_000;

/// Registrations read for matching at a time.
const MATCH_PAGE: i64 = 50_000;
