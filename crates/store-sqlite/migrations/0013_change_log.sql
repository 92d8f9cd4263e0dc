-- The change log a site and the hub exchange. Each registry is the only writer of its own
-- origin's changes (numbered 1, 2, 3…) and holds the changes it received from others, each
-- once. A household's version is the id of the last change applied to it.
CREATE TABLE sync_self (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    -- A site's code, `hub`, or `local` before enrolment.
    origin TEXT NOT NULL,
    -- The hybrid logical clock's last time, issued or observed.
    clock TEXT NOT NULL,
    -- The hub this site syncs with, and its credential (the database is encrypted).
    hub TEXT,
    credential TEXT,
    -- This registry's own changes the hub is known to hold, and when it last answered.
    acknowledged BIGINT NOT NULL DEFAULT 0,
    last_synced_at TEXT
);
INSERT INTO sync_self (one, origin, clock) VALUES (1, 'local', '0000000000000000000.000000');

CREATE TABLE changes (
    origin TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL UNIQUE,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    entity TEXT NOT NULL,
    base TEXT,
    body TEXT NOT NULL,
    hash TEXT NOT NULL,
    -- When it arrived from elsewhere; NULL for this registry's own.
    received_at TEXT,
    PRIMARY KEY (origin, seq)
);
CREATE INDEX changes_entity ON changes(entity);

ALTER TABLE households ADD COLUMN version TEXT;

-- Fields two crossed edits changed differently, for a person to settle at the desk.
CREATE TABLE crossed_fields (
    household_id BLOB NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    -- The `CrossedField` as JSON: both values, who made them, where and when.
    detail TEXT NOT NULL,
    PRIMARY KEY (household_id, field)
);
