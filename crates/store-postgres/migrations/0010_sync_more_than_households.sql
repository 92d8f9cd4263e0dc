-- The change log carries tracing cases, reviewers' decisions, audit entries and erasures too.

-- How far this registry has seen each origin's log, beyond what it keeps: a page the hub
-- filtered, changes about something erased, its own changes erased since. A change number is
-- never given twice, and a pull starts after what was seen.
CREATE TABLE sync_seen (
    origin TEXT PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO sync_seen (origin, seq) SELECT origin, MAX(seq) FROM changes GROUP BY origin;

-- What was erased, by household id or record id (ids say nothing about a person): a change
-- about it that arrives later, from a log that still held it, is not taken.
CREATE TABLE erased (
    id TEXT PRIMARY KEY,
    erased_at TEXT NOT NULL
);

-- Each site's audit entries, at the hub, kept per site so that each chain stays verifiable.
CREATE TABLE site_audit (
    origin TEXT NOT NULL,
    seq BIGINT NOT NULL,
    entry TEXT NOT NULL,
    PRIMARY KEY (origin, seq)
);

-- A change to a tracing case that arrived before the request it changes: applied when the
-- request arrives.
ALTER TABLE changes ADD COLUMN waiting BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX changes_waiting ON changes(entity) WHERE waiting;
