-- The share of people sought who registered at all, as information managers set it (each
-- setting kept, the last in force): the prior every tracing candidate stands against.
CREATE TABLE tracing_registered_share (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    share REAL NOT NULL CHECK (share > 0 AND share < 1),
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL
);
