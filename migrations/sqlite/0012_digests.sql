-- Email digests (issue 7): who wants which digest how often, and how far each one has been
-- sent. No row means the default: daily for admins, none for everyone else.
-- Keep in step with migrations/postgres/0012_digests.sql.
CREATE TABLE digests (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    frequency     TEXT NOT NULL CHECK (frequency IN ('off', 'daily', 'weekly')),
    -- Everything up to here was in a digest (or predates the subscription).
    covered_until BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
