-- Delivery slots on upload links (issue 19 part 4). Keep in step with
-- migrations/postgres/0017_upload_slots.sql.
--
-- A slot is one line of a link's brief ("Hero banner 3000 px"): which sniffed media types it
-- takes, pixel bounds read from the file's header, a byte limit, how many files (min..max), and
-- whether each file needs its own title. `files` counts stored files plus uploads in flight
-- (reserved before a byte is stored, like `upload_links.files`), so parallel senders cannot
-- overfill a slot; what was delivered is counted from `assets.upload_slot_id`.
CREATE TABLE upload_link_slots (
    id             TEXT PRIMARY KEY,
    upload_link_id TEXT NOT NULL REFERENCES upload_links (id) ON DELETE CASCADE,
    position       BIGINT NOT NULL,
    name           TEXT NOT NULL,
    -- comma-separated media types ("image/jpeg,image/png", "image/*"); empty: any type
    types          TEXT NOT NULL DEFAULT '',
    min_width      BIGINT,
    min_height     BIGINT,
    max_width      BIGINT,
    max_height     BIGINT,
    max_bytes      BIGINT,
    min_files      BIGINT NOT NULL DEFAULT 1,
    max_files      BIGINT NOT NULL DEFAULT 1,
    title_required BIGINT NOT NULL DEFAULT 0,
    files          BIGINT NOT NULL DEFAULT 0,
    UNIQUE (upload_link_id, position)
);

-- Which slot a file was delivered into, and which sender (the hash of the sender's cookie,
-- `uploadlinks::sender`) sent it: a sender sees their own deliveries, never others'.
ALTER TABLE assets ADD COLUMN upload_slot_id TEXT REFERENCES upload_link_slots (id);
ALTER TABLE assets ADD COLUMN upload_sender TEXT NOT NULL DEFAULT '';
CREATE INDEX assets_upload_sender ON assets (upload_link_id, upload_sender);

-- The owner's "every slot is filled" mail and the senders' reminder, each claimed once.
ALTER TABLE upload_links ADD COLUMN slots_filled_at BIGINT;
ALTER TABLE upload_links ADD COLUMN reminded_at BIGINT;

-- The link's token sealed with the shared secret (`uploadlinks::seal`), so a mail sent later
-- (changes requested on a sender's file, issue 19 part 5) can point back to the same link.
-- Empty for links made before: their mails say to use the address the sender was given.
ALTER TABLE upload_links ADD COLUMN token_sealed TEXT NOT NULL DEFAULT '';

-- Resumable uploads through an upload link: no account (user_id NULL), the link and the
-- sender instead. SQLite cannot drop NOT NULL, so the two tus tables are rebuilt (parts first,
-- so nothing references the old table when it goes; the rename rewrites the reference).
CREATE TABLE tus_uploads_new (
    id             TEXT PRIMARY KEY,
    user_id        TEXT REFERENCES users (id) ON DELETE CASCADE,
    folder_id      TEXT NOT NULL REFERENCES folders (id),
    length         BIGINT NOT NULL,
    received       BIGINT NOT NULL DEFAULT 0,
    metadata       TEXT NOT NULL DEFAULT '{}',
    asset_id       TEXT,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    upload_link_id TEXT REFERENCES upload_links (id) ON DELETE CASCADE,
    sender         TEXT NOT NULL DEFAULT ''
);
INSERT INTO tus_uploads_new (id, user_id, folder_id, length, received, metadata, asset_id,
    created_at, expires_at)
    SELECT id, user_id, folder_id, length, received, metadata, asset_id, created_at, expires_at
    FROM tus_uploads;
CREATE TABLE tus_parts_new (
    upload_id TEXT NOT NULL REFERENCES tus_uploads_new (id) ON DELETE CASCADE,
    start     BIGINT NOT NULL,
    size      BIGINT NOT NULL,
    blob_key  TEXT NOT NULL,
    PRIMARY KEY (upload_id, start)
);
INSERT INTO tus_parts_new (upload_id, start, size, blob_key)
    SELECT upload_id, start, size, blob_key FROM tus_parts;
DROP TABLE tus_parts;
DROP TABLE tus_uploads;
ALTER TABLE tus_uploads_new RENAME TO tus_uploads;
ALTER TABLE tus_parts_new RENAME TO tus_parts;
CREATE INDEX tus_uploads_expires ON tus_uploads (expires_at);
