-- Every saved or edited registration is announced when its transaction commits, so that each
-- server sharing the hub adds it to its matching index (see PgStore::registration_feed).
-- One notice per statement: the rows' seq, or their first and last seq for a large batch
-- (an import's), within PostgreSQL's 8,000-byte limit on a notice.
CREATE FUNCTION announce_registrations() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n BIGINT;
BEGIN
    SELECT count(*) INTO n FROM saved;
    IF n = 0 THEN
        RETURN NULL;
    ELSIF n <= 200 THEN
        PERFORM pg_notify('peywand_registrations',
            (SELECT string_agg(seq::text, ',') FROM saved));
    ELSE
        PERFORM pg_notify('peywand_registrations',
            (SELECT min(seq)::text || '-' || max(seq)::text FROM saved));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER persons_inserted AFTER INSERT ON persons
    REFERENCING NEW TABLE AS saved
    FOR EACH STATEMENT EXECUTE FUNCTION announce_registrations();
CREATE TRIGGER persons_updated AFTER UPDATE ON persons
    REFERENCING NEW TABLE AS saved
    FOR EACH STATEMENT EXECUTE FUNCTION announce_registrations();
