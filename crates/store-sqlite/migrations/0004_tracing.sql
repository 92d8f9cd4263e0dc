-- Family tracing: requests, the registrations found for them with caseworkers' decisions, and
-- every step of each case.

CREATE TABLE tracing_requests (
    id BLOB PRIMARY KEY,
    -- The request as taken (requester, person sought, circumstances), as JSON.
    draft TEXT NOT NULL,
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE INDEX tracing_requests_queue ON tracing_requests(status, priority, created_at);

CREATE TABLE tracing_candidates (
    request_id BLOB NOT NULL REFERENCES tracing_requests(id) ON DELETE CASCADE,
    record_id TEXT NOT NULL REFERENCES persons(record_id) ON DELETE CASCADE,
    score REAL NOT NULL,
    status TEXT NOT NULL,
    found_at TEXT NOT NULL,
    PRIMARY KEY (request_id, record_id)
);

CREATE TABLE case_events (
    id INTEGER PRIMARY KEY,
    request_id BLOB NOT NULL REFERENCES tracing_requests(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    what TEXT NOT NULL,
    why TEXT NOT NULL
);

CREATE INDEX case_events_request ON case_events(request_id, id);
