//! Targeting weights, the households waiting for a programme at a site, and the lists printed.
//! The ranking itself is `peywand_store::targeting`'s; this module only reads and writes.

use async_trait::async_trait;
use chrono::NaiveDate;
use sqlx::Row;
use uuid::Uuid;

use peywand_domain::HouseholdId;
use peywand_store::assistance;
use peywand_store::{
    Actor, DistributionList, HouseholdRecord, StoreError, TargetingStore, Weights, WeightsRecord,
};

use crate::assistance::{family_distributions, programmes_in};
use crate::{PgStore, db};

fn json_err(e: serde_json::Error) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

#[async_trait]
impl TargetingStore for PgStore {
    async fn weights(&self) -> Result<WeightsRecord, StoreError> {
        let row = sqlx::query(
            "SELECT weights, set_by, set_at FROM targeting_weights ORDER BY seq DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read weights"))?;
        let Some(row) = row else {
            return Ok(WeightsRecord {
                weights: Weights::default(),
                set_by: None,
                set_at: None,
            });
        };
        let decode = || -> Result<WeightsRecord, sqlx::Error> {
            let text: String = row.try_get("weights")?;
            Ok(WeightsRecord {
                weights: serde_json::from_str(&text).map_err(json_err)?,
                set_by: Some(row.try_get("set_by")?),
                set_at: Some(row.try_get("set_at")?),
            })
        };
        decode().map_err(db("decode weights"))
    }

    async fn set_weights(
        &self,
        weights: &Weights,
        actor: &Actor,
    ) -> Result<WeightsRecord, StoreError> {
        let text = serde_json::to_string(weights)
            .map_err(json_err)
            .map_err(db("encode weights"))?;
        sqlx::query("INSERT INTO targeting_weights (weights, set_by, set_at) VALUES ($1, $2, $3)")
            .bind(text)
            .bind(&actor.username)
            .bind(actor.at)
            .execute(&self.pool)
            .await
            .map_err(db("save weights"))?;
        Ok(WeightsRecord {
            weights: *weights,
            set_by: Some(actor.username.clone()),
            set_at: Some(actor.at),
        })
    }

    async fn waiting_households(
        &self,
        site: &str,
        programme: Uuid,
        on: NaiveDate,
    ) -> Result<Vec<HouseholdRecord>, StoreError> {
        // One read transaction: the list is of one moment, not of a registry changing under it.
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(db("read waiting households"))?;
        let programmes = programmes_in(&mut tx).await?;
        let programme = programmes
            .iter()
            .find(|p| p.id == programme)
            .ok_or_else(|| StoreError::NotFound(format!("programme {programme}")))?;
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM households WHERE site_code = $1 ORDER BY registered_at, id",
        )
        .bind(site)
        .fetch_all(&mut *tx)
        .await
        .map_err(db("list a site's households"))?;
        let mut waiting = Vec::new();
        for id in ids {
            let household = HouseholdId(id);
            let received = family_distributions(&mut tx, household).await?;
            let Some(record) = self.read_household_in(&mut tx, household).await? else {
                continue;
            };
            if assistance::entitled(programme, &record, &received, 1, on).is_ok() {
                waiting.push(record);
            }
        }
        tx.commit().await.map_err(db("read waiting households"))?;
        Ok(waiting)
    }

    async fn save_list(&self, list: &DistributionList) -> Result<(), StoreError> {
        let weights = serde_json::to_string(&list.weights)
            .map_err(json_err)
            .map_err(db("encode a list"))?;
        let households = serde_json::to_string(&list.households)
            .map_err(json_err)
            .map_err(db("encode a list"))?;
        sqlx::query(
            "INSERT INTO distribution_lists (id, programme_id, site_code, ranked_on, weights, \
             households, printed_by, printed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(list.id)
        .bind(list.programme)
        .bind(&list.site_code)
        .bind(list.on)
        .bind(weights)
        .bind(households)
        .bind(&list.printed_by)
        .bind(list.printed_at)
        .execute(&self.pool)
        .await
        .map_err(db("save a list"))?;
        Ok(())
    }

    async fn distribution_list(&self, id: Uuid) -> Result<Option<DistributionList>, StoreError> {
        let row = sqlx::query(
            "SELECT id, programme_id, site_code, ranked_on, weights, households, printed_by, \
             printed_at FROM distribution_lists WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read a list"))?;
        let Some(row) = row else { return Ok(None) };
        let decode = || -> Result<DistributionList, sqlx::Error> {
            let weights: String = row.try_get("weights")?;
            let households: String = row.try_get("households")?;
            Ok(DistributionList {
                id: row.try_get("id")?,
                programme: row.try_get("programme_id")?,
                site_code: row.try_get("site_code")?,
                on: row.try_get("ranked_on")?,
                weights: serde_json::from_str(&weights).map_err(json_err)?,
                households: serde_json::from_str(&households).map_err(json_err)?,
                printed_by: row.try_get("printed_by")?,
                printed_at: row.try_get("printed_at")?,
            })
        };
        decode().map(Some).map_err(db("decode a list"))
    }
}
