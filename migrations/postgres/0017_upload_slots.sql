-- Delivery slots on upload links (issue 19 part 4). Keep in step with
-- migrations/sqlite/0017_upload_slots.sql (comments there).
CREATE TABLE upload_link_slots (
    id             TEXT PRIMARY KEY,
    upload_link_id TEXT NOT NULL REFERENCES upload_links (id) ON DELETE CASCADE,
    position       BIGINT NOT NULL,
    name           TEXT NOT NULL,
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

ALTER TABLE assets ADD COLUMN upload_slot_id TEXT REFERENCES upload_link_slots (id);
ALTER TABLE assets ADD COLUMN upload_sender TEXT NOT NULL DEFAULT '';
CREATE INDEX assets_upload_sender ON assets (upload_link_id, upload_sender);

ALTER TABLE upload_links ADD COLUMN slots_filled_at BIGINT;
ALTER TABLE upload_links ADD COLUMN reminded_at BIGINT;
ALTER TABLE upload_links ADD COLUMN token_sealed TEXT NOT NULL DEFAULT '';

ALTER TABLE tus_uploads ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE tus_uploads ADD COLUMN upload_link_id TEXT REFERENCES upload_links (id) ON DELETE CASCADE;
ALTER TABLE tus_uploads ADD COLUMN sender TEXT NOT NULL DEFAULT '';
