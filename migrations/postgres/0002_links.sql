-- Share links (SPEC §1 "Share link"). Keep in step with migrations/sqlite/0002_links.sql.
-- One row per token. Links created together (one per recipient) share a `share_id`, and with
-- it their target; each row keeps its own expiry, revocation and download count.
CREATE TABLE links (
    id             TEXT PRIMARY KEY,
    share_id       TEXT NOT NULL,
    token_hash     TEXT NOT NULL,          -- sha256 of the token; the token itself is never stored
    target_kind    TEXT NOT NULL CHECK (target_kind IN ('assets', 'folder', 'collection')),
    folder_id      TEXT REFERENCES folders (id),
    title          TEXT NOT NULL DEFAULT '',
    message        TEXT NOT NULL DEFAULT '',
    terms          TEXT NOT NULL DEFAULT '',  -- licence text to accept before the first download
    password_hash  TEXT,
    allow_original INTEGER NOT NULL,
    max_downloads  BIGINT,
    downloads      BIGINT NOT NULL DEFAULT 0,
    require_code   INTEGER NOT NULL DEFAULT 0,
    recipient      TEXT,                   -- the one recipient of a per-recipient link
    recipients     TEXT NOT NULL DEFAULT '',  -- everyone the share was sent to, comma-separated
    unlock_epoch   BIGINT NOT NULL DEFAULT 0, -- bumped on rotation and password change
    created_by     TEXT REFERENCES users (id),
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    revoked_at     BIGINT
);
CREATE UNIQUE INDEX links_token ON links (token_hash);
CREATE INDEX links_share ON links (share_id);
CREATE INDEX links_created ON links (created_at);

CREATE TABLE link_assets (
    share_id TEXT NOT NULL,
    asset_id TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    PRIMARY KEY (share_id, asset_id)
);

-- One-time codes sent to a recipient before a link opens; stored as hashes, few attempts each.
CREATE TABLE link_codes (
    id         TEXT PRIMARY KEY,
    link_id    TEXT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX link_codes_link ON link_codes (link_id);
CREATE INDEX events_link ON events (actor_link_id, created_at);
