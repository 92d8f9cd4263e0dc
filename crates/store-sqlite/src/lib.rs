//! The SQLite backend: one file per site, WAL journal, foreign keys on, migrations applied at open.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{StreamExt, TryStreamExt};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Connection, QueryBuilder, Row, Sqlite, SqlitePool, Transaction};
use tokio::sync::mpsc;
use uuid::Uuid;

use peywand_access::Role;
use peywand_access::audit::{self, AuditEntry, AuditEvent};
use peywand_domain::{
    CandidateStatus, CaseEvent, CaseStatus, PfifNote, PfifPerson, Priority, ReunificationStep,
    ReunificationStepDraft, ReunificationStepKind, TracingCandidate, TracingRequest,
    TracingRequestDraft,
};
use peywand_domain::{
    DERIVATION_VERSION, Derived, DocumentType, Household, HouseholdId, LegalBasis, LinkDecision,
    MatchRecord, Need, Person, PersonId, Purpose, RawRegistration, RecordId, Relationship,
    ReturnType, ScoredPair, Sex, Site, SiteKind, Vulnerability, household_reference, join_codes,
    known_birth_date, place_key, split_codes,
};
use peywand_store::{
    AGE_GROUPS, Actor, ApiToken, AuditFilter, Conflict, FlowStatistics, HouseholdDraft,
    HouseholdRecord, ImportMessage, ImportOutcome, LinkageRun, NewUser, Page, Paged, PersonFilter,
    PfifImported, RequestLink, SessionRecord, StatsFilter, Store, StoreError, TracingCase,
    UserAccount,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Rows per multi-row INSERT: ~40 bound values each, well under SQLite's 32,766 limit.
const INSERT_BATCH: usize = 200;

/// A registry in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

/// The secret a database is encrypted with: a passphrase, never printed or logged.
#[derive(Clone)]
pub struct DbKey(String);

impl DbKey {
    /// A key from its text; surrounding whitespace (a key file's final newline) is not part
    /// of it.
    pub fn new(text: &str) -> Result<DbKey, StoreError> {
        let text = text.trim();
        if text.chars().count() < 16 {
            return Err(StoreError::Key(
                "a database key must be at least 16 characters".into(),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(StoreError::Key(
                "a database key cannot contain control characters".into(),
            ));
        }
        Ok(DbKey(text.to_string()))
    }

    /// The key's text, for uses beyond the database (a secret shared with a partner).
    pub fn text(&self) -> &str {
        &self.0
    }

    /// The key as a quoted SQL string literal, for `PRAGMA key` and `ATTACH ... KEY`.
    fn literal(&self) -> String {
        format!("'{}'", self.0.replace('\'', "''"))
    }
}

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(…)")
    }
}

/// SQLCipher's answer when the key is wrong or missing, and plain SQLite's for a file that is
/// not a database: the two cannot be told apart, by design.
fn unreadable(path: &str, e: &dyn std::fmt::Display) -> Option<StoreError> {
    let text = e.to_string();
    text.contains("file is not a database")
        .then(|| StoreError::Open {
            path: path.to_string(),
            reason: "it is not a Peywand database, or it is encrypted and the key is missing or \
                 wrong (give the key in PEYWAND_DB_KEY or with --key-file)"
                .into(),
        })
}

impl SqliteStore {
    /// Opens (creating if needed) an unencrypted database file and brings its schema up to
    /// date.
    pub async fn open(path: &str) -> Result<Self, StoreError> {
        Self::open_with(path, None).await
    }

    /// Opens (creating if needed) the database file, encrypted with `key` when one is given,
    /// and brings its schema up to date.
    pub async fn open_with(path: &str, key: Option<&DbKey>) -> Result<Self, StoreError> {
        let open_err = |e: sqlx::Error| {
            unreadable(path, &e).unwrap_or_else(|| StoreError::Open {
                path: path.to_string(),
                reason: e.to_string(),
            })
        };
        let mut options =
            SqliteConnectOptions::from_str(&format!("sqlite://{path}")).map_err(open_err)?;
        if let Some(key) = key {
            // sqlx runs `key` before every other pragma, as SQLCipher requires.
            options = options.pragma("key", key.literal());
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-65536")
            // Erased people stay erased: deleted content is overwritten with zeros.
            .pragma("secure_delete", "ON");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(open_err)?;
        MIGRATOR.run(&pool).await.map_err(|e| {
            unreadable(path, &e).unwrap_or_else(|| StoreError::Migration(e.to_string()))
        })?;
        rederive_if_older(&pool).await?;
        Ok(Self { pool })
    }

    /// Writes the whole database, encrypted with `key` (or unencrypted with `None`), to `to`,
    /// a file that must not exist yet. The registry stays open and unchanged.
    pub async fn export_encrypted(&self, to: &str, key: Option<&DbKey>) -> Result<(), StoreError> {
        if std::path::Path::new(to).exists() {
            return Err(StoreError::Conflict(Conflict::FileExists(to.to_string())));
        }
        let mut conn = self.pool.acquire().await.map_err(db("re-encrypt"))?;
        let literal = key.map_or_else(|| "''".to_string(), DbKey::literal);
        let path = to.replace('\'', "''");
        let steps = [
            format!("ATTACH DATABASE '{path}' AS rekeyed KEY {literal}"),
            "SELECT sqlcipher_export('rekeyed')".to_string(),
            "DETACH DATABASE rekeyed".to_string(),
        ];
        for step in steps {
            sqlx::query(AssertSqlSafe(step))
                .execute(&mut *conn)
                .await
                .map_err(db("re-encrypt"))?;
        }
        Ok(())
    }

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

    /// A write transaction. IMMEDIATE takes the write lock at once: a deferred transaction
    /// that reads and then writes fails outright (SQLITE_BUSY_SNAPSHOT, no waiting) when
    /// another connection wrote in between, as the audit log does after every request.
    async fn begin(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// The registrations with rowids from `start` to `start + MATCH_PAGE - 1`.
    async fn match_page(&self, start: i64) -> Result<Vec<MatchRecord>, StoreError> {
        let page: String = sqlx::query_scalar(
            "SELECT json_group_array(json_array(record_id, hex(household_id), \
             given_name, father_name, grandfather_name, family_name, sex, birth_year_min, \
             birth_year_max, raw_birth_date, province_code, \
             CASE WHEN province_code IS NULL THEN raw_province_of_origin END, \
             last_residence_code, \
             CASE WHEN last_residence_code IS NULL THEN raw_last_residence END, \
             document_type, document_number, phone_e164)) \
             FROM (SELECT * FROM persons WHERE rowid >= ? AND rowid < ? ORDER BY rowid)",
        )
        .bind(start)
        .bind(start + MATCH_PAGE)
        .fetch_one(&self.pool)
        .await
        .map_err(db("read for matching"))?;
        // Decoded on a thread of its own: decoding and reading dates took longer than SQLite
        // took to build the page, and the next page's decoding can run beside it.
        tokio::task::spawn_blocking(move || {
            let rows: Vec<MatchRow> = serde_json::from_str(&page)
                .map_err(|e| StoreError::db("decode for matching", e))?;
            Ok(rows.into_iter().map(MatchRow::into_match_record).collect())
        })
        .await
        .map_err(|e| StoreError::db("decode for matching", e))?
    }

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

    /// Closes the pool, waiting for in-flight statements to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn db(operation: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| StoreError::db(operation, e)
}

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
async fn rederive_if_older(pool: &SqlitePool) -> Result<(), StoreError> {
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

/// A short household reference for the printed card: unambiguous letters and digits.
fn new_household_reference() -> String {
    const ALPHABET: &[u8] = b"ACDEFGHJKLMNPQRTUVWXY34679";
    // The low 62 bits of a UUIDv7 are random.
    let mut n = Uuid::now_v7().as_u128() & ((1u128 << 62) - 1);
    let mut s = String::from("HH-");
    for _ in 0..8 {
        s.push(ALPHABET[(n % ALPHABET.len() as u128) as usize] as char);
        n /= ALPHABET.len() as u128;
    }
    s
}

impl SqliteStore {
    async fn write_members(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        household: HouseholdId,
        draft: &HouseholdDraft,
        actor: &Actor,
        keep: &[(String, PersonId)],
    ) -> Result<(), StoreError> {
        let mut raws: Vec<RawRegistration> = Vec::with_capacity(draft.members.len());
        for m in &draft.members {
            let mut raw = m.raw.clone();
            if raw.record_id.trim().is_empty() {
                raw.record_id = RecordId::generate().to_string();
            }
            if raw.site.trim().is_empty() {
                raw.site = draft.site_code.clone().unwrap_or_default();
            }
            if raw.registered_on.trim().is_empty() {
                raw.registered_on = actor.at.date_naive().to_string();
            }
            raws.push(raw);
        }
        let derived: Vec<Derived> = raws.iter().map(|r| r.derive().0).collect();
        let rows: Vec<PersonInsert<'_>> = draft
            .members
            .iter()
            .zip(&raws)
            .zip(&derived)
            .map(|((m, raw), d)| {
                let id = keep
                    .iter()
                    .find(|(r, _)| r == raw.record_id.trim())
                    .map(|(_, id)| *id)
                    .unwrap_or_default();
                PersonInsert {
                    id,
                    household,
                    raw,
                    derived: d,
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
        let Some(row) = sqlx::query("SELECT * FROM households WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&self.pool)
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
        .fetch_all(&self.pool)
        .await
        .map_err(db("read members"))?;
        Ok(Some(HouseholdRecord {
            household,
            members: persons_from_rows(&members)?,
        }))
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
impl Store for SqliteStore {
    async fn import(
        &self,
        mut rows: mpsc::Receiver<ImportMessage>,
        actor: &Actor,
    ) -> Result<ImportOutcome, StoreError> {
        let mut tx = self.begin().await.map_err(db("begin import"))?;
        let mut households: std::collections::HashMap<String, HouseholdId> =
            std::collections::HashMap::new();
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
        tx.commit().await.map_err(db("commit household"))?;
        self.read_household(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("household {id}")))
    }

    async fn update_household(
        &self,
        id: HouseholdId,
        draft: &HouseholdDraft,
        actor: &Actor,
    ) -> Result<HouseholdRecord, StoreError> {
        let mut tx = self.begin().await.map_err(db("begin household update"))?;
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
        let keep: Vec<(String, PersonId)> =
            sqlx::query("SELECT record_id, id FROM persons WHERE household_id = ?")
                .bind(id.0)
                .fetch_all(&mut *tx)
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
        // Members left out of the edit are removed; the others are updated in place.
        let staying: Vec<String> = draft
            .members
            .iter()
            .map(|m| m.raw.record_id.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        for (record_id, _) in &keep {
            if !staying.contains(record_id) {
                sqlx::query("DELETE FROM persons WHERE record_id = ?")
                    .bind(record_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("remove a member"))?;
            }
        }
        self.write_members(&mut tx, id, draft, actor, &keep).await?;
        tx.commit().await.map_err(db("commit household update"))?;
        self.read_household(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("household {id}")))
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

    async fn person_by_record(&self, record_id: &str) -> Result<Option<Person>, StoreError> {
        let query = sqlx::query(AssertSqlSafe(format!(
            "SELECT {PERSON_COLUMNS} FROM persons WHERE record_id = ?"
        )));
        self.one_person(query.bind(record_id)).await
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

    async fn identity_records(&self, record_id: &str) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT i.record_id FROM identities i JOIN persons p ON p.record_id = i.record_id \
             WHERE i.identity = (SELECT identity FROM identities WHERE record_id = ?) \
             ORDER BY p.registered_at, i.record_id",
        )
        .bind(record_id)
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
             ORDER BY probability DESC, record_a, record_b LIMIT ? OFFSET ?",
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

    async fn create_user(&self, u: &NewUser) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO users (username, role, site_code, password_hash, created_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&u.username)
        .bind(u.role.code())
        .bind(&u.site_code)
        .bind(&u.password_hash)
        .bind(Utc::now())
        .execute(&self.pool)
        .await;
        match result {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(
                Conflict::UsernameTaken(u.username.clone()),
            )),
            other => other.map(|_| ()).map_err(db("create a user")),
        }
    }

    async fn user(&self, username: &str) -> Result<Option<UserAccount>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = ?"
        )))
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read a user"))?;
        row.map(|r| user_from_row(&r)).transpose()
    }

    async fn login_failed(
        &self,
        username: &str,
        max_failures: u32,
        lock_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET failed_logins = failed_logins + 1, \
             locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END \
             WHERE username = ?",
        )
        .bind(i64::from(max_failures))
        .bind(lock_until)
        .bind(username)
        .execute(&self.pool)
        .await
        .map_err(db("count a failed sign-in"))?;
        Ok(())
    }

    async fn login_succeeded(
        &self,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET failed_logins = 0, locked_until = NULL \
             WHERE username = ? AND (locked_until IS NULL OR locked_until <= ?)",
        )
        .bind(username)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db("clear failed sign-ins"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn create_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (digest, username, csrf_digest, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&s.digest)
        .bind(&s.username)
        .bind(&s.csrf_digest)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await
        .map_err(db("create a session"))?;
        Ok(())
    }

    async fn session(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(SessionRecord, UserAccount)>, StoreError> {
        let row = sqlx::query(
            "SELECT s.digest, s.csrf_digest, s.expires_at, u.username, u.role, u.site_code, \
             u.password_hash, u.failed_logins, u.locked_until FROM sessions s \
             JOIN users u ON u.username = s.username WHERE s.digest = ? AND s.expires_at > ?",
        )
        .bind(digest)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read a session"))?;
        let Some(r) = row else { return Ok(None) };
        let user = user_from_row(&r)?;
        let session = SessionRecord {
            digest: r.try_get("digest").map_err(db("decode a session"))?,
            username: user.username.clone(),
            csrf_digest: r.try_get("csrf_digest").map_err(db("decode a session"))?,
            expires_at: r.try_get("expires_at").map_err(db("decode a session"))?,
        };
        Ok(Some((session, user)))
    }

    async fn delete_session(&self, digest: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE digest = ?")
            .bind(digest)
            .execute(&self.pool)
            .await
            .map_err(db("end a session"))?;
        Ok(())
    }

    async fn create_token(&self, t: &ApiToken) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_tokens (id, digest, username, label, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&t.id)
        .bind(&t.digest)
        .bind(&t.username)
        .bind(&t.label)
        .bind(t.created_at)
        .execute(&self.pool)
        .await
        .map_err(db("create a token"))?;
        Ok(())
    }

    async fn token_user(&self, digest: &str) -> Result<Option<UserAccount>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = \
             (SELECT username FROM api_tokens WHERE digest = ? AND revoked_at IS NULL)"
        )))
        .bind(digest)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read a token"))?;
        row.map(|r| user_from_row(&r)).transpose()
    }

    async fn tokens(&self, username: Option<&str>) -> Result<Vec<ApiToken>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, digest, username, label, created_at, revoked_at FROM api_tokens \
             WHERE ? IS NULL OR username = ? ORDER BY created_at DESC",
        )
        .bind(username)
        .bind(username)
        .fetch_all(&self.pool)
        .await
        .map_err(db("list tokens"))?;
        rows.iter()
            .map(|r| {
                Ok(ApiToken {
                    id: r.try_get("id")?,
                    digest: r.try_get("digest")?,
                    username: r.try_get("username")?,
                    label: r.try_get("label")?,
                    created_at: r.try_get("created_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db("decode tokens"))
    }

    async fn revoke_token(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?")
                .bind(at)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db("revoke a token"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("token {id}")));
        }
        Ok(())
    }

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

    async fn tracing_case(&self, id: Uuid) -> Result<Option<TracingCase>, StoreError> {
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
            "SELECT count(*) FROM tracing_requests WHERE (?1 IS NULL OR status = ?1) \
             AND (?2 IS NULL OR json_extract(draft, '$.site_code') IS NULL \
                  OR json_extract(draft, '$.site_code') = ?2) \
             AND (?3 IS NULL OR assigned_to = ?3)",
        )
        .bind(code)
        .bind(site_code)
        .bind(assigned_to)
        .fetch_one(&self.pool)
        .await
        .map_err(db("count requests"))?;
        let rows = sqlx::query(
            "SELECT id, draft, priority, status, created_by, created_at, assigned_to FROM tracing_requests \
             WHERE (?1 IS NULL OR status = ?1) \
               AND (?2 IS NULL OR json_extract(draft, '$.site_code') IS NULL \
                  OR json_extract(draft, '$.site_code') = ?2) \
               AND (?3 IS NULL OR assigned_to = ?3) \
             ORDER BY CASE priority WHEN 'urgent' THEN 0 ELSE 1 END, created_at LIMIT ?4 OFFSET ?5",
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
        id: Uuid,
        found: &[(String, f64)],
        actor: &Actor,
    ) -> Result<u64, StoreError> {
        let mut tx = self
            .begin()
            .await
            .map_err(db("begin offering candidates"))?;
        let Some(case) = read_case(&mut tx, id).await? else {
            return Err(StoreError::NotFound(format!("tracing request {id}")));
        };
        let mut new = 0;
        for (record_id, score) in found {
            let done = sqlx::query(
                "INSERT INTO tracing_candidates (request_id, record_id, score, status, found_at) \
                 SELECT ?, ?, ?, 'potential', ? WHERE EXISTS \
                 (SELECT 1 FROM persons WHERE record_id = ?) \
                 ON CONFLICT (request_id, record_id) DO NOTHING",
            )
            .bind(id)
            .bind(record_id)
            .bind(score)
            .bind(actor.at)
            .bind(record_id)
            .execute(&mut *tx)
            .await
            .map_err(db("offer a candidate"))?;
            if done.rows_affected() > 0 {
                new += 1;
                let what = format!("candidate {record_id} found (score {score:.2})");
                case_event(&mut tx, id, actor, &what, "").await?;
            }
        }
        if new > 0 && case.request.status == CaseStatus::Open {
            set_status(
                &mut tx,
                id,
                CaseStatus::Open,
                CaseStatus::CandidatesFound,
                actor,
                "",
            )
            .await?;
        }
        tx.commit().await.map_err(db("commit candidates"))?;
        Ok(new)
    }

    async fn link_requests(
        &self,
        a: Uuid,
        b: Uuid,
        score: f64,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await.map_err(db("begin linking requests"))?;
        let mut new = false;
        for (this, other) in [(a, b), (b, a)] {
            let done = sqlx::query(
                "INSERT INTO request_links (request_id, other_id, score, found_at) \
                 VALUES (?, ?, ?, ?) ON CONFLICT (request_id, other_id) DO NOTHING",
            )
            .bind(this)
            .bind(other)
            .bind(score)
            .bind(actor.at)
            .execute(&mut *tx)
            .await
            .map_err(db("link requests"))?;
            if done.rows_affected() > 0 {
                new = true;
                let what = format!(
                    "request {other} looks for this request's requester (score {score:.2})"
                );
                case_event(&mut tx, this, actor, &what, "").await?;
            }
        }
        tx.commit().await.map_err(db("commit linking requests"))?;
        Ok(new)
    }

    async fn decide_candidate(
        &self,
        id: Uuid,
        record_id: &str,
        status: CandidateStatus,
        actor: &Actor,
        reason: &str,
    ) -> Result<TracingCase, StoreError> {
        let mut tx = self.begin().await.map_err(db("begin a decision"))?;
        let Some(case) = read_case(&mut tx, id).await? else {
            return Err(StoreError::NotFound(format!("tracing request {id}")));
        };
        if !case.candidates.iter().any(|c| c.record_id == record_id) {
            return Err(StoreError::NotFound(format!(
                "candidate {record_id} of request {id}"
            )));
        }
        let from = case.request.status;
        if from.is_final() {
            return Err(StoreError::Conflict(Conflict::CaseFinished(from)));
        }
        if status == CandidateStatus::Confirmed
            && case
                .candidates
                .iter()
                .any(|c| c.record_id != record_id && c.status == CandidateStatus::Confirmed)
        {
            return Err(StoreError::Conflict(Conflict::OtherCandidateConfirmed));
        }
        sqlx::query(
            "UPDATE tracing_candidates SET status = ? WHERE request_id = ? AND record_id = ?",
        )
        .bind(status.code())
        .bind(id)
        .bind(record_id)
        .execute(&mut *tx)
        .await
        .map_err(db("decide a candidate"))?;
        case_event(
            &mut tx,
            id,
            actor,
            &format!("candidate {record_id} {status}"),
            reason,
        )
        .await?;
        let to = CaseStatus::from_candidates(case.candidates.iter().map(|c| {
            if c.record_id == record_id {
                status
            } else {
                c.status
            }
        }));
        if to != from {
            set_status(&mut tx, id, from, to, actor, reason).await?;
        }
        let case = read_case(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("tracing request {id}")))?;
        tx.commit().await.map_err(db("commit a decision"))?;
        Ok(case)
    }

    async fn move_case(
        &self,
        id: Uuid,
        to: CaseStatus,
        actor: &Actor,
        reason: &str,
    ) -> Result<TracingCase, StoreError> {
        let mut tx = self.begin().await.map_err(db("begin moving a case"))?;
        let Some(case) = read_case(&mut tx, id).await? else {
            return Err(StoreError::NotFound(format!("tracing request {id}")));
        };
        // A caseworker closes a working case or reopens a closed one; every other status
        // follows from the decisions on candidates.
        let from = case.request.status;
        let to = match (from, to) {
            (f, CaseStatus::ClosedWithoutResult) if !f.is_final() => to,
            (CaseStatus::ClosedWithoutResult, CaseStatus::Open) => {
                CaseStatus::from_candidates(case.candidates.iter().map(|c| c.status))
            }
            _ => {
                return Err(StoreError::Conflict(Conflict::CaseCannotMove { from, to }));
            }
        };
        set_status(&mut tx, id, from, to, actor, reason).await?;
        let case = read_case(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("tracing request {id}")))?;
        tx.commit().await.map_err(db("commit moving a case"))?;
        Ok(case)
    }

    async fn purge_person(&self, record_id: &str) -> Result<bool, StoreError> {
        let n = self
            .purge_where("record_id = ?", |q| q.bind(record_id.to_string()))
            .await?;
        Ok(n > 0)
    }

    async fn purge_registered_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        self.purge_where("registered_at < ?", |q| q.bind(cutoff))
            .await
    }

    async fn assign_case(
        &self,
        id: Uuid,
        caseworker: Option<&str>,
        actor: &Actor,
    ) -> Result<TracingCase, StoreError> {
        let mut tx = self.begin().await.map_err(db("begin assigning a case"))?;
        let Some(case) = read_case(&mut tx, id).await? else {
            return Err(StoreError::NotFound(format!("tracing request {id}")));
        };
        if case.request.assigned_to.as_deref() != caseworker {
            sqlx::query("UPDATE tracing_requests SET assigned_to = ? WHERE id = ?")
                .bind(caseworker)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db("assign a case"))?;
            let what = match caseworker {
                Some(name) => format!("assigned to {name}"),
                None => "shared by the site's caseworkers".to_string(),
            };
            case_event(&mut tx, id, actor, &what, "").await?;
        }
        let case = read_case(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("tracing request {id}")))?;
        tx.commit().await.map_err(db("commit assigning a case"))?;
        Ok(case)
    }

    async fn purge_cases_ended_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.begin().await.map_err(db("begin erasing cases"))?;
        // Candidates, history, steps, links and PFIF records go with the case (ON DELETE
        // CASCADE).
        let deleted = sqlx::query(
            "DELETE FROM tracing_requests WHERE status IN (?, ?) AND \
             COALESCE((SELECT MAX(at) FROM case_events WHERE request_id = tracing_requests.id), \
             created_at) < ?",
        )
        .bind(CaseStatus::Reunified.code())
        .bind(CaseStatus::ClosedWithoutResult.code())
        .bind(cutoff)
        .execute(&mut *tx)
        .await
        .map_err(db("erase ended cases"))?
        .rows_affected();
        tx.commit().await.map_err(db("commit erasing cases"))?;
        self.checkpoint_after_erasing().await?;
        Ok(deleted)
    }

    async fn record_reunification_step(
        &self,
        id: Uuid,
        step: &ReunificationStepDraft,
        actor: &Actor,
    ) -> Result<TracingCase, StoreError> {
        let mut tx = self
            .begin()
            .await
            .map_err(db("begin a reunification step"))?;
        let Some(case) = read_case(&mut tx, id).await? else {
            return Err(StoreError::NotFound(format!("tracing request {id}")));
        };
        let from = case.request.status;
        let confirmed = case
            .candidates
            .iter()
            .find(|c| c.status == CandidateStatus::Confirmed);
        let confirmed = match (from, confirmed) {
            (CaseStatus::MatchConfirmed, Some(c)) => c.record_id.clone(),
            (CaseStatus::Reunified, _) => {
                return Err(StoreError::Conflict(Conflict::AlreadyReunified));
            }
            (CaseStatus::ClosedWithoutResult, _) => {
                return Err(StoreError::Conflict(Conflict::CaseClosed));
            }
            _ => {
                return Err(StoreError::Conflict(Conflict::NoMatchConfirmed));
            }
        };
        let json = serde_json::to_string(step)
            .map_err(|e| StoreError::db("store a reunification step", e))?;
        sqlx::query(
            "INSERT INTO reunification_steps (request_id, step, recorded_by, recorded_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(id)
        .bind(json)
        .bind(&actor.username)
        .bind(actor.at)
        .execute(&mut *tx)
        .await
        .map_err(db("store a reunification step"))?;
        let what = format!("step {} at {} on {}", step.step, step.place, step.on);
        case_event(&mut tx, id, actor, &what, &step.note).await?;
        if step.step == ReunificationStepKind::Reunified {
            sqlx::query(
                "UPDATE tracing_candidates SET status = ? WHERE request_id = ? AND record_id = ?",
            )
            .bind(CandidateStatus::Reunited.code())
            .bind(id)
            .bind(&confirmed)
            .execute(&mut *tx)
            .await
            .map_err(db("record a reunification"))?;
            let what = format!("candidate {confirmed} {}", CandidateStatus::Reunited);
            case_event(&mut tx, id, actor, &what, &step.note).await?;
            set_status(&mut tx, id, from, CaseStatus::Reunified, actor, &step.note).await?;
        }
        let case = read_case(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("tracing request {id}")))?;
        tx.commit()
            .await
            .map_err(db("commit a reunification step"))?;
        Ok(case)
    }

    async fn import_pfif(
        &self,
        persons: &[(PfifPerson, TracingRequestDraft)],
        notes: &[PfifNote],
        actor: &Actor,
    ) -> Result<PfifImported, StoreError> {
        let mut tx = self.begin().await.map_err(db("begin a PFIF import"))?;
        let mut imported = PfifImported::default();
        for (person, draft) in persons {
            let held: Option<(String,)> = sqlx::query_as(
                "SELECT person_record_id FROM pfif_persons WHERE person_record_id = ?",
            )
            .bind(person.record_id())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("look up a PFIF person"))?;
            if held.is_some() {
                imported.persons_already_present += 1;
            } else {
                let request = insert_request(&mut tx, draft, actor, "imported from PFIF").await?;
                let fields = serde_json::to_string(&person.fields)
                    .map_err(|e| StoreError::db("store a PFIF person", e))?;
                sqlx::query(
                    "INSERT INTO pfif_persons (person_record_id, request_id, fields, imported_at) \
                     VALUES (?, ?, ?, ?)",
                )
                .bind(person.record_id())
                .bind(request.id)
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
            let about = note.field("person_record_id");
            let held: Option<(String,)> = sqlx::query_as(
                "SELECT person_record_id FROM pfif_persons WHERE person_record_id = ?",
            )
            .bind(about)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("look up a PFIF person"))?;
            if held.is_none() {
                return Err(StoreError::NotFound(format!(
                    "person {about}, whom note {} is about, is neither in the file nor in this registry",
                    note.record_id()
                )));
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
        let ids: Vec<(Uuid,)> =
            sqlx::query_as("SELECT id FROM tracing_requests ORDER BY created_at, id")
                .fetch_all(&mut *conn)
                .await
                .map_err(db("read cases for PFIF"))?;
        let mut out = Vec::with_capacity(ids.len());
        for (id,) in ids {
            let Some(case) = read_case(&mut conn, id).await? else {
                continue;
            };
            let person: Option<(String, String)> = sqlx::query_as(
                "SELECT person_record_id, fields FROM pfif_persons WHERE request_id = ?",
            )
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db("read a PFIF person"))?;
            let person = match person {
                None => None,
                Some((record_id, fields)) => {
                    let notes: Vec<(String,)> = sqlx::query_as(
                        "SELECT fields FROM pfif_notes WHERE person_record_id = ? ORDER BY rowid",
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

    async fn flow_statistics(&self, filter: &StatsFilter) -> Result<FlowStatistics, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db("read statistics"))?;
        // One pass over the registrations matching the filter; the arrival day is the day
        // registered as typed, else the day the record was saved.
        let rows = sqlx::query(
            "SELECT COALESCE(p.registered_on, substr(p.registered_at, 1, 10)) AS day, \
                    p.site_code, p.sex, p.age, p.birth_year_min, p.birth_year_max, \
                    p.vulnerabilities, p.household_id, h.destination_province \
             FROM persons p JOIN households h ON h.id = p.household_id \
             WHERE (?1 IS NULL OR COALESCE(p.registered_on, substr(p.registered_at, 1, 10)) >= ?1) \
               AND (?2 IS NULL OR COALESCE(p.registered_on, substr(p.registered_at, 1, 10)) <= ?2) \
               AND (?3 IS NULL OR p.site_code = ?3)",
        )
        .bind(filter.from.map(|d| d.to_string()))
        .bind(filter.to.map(|d| d.to_string()))
        .bind(filter.site_code.as_deref())
        .fetch_all(&mut *conn)
        .await
        .map_err(db("read statistics"))?;
        let mut stats = FlowStatistics::default();
        let mut arrivals: BTreeMap<(NaiveDate, String), u64> = BTreeMap::new();
        let mut pyramid: BTreeMap<(String, Option<Sex>), u64> = BTreeMap::new();
        let mut vulnerabilities: BTreeMap<String, u64> = BTreeMap::new();
        let mut destinations: BTreeMap<String, u64> = BTreeMap::new();
        let mut households = std::collections::HashSet::new();
        let decode = db("decode statistics");
        for r in &rows {
            let day: String = r.try_get("day").map_err(&decode)?;
            let Ok(day) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") else {
                continue;
            };
            stats.people += 1;
            let household: Uuid = r.try_get("household_id").map_err(&decode)?;
            households.insert(household);
            let site: Option<String> = r.try_get("site_code").map_err(&decode)?;
            *arrivals.entry((day, site.unwrap_or_default())).or_default() += 1;
            let sex: Option<String> = r.try_get("sex").map_err(&decode)?;
            let sex = sex.as_deref().and_then(Sex::from_code);
            let age: Option<i64> = r.try_get("age").map_err(&decode)?;
            let born: (Option<i64>, Option<i64>) = (
                r.try_get("birth_year_min").map_err(&decode)?,
                r.try_get("birth_year_max").map_err(&decode)?,
            );
            let age = age.or(match born {
                (Some(a), Some(b)) => Some(i64::from(chrono::Datelike::year(&day)) - (a + b) / 2),
                _ => None,
            });
            let group = age
                .and_then(|a| u32::try_from(a).ok())
                .and_then(|a| {
                    AGE_GROUPS
                        .iter()
                        .find(|(_, lo, hi)| (*lo..=*hi).contains(&a))
                })
                .map(|(name, _, _)| (*name).to_string())
                .unwrap_or_default();
            *pyramid.entry((group, sex)).or_default() += 1;
            let vs: String = r.try_get("vulnerabilities").map_err(&decode)?;
            for v in vs.split(',').map(str::trim).filter(|v| !v.is_empty()) {
                *vulnerabilities.entry(v.to_string()).or_default() += 1;
            }
            let destination: Option<String> = r.try_get("destination_province").map_err(&decode)?;
            *destinations
                .entry(destination.unwrap_or_default())
                .or_default() += 1;
        }
        stats.households = households.len() as u64;
        stats.arrivals = arrivals.into_iter().map(|((d, s), n)| (d, s, n)).collect();
        stats.pyramid = pyramid.into_iter().map(|((g, s), n)| (g, s, n)).collect();
        stats.vulnerabilities = vulnerabilities.into_iter().collect();
        stats.destinations = destinations.into_iter().collect();
        let cases: Vec<(String, i64)> = sqlx::query_as(
            "SELECT status, COUNT(*) FROM tracing_requests \
             WHERE (?1 IS NULL OR substr(created_at, 1, 10) >= ?1) \
               AND (?2 IS NULL OR substr(created_at, 1, 10) <= ?2) \
               AND (?3 IS NULL OR json_extract(draft, '$.site_code') = ?3) \
             GROUP BY status ORDER BY status",
        )
        .bind(filter.from.map(|d| d.to_string()))
        .bind(filter.to.map(|d| d.to_string()))
        .bind(filter.site_code.as_deref())
        .fetch_all(&mut *conn)
        .await
        .map_err(db("read tracing statistics"))?;
        stats.cases = cases
            .into_iter()
            .map(|(s, n)| (s, u64::try_from(n).unwrap_or(0)))
            .collect();
        let matched: Vec<(DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
            "SELECT r.created_at, MIN(e.at) FROM tracing_requests r \
             JOIN case_events e ON e.request_id = r.id \
             WHERE e.what LIKE 'status % → match_confirmed' \
               AND (?1 IS NULL OR substr(r.created_at, 1, 10) >= ?1) \
               AND (?2 IS NULL OR substr(r.created_at, 1, 10) <= ?2) \
               AND (?3 IS NULL OR json_extract(r.draft, '$.site_code') = ?3) \
             GROUP BY r.id",
        )
        .bind(filter.from.map(|d| d.to_string()))
        .bind(filter.to.map(|d| d.to_string()))
        .bind(filter.site_code.as_deref())
        .fetch_all(&mut *conn)
        .await
        .map_err(db("read tracing statistics"))?;
        stats.days_to_match = matched
            .into_iter()
            .map(|(opened, matched)| (matched - opened).num_seconds() as f64 / 86_400.0)
            .collect();
        Ok(stats)
    }

    async fn append_audit(&self, e: &AuditEvent) -> Result<AuditEntry, StoreError> {
        // Immediate: two appends cannot both read the same last entry.
        let mut tx = self.begin().await.map_err(db("append to the audit log"))?;
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
             prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .execute(&mut *tx)
        .await
        .map_err(db("append to the audit log"))?;
        tx.commit().await.map_err(db("append to the audit log"))?;
        Ok(AuditEntry {
            seq,
            event: e.clone(),
            prev_hash,
            hash,
        })
    }

    async fn audit_entries(
        &self,
        f: &AuditFilter,
        page: Page,
    ) -> Result<Paged<AuditEntry>, StoreError> {
        let filtered = |select: &str| {
            let mut q = QueryBuilder::<Sqlite>::new(select);
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

/// Rows per page of identities and review pairs saved.
const LINK_BATCH: usize = 100_000;

/// Registrations read for matching at a time.
const MATCH_PAGE: i64 = 50_000;

/// A registration's matching fields as [`SqliteStore::match_records`] pages them, in column
/// order.
#[derive(serde::Deserialize)]
struct MatchRow {
    record_id: String,
    household: String,
    given_name: Option<String>,
    father_name: Option<String>,
    grandfather_name: Option<String>,
    family_name: Option<String>,
    sex: Option<String>,
    birth_year_min: Option<i32>,
    birth_year_max: Option<i32>,
    raw_birth_date: String,
    province_code: Option<String>,
    /// Only where the gazetteer did not know the place: a million copies cost a second.
    raw_province_of_origin: Option<String>,
    last_residence_code: Option<String>,
    raw_last_residence: Option<String>,
    document_type: Option<String>,
    document_number: Option<String>,
    phone_e164: Option<String>,
}

impl MatchRow {
    fn into_match_record(self) -> MatchRecord {
        let document = match (self.document_type, self.document_number) {
            (t, Some(n)) if !n.is_empty() => Some(format!("{}:{n}", t.unwrap_or_default())),
            _ => None,
        };
        MatchRecord {
            record_id: self.record_id,
            household: self.household,
            given_name: self.given_name,
            father_name: self.father_name,
            grandfather_name: self.grandfather_name,
            family_name: self.family_name,
            sex: self.sex.as_deref().and_then(Sex::from_code),
            birth_year_min: self.birth_year_min,
            birth_year_max: self.birth_year_max,
            birth_date: known_birth_date(&self.raw_birth_date),
            province_code: place_key(
                self.province_code,
                self.raw_province_of_origin.as_deref().unwrap_or_default(),
            ),
            residence_code: place_key(
                self.last_residence_code,
                self.raw_last_residence.as_deref().unwrap_or_default(),
            ),
            document,
            phone_e164: self.phone_e164,
        }
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

const USER_COLUMNS: &str = "username, role, site_code, password_hash, failed_logins, locked_until";

fn user_from_row(r: &SqliteRow) -> Result<UserAccount, StoreError> {
    let decode = db("decode a user");
    let role: String = r.try_get("role").map_err(&decode)?;
    Ok(UserAccount {
        username: r.try_get("username").map_err(&decode)?,
        role: Role::from_code(&role)
            .ok_or_else(|| StoreError::db("decode a user", format!("unknown role {role}")))?,
        site_code: r.try_get("site_code").map_err(&decode)?,
        password_hash: r.try_get("password_hash").map_err(&decode)?,
        failed_logins: r.try_get::<i64, _>("failed_logins").map_err(&decode)? as u32,
        locked_until: r.try_get("locked_until").map_err(&decode)?,
    })
}

const AUDIT_COLUMNS: &str =
    "seq, at, actor, action, target, purpose, origin, outcome, prev_hash, hash";

fn audit_from_row(r: &SqliteRow) -> Result<AuditEntry, StoreError> {
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
        },
        prev_hash: r.try_get("prev_hash").map_err(&decode)?,
        hash: r.try_get("hash").map_err(&decode)?,
    })
}

/// Stores a new tracing request, with its first history entry.
async fn insert_request(
    conn: &mut sqlx::SqliteConnection,
    draft: &TracingRequestDraft,
    actor: &Actor,
    why: &str,
) -> Result<TracingRequest, StoreError> {
    let request = TracingRequest {
        id: Uuid::now_v7(),
        draft: draft.clone(),
        priority: if draft.separated_child {
            Priority::Urgent
        } else {
            Priority::Normal
        },
        status: CaseStatus::Open,
        created_by: actor.username.clone(),
        created_at: actor.at,
        assigned_to: None,
    };
    let json = serde_json::to_string(draft).map_err(|e| StoreError::db("store a request", e))?;
    sqlx::query(
        "INSERT INTO tracing_requests (id, draft, priority, status, created_by, created_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(request.id)
    .bind(json)
    .bind(request.priority.code())
    .bind(request.status.code())
    .bind(&request.created_by)
    .bind(request.created_at)
    .execute(&mut *conn)
    .await
    .map_err(db("store a request"))?;
    case_event(conn, request.id, actor, "request opened", why).await?;
    Ok(request)
}

/// Stores a PFIF note unless it is already held, counting which.
async fn insert_pfif_note(
    conn: &mut sqlx::SqliteConnection,
    note: &PfifNote,
    at: DateTime<Utc>,
    imported: &mut PfifImported,
) -> Result<(), StoreError> {
    let fields =
        serde_json::to_string(&note.fields).map_err(|e| StoreError::db("store a PFIF note", e))?;
    let done = sqlx::query(
        "INSERT INTO pfif_notes (note_record_id, person_record_id, fields, imported_at) \
         VALUES (?, ?, ?, ?) ON CONFLICT (note_record_id) DO NOTHING",
    )
    .bind(note.record_id())
    .bind(note.field("person_record_id"))
    .bind(fields)
    .bind(at)
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

async fn case_event(
    conn: &mut sqlx::SqliteConnection,
    id: Uuid,
    actor: &Actor,
    what: &str,
    why: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO case_events (request_id, at, actor, what, why) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(actor.at)
    .bind(&actor.username)
    .bind(what)
    .bind(why)
    .execute(conn)
    .await
    .map_err(db("record a case step"))?;
    Ok(())
}

async fn set_status(
    conn: &mut sqlx::SqliteConnection,
    id: Uuid,
    from: CaseStatus,
    to: CaseStatus,
    actor: &Actor,
    why: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE tracing_requests SET status = ? WHERE id = ?")
        .bind(to.code())
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(db("move a case"))?;
    case_event(conn, id, actor, &format!("status {from} → {to}"), why).await
}

fn request_from_row(r: &SqliteRow) -> Result<TracingRequest, StoreError> {
    let decode = db("decode a request");
    let code = |column: &str| -> Result<String, StoreError> { r.try_get(column).map_err(&decode) };
    let draft: String = code("draft")?;
    Ok(TracingRequest {
        id: r.try_get("id").map_err(&decode)?,
        draft: serde_json::from_str(&draft).map_err(|e| StoreError::db("decode a request", e))?,
        priority: Priority::from_code(&code("priority")?).unwrap_or(Priority::Normal),
        status: CaseStatus::from_code(&code("status")?)
            .ok_or_else(|| StoreError::db("decode a request", "unknown status"))?,
        created_by: code("created_by")?,
        created_at: r.try_get("created_at").map_err(&decode)?,
        assigned_to: r.try_get("assigned_to").map_err(&decode)?,
    })
}

async fn read_case(
    conn: &mut sqlx::SqliteConnection,
    id: Uuid,
) -> Result<Option<TracingCase>, StoreError> {
    let Some(row) = sqlx::query(
        "SELECT id, draft, priority, status, created_by, created_at, assigned_to FROM tracing_requests WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db("read a case"))?
    else {
        return Ok(None);
    };
    let request = request_from_row(&row)?;
    let candidates = sqlx::query(
        "SELECT record_id, score, status, found_at FROM tracing_candidates \
         WHERE request_id = ? ORDER BY score DESC, record_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("read candidates"))?
    .iter()
    .map(|r| {
        let status: String = r.try_get("status")?;
        Ok(TracingCandidate {
            record_id: r.try_get("record_id")?,
            score: r.try_get("score")?,
            status: CandidateStatus::from_code(&status).unwrap_or(CandidateStatus::Potential),
            found_at: r.try_get("found_at")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()
    .map_err(db("decode candidates"))?;
    let events = sqlx::query(
        "SELECT at, actor, what, why FROM case_events WHERE request_id = ? ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("read a case's history"))?
    .iter()
    .map(|r| {
        Ok(CaseEvent {
            at: r.try_get("at")?,
            actor: r.try_get("actor")?,
            what: r.try_get("what")?,
            why: r.try_get("why")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()
    .map_err(db("decode a case's history"))?;
    let counterparts = sqlx::query_as::<_, (Uuid, f64)>(
        "SELECT other_id, score FROM request_links WHERE request_id = ? ORDER BY score DESC",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("read linked requests"))?
    .into_iter()
    .map(|(request_id, score)| RequestLink { request_id, score })
    .collect();
    let steps = sqlx::query(
        "SELECT step, recorded_by, recorded_at FROM reunification_steps \
         WHERE request_id = ? ORDER BY id",
    )
    .bind(id)
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
