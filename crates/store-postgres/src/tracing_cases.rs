//! Tracing cases: requests, candidates, decisions, steps, links and PFIF records. Each action
//! reads the case in a write transaction, asks `peywand_store::cases` what changes, and writes
//! those changes with [`apply`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use peywand_domain::{
    CandidateStatus, CaseEvent, CaseEventKind, CaseStatus, PfifNote, PfifPartner, PfifPerson,
    Priority, RecordId, ReunificationStep, ReunificationStepDraft, TracingCandidate,
    TracingRequest, TracingRequestDraft, TracingRequestId,
};
use peywand_store::cases::{self, CaseChange};
use peywand_store::sync::Logged;
use peywand_store::{
    Actor, DeathReport, LinkAcrossSites, Page, Paged, PfifImported, RegisteredShare, RequestLink,
    StoreError, TracingCase, TracingStore, may_write_case, note_about_unknown_person,
};

use crate::{PgStore, db};

/// A case's id as the database stores it.
fn key(id: TracingRequestId) -> uuid::Uuid {
    id.0
}

#[async_trait]
impl TracingStore for PgStore {
    async fn create_tracing_request(
        &self,
        draft: &TracingRequestDraft,
        actor: &Actor,
    ) -> Result<TracingRequest, StoreError> {
        let mut tx = self.begin().await.map_err(db("begin a request"))?;
        let request = insert_request(&mut tx, draft, actor, "").await?;
        tx.commit().await.map_err(db("commit a request"))?;
        Ok(request)
    }

    async fn tracing_case(&self, id: TracingRequestId) -> Result<Option<TracingCase>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db("read a case"))?;
        read_case(&mut conn, id).await
    }

    async fn tracing_requests(
        &self,
        status: Option<CaseStatus>,
        site_code: Option<&str>,
        assigned_to: Option<&str>,
        page: Page,
    ) -> Result<Paged<TracingRequest>, StoreError> {
        let code = status.map(CaseStatus::code);
        let total: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM tracing_requests WHERE ($1::text IS NULL OR status = $1) \
             AND ($2::text IS NULL OR site_code IS NULL OR site_code = $2) \
             AND ($3::text IS NULL OR assigned_to = $3)",
        )
        .bind(code)
        .bind(site_code)
        .bind(assigned_to)
        .fetch_one(&self.pool)
        .await
        .map_err(db("count requests"))?;
        let rows = sqlx::query(
            "SELECT id, draft, priority, status, created_by, created_at, assigned_to \
             FROM tracing_requests \
             WHERE ($1::text IS NULL OR status = $1) \
               AND ($2::text IS NULL OR site_code IS NULL OR site_code = $2) \
               AND ($3::text IS NULL OR assigned_to = $3) \
             ORDER BY CASE priority WHEN 'urgent' THEN 0 ELSE 1 END, created_at LIMIT $4 OFFSET $5",
        )
        .bind(code)
        .bind(site_code)
        .bind(assigned_to)
        .bind(page.limit as i64)
        .bind(page.offset as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db("list requests"))?;
        Ok(Paged {
            items: rows
                .iter()
                .map(request_from_row)
                .collect::<Result<_, _>>()?,
            total: total as u64,
            offset: page.offset,
            limit: page.limit,
        })
    }

    async fn offer_candidates(
        &self,
        id: TracingRequestId,
        found: &[(RecordId, f64)],
        actor: &Actor,
    ) -> Result<u64, StoreError> {
        let mut tx = self
            .begin()
            .await
            .map_err(db("begin offering candidates"))?;
        lock_case(&mut tx, id).await?;
        let case = read_case(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("tracing request {id}")))?;
        // A registration erased since matching found it is not offered.
        let mut existing = Vec::with_capacity(found.len());
        for (record_id, score) in found {
            let held: Option<i64> =
                sqlx::query_scalar("SELECT 1::bigint FROM persons WHERE record_id = $1")
                    .bind(record_id.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db("offer a candidate"))?;
            if held.is_some() {
                existing.push((record_id.clone(), *score));
            }
        }
        let changes = cases::offer(&case, &existing);
        apply(&mut tx, id, actor, &changes).await?;
        tx.commit().await.map_err(db("commit candidates"))?;
        Ok(cases::offered(&changes))
    }

    async fn links_across_sites(&self) -> Result<Vec<LinkAcrossSites>, StoreError> {
        // Each link is stored both ways; one way is listed.
        sqlx::query(
            "SELECT l.request_id, a.site_code, l.other_id, b.site_code AS other_site_code, \
             l.score, l.found_at FROM request_links l \
             JOIN tracing_requests a ON a.id = l.request_id \
             JOIN tracing_requests b ON b.id = l.other_id \
             WHERE a.site_code IS DISTINCT FROM b.site_code AND l.request_id < l.other_id \
             ORDER BY l.found_at DESC",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("read links across sites"))?
        .iter()
        .map(|r| {
            Ok(LinkAcrossSites {
                request_id: TracingRequestId(r.try_get("request_id")?),
                site_code: r.try_get("site_code")?,
                other_id: TracingRequestId(r.try_get("other_id")?),
                other_site_code: r.try_get("other_site_code")?,
                score: r.try_get("score")?,
                found_at: r.try_get("found_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(db("decode links across sites"))
    }

    async fn link_requests(
        &self,
        a: TracingRequestId,
        b: TracingRequestId,
        score: f64,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await.map_err(db("begin linking requests"))?;
        let mut new = false;
        for (this, other) in [(a, b), (b, a)] {
            let done = sqlx::query(
                "INSERT INTO request_links (request_id, other_id, score, found_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (request_id, other_id) DO NOTHING",
            )
            .bind(key(this))
            .bind(key(other))
            .bind(score)
            .bind(actor.at)
            .execute(&mut *tx)
            .await
            .map_err(db("link requests"))?;
            if done.rows_affected() > 0 {
                new = true;
                apply(
                    &mut tx,
                    this,
                    actor,
                    &[cases::counterpart_found(other, score)],
                )
                .await?;
            }
        }
        tx.commit().await.map_err(db("commit linking requests"))?;
        Ok(new)
    }

    async fn decide_candidate(
        &self,
        id: TracingRequestId,
        record_id: &RecordId,
        status: CandidateStatus,
        actor: &Actor,
        reason: &str,
    ) -> Result<TracingCase, StoreError> {
        self.change_case(id, actor, "a decision", |case| {
            cases::decide_candidate(case, record_id, status, reason)
        })
        .await
    }

    async fn move_case(
        &self,
        id: TracingRequestId,
        to: CaseStatus,
        actor: &Actor,
        reason: &str,
    ) -> Result<TracingCase, StoreError> {
        self.change_case(id, actor, "moving a case", |case| {
            cases::move_case(case, to, reason)
        })
        .await
    }

    async fn record_reunification_step(
        &self,
        id: TracingRequestId,
        step: &ReunificationStepDraft,
        actor: &Actor,
    ) -> Result<TracingCase, StoreError> {
        self.change_case(id, actor, "a reunification step", |case| {
            cases::record_step(case, step)
        })
        .await
    }

    async fn assign_case(
        &self,
        id: TracingRequestId,
        caseworker: Option<&str>,
        actor: &Actor,
    ) -> Result<TracingCase, StoreError> {
        self.change_case(id, actor, "assigning a case", |case| {
            Ok(cases::assign(case, caseworker))
        })
        .await
    }

    async fn import_pfif(
        &self,
        persons: &[(PfifPerson, TracingRequestDraft)],
        notes: &[PfifNote],
        scope: Option<&str>,
        actor: &Actor,
    ) -> Result<PfifImported, StoreError> {
        let mut tx = self.begin().await.map_err(db("begin a PFIF import"))?;
        let mut imported = PfifImported::default();
        for (person, draft) in persons {
            if let Some(site) = pfif_person_site(&mut tx, person.record_id()).await? {
                imported.persons_already_present += 1;
                if !may_write_case(scope, site.as_deref()) {
                    imported.notes_out_of_scope += person.notes.len() as u64;
                    continue;
                }
            } else {
                let request = insert_request(&mut tx, draft, actor, "imported from PFIF").await?;
                let fields = serde_json::to_string(&person.fields)
                    .map_err(|e| StoreError::db("store a PFIF person", e))?;
                sqlx::query(
                    "INSERT INTO pfif_persons (person_record_id, request_id, fields, imported_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(person.record_id())
                .bind(key(request.id))
                .bind(fields)
                .bind(actor.at)
                .execute(&mut *tx)
                .await
                .map_err(db("store a PFIF person"))?;
                imported.new_requests.push(request.id);
            }
            for note in &person.notes {
                insert_pfif_note(&mut tx, note, actor.at, &mut imported).await?;
            }
        }
        for note in notes {
            let site = pfif_person_site(&mut tx, note.field("person_record_id")).await?;
            if !site.is_some_and(|site| may_write_case(scope, site.as_deref())) {
                return Err(note_about_unknown_person(note));
            }
            insert_pfif_note(&mut tx, note, actor.at, &mut imported).await?;
        }
        tx.commit().await.map_err(db("commit a PFIF import"))?;
        Ok(imported)
    }
    async fn pfif_cases(&self) -> Result<Vec<(TracingCase, Option<PfifPerson>)>, StoreError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(db("read cases for PFIF"))?;
        let ids: Vec<(uuid::Uuid,)> =
            sqlx::query_as("SELECT id FROM tracing_requests ORDER BY created_at, id")
                .fetch_all(&mut *conn)
                .await
                .map_err(db("read cases for PFIF"))?;
        let mut out = Vec::with_capacity(ids.len());
        for (id,) in ids {
            let Some(case) = read_case(&mut conn, TracingRequestId(id)).await? else {
                continue;
            };
            let person: Option<(String, String)> = sqlx::query_as(
                "SELECT person_record_id, fields FROM pfif_persons WHERE request_id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db("read a PFIF person"))?;
            let person = match person {
                None => None,
                Some((record_id, fields)) => {
                    let notes: Vec<(String,)> = sqlx::query_as(
                        "SELECT fields FROM pfif_notes WHERE person_record_id = $1 \
                         AND (NOT death_report OR death_verified_at IS NOT NULL) ORDER BY seq",
                    )
                    .bind(&record_id)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db("read PFIF notes"))?;
                    let decode = |e| StoreError::db("decode a PFIF record", e);
                    Some(PfifPerson {
                        fields: serde_json::from_str(&fields).map_err(decode)?,
                        notes: notes
                            .into_iter()
                            .map(|(f,)| serde_json::from_str(&f).map(|fields| PfifNote { fields }))
                            .collect::<Result<_, _>>()
                            .map_err(decode)?,
                    })
                }
            };
            out.push((case, person));
        }
        Ok(out)
    }

    async fn death_reports(&self, id: TracingRequestId) -> Result<Vec<DeathReport>, StoreError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(db("read death reports"))?;
        death_reports_of(&mut conn, id, None).await
    }

    async fn verify_death_report(
        &self,
        id: TracingRequestId,
        note_record_id: &str,
        actor: &Actor,
    ) -> Result<DeathReport, StoreError> {
        let mut tx = self.begin().await.map_err(db("verify a death report"))?;
        sqlx::query(
            "UPDATE pfif_notes SET death_verified_by = $1, death_verified_at = $2 \
             WHERE note_record_id = $3 AND death_report AND death_verified_at IS NULL \
             AND person_record_id IN (SELECT person_record_id FROM pfif_persons WHERE request_id = $4)",
        )
        .bind(&actor.username)
        .bind(actor.at)
        .bind(note_record_id)
        .bind(key(id))
        .execute(&mut *tx)
        .await
        .map_err(db("verify a death report"))?;
        let report = death_reports_of(&mut tx, id, Some(note_record_id))
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("death report {note_record_id}")))?;
        tx.commit().await.map_err(db("verify a death report"))?;
        Ok(report)
    }

    async fn set_pfif_partner(
        &self,
        token_id: &str,
        partner: &PfifPartner,
    ) -> Result<(), StoreError> {
        let domains = serde_json::to_string(&partner.domains)
            .map_err(|e| StoreError::db("store a PFIF partner", e))?;
        let mut tx = self.begin().await.map_err(db("store a PFIF partner"))?;
        let token: Option<(String,)> = sqlx::query_as("SELECT id FROM api_tokens WHERE id = $1")
            .bind(token_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("store a PFIF partner"))?;
        if token.is_none() {
            return Err(StoreError::NotFound(format!("token {token_id}")));
        }
        sqlx::query(
            "INSERT INTO pfif_partners (token_id, domains, may_report_death) VALUES ($1, $2, $3) \
             ON CONFLICT (token_id) DO UPDATE SET domains = excluded.domains, \
             may_report_death = excluded.may_report_death",
        )
        .bind(token_id)
        .bind(domains)
        .bind(partner.may_report_death)
        .execute(&mut *tx)
        .await
        .map_err(db("store a PFIF partner"))?;
        tx.commit().await.map_err(db("store a PFIF partner"))?;
        Ok(())
    }

    async fn pfif_partner(&self, token_digest: &str) -> Result<Option<PfifPartner>, StoreError> {
        let row: Option<(String, bool)> = sqlx::query_as(
            "SELECT p.domains, p.may_report_death FROM pfif_partners p \
             JOIN api_tokens t ON t.id = p.token_id WHERE t.digest = $1 AND t.revoked_at IS NULL",
        )
        .bind(token_digest)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read a PFIF partner"))?;
        row.map(|(domains, may_report_death)| {
            Ok(PfifPartner {
                domains: serde_json::from_str(&domains)
                    .map_err(|e| StoreError::db("decode a PFIF partner", e))?,
                may_report_death,
            })
        })
        .transpose()
    }

    async fn registered_share(&self) -> Result<RegisteredShare, StoreError> {
        let set: Option<(f64, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT share, set_by, set_at FROM tracing_registered_share ORDER BY seq DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read the share of people sought who registered"))?;
        let cases: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM tracing_requests GROUP BY status")
                .fetch_all(&self.pool)
                .await
                .map_err(db("count the cases that ended"))?;
        Ok(RegisteredShare::new(set, cases))
    }

    async fn set_registered_share(
        &self,
        share: f64,
        actor: &Actor,
    ) -> Result<RegisteredShare, StoreError> {
        sqlx::query(
            "INSERT INTO tracing_registered_share (share, set_by, set_at) VALUES ($1, $2, $3)",
        )
        .bind(share)
        .bind(&actor.username)
        .bind(actor.at)
        .execute(&self.pool)
        .await
        .map_err(db("save the share of people sought who registered"))?;
        self.registered_share().await
    }
}

impl PgStore {
    /// Reads a case in a write transaction, asks `rule` what changes, writes it and returns the
    /// case as it now is: all of it, or nothing when the rule refuses.
    async fn change_case(
        &self,
        id: TracingRequestId,
        actor: &Actor,
        what: &'static str,
        rule: impl FnOnce(&TracingCase) -> Result<Vec<CaseChange>, StoreError> + Send,
    ) -> Result<TracingCase, StoreError> {
        let mut tx = self.begin().await.map_err(db(what))?;
        lock_case(&mut tx, id).await?;
        let case = read_case(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("tracing request {id}")))?;
        let changes = rule(&case)?;
        apply(&mut tx, id, actor, &changes).await?;
        let case = read_case(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("tracing request {id}")))?;
        tx.commit().await.map_err(db(what))?;
        Ok(case)
    }
}

/// Holds the case's row until the transaction ends: two caseworkers (or a caseworker and
/// matching) changing one case take turns, each reading what the other wrote.
async fn lock_case(conn: &mut PgConnection, id: TracingRequestId) -> Result<(), StoreError> {
    sqlx::query("SELECT id FROM tracing_requests WHERE id = $1 FOR UPDATE")
        .bind(key(id))
        .fetch_optional(&mut *conn)
        .await
        .map_err(db("lock a case"))?;
    Ok(())
}

/// Writes a case's changes in order, inside the caller's transaction, and logs them in it so
/// that they reach the hub and, through it, the sites.
async fn apply(
    conn: &mut PgConnection,
    id: TracingRequestId,
    actor: &Actor,
    changes: &[CaseChange],
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    write_changes(conn, id, actor, changes).await?;
    crate::sync::log(conn, Logged::case(id, None, actor, changes)).await?;
    Ok(())
}

/// Writes a case's changes in order, inside the caller's transaction: a case's own, or ones
/// received from elsewhere.
pub(crate) async fn write_changes(
    conn: &mut PgConnection,
    id: TracingRequestId,
    actor: &Actor,
    changes: &[CaseChange],
) -> Result<(), StoreError> {
    for change in changes {
        match change {
            CaseChange::Offer { record_id, score } => {
                sqlx::query(
                    "INSERT INTO tracing_candidates (request_id, record_id, score, status, found_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id, record_id) DO NOTHING",
                )
                .bind(key(id))
                .bind(record_id.as_str())
                .bind(score)
                .bind(CandidateStatus::Potential.code())
                .bind(actor.at)
                .execute(&mut *conn)
                .await
                .map_err(db("offer a candidate"))?;
            }
            CaseChange::SetCandidate { record_id, status } => {
                sqlx::query(
                    "UPDATE tracing_candidates SET status = $1 WHERE request_id = $2 AND record_id = $3",
                )
                .bind(status.code())
                .bind(key(id))
                .bind(record_id.as_str())
                .execute(&mut *conn)
                .await
                .map_err(db("decide a candidate"))?;
            }
            CaseChange::SetStatus(to) => {
                sqlx::query("UPDATE tracing_requests SET status = $1 WHERE id = $2")
                    .bind(to.code())
                    .bind(key(id))
                    .execute(&mut *conn)
                    .await
                    .map_err(db("move a case"))?;
            }
            CaseChange::Assign(caseworker) => {
                sqlx::query("UPDATE tracing_requests SET assigned_to = $1 WHERE id = $2")
                    .bind(caseworker.as_deref())
                    .bind(key(id))
                    .execute(&mut *conn)
                    .await
                    .map_err(db("assign a case"))?;
            }
            CaseChange::AddStep(step) => {
                let json = serde_json::to_string(step)
                    .map_err(|e| StoreError::db("store a reunification step", e))?;
                sqlx::query(
                    "INSERT INTO reunification_steps (request_id, step, recorded_by, recorded_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(key(id))
                .bind(json)
                .bind(&actor.username)
                .bind(actor.at)
                .execute(&mut *conn)
                .await
                .map_err(db("store a reunification step"))?;
            }
            CaseChange::Record(event, why) => {
                let json = serde_json::to_string(event)
                    .map_err(|e| StoreError::db("record a case step", e))?;
                sqlx::query(
                    "INSERT INTO case_events (request_id, at, actor, why, event, kind) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(key(id))
                .bind(actor.at)
                .bind(&actor.username)
                .bind(why)
                .bind(json)
                .bind(event.code())
                .execute(&mut *conn)
                .await
                .map_err(db("record a case step"))?;
            }
        }
    }
    Ok(())
}

/// Stores a new tracing request, with its first history entry.
async fn insert_request(
    conn: &mut PgConnection,
    draft: &TracingRequestDraft,
    actor: &Actor,
    why: &str,
) -> Result<TracingRequest, StoreError> {
    let (request, opened) = cases::open_request(draft, actor, why);
    put_request(&mut *conn, &request).await?;
    write_changes(&mut *conn, request.id, actor, std::slice::from_ref(&opened)).await?;
    crate::sync::log(
        conn,
        Logged::case(request.id, Some(&request), actor, &[opened]),
    )
    .await?;
    Ok(request)
}

/// Stores a request as taken, here or elsewhere; one held already stays as it is. Whether it
/// was new.
pub(crate) async fn put_request(
    conn: &mut PgConnection,
    request: &TracingRequest,
) -> Result<bool, StoreError> {
    let draft = &request.draft;
    let json = serde_json::to_string(draft).map_err(|e| StoreError::db("store a request", e))?;
    let done = sqlx::query(
        "INSERT INTO tracing_requests (id, draft, priority, status, created_by, created_at, site_code) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
    )
    .bind(key(request.id))
    .bind(json)
    .bind(request.priority.code())
    .bind(request.status.code())
    .bind(&request.created_by)
    .bind(request.created_at)
    .bind(draft.site_code.as_deref())
    .execute(&mut *conn)
    .await
    .map_err(db("store a request"))?;
    Ok(done.rows_affected() > 0)
}

/// The death reports about the person case `id` was imported from (one when `note` is given).
async fn death_reports_of(
    conn: &mut PgConnection,
    id: TracingRequestId,
    note: Option<&str>,
) -> Result<Vec<DeathReport>, StoreError> {
    let rows: Vec<(String, Option<String>, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT n.fields, n.death_verified_by, n.death_verified_at FROM pfif_notes n \
         JOIN pfif_persons p ON p.person_record_id = n.person_record_id \
         WHERE p.request_id = $1 AND n.death_report AND ($2::text IS NULL OR n.note_record_id = $2) \
         ORDER BY n.seq",
    )
    .bind(key(id))
    .bind(note)
    .fetch_all(conn)
    .await
    .map_err(db("read death reports"))?;
    rows.into_iter()
        .map(|(fields, verified_by, verified_at)| {
            Ok(DeathReport {
                note: PfifNote {
                    fields: serde_json::from_str(&fields)
                        .map_err(|e| StoreError::db("decode a PFIF note", e))?,
                },
                verified_by,
                verified_at,
            })
        })
        .collect()
}

/// The site of the case a PFIF person was imported into (`Some(None)`: a shared case), or
/// `None` when the registry does not hold that person.
async fn pfif_person_site(
    conn: &mut PgConnection,
    person_record_id: &str,
) -> Result<Option<Option<String>>, StoreError> {
    let held: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT r.site_code FROM pfif_persons p JOIN tracing_requests r ON r.id = p.request_id \
         WHERE p.person_record_id = $1",
    )
    .bind(person_record_id)
    .fetch_optional(conn)
    .await
    .map_err(db("look up a PFIF person"))?;
    Ok(held.map(|(site,)| site))
}

/// Stores a PFIF note unless it is already held, counting which.
async fn insert_pfif_note(
    conn: &mut PgConnection,
    note: &PfifNote,
    at: DateTime<Utc>,
    imported: &mut PfifImported,
) -> Result<(), StoreError> {
    let fields =
        serde_json::to_string(&note.fields).map_err(|e| StoreError::db("store a PFIF note", e))?;
    let done = sqlx::query(
        "INSERT INTO pfif_notes (note_record_id, person_record_id, fields, imported_at, death_report) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (note_record_id) DO NOTHING",
    )
    .bind(note.record_id())
    .bind(note.field("person_record_id"))
    .bind(fields)
    .bind(at)
    .bind(note.field("status") == "believed_dead")
    .execute(conn)
    .await
    .map_err(db("store a PFIF note"))?;
    if done.rows_affected() == 0 {
        imported.notes_already_present += 1;
    } else {
        imported.new_notes += 1;
    }
    Ok(())
}

fn request_from_row(r: &PgRow) -> Result<TracingRequest, StoreError> {
    let decode = db("decode a request");
    let code = |column: &str| -> Result<String, StoreError> { r.try_get(column).map_err(&decode) };
    let draft: String = code("draft")?;
    Ok(TracingRequest {
        id: TracingRequestId(r.try_get("id").map_err(&decode)?),
        draft: serde_json::from_str(&draft).map_err(|e| StoreError::db("decode a request", e))?,
        priority: Priority::from_code(&code("priority")?).unwrap_or(Priority::Normal),
        status: CaseStatus::from_code(&code("status")?)
            .ok_or_else(|| StoreError::db("decode a request", "unknown status"))?,
        created_by: code("created_by")?,
        created_at: r.try_get("created_at").map_err(&decode)?,
        assigned_to: r.try_get("assigned_to").map_err(&decode)?,
    })
}

pub(crate) async fn read_case(
    conn: &mut PgConnection,
    id: TracingRequestId,
) -> Result<Option<TracingCase>, StoreError> {
    let Some(row) = sqlx::query(
        "SELECT id, draft, priority, status, created_by, created_at, assigned_to FROM tracing_requests WHERE id = $1",
    )
    .bind(key(id))
    .fetch_optional(&mut *conn)
    .await
    .map_err(db("read a case"))?
    else {
        return Ok(None);
    };
    let request = request_from_row(&row)?;
    let candidates = sqlx::query(
        "SELECT record_id, score, status, found_at FROM tracing_candidates \
         WHERE request_id = $1 ORDER BY score DESC, record_id COLLATE \"C\"",
    )
    .bind(key(id))
    .fetch_all(&mut *conn)
    .await
    .map_err(db("read candidates"))?
    .iter()
    .map(|r| {
        let status: String = r.try_get("status")?;
        Ok(TracingCandidate {
            record_id: decode_record_id(r.try_get("record_id")?)?,
            score: r.try_get("score")?,
            status: CandidateStatus::from_code(&status).unwrap_or(CandidateStatus::Potential),
            found_at: r.try_get("found_at")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()
    .map_err(db("decode candidates"))?;
    let events = sqlx::query(
        "SELECT at, actor, event, why FROM case_events WHERE request_id = $1 ORDER BY id",
    )
    .bind(key(id))
    .fetch_all(&mut *conn)
    .await
    .map_err(db("read a case's history"))?
    .iter()
    .map(|r| {
        Ok(CaseEvent {
            at: r.try_get("at")?,
            actor: r.try_get("actor")?,
            event: decode_event(r.try_get("event")?)?,
            why: r.try_get("why")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()
    .map_err(db("decode a case's history"))?;
    let counterparts = sqlx::query_as::<_, (uuid::Uuid, f64)>(
        "SELECT other_id, score FROM request_links WHERE request_id = $1 ORDER BY score DESC",
    )
    .bind(key(id))
    .fetch_all(&mut *conn)
    .await
    .map_err(db("read linked requests"))?
    .into_iter()
    .map(|(request_id, score)| RequestLink {
        request_id: TracingRequestId(request_id),
        score,
    })
    .collect();
    let steps = sqlx::query(
        "SELECT step, recorded_by, recorded_at FROM reunification_steps \
         WHERE request_id = $1 ORDER BY id",
    )
    .bind(key(id))
    .fetch_all(&mut *conn)
    .await
    .map_err(db("read reunification steps"))?
    .iter()
    .map(|r| {
        let step: String = r.try_get("step").map_err(db("decode a step"))?;
        Ok(ReunificationStep {
            draft: serde_json::from_str(&step).map_err(|e| StoreError::db("decode a step", e))?,
            recorded_by: r.try_get("recorded_by").map_err(db("decode a step"))?,
            recorded_at: r.try_get("recorded_at").map_err(db("decode a step"))?,
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some(TracingCase {
        request,
        candidates,
        counterparts,
        steps,
        events,
    }))
}

/// A stored event; one that does not decode is a damaged file, reported as such.
fn decode_event(json: Option<String>) -> Result<CaseEventKind, sqlx::Error> {
    let json = json.unwrap_or_default();
    serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// A stored record id; one that is not valid is a damaged file.
fn decode_record_id(text: String) -> Result<RecordId, sqlx::Error> {
    RecordId::parse(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}
