-- assetport schema v1 (PostgreSQL). Keep in step with migrations/sqlite/0001_init.sql.
-- Portable types only: TEXT ids, BIGINT Unix-millisecond times, 0/1 INTEGER flags.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,          -- stored lower-cased: unique case-insensitively
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash TEXT NOT NULL,
    disabled      BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);

CREATE TABLE user_groups (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX user_groups_name ON user_groups (name);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE folders (
    id         TEXT PRIMARY KEY,
    parent_id  TEXT REFERENCES folders (id),
    name       TEXT NOT NULL,
    path       TEXT NOT NULL,             -- '/Marketing/Spring 2027', unique
    id_path    TEXT NOT NULL,             -- '/<id>/<id>/': ancestors by prefix, stable on rename
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX folders_path ON folders (path);
CREATE INDEX folders_parent ON folders (parent_id);

CREATE TABLE grants (
    folder_id      TEXT NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
    group_id       TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    can_view       BIGINT NOT NULL,
    can_download   BIGINT NOT NULL,
    can_contribute BIGINT NOT NULL,
    PRIMARY KEY (folder_id, group_id)
);
CREATE INDEX grants_group ON grants (group_id);

CREATE TABLE assets (
    id                  TEXT PRIMARY KEY,
    folder_id           TEXT NOT NULL REFERENCES folders (id),
    filename            TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('draft', 'in_review', 'approved', 'rejected', 'archived')),
    title               TEXT NOT NULL DEFAULT '',
    description         TEXT NOT NULL DEFAULT '',
    keywords            TEXT NOT NULL DEFAULT '',   -- comma-separated
    current_version_id  TEXT,
    approved_version_id TEXT,
    available_from      BIGINT,
    available_until     BIGINT,
    checked_out_by      TEXT REFERENCES users (id),
    submitted_by        TEXT REFERENCES users (id),
    review_comment      TEXT NOT NULL DEFAULT '',
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX assets_folder ON assets (folder_id, status);
CREATE INDEX assets_submitted_by ON assets (submitted_by);

CREATE TABLE asset_versions (
    id          TEXT PRIMARY KEY,
    asset_id    TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    number      BIGINT NOT NULL,
    blob_key    TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        BIGINT NOT NULL,
    media_type  TEXT NOT NULL,
    filename    TEXT NOT NULL,
    uploaded_by TEXT REFERENCES users (id),
    comment     TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    UNIQUE (asset_id, number)
);
CREATE INDEX asset_versions_sha ON asset_versions (sha256);
CREATE UNIQUE INDEX asset_versions_blob ON asset_versions (blob_key);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL,           -- sha256 of the token; the token itself is never stored
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT,                      -- copied from the data so all of a user's sessions can end
    data       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE throttles (
    key          TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    window_start BIGINT NOT NULL
);

CREATE TABLE events (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    actor_user_id TEXT,
    actor_link_id TEXT,
    asset_id      TEXT,
    folder_id     TEXT,
    detail        TEXT NOT NULL DEFAULT '',
    ip            TEXT,
    user_agent    TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX events_time ON events (created_at);
CREATE INDEX events_kind_time ON events (kind, created_at);
CREATE INDEX events_asset ON events (asset_id);

-- The audit log is append-only: the database itself refuses edits.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'events are append-only'; END; $$;
CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
FOR EACH ROW EXECUTE FUNCTION events_append_only();

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
