//! Submissions from field phones, by instanceID.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use peywand_domain::HouseholdId;
use peywand_store::{Reservation, StoreError, Submission, SubmissionStore};

use crate::{SqliteStore, db};

fn submission(row: &SqliteRow) -> Result<Submission, sqlx::Error> {
    Ok(Submission {
        instance_id: row.try_get("instance_id")?,
        digest: row.try_get("digest")?,
        household_id: row
            .try_get::<Option<Uuid>, _>("household_id")?
            .map(HouseholdId),
        username: row.try_get("username")?,
        received_at: row.try_get::<DateTime<Utc>, _>("received_at")?,
        superseded_by: row.try_get("superseded_by")?,
    })
}

const COLUMNS: &str = "instance_id, digest, household_id, username, received_at, superseded_by";

#[async_trait]
impl SubmissionStore for SqliteStore {
    #[tracing::instrument(skip_all)]
    async fn reserve_submission(
        &self,
        instance_id: &str,
        digest: &str,
        username: &str,
        at: DateTime<Utc>,
    ) -> Result<Reservation, StoreError> {
        let mut tx = self.begin().await.map_err(db("begin submission"))?;
        let inserted = sqlx::query(
            "INSERT INTO openrosa_submissions (instance_id, digest, username, received_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT (instance_id) DO NOTHING",
        )
        .bind(instance_id)
        .bind(digest)
        .bind(username)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(db("reserve submission"))?
        .rows_affected();
        let found = if inserted == 1 {
            Reservation::Reserved
        } else {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM openrosa_submissions WHERE instance_id = ?"
            )))
            .bind(instance_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db("read submission"))?;
            Reservation::Existing(submission(&row).map_err(db("decode submission"))?)
        };
        tx.commit().await.map_err(db("commit submission"))?;
        Ok(found)
    }

    #[tracing::instrument(skip_all)]
    async fn submission(&self, instance_id: &str) -> Result<Option<Submission>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM openrosa_submissions WHERE instance_id = ?"
        )))
        .bind(instance_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read submission"))?;
        row.map(|r| submission(&r))
            .transpose()
            .map_err(db("decode submission"))
    }

    #[tracing::instrument(skip_all)]
    async fn complete_submission(
        &self,
        instance_id: &str,
        household: HouseholdId,
        replaces: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await.map_err(db("begin submission"))?;
        if let Some(old) = replaces {
            let marked = sqlx::query(
                "UPDATE openrosa_submissions SET superseded_by = ? \
                 WHERE instance_id = ? AND superseded_by IS NULL",
            )
            .bind(instance_id)
            .bind(old)
            .execute(&mut *tx)
            .await
            .map_err(db("supersede submission"))?
            .rows_affected();
            if marked == 0 {
                return Ok(false);
            }
        }
        sqlx::query("UPDATE openrosa_submissions SET household_id = ? WHERE instance_id = ?")
            .bind(household.0)
            .bind(instance_id)
            .execute(&mut *tx)
            .await
            .map_err(db("complete submission"))?;
        tx.commit().await.map_err(db("commit submission"))?;
        Ok(true)
    }

    #[tracing::instrument(skip_all)]
    async fn release_submission(&self, instance_id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM openrosa_submissions WHERE instance_id = ? AND household_id IS NULL",
        )
        .bind(instance_id)
        .execute(&self.pool)
        .await
        .map_err(db("release submission"))?;
        Ok(())
    }
}
