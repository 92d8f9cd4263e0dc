-- A national hub's registry: the same model as a site's SQLite file (crates/store-sqlite),
-- in PostgreSQL's own types. Raw values as typed are kept in raw_* columns, byte for byte;
-- derived values sit beside them and may be recomputed, never the raw ones.

CREATE TABLE sites (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_local TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    province_code TEXT
);

CREATE TABLE households (
    id UUID PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    site_code TEXT,
    destination_province TEXT,
    destination_district TEXT,
    return_type TEXT,
    needs TEXT NOT NULL DEFAULT '',
    legal_basis TEXT,
    purposes TEXT NOT NULL DEFAULT '',
    registered_by TEXT,
    registered_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE persons (
    -- The order registrations were stored in, for listing and reading in turn.
    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id UUID PRIMARY KEY,
    record_id TEXT NOT NULL UNIQUE,
    household_id UUID NOT NULL REFERENCES households(id),
    raw_household_id TEXT NOT NULL DEFAULT '',
    raw_site TEXT NOT NULL DEFAULT '',
    raw_registered_on TEXT NOT NULL DEFAULT '',
    raw_given_name TEXT NOT NULL DEFAULT '',
    raw_father_name TEXT NOT NULL DEFAULT '',
    raw_grandfather_name TEXT NOT NULL DEFAULT '',
    raw_family_name TEXT NOT NULL DEFAULT '',
    raw_sex TEXT NOT NULL DEFAULT '',
    raw_birth_date TEXT NOT NULL DEFAULT '',
    raw_age TEXT NOT NULL DEFAULT '',
    raw_province_of_origin TEXT NOT NULL DEFAULT '',
    raw_district_of_origin TEXT NOT NULL DEFAULT '',
    raw_last_residence TEXT NOT NULL DEFAULT '',
    raw_document_type TEXT NOT NULL DEFAULT '',
    raw_document_number TEXT NOT NULL DEFAULT '',
    raw_phone TEXT NOT NULL DEFAULT '',
    given_name TEXT,
    father_name TEXT,
    grandfather_name TEXT,
    family_name TEXT,
    sex TEXT,
    birth_year_min INTEGER,
    birth_year_max INTEGER,
    registered_on DATE,
    age BIGINT,
    province_code TEXT,
    district_code TEXT,
    last_residence_code TEXT,
    site_code TEXT,
    document_type TEXT,
    document_number TEXT,
    phone_e164 TEXT,
    relationship TEXT,
    vulnerabilities TEXT NOT NULL DEFAULT '',
    registered_by TEXT,
    registered_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX persons_household ON persons(household_id);
CREATE INDEX persons_site ON persons(site_code, registered_on);

-- Deduplication: identities of the latest run, its review queue and model, and reviewers'
-- decisions, which no run overrides.

CREATE TABLE identities (
    record_id TEXT PRIMARY KEY REFERENCES persons(record_id) ON DELETE CASCADE,
    identity TEXT NOT NULL
);

CREATE INDEX identities_identity ON identities(identity);

CREATE TABLE review_queue (
    record_a TEXT NOT NULL REFERENCES persons(record_id) ON DELETE CASCADE,
    record_b TEXT NOT NULL REFERENCES persons(record_id) ON DELETE CASCADE,
    probability DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (record_a, record_b)
);

CREATE INDEX review_queue_probability ON review_queue(probability DESC);

CREATE TABLE linkage_runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    finished_at TIMESTAMPTZ NOT NULL,
    model TEXT NOT NULL,
    stats TEXT NOT NULL
);

CREATE TABLE link_decisions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_a TEXT NOT NULL REFERENCES persons(record_id) ON DELETE CASCADE,
    record_b TEXT NOT NULL REFERENCES persons(record_id) ON DELETE CASCADE,
    same_person BOOLEAN NOT NULL,
    reviewer TEXT NOT NULL,
    reason TEXT NOT NULL,
    decided_at TIMESTAMPTZ NOT NULL
);

-- Accounts, sessions, API tokens and the audit log. Secrets are stored only as digests
-- (passwords as argon2id hashes, session ids and tokens as SHA-256).

CREATE TABLE users (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    site_code TEXT,
    password_hash TEXT NOT NULL,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
    digest TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    csrf_digest TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    label TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

-- The audit chain. `at` is kept as the text the hash was computed over.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    purpose TEXT NOT NULL,
    origin TEXT NOT NULL,
    outcome TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

CREATE INDEX audit_log_actor ON audit_log(actor, seq);

-- Append-only for the application; the hash chain exposes edits made around it.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Family tracing: requests, the registrations found for them with caseworkers' decisions,
-- every step of each case as a typed event, links between requests, reunification steps and
-- the PFIF records cases were imported from.

CREATE TABLE tracing_requests (
    id UUID PRIMARY KEY,
    -- The request as taken (requester, person sought, circumstances), as JSON.
    draft TEXT NOT NULL,
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    assigned_to TEXT,
    site_code TEXT
);

CREATE INDEX tracing_requests_queue ON tracing_requests(status, priority, created_at);
CREATE INDEX tracing_requests_site ON tracing_requests(site_code);

CREATE TABLE tracing_candidates (
    request_id UUID NOT NULL REFERENCES tracing_requests(id) ON DELETE CASCADE,
    record_id TEXT NOT NULL REFERENCES persons(record_id) ON DELETE CASCADE,
    score DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL,
    found_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (request_id, record_id)
);

CREATE TABLE case_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id UUID NOT NULL REFERENCES tracing_requests(id) ON DELETE CASCADE,
    at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL,
    -- The event as JSON (its kind and details) and its kind's code.
    event TEXT NOT NULL,
    kind TEXT NOT NULL,
    why TEXT NOT NULL
);

CREATE INDEX case_events_request ON case_events(request_id, id);
CREATE INDEX case_events_kind ON case_events(kind, request_id);

CREATE TABLE request_links (
    request_id UUID NOT NULL REFERENCES tracing_requests(id) ON DELETE CASCADE,
    other_id UUID NOT NULL REFERENCES tracing_requests(id) ON DELETE CASCADE,
    score DOUBLE PRECISION NOT NULL,
    found_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (request_id, other_id)
);

CREATE TABLE reunification_steps (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id UUID NOT NULL REFERENCES tracing_requests(id) ON DELETE CASCADE,
    -- The step as recorded (kind, place, date, note), as JSON.
    step TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX reunification_steps_request ON reunification_steps(request_id, id);

CREATE TABLE pfif_persons (
    person_record_id TEXT PRIMARY KEY,
    request_id UUID NOT NULL UNIQUE REFERENCES tracing_requests(id) ON DELETE CASCADE,
    -- Field name to value, as JSON.
    fields TEXT NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE pfif_notes (
    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    note_record_id TEXT PRIMARY KEY,
    person_record_id TEXT NOT NULL REFERENCES pfif_persons(person_record_id) ON DELETE CASCADE,
    fields TEXT NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX pfif_notes_person ON pfif_notes(person_record_id, seq);

-- Which derivation rules the registrations were derived under (DERIVATION_VERSION).
CREATE TABLE registry_meta (
    key TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
