//! Erasure: people on request or past a retention period, and ended cases.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Sqlite};

use peywand_domain::{CaseStatus, RecordId};
use peywand_store::{RetentionStore, StoreError};

use crate::{SqliteStore, db};

impl SqliteStore {
    /// Deletes the persons matching `condition` (bound by `bind`), what refers to them, and
    /// households left empty, in one transaction; checkpoints so that no copy of the
    /// deleted pages stays in the write-ahead log.
    async fn purge_where<'q>(
        &self,
        condition: &'static str,
        bind: impl Fn(
            sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments>,
        ) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await.map_err(db("begin erasing"))?;
        let erased: Vec<(uuid::Uuid, String)> = bind(sqlx::query(AssertSqlSafe(format!(
            "SELECT household_id, record_id FROM persons WHERE {condition} \
             ORDER BY household_id, rowid"
        ))))
        .fetch_all(&mut *tx)
        .await
        .map_err(db("find households to erase from"))?
        .iter()
        .map(|r| Ok((sqlx::Row::try_get(r, 0)?, sqlx::Row::try_get(r, 1)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(db("find households to erase from"))?;
        // Each household touched, with the records erased from it: the tombstone's content.
        let mut touched: Vec<(uuid::Uuid, Vec<String>)> = Vec::new();
        for (household, record) in erased {
            match touched.last_mut() {
                Some((h, records)) if *h == household => records.push(record),
                _ => touched.push((household, vec![record])),
            }
        }
        // Identities, review pairs and decisions go with the person (ON DELETE CASCADE).
        let deleted = bind(sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM persons WHERE {condition}"
        ))))
        .execute(&mut *tx)
        .await
        .map_err(db("erase persons"))?
        .rows_affected();
        sqlx::query(
            "DELETE FROM households WHERE NOT EXISTS \
             (SELECT 1 FROM persons WHERE persons.household_id = households.id)",
        )
        .execute(&mut *tx)
        .await
        .map_err(db("erase empty households"))?;
        self.forget_erased_in_log(&mut tx, &touched).await?;
        tx.commit().await.map_err(db("commit erasing"))?;
        self.checkpoint_after_erasing().await?;
        Ok(deleted)
    }

    /// Writes the log back into the database file after erasing, so that erased content does
    /// not linger in the write-ahead log (secure_delete overwrites it in the file).
    async fn checkpoint_after_erasing(&self) -> Result<(), StoreError> {
        // Readers can hold the log open for a moment: retry until it is fully written back.
        for attempt in 0..50 {
            let (busy, log, written): (i64, i64, i64) =
                sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db("checkpoint after erasing"))?;
            if busy == 0 && log == written {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20 * (attempt + 1))).await;
        }
        Err(StoreError::db(
            "checkpoint after erasing",
            "the write-ahead log stayed in use; the erased data may remain in it until the next checkpoint",
        ))
    }
}

#[async_trait]
impl RetentionStore for SqliteStore {
    async fn purge_person(&self, record_id: &RecordId) -> Result<bool, StoreError> {
        let n = self
            .purge_where("record_id = ?", |q| q.bind(record_id.as_str().to_string()))
            .await?;
        Ok(n > 0)
    }
    async fn purge_registered_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        self.purge_where("registered_at < ?", |q| q.bind(cutoff))
            .await
    }
    async fn purge_cases_ended_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.begin().await.map_err(db("begin erasing cases"))?;
        // Candidates, history, steps, links and PFIF records go with the case (ON DELETE
        // CASCADE).
        let ended: Vec<(uuid::Uuid,)> = sqlx::query_as(
            "SELECT id FROM tracing_requests WHERE status IN (?, ?) AND \
             COALESCE((SELECT MAX(at) FROM case_events WHERE request_id = tracing_requests.id), \
             created_at) < ?",
        )
        .bind(CaseStatus::Reunified.code())
        .bind(CaseStatus::ClosedWithoutResult.code())
        .bind(cutoff)
        .fetch_all(&mut *tx)
        .await
        .map_err(db("find ended cases"))?;
        for (id,) in &ended {
            sqlx::query("DELETE FROM tracing_requests WHERE id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db("erase ended cases"))?;
            // Its logged changes go too, and one that arrives later is not taken.
            crate::sync::forget_case(&mut tx, &id.to_string()).await?;
        }
        let deleted = ended.len() as u64;
        tx.commit().await.map_err(db("commit erasing cases"))?;
        self.checkpoint_after_erasing().await?;
        Ok(deleted)
    }
}
