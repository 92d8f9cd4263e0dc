-- Account lifecycle: disabled accounts, passwords to change after a reset, the last sign-in,
-- and token expiry. Sign-in throttling moved to the server (by address and username), so an
-- account is no longer locked as a whole and `locked_until` is unused.

ALTER TABLE users ADD COLUMN disabled_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN last_sign_in_at TIMESTAMPTZ;

-- Tokens made before expiry existed expire 90 days after they were made, as new ones do.
ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMPTZ;
UPDATE api_tokens SET expires_at = created_at + INTERVAL '90 days';
ALTER TABLE api_tokens ALTER COLUMN expires_at SET NOT NULL;
