-- What a search or a duplicate check asked, and the registrations each answer showed: the
-- auditors' way from a person back to everyone who looked at them. `records_shown` is kept as
-- the hash covered it (a JSON array, in order); `audit_records_shown` indexes it by person.
ALTER TABLE audit_log ADD COLUMN query TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN records_shown TEXT NOT NULL DEFAULT '[]';

CREATE TABLE audit_records_shown (
    record_id TEXT NOT NULL,
    seq BIGINT NOT NULL REFERENCES audit_log(seq),
    PRIMARY KEY (record_id, seq)
);

CREATE TRIGGER audit_records_shown_no_update BEFORE UPDATE OR DELETE ON audit_records_shown
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_records_shown_no_truncate BEFORE TRUNCATE ON audit_records_shown
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
