-- Sites, households and person registrations. Raw values as typed are kept in raw_* columns,
-- byte for byte; derived values sit beside them and may be recomputed, never the raw ones.

CREATE TABLE sites (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_local TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    province_code TEXT
);

CREATE TABLE households (
    id BLOB PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    site_code TEXT,
    destination_province TEXT,
    destination_district TEXT,
    return_type TEXT,
    needs TEXT NOT NULL DEFAULT '',
    legal_basis TEXT,
    purposes TEXT NOT NULL DEFAULT '',
    registered_by TEXT,
    registered_at TEXT NOT NULL
);

CREATE TABLE persons (
    id BLOB PRIMARY KEY,
    record_id TEXT NOT NULL UNIQUE,
    household_id BLOB NOT NULL REFERENCES households(id),
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
    registered_on TEXT,
    age INTEGER,
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
    registered_at TEXT NOT NULL
);

CREATE INDEX persons_household ON persons(household_id);
