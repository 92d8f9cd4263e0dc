-- Forms received from field phones over OpenRosa, by the instanceID the phone gave them: a
-- retry is recognised by its digest, other content under the same id refused, and an edit
-- (deprecatedID) replaces only the current version. No personal data: ids, a digest, who, when.
CREATE TABLE openrosa_submissions (
    instance_id TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    -- NULL while the household is being registered; no foreign key, since erasing a household
    -- (on request, or at the end of the retention period) leaves the receipt.
    household_id UUID,
    username TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    superseded_by TEXT
);
