-- Download presets (issue 21): JPEGs of a version at fixed sizes ("large", "web", "small"),
-- made on demand by the confined renderer the first time someone downloads one, then served
-- from storage like any stored file. Dropped with their version. Keep in step with
-- migrations/postgres/0021_presets.sql.
CREATE TABLE presets (
    version_id TEXT NOT NULL REFERENCES asset_versions (id) ON DELETE CASCADE,
    preset     TEXT NOT NULL,
    blob_key   TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size       BIGINT NOT NULL,
    sha256     TEXT NOT NULL,
    width      BIGINT NOT NULL,
    height     BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (version_id, preset)
);
