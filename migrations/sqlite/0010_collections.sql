-- Collections (SPEC §1): admin-curated, ordered sets of assets across folders. Keep in step
-- with migrations/postgres/0010_collections.sql.
CREATE TABLE collections (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_by  TEXT REFERENCES users (id),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE TABLE collection_assets (
    collection_id TEXT NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    asset_id      TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    position      BIGINT NOT NULL,
    PRIMARY KEY (collection_id, asset_id)
);
CREATE INDEX collection_assets_asset ON collection_assets (asset_id);

-- A share link may show a collection (live: what is in it at each request).
ALTER TABLE links ADD COLUMN collection_id TEXT REFERENCES collections (id);

-- What a collection link shows changes with its list: cached galleries must see it.
CREATE TRIGGER library_generation_collection_assets_i AFTER INSERT ON collection_assets
BEGIN UPDATE library_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER library_generation_collection_assets_u AFTER UPDATE ON collection_assets
BEGIN UPDATE library_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER library_generation_collection_assets_d AFTER DELETE ON collection_assets
BEGIN UPDATE library_generation SET n = n + 1 WHERE id = 1; END;
