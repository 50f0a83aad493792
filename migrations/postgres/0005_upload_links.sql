-- Upload links (SPEC §1 "Upload link"): a secret URL through which someone without an account
-- uploads into one folder; everything arrives in review. Tokens are stored as sha256 only.
CREATE TABLE upload_links (
    id              TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    folder_id       TEXT NOT NULL REFERENCES folders (id),
    title           TEXT NOT NULL DEFAULT '',
    brief           TEXT NOT NULL DEFAULT '',
    password_hash   TEXT,
    max_files       BIGINT,
    max_bytes       BIGINT,
    files           BIGINT NOT NULL DEFAULT 0,
    bytes           BIGINT NOT NULL DEFAULT 0,
    -- comma-separated subset of: title, description, keywords
    required_fields TEXT NOT NULL DEFAULT '',
    unlock_epoch    BIGINT NOT NULL DEFAULT 0,
    notified_at     BIGINT,
    created_by      TEXT REFERENCES users (id),
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    revoked_at      BIGINT
);
CREATE INDEX upload_links_created ON upload_links (created_at);

-- Reference files of the brief, downloadable from the upload page.
CREATE TABLE upload_link_refs (
    upload_link_id TEXT NOT NULL REFERENCES upload_links (id) ON DELETE CASCADE,
    asset_id       TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    position       BIGINT NOT NULL,
    PRIMARY KEY (upload_link_id, asset_id)
);

-- Who sent an asset through an upload link (no account behind it).
ALTER TABLE assets ADD COLUMN upload_link_id TEXT REFERENCES upload_links (id);
ALTER TABLE assets ADD COLUMN uploader_name TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN uploader_email TEXT NOT NULL DEFAULT '';
