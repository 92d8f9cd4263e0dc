-- Account lifecycle: disabled accounts, passwords to change after a reset, the last sign-in,
-- and token expiry. Sign-in throttling moved to the server (by address and username), so an
-- account is no longer locked as a whole and `locked_until` is unused.

ALTER TABLE users ADD COLUMN disabled_at TEXT;
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_sign_in_at TEXT;

-- Tokens made before expiry existed expire 90 days after they were made, as new ones do.
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
UPDATE api_tokens SET expires_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', created_at, '+90 days');
