-- A case's history as typed events instead of English sentences, and a request's site as a
-- column of its own (statistics and queues filter on it).

-- The event as JSON (its kind and details) and its kind's code. Entries written before this
-- migration have none: they are read from their sentence once, when the store next opens.
ALTER TABLE case_events ADD COLUMN event TEXT;
ALTER TABLE case_events ADD COLUMN kind TEXT;
CREATE INDEX case_events_kind ON case_events(kind, request_id);

ALTER TABLE tracing_requests ADD COLUMN site_code TEXT;
UPDATE tracing_requests SET site_code = json_extract(draft, '$.site_code');
CREATE INDEX tracing_requests_site ON tracing_requests(site_code);
