-- Resumable uploads (tus 1.0): an upload's declared length and how much has arrived. The bytes
-- live in storage as parts (`tus/<id>/<start>-<n>`), one per PATCH, so any instance can take
-- the next PATCH and a cut connection keeps what arrived before the cut.
CREATE TABLE tus_uploads (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    folder_id   TEXT NOT NULL REFERENCES folders (id),
    length      BIGINT NOT NULL,
    received    BIGINT NOT NULL DEFAULT 0,
    metadata    TEXT NOT NULL DEFAULT '{}',
    asset_id    TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX tus_uploads_expires ON tus_uploads (expires_at);

CREATE TABLE tus_parts (
    upload_id TEXT NOT NULL REFERENCES tus_uploads (id) ON DELETE CASCADE,
    start     BIGINT NOT NULL,
    size      BIGINT NOT NULL,
    blob_key  TEXT NOT NULL,
    PRIMARY KEY (upload_id, start)
);
