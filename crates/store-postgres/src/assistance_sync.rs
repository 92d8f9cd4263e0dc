//! Assistance in the change log: a programme set and a distribution given are logged in the
//! transaction that writes them, and taken in when they arrive from another registry. Two
//! registries that both gave one family what the rule allows once, before they met, are not
//! refused after the fact (both were handed over): the later is flagged for the information
//! manager with the earlier, and left out of the reports' counts.

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use peywand_store::assistance::{self, assistance_change};
use peywand_store::sync::physical_ms;
use peywand_store::{Distribution, DoubledDistribution, Programme, StoreError};
use peywand_sync::{Change, ChangeKind};

use crate::assistance::{distribution_from, family_distributions, programmes_in};
use crate::sync::{insert_change, origin_and_clock, save_clock};
use crate::{PgStore, db};

fn body_err(e: serde_json::Error) -> StoreError {
    StoreError::db("read a received assistance change", e)
}

impl PgStore {
    /// Appends this registry's change for a programme set or a distribution given, in the
    /// transaction that wrote it.
    pub(crate) async fn log_assistance(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        kind: ChangeKind,
        entity: String,
        body: String,
    ) -> Result<(), StoreError> {
        let (origin, mut clock) = origin_and_clock(tx).await?;
        let (seq,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(seq), 0) + 1 FROM changes WHERE origin = $1")
                .bind(&origin)
                .fetch_one(&mut **tx)
                .await
                .map_err(db("number a change"))?;
        let at = clock.now(physical_ms());
        let change = assistance_change(&origin, seq, &at, kind, entity, body);
        insert_change(tx, &change, false).await?;
        save_clock(tx, &clock).await?;
        Ok(())
    }

    /// Takes in a programme or a distribution made elsewhere. A distribution whose household
    /// or programme has not arrived yet waits, and is taken in when they do.
    pub(crate) async fn apply_assistance(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        change: &Change,
    ) -> Result<(), StoreError> {
        match change.kind {
            ChangeKind::ProgrammeSet => {
                let p: Programme = serde_json::from_str(&change.body).map_err(body_err)?;
                insert_programme(tx, &p).await?;
            }
            ChangeKind::DistributionGiven => {
                sqlx::query("INSERT INTO distributions_waiting (id, body) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
                    .bind(change.id.to_string())
                    .bind(&change.body)
                    .execute(&mut **tx)
                    .await
                    .map_err(db("keep a received distribution"))?;
            }
            // Every other kind is taken by the change log's own rules.
            _ => {}
        }
        Ok(())
    }

    /// Takes in the received distributions whose household and programme are now held.
    pub(crate) async fn take_waiting_distributions(
        &self,
        tx: &mut Transaction<'_, Postgres>,
    ) -> Result<(), StoreError> {
        let waiting: Vec<(String, String)> =
            sqlx::query_as("SELECT id, body FROM distributions_waiting ORDER BY id")
                .fetch_all(&mut **tx)
                .await
                .map_err(db("read received distributions"))?;
        if waiting.is_empty() {
            return Ok(());
        }
        let programmes = programmes_in(tx).await?;
        for (id, body) in waiting {
            let d: Distribution = serde_json::from_str(&body).map_err(body_err)?;
            let Some(programme) = programmes.iter().find(|p| p.id == d.programme) else {
                continue;
            };
            let Some(household) = self.read_household_in(tx, d.household).await? else {
                continue;
            };
            let held = family_distributions(tx, d.household).await?;
            if !held.iter().any(|h| h.id == d.id) {
                insert_distribution(tx, &d).await?;
                for first in assistance::doubled(programme, &household, &held, &d) {
                    sqlx::query(
                        "INSERT INTO distributions_doubled (again_id, first_id, flagged_at) \
                         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(d.id)
                    .bind(first)
                    .bind(chrono::Utc::now())
                    .execute(&mut **tx)
                    .await
                    .map_err(db("flag a distribution given twice"))?;
                }
            }
            sqlx::query("DELETE FROM distributions_waiting WHERE id = $1")
                .bind(id)
                .execute(&mut **tx)
                .await
                .map_err(db("take a received distribution"))?;
        }
        Ok(())
    }

    pub(crate) async fn doubled(&self) -> Result<Vec<DoubledDistribution>, StoreError> {
        let pairs: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT again_id, first_id FROM distributions_doubled ORDER BY flagged_at DESC",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("read distributions given twice"))?;
        let mut out = Vec::new();
        for (again, first) in pairs {
            let (Some(again), Some(first)) = (
                self.one_distribution(again).await?,
                self.one_distribution(first).await?,
            ) else {
                continue;
            };
            out.push(DoubledDistribution { first, again });
        }
        Ok(out)
    }

    async fn one_distribution(&self, id: Uuid) -> Result<Option<Distribution>, StoreError> {
        let row = sqlx::query(
            "SELECT id, programme_id, household_id, kind, quantity, given_on, received_by, \
             site_code, given_by, recorded_at, override_reason FROM distributions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read a distribution"))?;
        row.as_ref()
            .map(distribution_from)
            .transpose()
            .map_err(db("decode a distribution"))
    }
}

async fn insert_programme(
    tx: &mut Transaction<'_, Postgres>,
    p: &Programme,
) -> Result<(), StoreError> {
    // The hub sets programmes: one received is taken as it is, even where it overlaps one set
    // here, which the hub would have refused.
    sqlx::query(
        "INSERT INTO assistance_programmes (id, name, kind, amount, currency, entitlement, \
         season_from, season_to, created_by, created_at, criterion_site, \
         criterion_arrived_after, criterion_vulnerable) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING",
    )
    .bind(p.id)
    .bind(&p.draft.name)
    .bind(p.draft.kind.code())
    .bind(p.draft.amount)
    .bind(&p.draft.currency)
    .bind(p.draft.entitlement.code())
    .bind(p.draft.season_from)
    .bind(p.draft.season_to)
    .bind(&p.created_by)
    .bind(p.created_at)
    .bind(&p.draft.criteria.registered_at)
    .bind(p.draft.criteria.arrived_after)
    .bind(p.draft.criteria.vulnerable)
    .execute(&mut **tx)
    .await
    .map_err(db("take a received programme"))?;
    Ok(())
}

async fn insert_distribution(
    tx: &mut Transaction<'_, Postgres>,
    d: &Distribution,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO distributions (id, programme_id, household_id, kind, quantity, given_on, \
         received_by, site_code, given_by, recorded_at, override_reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING",
    )
    .bind(d.id)
    .bind(d.programme)
    .bind(d.household.0)
    .bind(d.kind.code())
    .bind(i32::try_from(d.quantity).unwrap_or(i32::MAX))
    .bind(d.given_on)
    .bind(&d.received_by)
    .bind(&d.site_code)
    .bind(&d.given_by)
    .bind(d.recorded_at)
    .bind(&d.override_reason)
    .execute(&mut **tx)
    .await
    .map_err(db("take a received distribution"))?;
    Ok(())
}
