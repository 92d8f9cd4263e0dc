-- Reunification steps recorded after a match is confirmed, and the PFIF records tracing cases
-- were imported from, kept whole so that they can be exported again unchanged.

CREATE TABLE reunification_steps (
    id INTEGER PRIMARY KEY,
    request_id BLOB NOT NULL REFERENCES tracing_requests(id) ON DELETE CASCADE,
    -- The step as recorded (kind, place, date, note), as JSON.
    step TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);

CREATE INDEX reunification_steps_request ON reunification_steps(request_id, id);

CREATE TABLE pfif_persons (
    person_record_id TEXT PRIMARY KEY,
    request_id BLOB NOT NULL UNIQUE REFERENCES tracing_requests(id) ON DELETE CASCADE,
    -- Field name to value, as JSON.
    fields TEXT NOT NULL,
    imported_at TEXT NOT NULL
);

CREATE TABLE pfif_notes (
    note_record_id TEXT PRIMARY KEY,
    person_record_id TEXT NOT NULL REFERENCES pfif_persons(person_record_id) ON DELETE CASCADE,
    fields TEXT NOT NULL,
    imported_at TEXT NOT NULL
);

CREATE INDEX pfif_notes_person ON pfif_notes(person_record_id, note_record_id);
