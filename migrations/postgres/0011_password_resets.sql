-- Password reset by email (issue 7): one-time tokens, stored only as SHA-256 hashes, valid for
-- an hour. Keep in step with migrations/sqlite/0011_password_resets.sql.
CREATE TABLE password_resets (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE UNIQUE INDEX password_resets_hash ON password_resets (token_hash);
CREATE INDEX password_resets_user ON password_resets (user_id);
