//! Programmes and distributions. The rules come from `peywand_store::assistance`; this module
//! reads what they need and writes what they allow, in one transaction holding an advisory lock
//! per programme, so that two distributions of one programme take turns across the hub's servers.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row, Transaction};
use uuid::Uuid;

use peywand_domain::HouseholdId;
use peywand_store::assistance::{self, AssistanceKind, Criteria, Entitlement};
use peywand_store::{
    Actor, AssistanceStore, Conflict, Distribution, DistributionDay, DistributionDraft,
    DistributionFilter, DoubledDistribution, Plan, Programme, ProgrammeDraft, StockLine,
    StockReceipt, StoreError,
};

use crate::{PgStore, db};

/// The advisory lock programmes are set under ("PWPROGRM" in ASCII).
const PROGRAMMES_LOCK: i64 = 0x5057_5052_4F47_524D;
/// The advisory lock distributions are recorded under ("PWDISTRB" in ASCII).
const DISTRIBUTIONS_LOCK: i64 = 0x5057_4449_5354_5242;

const PROGRAMME_COLUMNS: &str = "SELECT id, name, kind, amount, currency, entitlement, \
     season_from, season_to, created_by, created_at, criterion_site, criterion_arrived_after, \
     criterion_vulnerable FROM assistance_programmes ORDER BY season_from DESC, id";

/// The distributions of a household and of every household one of whose members shares an
/// identity with one of its members (two bindings of the household id).
const FAMILY_DISTRIBUTIONS: &str = "SELECT id, programme_id, household_id, kind, quantity, \
     given_on, received_by, site_code, given_by, recorded_at, override_reason \
     FROM distributions WHERE household_id = $1 OR household_id IN ( \
       SELECT p.household_id FROM identities i \
       JOIN persons p ON p.record_id = i.record_id \
       WHERE i.identity IN ( \
         SELECT i1.identity FROM identities i1 JOIN persons m ON m.record_id = i1.record_id \
         WHERE m.household_id = $2)) \
     ORDER BY given_on, recorded_at";

fn bad(what: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unknown {what}").into())
}

fn programme_from(r: &PgRow) -> Result<Programme, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    let entitlement: String = r.try_get("entitlement")?;
    Ok(Programme {
        id: r.try_get("id")?,
        draft: ProgrammeDraft {
            name: r.try_get("name")?,
            kind: AssistanceKind::from_code(&kind).ok_or_else(|| bad("assistance kind"))?,
            amount: r.try_get("amount")?,
            currency: r.try_get("currency")?,
            entitlement: Entitlement::from_code(&entitlement).ok_or_else(|| bad("entitlement"))?,
            season_from: r.try_get("season_from")?,
            season_to: r.try_get("season_to")?,
            criteria: Criteria {
                registered_at: r.try_get("criterion_site")?,
                arrived_after: r.try_get("criterion_arrived_after")?,
                vulnerable: r.try_get("criterion_vulnerable")?,
            },
        },
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

pub(crate) fn distribution_from(r: &PgRow) -> Result<Distribution, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    let quantity: i32 = r.try_get("quantity")?;
    Ok(Distribution {
        id: r.try_get("id")?,
        programme: r.try_get("programme_id")?,
        household: HouseholdId(r.try_get::<Uuid, _>("household_id")?),
        kind: AssistanceKind::from_code(&kind).ok_or_else(|| bad("assistance kind"))?,
        quantity: u32::try_from(quantity).map_err(|_| bad("quantity"))?,
        given_on: r.try_get("given_on")?,
        received_by: r.try_get("received_by")?,
        site_code: r.try_get("site_code")?,
        given_by: r.try_get("given_by")?,
        recorded_at: r.try_get("recorded_at")?,
        override_reason: r.try_get("override_reason")?,
    })
}

pub(crate) async fn programmes_in(
    tx: &mut Transaction<'_, Postgres>,
) -> Result<Vec<Programme>, StoreError> {
    let rows = sqlx::query(PROGRAMME_COLUMNS)
        .fetch_all(&mut **tx)
        .await
        .map_err(db("read programmes"))?;
    rows.iter()
        .map(programme_from)
        .collect::<Result<_, _>>()
        .map_err(db("decode programmes"))
}

pub(crate) async fn family_distributions(
    tx: &mut Transaction<'_, Postgres>,
    household: HouseholdId,
) -> Result<Vec<Distribution>, StoreError> {
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM households WHERE id = $1")
        .bind(household.0)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db("find a household"))?;
    if found.is_none() {
        return Err(StoreError::NotFound(format!("household {household}")));
    }
    let rows = sqlx::query(FAMILY_DISTRIBUTIONS)
        .bind(household.0)
        .bind(household.0)
        .fetch_all(&mut **tx)
        .await
        .map_err(db("read distributions"))?;
    rows.iter()
        .map(distribution_from)
        .collect::<Result<_, _>>()
        .map_err(db("decode distributions"))
}

#[async_trait]
impl AssistanceStore for PgStore {
    async fn create_programme(
        &self,
        draft: &ProgrammeDraft,
        actor: &Actor,
    ) -> Result<Programme, StoreError> {
        let mut tx = self.begin().await.map_err(db("begin a programme"))?;
        // Programmes are set one at a time, so that two overlapping ones cannot both pass.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PROGRAMMES_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db("begin a programme"))?;
        if programmes_in(&mut tx)
            .await?
            .iter()
            .any(|p| draft.overlaps(p))
        {
            return Err(StoreError::Conflict(Conflict::ProgrammeOverlaps {
                kind: draft.kind.code().to_string(),
            }));
        }
        let programme = Programme {
            id: Uuid::now_v7(),
            draft: draft.clone(),
            created_by: actor.username.clone(),
            created_at: actor.at,
        };
        sqlx::query(
            "INSERT INTO assistance_programmes (id, name, kind, amount, currency, entitlement, \
             season_from, season_to, created_by, created_at, criterion_site, \
             criterion_arrived_after, criterion_vulnerable) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(programme.id)
        .bind(&draft.name)
        .bind(draft.kind.code())
        .bind(draft.amount)
        .bind(&draft.currency)
        .bind(draft.entitlement.code())
        .bind(draft.season_from)
        .bind(draft.season_to)
        .bind(&programme.created_by)
        .bind(programme.created_at)
        .bind(&draft.criteria.registered_at)
        .bind(draft.criteria.arrived_after)
        .bind(draft.criteria.vulnerable)
        .execute(&mut *tx)
        .await
        .map_err(db("save a programme"))?;
        // Sites give under the hub's programmes: the programme goes in the change log.
        let body =
            serde_json::to_string(&programme).map_err(|e| StoreError::db("log a programme", e))?;
        self.log_assistance(
            &mut tx,
            peywand_sync::ChangeKind::ProgrammeSet,
            programme.id.to_string(),
            body,
        )
        .await?;
        tx.commit().await.map_err(db("commit a programme"))?;
        Ok(programme)
    }

    async fn programmes(&self) -> Result<Vec<Programme>, StoreError> {
        let rows = sqlx::query(PROGRAMME_COLUMNS)
            .fetch_all(&self.pool)
            .await
            .map_err(db("read programmes"))?;
        rows.iter()
            .map(programme_from)
            .collect::<Result<_, _>>()
            .map_err(db("decode programmes"))
    }

    async fn record_distribution(
        &self,
        draft: &DistributionDraft,
        actor: &Actor,
    ) -> Result<Distribution, StoreError> {
        // Distributions take turns, across every server on the hub: a second officer's
        // distribution reads after the first one's is committed. One lock for all of them,
        // not one per household: one family may be two households, registered at two sites,
        // and both must wait on the same lock. Each holds it for a few milliseconds.
        let mut tx = self.begin().await.map_err(db("begin a distribution"))?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(DISTRIBUTIONS_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db("begin a distribution"))?;
        let received = family_distributions(&mut tx, draft.household).await?;
        let household = self
            .read_household_in(&mut tx, draft.household)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("household {}", draft.household)))?;
        let programmes = programmes_in(&mut tx).await?;
        let d = assistance::decide(&programmes, &household, &received, draft, actor)
            .map_err(StoreError::Conflict)?;
        sqlx::query(
            "INSERT INTO distributions (id, programme_id, household_id, kind, quantity, \
             given_on, received_by, site_code, given_by, recorded_at, override_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
        .execute(&mut *tx)
        .await
        .map_err(db("save a distribution"))?;
        // In the same transaction: a distribution is never given without the hub learning
        // of it at the next sync.
        let body =
            serde_json::to_string(&d).map_err(|e| StoreError::db("log a distribution", e))?;
        self.log_assistance(
            &mut tx,
            peywand_sync::ChangeKind::DistributionGiven,
            d.household.to_string(),
            body,
        )
        .await?;
        tx.commit().await.map_err(db("commit a distribution"))?;
        Ok(d)
    }

    async fn household_distributions(
        &self,
        household: HouseholdId,
    ) -> Result<Vec<Distribution>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db("read distributions"))?;
        let found = family_distributions(&mut tx, household).await?;
        tx.commit().await.map_err(db("read distributions"))?;
        Ok(found)
    }

    async fn set_plan(&self, plan: &Plan, actor: &Actor) -> Result<(), StoreError> {
        let known = self
            .programmes()
            .await?
            .iter()
            .any(|p| p.id == plan.programme);
        if !known {
            return Err(StoreError::NotFound(format!(
                "programme {}",
                plan.programme
            )));
        }
        sqlx::query(
            "INSERT INTO assistance_plans (programme_id, site_code, planned, set_by, set_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (programme_id, site_code) DO UPDATE \
             SET planned = excluded.planned, set_by = excluded.set_by, set_at = excluded.set_at",
        )
        .bind(plan.programme)
        .bind(&plan.site_code)
        .bind(i64::from(plan.planned))
        .bind(&actor.username)
        .bind(actor.at)
        .execute(&self.pool)
        .await
        .map_err(db("save a plan"))?;
        Ok(())
    }

    async fn receive_stock(&self, receipt: &StockReceipt, actor: &Actor) -> Result<(), StoreError> {
        let known = self
            .programmes()
            .await?
            .iter()
            .any(|p| p.id == receipt.programme);
        if !known {
            return Err(StoreError::NotFound(format!(
                "programme {}",
                receipt.programme
            )));
        }
        sqlx::query(
            "INSERT INTO stock_receipts (id, programme_id, site_code, quantity, received_on, \
             recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uuid::now_v7())
        .bind(receipt.programme)
        .bind(&receipt.site_code)
        .bind(i64::from(receipt.quantity))
        .bind(receipt.received_on)
        .bind(&actor.username)
        .bind(actor.at)
        .execute(&self.pool)
        .await
        .map_err(db("save stock received"))?;
        Ok(())
    }

    async fn stock(&self) -> Result<Vec<StockLine>, StoreError> {
        let programmes = self.programmes().await?;
        let sums = |sql: &'static str| async move {
            let rows = sqlx::query(sql)
                .fetch_all(&self.pool)
                .await
                .map_err(db("read stock"))?;
            rows.iter()
                .map(|r| -> Result<(Uuid, String, u64), sqlx::Error> {
                    let n: i64 = r.try_get(2)?;
                    Ok((r.try_get(0)?, r.try_get(1)?, u64::try_from(n).unwrap_or(0)))
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(db("decode stock"))
        };
        let plans = sums("SELECT programme_id, site_code, planned FROM assistance_plans").await?;
        let received = sums(
            "SELECT programme_id, site_code, CAST(SUM(quantity) AS BIGINT) FROM stock_receipts \
             GROUP BY programme_id, site_code",
        )
        .await?;
        let given = sums(
            "SELECT programme_id, COALESCE(site_code, ''), CAST(SUM(quantity) AS BIGINT) FROM distributions \
             GROUP BY programme_id, COALESCE(site_code, '')",
        )
        .await?;
        Ok(assistance::stock_lines(
            &programmes,
            &plans,
            &received,
            &given,
        ))
    }

    async fn distribution_days(&self) -> Result<Vec<DistributionDay>, StoreError> {
        let rows = sqlx::query(
            "SELECT programme_id, kind, COALESCE(site_code, '') AS site, given_on, \
             CAST(COUNT(*) AS BIGINT) AS households, CAST(SUM(quantity) AS BIGINT) AS quantity FROM distributions \
             WHERE id NOT IN (SELECT again_id FROM distributions_doubled) \
             GROUP BY programme_id, kind, COALESCE(site_code, ''), given_on \
             ORDER BY given_on, site, kind",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("read distributions per day"))?;
        rows.iter()
            .map(|r| -> Result<DistributionDay, sqlx::Error> {
                let kind: String = r.try_get("kind")?;
                let households: i64 = r.try_get("households")?;
                let quantity: i64 = r.try_get("quantity")?;
                Ok(DistributionDay {
                    programme: r.try_get("programme_id")?,
                    kind: AssistanceKind::from_code(&kind).ok_or_else(|| bad("assistance kind"))?,
                    site_code: r.try_get("site")?,
                    given_on: r.try_get("given_on")?,
                    households: u64::try_from(households).unwrap_or(0),
                    quantity: u64::try_from(quantity).unwrap_or(0),
                })
            })
            .collect::<Result<_, _>>()
            .map_err(db("decode distributions per day"))
    }

    async fn distributions(
        &self,
        filter: &DistributionFilter,
    ) -> Result<Vec<(Distribution, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, d.programme_id, d.household_id, d.kind, d.quantity, d.given_on, \
             d.received_by, d.site_code, d.given_by, d.recorded_at, d.override_reason, \
             h.reference FROM distributions d JOIN households h ON h.id = d.household_id \
             WHERE ($1::text IS NULL OR d.site_code = $1) AND ($2::date IS NULL OR d.given_on >= $2) AND ($3::date IS NULL OR d.given_on <= $3) \
             ORDER BY d.given_on, d.recorded_at, d.id",
        )
        .bind(&filter.site_code)
        .bind(filter.from)
        .bind(filter.to)
        .fetch_all(&self.pool)
        .await
        .map_err(db("list distributions"))?;
        rows.iter()
            .map(|r| Ok((distribution_from(r)?, r.try_get("reference")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db("decode distributions"))
    }

    async fn doubled_distributions(&self) -> Result<Vec<DoubledDistribution>, StoreError> {
        self.doubled().await
    }
}
