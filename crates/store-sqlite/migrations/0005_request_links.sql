-- Two relatives looking for each other: requests whose people sought are each other's
-- requesters.

CREATE TABLE request_links (
    request_id BLOB NOT NULL REFERENCES tracing_requests(id) ON DELETE CASCADE,
    other_id BLOB NOT NULL REFERENCES tracing_requests(id) ON DELETE CASCADE,
    score REAL NOT NULL,
    found_at TEXT NOT NULL,
    PRIMARY KEY (request_id, other_id)
);
