-- Assistance: programmes an information manager sets (a kind, a season, a rule) and the
-- distributions made under them. A household's distributions go when the household is erased.

CREATE TABLE assistance_programmes (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount INTEGER,
    currency TEXT,
    entitlement TEXT NOT NULL,
    season_from TEXT NOT NULL,
    season_to TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE distributions (
    id BLOB PRIMARY KEY,
    programme_id BLOB NOT NULL REFERENCES assistance_programmes(id),
    household_id BLOB NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity >= 1),
    given_on TEXT NOT NULL,
    received_by TEXT NOT NULL,
    site_code TEXT,
    given_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    override_reason TEXT
);

CREATE INDEX distributions_household ON distributions(household_id);
