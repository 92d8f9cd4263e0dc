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
    probability REAL NOT NULL,
    PRIMARY KEY (record_a, record_b)
);

CREATE INDEX review_queue_probability ON review_queue(probability DESC);

CREATE TABLE linkage_runs (
    id INTEGER PRIMARY KEY,
    finished_at TEXT NOT NULL,
    model TEXT NOT NULL,
    stats TEXT NOT NULL
);

CREATE TABLE link_decisions (
    id INTEGER PRIMARY KEY,
    record_a TEXT NOT NULL REFERENCES persons(record_id) ON DELETE CASCADE,
    record_b TEXT NOT NULL REFERENCES persons(record_id) ON DELETE CASCADE,
    same_person INTEGER NOT NULL,
    reviewer TEXT NOT NULL,
    reason TEXT NOT NULL,
    decided_at TEXT NOT NULL
);
