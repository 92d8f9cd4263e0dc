//! The audit chain.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Postgres, QueryBuilder, Row};
use tokio::sync::mpsc;

use peywand_access::audit::{self, AuditEntry, AuditEvent};
use peywand_store::{AuditFilter, AuditStore, Page, Paged, StoreError};

use crate::{PgStore, db};

/// The advisory lock appends to the audit chain take turns on ("PWAUDIT" in ASCII).
const AUDIT_LOCK: i64 = 0x0050_5741_5544_4954;

#[async_trait]
impl AuditStore for PgStore {
    async fn append_audit(&self, e: &AuditEvent) -> Result<AuditEntry, StoreError> {
        // Appends take turns, across every server on the hub: two appends cannot both read
        // the same last entry. The lock ends with the transaction.
        let mut tx = self.begin().await.map_err(db("append to the audit log"))?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(AUDIT_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db("append to the audit log"))?;
        let last: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await
                .map_err(db("append to the audit log"))?;
        let (seq, prev_hash) = match last {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, audit::GENESIS.to_string()),
        };
        let hash = audit::chain_hash(seq, &prev_hash, e);
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, action, target, purpose, origin, outcome, \
             prev_hash, hash, query, records_shown) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(seq)
        .bind(audit::timestamp(&e.at))
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.target)
        .bind(&e.purpose)
        .bind(&e.origin)
        .bind(&e.outcome)
        .bind(&prev_hash)
        .bind(&hash)
        .bind(&e.query)
        .bind(serde_json::to_string(&e.records_shown).unwrap_or_else(|_| "[]".into()))
        .execute(&mut *tx)
        .await
        .map_err(db("append to the audit log"))?;
        for record in &e.records_shown {
            sqlx::query(
                "INSERT INTO audit_records_shown (record_id, seq) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(record)
            .bind(seq)
            .execute(&mut *tx)
            .await
            .map_err(db("append to the audit log"))?;
        }
        let entry = AuditEntry {
            seq,
            event: e.clone(),
            prev_hash,
            hash,
        };
        // A site's audit trail reaches the hub with its other changes; the hub's stays there.
        crate::sync::log_audit(&mut tx, &entry).await?;
        tx.commit().await.map_err(db("append to the audit log"))?;
        Ok(entry)
    }
    async fn audit_entries(
        &self,
        f: &AuditFilter,
        page: Page,
    ) -> Result<Paged<AuditEntry>, StoreError> {
        let filtered = |select: &str| {
            let mut q = QueryBuilder::<Postgres>::new(select);
            q.push(" WHERE 1 = 1");
            if let Some(a) = &f.actor {
                q.push(" AND actor = ").push_bind(a.clone());
            }
            if let Some(a) = &f.action {
                q.push(" AND action = ").push_bind(a.clone());
            }
            if let Some(t) = &f.target {
                q.push(" AND target = ").push_bind(t.clone());
            }
            if let Some(r) = &f.record_shown {
                q.push(" AND seq IN (SELECT seq FROM audit_records_shown WHERE record_id = ")
                    .push_bind(r.clone())
                    .push(")");
            }
            if let Some(from) = f.from {
                q.push(" AND at >= ").push_bind(audit::timestamp(&from));
            }
            if let Some(to) = f.to {
                q.push(" AND at <= ").push_bind(audit::timestamp(&to));
            }
            q
        };
        let total: i64 = filtered("SELECT count(*) FROM audit_log")
            .build_query_scalar()
            .fetch_one(&self.pool)
            .await
            .map_err(db("count audit entries"))?;
        let mut q = filtered(&format!("SELECT {AUDIT_COLUMNS} FROM audit_log"));
        q.push(" ORDER BY seq DESC LIMIT ")
            .push_bind(page.limit as i64)
            .push(" OFFSET ")
            .push_bind(page.offset as i64);
        let rows = q
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(db("read audit entries"))?;
        Ok(Paged {
            items: rows.iter().map(audit_from_row).collect::<Result<_, _>>()?,
            total: total as u64,
            offset: page.offset,
            limit: page.limit,
        })
    }
    async fn audit_chain(&self, sink: mpsc::Sender<AuditEntry>) -> Result<u64, StoreError> {
        let mut stream = sqlx::query(AssertSqlSafe(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq"
        )))
        .fetch(&self.pool);
        let mut n = 0;
        while let Some(row) = stream.try_next().await.map_err(db("read the audit log"))? {
            if sink.send(audit_from_row(&row)?).await.is_err() {
                break;
            }
            n += 1;
        }
        Ok(n)
    }
}

const AUDIT_COLUMNS: &str = "seq, at, actor, action, target, purpose, origin, outcome, prev_hash, hash, query, records_shown";

fn audit_from_row(r: &PgRow) -> Result<AuditEntry, StoreError> {
    let decode = db("decode an audit entry");
    let at: String = r.try_get("at").map_err(&decode)?;
    // A timestamp that does not parse is kept as the epoch: verification then reports the
    // entry as altered instead of failing to read the log.
    let at = DateTime::parse_from_rfc3339(&at)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default();
    Ok(AuditEntry {
        seq: r.try_get("seq").map_err(&decode)?,
        event: AuditEvent {
            at,
            actor: r.try_get("actor").map_err(&decode)?,
            action: r.try_get("action").map_err(&decode)?,
            target: r.try_get("target").map_err(&decode)?,
            purpose: r.try_get("purpose").map_err(&decode)?,
            origin: r.try_get("origin").map_err(&decode)?,
            outcome: r.try_get("outcome").map_err(&decode)?,
            query: r.try_get("query").map_err(&decode)?,
            // A list that does not parse reads as none: verification then reports the entry
            // as altered.
            records_shown: serde_json::from_str(
                &r.try_get::<String, _>("records_shown").map_err(&decode)?,
            )
            .unwrap_or_default(),
        },
        prev_hash: r.try_get("prev_hash").map_err(&decode)?,
        hash: r.try_get("hash").map_err(&decode)?,
    })
}
