-- Full-text search (issue 5). Keep in step with migrations/sqlite/0009_search.sql.
--
-- `asset_search.doc` is the searchable text of an asset (title, description, keywords, file
-- name, folder path), already cut into lower-case, accent-free words by assetport itself
-- (search::normalize), so SQLite's FTS5 and PostgreSQL's tsvector index exactly the same words
-- and answer every query alike. Triggers only *mark* assets whose text changed
-- (search_dirty); assetport rebuilds their rows before each search and in the background.
CREATE TABLE asset_search (
    asset_id TEXT PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    doc      TEXT NOT NULL,
    year     BIGINT,
    tsv      tsvector GENERATED ALWAYS AS (to_tsvector('simple', doc)) STORED
);
CREATE INDEX asset_search_tsv ON asset_search USING GIN (tsv);

-- Keywords one per row, for the keyword facet and filter (normalised like the search text).
CREATE TABLE asset_keywords (
    asset_id TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    keyword  TEXT NOT NULL,
    PRIMARY KEY (asset_id, keyword)
);
CREATE INDEX asset_keywords_keyword ON asset_keywords (keyword);

CREATE TABLE search_dirty (
    asset_id TEXT PRIMARY KEY,
    mark     BIGINT NOT NULL
);
CREATE FUNCTION mark_asset_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_dirty (asset_id, mark) VALUES (NEW.id, 1)
    ON CONFLICT (asset_id) DO UPDATE SET mark = search_dirty.mark + 1;
    RETURN NULL;
END;
$$;
CREATE FUNCTION mark_folder_assets_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_dirty (asset_id, mark) SELECT id, 1 FROM assets WHERE folder_id = NEW.id
    ON CONFLICT (asset_id) DO UPDATE SET mark = search_dirty.mark + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER search_dirty_assets_i AFTER INSERT ON assets
    FOR EACH ROW EXECUTE FUNCTION mark_asset_dirty();
CREATE TRIGGER search_dirty_assets_u AFTER UPDATE OF title, description, keywords, filename, folder_id ON assets
    FOR EACH ROW EXECUTE FUNCTION mark_asset_dirty();
CREATE TRIGGER search_dirty_folders_u AFTER UPDATE OF path ON folders
    FOR EACH ROW EXECUTE FUNCTION mark_folder_assets_dirty();
INSERT INTO search_dirty (asset_id, mark) SELECT id, 1 FROM assets
ON CONFLICT (asset_id) DO NOTHING;

CREATE INDEX assets_created ON assets (created_at);
