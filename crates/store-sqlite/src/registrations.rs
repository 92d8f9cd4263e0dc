//! Registrations, households and sites.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::TryStreamExt;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, QueryBuilder, Row, Sqlite, SqlitePool, Transaction};
use tokio::sync::mpsc;
use uuid::Uuid;

use peywand_domain::{
    DERIVATION_VERSION, Derived, DocumentType, Household, HouseholdId, LegalBasis, Need, Person,
    PersonId, Purpose, RawRegistration, RecordId, Relationship, ReturnType, Sex, Site, SiteKind,
    Vulnerability, household_reference, join_codes, known_birth_date, split_codes,
};
use peywand_store::registrations::{complete_members, new_household_reference, staying_record_ids};
use peywand_store::{
    Actor, Conflict, HouseholdDraft, HouseholdRecord, ImportMessage, ImportOutcome, Page, Paged,
    PersonFilter, RegistrationStore, StoreError,
};

use crate::{SqliteStore, db};

/// Rows per multi-row INSERT: ~40 bound values each, well under SQLite's 32,766 limit.
const INSERT_BATCH: usize = 200;

const PERSON_COLUMNS: &str = "id, record_id, household_id, raw_household_id, raw_site, raw_registered_on, raw_given_name, raw_father_name, raw_grandfather_name, raw_family_name, raw_sex, raw_birth_date, raw_age, raw_province_of_origin, raw_district_of_origin, raw_last_residence, raw_document_type, raw_document_number, raw_phone, given_name, father_name, grandfather_name, family_name, sex, birth_year_min, birth_year_max, registered_on, age, province_code, district_code, last_residence_code, site_code, document_type, document_number, phone_e164, relationship, vulnerabilities, registered_by, registered_at";

struct PersonInsert<'a> {
    id: PersonId,
    household: HouseholdId,
    raw: &'a RawRegistration,
    derived: &'a Derived,
    relationship: Option<Relationship>,
    vulnerabilities: &'a [Vulnerability],
    actor: &'a Actor,
}

fn push_person(
    b: &mut sqlx::query_builder::Separated<'_, Sqlite, &'static str>,
    p: &PersonInsert<'_>,
) {
    let r = p.raw;
    let d = p.derived;
    b.push_bind(p.id.0)
        .push_bind(r.record_id.trim().to_string())
        .push_bind(p.household.0);
    // The raw_* columns, in `RawRegistration::COLUMNS` order after record_id.
    for v in &r.values()[1..] {
        b.push_bind(v.to_string());
    }
    b.push_bind(d.given_name.clone())
        .push_bind(d.father_name.clone())
        .push_bind(d.grandfather_name.clone())
        .push_bind(d.family_name.clone());
    b.push_bind(d.sex.map(Sex::code))
        .push_bind(d.birth_year_min)
        .push_bind(d.birth_year_max)
        .push_bind(d.registered_on)
        .push_bind(d.age.map(i64::from));
    b.push_bind(d.province_code.clone())
        .push_bind(d.district_code.clone())
        .push_bind(d.last_residence_code.clone())
        .push_bind(d.site_code.clone());
    b.push_bind(d.document_type.map(DocumentType::code))
        .push_bind(d.document_number.clone())
        .push_bind(d.phone_e164.clone());
    b.push_bind(p.relationship.map(Relationship::code))
        .push_bind(join_codes(p.vulnerabilities, Vulnerability::code));
    b.push_bind(Some(p.actor.username.clone()))
        .push_bind(p.actor.at);
}

/// The derived columns, in the order `rederive_if_older` binds them.
const DERIVED_COLUMNS: [&str; 16] = [
    "given_name",
    "father_name",
    "grandfather_name",
    "family_name",
    "sex",
    "birth_year_min",
    "birth_year_max",
    "registered_on",
    "age",
    "province_code",
    "district_code",
    "last_residence_code",
    "site_code",
    "document_type",
    "document_number",
    "phone_e164",
];

/// Registrations re-derived in one statement batch.
const REDERIVE_BATCH: i64 = 5_000;

/// Derives every registration again when the store was written under older derivation rules
/// (see [`DERIVATION_VERSION`]): after an upgrade, the registrations made before it are then
/// read as the new ones are. One transaction: a failure leaves everything as it was, to be
/// tried again at the next opening. The version is kept in SQLite's `user_version`.
pub(crate) async fn rederive_if_older(pool: &SqlitePool) -> Result<(), StoreError> {
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(pool)
        .await
        .map_err(db("read the derivation version"))?;
    if version >= DERIVATION_VERSION {
        return Ok(());
    }
    let mut tx = pool
        .begin()
        .await
        .map_err(db("begin deriving registrations again"))?;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM persons")
        .fetch_one(&mut *tx)
        .await
        .map_err(db("count registrations"))?;
    if stored > 0 {
        // A million registrations take a minute or so: say why the opening waits.
        tracing::info!(
            registrations = stored,
            "deriving registrations again under the current rules, once after an upgrade"
        );
    }
    let raw_columns: Vec<String> = RawRegistration::COLUMNS[1..]
        .iter()
        .map(|c| format!("raw_{c}"))
        .collect();
    let select = format!(
        "SELECT rowid, record_id, {} FROM persons WHERE rowid > ? ORDER BY rowid LIMIT ?",
        raw_columns.join(", ")
    );
    let update = format!(
        "UPDATE persons SET {} WHERE rowid = ?",
        DERIVED_COLUMNS.map(|c| format!("{c} = ?")).join(", ")
    );
    let (mut after, mut count) = (0i64, 0u64);
    loop {
        // Built from column names fixed in the code.
        let rows = sqlx::query(AssertSqlSafe(select.as_str()))
            .bind(after)
            .bind(REDERIVE_BATCH)
            .fetch_all(&mut *tx)
            .await
            .map_err(db("read registrations to derive again"))?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("rowid").map_err(db("read a registration"))?;
        for row in &rows {
            let d = raw_from_row(row)
                .map_err(db("read a registration"))?
                .derive()
                .0;
            let rowid: i64 = row.try_get("rowid").map_err(db("read a registration"))?;
            sqlx::query(AssertSqlSafe(update.as_str()))
                .bind(d.given_name)
                .bind(d.father_name)
                .bind(d.grandfather_name)
                .bind(d.family_name)
                .bind(d.sex.map(Sex::code))
                .bind(d.birth_year_min)
                .bind(d.birth_year_max)
                .bind(d.registered_on)
                .bind(d.age.map(i64::from))
                .bind(d.province_code)
                .bind(d.district_code)
                .bind(d.last_residence_code)
                .bind(d.site_code)
                .bind(d.document_type.map(DocumentType::code))
                .bind(d.document_number)
                .bind(d.phone_e164)
                .bind(rowid)
                .execute(&mut *tx)
                .await
                .map_err(db("derive a registration again"))?;
            count += 1;
        }
    }
    // Part of the transaction: a rolled-back run leaves the old version.
    sqlx::query(AssertSqlSafe(format!(
        "PRAGMA user_version = {DERIVATION_VERSION}"
    )))
    .execute(&mut *tx)
    .await
    .map_err(db("record the derivation version"))?;
    tx.commit()
        .await
        .map_err(db("commit registrations derived again"))?;
    if count > 0 {
        tracing::info!(
            registrations = count,
            from = version,
            to = DERIVATION_VERSION,
            "registrations derived again"
        );
    }
    Ok(())
}

/// What inserting a registration whose record id exists does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnExisting {
    /// Leave it (an import meeting a row it already has).
    Skip,
    /// Update it in place when it belongs to the same household (a household edited at a
    /// desk): deleting and re-inserting would take the person's identity, reviewers'
    /// decisions and tracing decisions with it (they cascade), and restart their retention.
    UpdateInHousehold,
}

async fn insert_persons(
    tx: &mut Transaction<'_, Sqlite>,
    rows: &[PersonInsert<'_>],
    on_existing: OnExisting,
) -> Result<u64, StoreError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut q: QueryBuilder<Sqlite> =
        QueryBuilder::new(format!("INSERT INTO persons ({PERSON_COLUMNS}) "));
    q.push_values(rows.iter(), |mut b, p| push_person(&mut b, p));
    match on_existing {
        OnExisting::Skip => {
            q.push(" ON CONFLICT(record_id) DO NOTHING");
        }
        OnExisting::UpdateInHousehold => {
            let kept = ["id", "record_id", "registered_by", "registered_at"];
            let set: Vec<String> = PERSON_COLUMNS
                .split(", ")
                .filter(|c| !kept.contains(c))
                .map(|c| format!("{c} = excluded.{c}"))
                .collect();
            q.push(" ON CONFLICT(record_id) DO UPDATE SET ")
                .push(set.join(", "))
                .push(" WHERE persons.household_id = excluded.household_id");
        }
    }
    let done = q
        .build()
        .execute(&mut **tx)
        .await
        .map_err(db("insert registrations"))?;
    Ok(done.rows_affected())
}

/// Finds or creates the household with this reference, returning its id.
async fn household_for(
    tx: &mut Transaction<'_, Sqlite>,
    reference: &str,
    site_code: Option<&str>,
    actor: &Actor,
) -> Result<HouseholdId, StoreError> {
    let row = sqlx::query("INSERT INTO households (id, reference, site_code, registered_by, registered_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(reference) DO UPDATE SET reference = excluded.reference RETURNING id")
        .bind(HouseholdId::new().0)
        .bind(reference)
        .bind(site_code)
        .bind(&actor.username)
        .bind(actor.at)
        .fetch_one(&mut **tx)
        .await
        .map_err(db("create household"))?;
    Ok(HouseholdId(
        row.try_get("id").map_err(db("read household id"))?,
    ))
}

fn opt_code<T>(
    row: &SqliteRow,
    col: &str,
    from: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, sqlx::Error> {
    Ok(row
        .try_get::<Option<String>, _>(col)?
        .as_deref()
        .and_then(from))
}

/// A registration as typed, from a row with `record_id` and the `raw_*` columns.
fn raw_from_row(row: &SqliteRow) -> Result<RawRegistration, sqlx::Error> {
    let mut raw = RawRegistration {
        record_id: row.try_get("record_id")?,
        ..RawRegistration::default()
    };
    for column in &RawRegistration::COLUMNS[1..] {
        if let Some(slot) = raw.get_mut(column) {
            *slot = row.try_get(format!("raw_{column}").as_str())?;
        }
    }
    Ok(raw)
}

fn person_from_row(row: &SqliteRow) -> Result<Person, sqlx::Error> {
    let s = |c: &str| row.try_get::<String, _>(c);
    let o = |c: &str| row.try_get::<Option<String>, _>(c);
    let record_id: String = s("record_id")?;
    let raw = raw_from_row(row)?;
    let derived = Derived {
        given_name: o("given_name")?,
        father_name: o("father_name")?,
        grandfather_name: o("grandfather_name")?,
        family_name: o("family_name")?,
        sex: opt_code(row, "sex", Sex::from_code)?,
        birth_year_min: row.try_get("birth_year_min")?,
        birth_year_max: row.try_get("birth_year_max")?,
        birth_date: known_birth_date(&raw.birth_date),
        registered_on: row.try_get::<Option<NaiveDate>, _>("registered_on")?,
        age: row
            .try_get::<Option<i64>, _>("age")?
            .and_then(|a| u32::try_from(a).ok()),
        province_code: o("province_code")?,
        district_code: o("district_code")?,
        last_residence_code: o("last_residence_code")?,
        site_code: o("site_code")?,
        document_type: opt_code(row, "document_type", DocumentType::from_code)?,
        document_number: o("document_number")?,
        phone_e164: o("phone_e164")?,
    };
    Ok(Person {
        id: PersonId(row.try_get::<Uuid, _>("id")?),
        // Stored record ids were validated on the way in; a bad one would be a corrupt file.
        record_id: RecordId::parse(&record_id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        household_id: HouseholdId(row.try_get::<Uuid, _>("household_id")?),
        raw,
        derived,
        relationship: opt_code(row, "relationship", Relationship::from_code)?,
        vulnerabilities: split_codes(&s("vulnerabilities")?, Vulnerability::from_code),
        registered_by: o("registered_by")?,
        registered_at: row.try_get::<DateTime<Utc>, _>("registered_at")?,
    })
}

/// Households an import logs at a time.
const LOG_PAGE: usize = 2_000;

/// Households `ids` as they now are, each with the version it was at. Read in two queries,
/// not two a household: each query is a hop to the database's thread, and a hop costs more
/// than the reading.
async fn imported_households(
    tx: &mut Transaction<'_, Sqlite>,
    ids: &[Uuid],
    actor: &Actor,
) -> Result<Vec<(peywand_store::SavedHousehold, Option<Uuid>)>, StoreError> {
    let mut q = QueryBuilder::<Sqlite>::new("SELECT * FROM households WHERE id IN (");
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    q.push(")");
    let households = q
        .build()
        .fetch_all(&mut **tx)
        .await
        .map_err(db("log the import"))?;
    let mut q = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {PERSON_COLUMNS} FROM persons WHERE household_id IN ("
    ));
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    q.push(") ORDER BY rowid");
    let members = q
        .build()
        .fetch_all(&mut **tx)
        .await
        .map_err(db("log the import"))?;
    let mut by_household: HashMap<HouseholdId, Vec<Person>> = HashMap::new();
    for person in persons_from_rows(&members)? {
        by_household
            .entry(person.household_id)
            .or_default()
            .push(person);
    }
    households
        .iter()
        .map(|row| {
            let household = household_from_row(row).map_err(db("log the import"))?;
            let version: Option<String> = row.try_get("version").map_err(db("log the import"))?;
            let members = by_household.remove(&household.id).unwrap_or_default();
            let record = HouseholdRecord { household, members };
            Ok((
                peywand_store::SavedHousehold::of(&record, actor),
                version.and_then(|v| v.parse().ok()),
            ))
        })
        .collect()
}

fn persons_from_rows(rows: &[SqliteRow]) -> Result<Vec<Person>, StoreError> {
    rows.iter()
        .map(person_from_row)
        .collect::<Result<Vec<_>, _>>()
        .map_err(db("decode registration"))
}

fn household_from_row(row: &SqliteRow) -> Result<Household, sqlx::Error> {
    Ok(Household {
        id: HouseholdId(row.try_get::<Uuid, _>("id")?),
        reference: row.try_get("reference")?,
        site_code: row.try_get("site_code")?,
        destination_province: row.try_get("destination_province")?,
        destination_district: row.try_get("destination_district")?,
        return_type: opt_code(row, "return_type", ReturnType::from_code)?,
        needs: split_codes(&row.try_get::<String, _>("needs")?, Need::from_code),
        legal_basis: opt_code(row, "legal_basis", LegalBasis::from_code)?,
        purposes: split_codes(&row.try_get::<String, _>("purposes")?, Purpose::from_code),
        registered_by: row.try_get("registered_by")?,
        registered_at: row.try_get("registered_at")?,
    })
}

impl SqliteStore {
    /// The registration a bound query selects, if any.
    async fn one_person(
        &self,
        query: sqlx::query::Query<'_, Sqlite, sqlx::sqlite::SqliteArguments>,
    ) -> Result<Option<Person>, StoreError> {
        let row = query
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read registration"))?;
        row.as_ref()
            .map(person_from_row)
            .transpose()
            .map_err(db("decode registration"))
    }

    async fn write_members(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        household: HouseholdId,
        draft: &HouseholdDraft,
        actor: &Actor,
        keep: &[(String, PersonId)],
    ) -> Result<(), StoreError> {
        let members = complete_members(draft, actor);
        let rows: Vec<PersonInsert<'_>> = members
            .iter()
            .map(|m| {
                let id = keep
                    .iter()
                    .find(|(r, _)| r == m.raw.record_id.trim())
                    .map(|(_, id)| *id)
                    .unwrap_or_default();
                PersonInsert {
                    id,
                    household,
                    raw: &m.raw,
                    derived: &m.derived,
                    relationship: m.relationship,
                    vulnerabilities: &m.vulnerabilities,
                    actor,
                }
            })
            .collect();
        let on_existing = if keep.is_empty() {
            OnExisting::Skip
        } else {
            OnExisting::UpdateInHousehold
        };
        let inserted = insert_persons(tx, &rows, on_existing).await?;
        if inserted != rows.len() as u64 {
            return Err(StoreError::Conflict(Conflict::RecordIdTaken));
        }
        Ok(())
    }

    async fn read_household(&self, id: HouseholdId) -> Result<Option<HouseholdRecord>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db("read household"))?;
        self.read_household_in(&mut conn, id).await
    }

    /// A household and its members, read on `conn` (inside a transaction, say).
    pub(crate) async fn read_household_in(
        &self,
        conn: &mut sqlx::SqliteConnection,
        id: HouseholdId,
    ) -> Result<Option<HouseholdRecord>, StoreError> {
        let Some(row) = sqlx::query("SELECT * FROM households WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db("read household"))?
        else {
            return Ok(None);
        };
        let household = household_from_row(&row).map_err(db("decode household"))?;
        let members = sqlx::query(AssertSqlSafe(format!(
            "SELECT {PERSON_COLUMNS} FROM persons WHERE household_id = ? ORDER BY rowid"
        )))
        .bind(id.0)
        .fetch_all(&mut *conn)
        .await
        .map_err(db("read members"))?;
        Ok(Some(HouseholdRecord {
            household,
            members: persons_from_rows(&members)?,
        }))
    }

    /// The household as just saved, with its change appended to the log in the same
    /// transaction.
    async fn logged(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        id: HouseholdId,
        actor: &Actor,
        base: Option<Uuid>,
    ) -> Result<HouseholdRecord, StoreError> {
        let record = self
            .read_household_in(tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("household {id}")))?;
        self.log_household_saved(tx, &peywand_store::SavedHousehold::of(&record, actor), base)
            .await?;
        Ok(record)
    }

    /// Replaces a household's members with the draft's: members left out are removed, the
    /// others updated in place (their identities and decisions stay), new ones added.
    async fn replace_members(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        id: HouseholdId,
        draft: &HouseholdDraft,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let keep: Vec<(String, PersonId)> =
            sqlx::query("SELECT record_id, id FROM persons WHERE household_id = ?")
                .bind(id.0)
                .fetch_all(&mut **tx)
                .await
                .map_err(db("read members"))?
                .iter()
                .map(|r| {
                    Ok((
                        r.try_get::<String, _>("record_id")?,
                        PersonId(r.try_get::<Uuid, _>("id")?),
                    ))
                })
                .collect::<Result<_, sqlx::Error>>()
                .map_err(db("decode members"))?;
        let staying = staying_record_ids(draft);
        for (record_id, _) in &keep {
            if !staying.contains(record_id) {
                sqlx::query("DELETE FROM persons WHERE record_id = ?")
                    .bind(record_id)
                    .execute(&mut **tx)
                    .await
                    .map_err(db("remove a member"))?;
            }
        }
        self.write_members(tx, id, draft, actor, &keep).await
    }

    /// Writes a household saved elsewhere as it was saved there: its id, reference and
    /// members' record ids.
    pub(crate) async fn put_household(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        saved: &peywand_store::SavedHousehold,
    ) -> Result<(), StoreError> {
        let d = &saved.draft;
        sqlx::query("INSERT INTO households (id, reference, site_code, destination_province, destination_district, return_type, needs, legal_basis, purposes, registered_by, registered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET site_code = excluded.site_code, destination_province = excluded.destination_province, destination_district = excluded.destination_district, return_type = excluded.return_type, needs = excluded.needs, legal_basis = excluded.legal_basis, purposes = excluded.purposes")
            .bind(saved.id.0)
            .bind(&saved.reference)
            .bind(&d.site_code)
            .bind(&d.destination_province)
            .bind(&d.destination_district)
            .bind(d.return_type.map(ReturnType::code))
            .bind(join_codes(&d.needs, Need::code))
            .bind(d.legal_basis.map(LegalBasis::code))
            .bind(join_codes(&d.purposes, Purpose::code))
            .bind(&saved.registered_by)
            .bind(saved.registered_at)
            .execute(&mut **tx)
            .await
            .map_err(db("write a received household"))?;
        self.replace_members(tx, saved.id, d, &saved.actor()).await
    }
}

fn push_filter(q: &mut QueryBuilder<Sqlite>, f: &PersonFilter) {
    q.push(" WHERE 1=1");
    if let Some(s) = &f.site_code {
        q.push(" AND site_code = ").push_bind(s.clone());
    }
    if let Some(s) = f.sex {
        q.push(" AND sex = ").push_bind(s.code());
    }
    if let Some(p) = &f.province_code {
        q.push(" AND province_code = ").push_bind(p.clone());
    }
    if let Some(n) = &f.name {
        let pattern = format!("%{}%", peywand_names::fold(n).replace(['%', '_'], ""));
        q.push(" AND (given_name LIKE ")
            .push_bind(pattern.clone())
            .push(" OR father_name LIKE ")
            .push_bind(pattern.clone())
            .push(" OR family_name LIKE ")
            .push_bind(pattern)
            .push(")");
    }
    if let Some(d) = f.registered_from {
        q.push(" AND registered_on >= ").push_bind(d);
    }
    if let Some(d) = f.registered_to {
        q.push(" AND registered_on <= ").push_bind(d);
    }
}

#[async_trait]
impl RegistrationStore for SqliteStore {
    async fn import(
        &self,
        mut rows: mpsc::Receiver<ImportMessage>,
        actor: &Actor,
    ) -> Result<ImportOutcome, StoreError> {
        let mut tx = self.begin().await.map_err(db("begin import"))?;
        // Where this import's rows start: the households they join are logged at the end.
        let (before,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(rowid), 0) FROM persons")
            .fetch_one(&mut *tx)
            .await
            .map_err(db("begin import"))?;
        let mut households: HashMap<String, HouseholdId> = HashMap::new();
        let mut batch: Vec<(RawRegistration, Derived, HouseholdId)> =
            Vec::with_capacity(INSERT_BATCH);
        let mut outcome = ImportOutcome::default();
        let mut seen = 0u64;
        while let Some(msg) = rows.recv().await {
            match msg {
                ImportMessage::Abort => {
                    tx.rollback().await.map_err(db("roll back import"))?;
                    return Err(StoreError::ImportAborted);
                }
                ImportMessage::Row(row) => {
                    let (raw, derived) = *row;
                    let reference = household_reference(&raw);
                    let hh = match households.get(&reference) {
                        Some(id) => *id,
                        None => {
                            let id = household_for(
                                &mut tx,
                                &reference,
                                derived.site_code.as_deref(),
                                actor,
                            )
                            .await?;
                            households.insert(reference, id);
                            id
                        }
                    };
                    batch.push((raw, derived, hh));
                    seen += 1;
                    if batch.len() >= INSERT_BATCH {
                        let b = std::mem::take(&mut batch);
                        outcome.new += insert_batch(&mut tx, &b, actor).await?;
                    }
                }
            }
        }
        let b = std::mem::take(&mut batch);
        outcome.new += insert_batch(&mut tx, &b, actor).await?;
        outcome.already_present = seen - outcome.new;
        // Each household that gained someone is logged as it now is, so that an import at a
        // site reaches the hub as a desk's registrations do. The hub's own imports (a
        // backfill) stay there: docs/decisions.md.
        if crate::sync::logs_imports(&mut tx).await? {
            let touched: Vec<(Uuid,)> =
                sqlx::query_as("SELECT DISTINCT household_id FROM persons WHERE rowid > ?")
                    .bind(before)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db("log the import"))?;
            // A page of households at a time: memory stays bounded whatever the file.
            for page in touched.chunks(LOG_PAGE) {
                let ids: Vec<Uuid> = page.iter().map(|(id,)| *id).collect();
                let imported = imported_households(&mut tx, &ids, actor).await?;
                crate::sync::log_households(&mut tx, &imported).await?;
            }
            if !touched.is_empty() {
                crate::sync::keep_logged_versions(&mut tx).await?;
            }
        }
        tx.commit().await.map_err(db("commit import"))?;
        Ok(outcome)
    }
    async fn export(&self, sink: mpsc::Sender<RawRegistration>) -> Result<u64, StoreError> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM persons ORDER BY rowid");
        let mut stream = sqlx::query(AssertSqlSafe(sql)).fetch(&self.pool);
        let mut n = 0;
        while let Some(row) = stream.try_next().await.map_err(db("export"))? {
            let p = person_from_row(&row).map_err(db("decode registration"))?;
            if sink.send(p.raw).await.is_err() {
                break;
            }
            n += 1;
        }
        Ok(n)
    }
    async fn sites(&self) -> Result<Vec<Site>, StoreError> {
        let rows = sqlx::query(
            "SELECT code, name, name_local, kind, province_code FROM sites ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("list sites"))?;
        rows.iter()
            .map(|r| {
                Ok(Site {
                    code: r.try_get("code")?,
                    name: r.try_get("name")?,
                    name_local: r.try_get("name_local")?,
                    kind: SiteKind::from_code(&r.try_get::<String, _>("kind")?)
                        .unwrap_or(SiteKind::ReceptionCentre),
                    province_code: r.try_get("province_code")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db("decode site"))
    }
    async fn upsert_site(&self, site: &Site) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sites (code, name, name_local, kind, province_code) VALUES (?, ?, ?, ?, ?) ON CONFLICT(code) DO UPDATE SET name = excluded.name, name_local = excluded.name_local, kind = excluded.kind, province_code = excluded.province_code")
            .bind(&site.code)
            .bind(&site.name)
            .bind(&site.name_local)
            .bind(site.kind.code())
            .bind(&site.province_code)
            .execute(&self.pool)
            .await
            .map_err(db("save site"))?;
        Ok(())
    }
    async fn create_household(
        &self,
        draft: &HouseholdDraft,
        actor: &Actor,
    ) -> Result<HouseholdRecord, StoreError> {
        let id = HouseholdId::new();
        let mut tx = self.begin().await.map_err(db("begin household"))?;
        sqlx::query("INSERT INTO households (id, reference, site_code, destination_province, destination_district, return_type, needs, legal_basis, purposes, registered_by, registered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(id.0)
            .bind(new_household_reference())
            .bind(&draft.site_code)
            .bind(&draft.destination_province)
            .bind(&draft.destination_district)
            .bind(draft.return_type.map(ReturnType::code))
            .bind(join_codes(&draft.needs, Need::code))
            .bind(draft.legal_basis.map(LegalBasis::code))
            .bind(join_codes(&draft.purposes, Purpose::code))
            .bind(&actor.username)
            .bind(actor.at)
            .execute(&mut *tx)
            .await
            .map_err(db("create household"))?;
        self.write_members(&mut tx, id, draft, actor, &[]).await?;
        let record = self.logged(&mut tx, id, actor, None).await?;
        tx.commit().await.map_err(db("commit household"))?;
        Ok(record)
    }
    async fn update_household(
        &self,
        id: HouseholdId,
        draft: &HouseholdDraft,
        actor: &Actor,
    ) -> Result<HouseholdRecord, StoreError> {
        let mut tx = self.begin().await.map_err(db("begin household update"))?;
        let base = Self::version_before_edit(&mut tx, id).await?;
        let updated = sqlx::query("UPDATE households SET site_code = ?, destination_province = ?, destination_district = ?, return_type = ?, needs = ?, legal_basis = ?, purposes = ? WHERE id = ?")
            .bind(&draft.site_code)
            .bind(&draft.destination_province)
            .bind(&draft.destination_district)
            .bind(draft.return_type.map(ReturnType::code))
            .bind(join_codes(&draft.needs, Need::code))
            .bind(draft.legal_basis.map(LegalBasis::code))
            .bind(join_codes(&draft.purposes, Purpose::code))
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db("update household"))?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("household {id}")));
        }
        self.replace_members(&mut tx, id, draft, actor).await?;
        // An edit made on the settled household is the person's answer to what crossed.
        sqlx::query("DELETE FROM crossed_fields WHERE household_id = ?")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db("settle crossed edits"))?;
        let record = self.logged(&mut tx, id, actor, base).await?;
        tx.commit().await.map_err(db("commit household update"))?;
        Ok(record)
    }
    async fn household(&self, id: HouseholdId) -> Result<Option<HouseholdRecord>, StoreError> {
        self.read_household(id).await
    }
    async fn person(&self, id: PersonId) -> Result<Option<Person>, StoreError> {
        let query = sqlx::query(AssertSqlSafe(format!(
            "SELECT {PERSON_COLUMNS} FROM persons WHERE id = ?"
        )));
        self.one_person(query.bind(id.0)).await
    }
    async fn person_by_record(&self, record_id: &RecordId) -> Result<Option<Person>, StoreError> {
        let query = sqlx::query(AssertSqlSafe(format!(
            "SELECT {PERSON_COLUMNS} FROM persons WHERE record_id = ?"
        )));
        self.one_person(query.bind(record_id.as_str())).await
    }
    async fn persons(
        &self,
        filter: &PersonFilter,
        page: Page,
    ) -> Result<Paged<Person>, StoreError> {
        let mut count: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT COUNT(*) FROM persons");
        push_filter(&mut count, filter);
        let total: i64 = count
            .build()
            .fetch_one(&self.pool)
            .await
            .map_err(db("count registrations"))?
            .try_get(0)
            .map_err(db("count registrations"))?;
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new(format!("SELECT {PERSON_COLUMNS} FROM persons"));
        push_filter(&mut q, filter);
        q.push(" ORDER BY rowid DESC LIMIT ")
            .push_bind(page.limit as i64)
            .push(" OFFSET ")
            .push_bind(page.offset as i64);
        let items = q
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(db("list registrations"))?;
        let items = persons_from_rows(&items)?;
        Ok(Paged {
            items,
            total: total as u64,
            offset: page.offset,
            limit: page.limit,
        })
    }
    async fn count_persons(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM persons")
            .fetch_one(&self.pool)
            .await
            .map_err(db("count registrations"))?
            .try_get(0)
            .map_err(db("count registrations"))?;
        Ok(n as u64)
    }
}

async fn insert_batch(
    tx: &mut Transaction<'_, Sqlite>,
    batch: &[(RawRegistration, Derived, HouseholdId)],
    actor: &Actor,
) -> Result<u64, StoreError> {
    let rows: Vec<PersonInsert<'_>> = batch
        .iter()
        .map(|(raw, derived, hh)| PersonInsert {
            id: PersonId::new(),
            household: *hh,
            raw,
            derived,
            relationship: None,
            vulnerabilities: &[],
            actor,
        })
        .collect();
    insert_persons(tx, &rows, OnExisting::Skip).await
}
