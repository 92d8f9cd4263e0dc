//! Flow-monitoring figures: the facts are read here, counted by `peywand_store::statistics`.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::TryStreamExt;
use sqlx::Row;

use peywand_domain::{CaseEventKind, CaseStatus, HouseholdId, Sex, TracingRequestId};
use peywand_store::statistics::{ArrivalFacts, FlowTally};
use peywand_store::{FlowStatistics, StatisticsStore, StatsFilter, StoreError};

use crate::{SqliteStore, db};

#[async_trait]
impl StatisticsStore for SqliteStore {
    async fn flow_statistics(&self, filter: &StatsFilter) -> Result<FlowStatistics, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db("read statistics"))?;
        let from = filter.from.map(|d| d.to_string());
        let to = filter.to.map(|d| d.to_string());
        let site = filter.site_code.as_deref();
        let mut tally = FlowTally::default();
        // One pass over the registrations matching the filter; the arrival day is the day
        // registered as typed, else the day the record was saved.
        let decode = db("decode statistics");
        {
            let mut rows = sqlx::query(
                "SELECT COALESCE(p.registered_on, substr(p.registered_at, 1, 10)) AS day, \
                        p.site_code, p.sex, p.age, p.birth_year_min, p.birth_year_max, \
                        p.vulnerabilities, p.household_id, h.destination_province, \
                        h.return_type, h.needs \
                 FROM persons p JOIN households h ON h.id = p.household_id \
                 WHERE (?1 IS NULL OR COALESCE(p.registered_on, substr(p.registered_at, 1, 10)) >= ?1) \
                   AND (?2 IS NULL OR COALESCE(p.registered_on, substr(p.registered_at, 1, 10)) <= ?2) \
                   AND (?3 IS NULL OR p.site_code = ?3)",
            )
            .bind(&from)
            .bind(&to)
            .bind(site)
            .fetch(&mut *conn);
            while let Some(r) = rows.try_next().await.map_err(db("read statistics"))? {
                let day: String = r.try_get("day").map_err(&decode)?;
                let Ok(day) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") else {
                    continue;
                };
                let sex: Option<String> = r.try_get("sex").map_err(&decode)?;
                tally.arrival(ArrivalFacts {
                    day,
                    site_code: r.try_get("site_code").map_err(&decode)?,
                    household: HouseholdId(r.try_get("household_id").map_err(&decode)?),
                    sex: sex.as_deref().and_then(Sex::from_code),
                    age: r.try_get("age").map_err(&decode)?,
                    birth_year_min: r.try_get("birth_year_min").map_err(&decode)?,
                    birth_year_max: r.try_get("birth_year_max").map_err(&decode)?,
                    vulnerabilities: r.try_get("vulnerabilities").map_err(&decode)?,
                    destination_province: r.try_get("destination_province").map_err(&decode)?,
                    return_type: r.try_get("return_type").map_err(&decode)?,
                    needs: r.try_get("needs").map_err(&decode)?,
                });
            }
        }
        let cases: Vec<(uuid::Uuid, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT id, status, created_at FROM tracing_requests \
             WHERE (?1 IS NULL OR substr(created_at, 1, 10) >= ?1) \
               AND (?2 IS NULL OR substr(created_at, 1, 10) <= ?2) \
               AND (?3 IS NULL OR site_code = ?3)",
        )
        .bind(&from)
        .bind(&to)
        .bind(site)
        .fetch_all(&mut *conn)
        .await
        .map_err(db("read tracing statistics"))?;
        for (id, status, opened) in cases {
            let status = CaseStatus::from_code(&status)
                .ok_or_else(|| StoreError::db("decode tracing statistics", "unknown status"))?;
            tally.case(TracingRequestId(id), status, opened);
        }
        let changes: Vec<(uuid::Uuid, DateTime<Utc>, String)> = sqlx::query_as(
            "SELECT e.request_id, e.at, e.event FROM case_events e \
             JOIN tracing_requests r ON r.id = e.request_id \
             WHERE e.kind = 'status_changed' \
               AND (?1 IS NULL OR substr(r.created_at, 1, 10) >= ?1) \
               AND (?2 IS NULL OR substr(r.created_at, 1, 10) <= ?2) \
               AND (?3 IS NULL OR r.site_code = ?3)",
        )
        .bind(&from)
        .bind(&to)
        .bind(site)
        .fetch_all(&mut *conn)
        .await
        .map_err(db("read tracing statistics"))?;
        for (id, at, event) in changes {
            let event: CaseEventKind = serde_json::from_str(&event)
                .map_err(|e| StoreError::db("decode tracing statistics", e))?;
            tally.case_event(TracingRequestId(id), at, &event);
        }
        Ok(tally.finish())
    }
}
