-- What each PFIF partner's token may write, and death reports awaiting a caseworker.

CREATE TABLE pfif_partners (
    token_id TEXT PRIMARY KEY REFERENCES api_tokens(id) ON DELETE CASCADE,
    -- The domains of PFIF record ids the token may write for, as a JSON array.
    domains TEXT NOT NULL,
    may_report_death INTEGER NOT NULL
);

-- A note saying believed_dead is a death report: it leaves the registry only once a caseworker
-- has verified it. Reports received before are waiting, like new ones.
ALTER TABLE pfif_notes ADD COLUMN death_report INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pfif_notes ADD COLUMN death_verified_by TEXT;
ALTER TABLE pfif_notes ADD COLUMN death_verified_at TEXT;
UPDATE pfif_notes SET death_report = 1 WHERE json_extract(fields, '$.status') = 'believed_dead';
