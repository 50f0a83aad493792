-- Collections (SPEC §1): admin-curated, ordered sets of assets across folders. Keep in step
-- with migrations/sqlite/0010_collections.sql.
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
CREATE TRIGGER library_generation_collection_assets BEFORE INSERT OR UPDATE OR DELETE ON collection_assets
    FOR EACH STATEMENT EXECUTE FUNCTION bump_library_generation();
