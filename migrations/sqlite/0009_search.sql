-- Full-text search (issue 5). Keep in step with migrations/postgres/0009_search.sql.
--
-- `asset_search.doc` is the searchable text of an asset (title, description, keywords, file
-- name, folder path), already cut into lower-case, accent-free words by assetport itself
-- (search::normalize), so SQLite's FTS5 and PostgreSQL's tsvector index exactly the same words
-- and answer every query alike. Triggers only *mark* assets whose text changed
-- (search_dirty); assetport rebuilds their rows before each search and in the background.
CREATE TABLE asset_search (
    rid      INTEGER PRIMARY KEY,
    asset_id TEXT NOT NULL UNIQUE REFERENCES assets (id) ON DELETE CASCADE,
    doc      TEXT NOT NULL,
    year     BIGINT
);
CREATE VIRTUAL TABLE asset_fts USING fts5(
    doc, content = 'asset_search', content_rowid = 'rid', tokenize = 'unicode61 remove_diacritics 0'
);
CREATE TRIGGER asset_search_ai AFTER INSERT ON asset_search BEGIN
    INSERT INTO asset_fts (rowid, doc) VALUES (new.rid, new.doc);
END;
CREATE TRIGGER asset_search_ad AFTER DELETE ON asset_search BEGIN
    INSERT INTO asset_fts (asset_fts, rowid, doc) VALUES ('delete', old.rid, old.doc);
END;
CREATE TRIGGER asset_search_au AFTER UPDATE ON asset_search BEGIN
    INSERT INTO asset_fts (asset_fts, rowid, doc) VALUES ('delete', old.rid, old.doc);
    INSERT INTO asset_fts (rowid, doc) VALUES (new.rid, new.doc);
END;

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
CREATE TRIGGER search_dirty_assets_i AFTER INSERT ON assets BEGIN
    INSERT INTO search_dirty (asset_id, mark) VALUES (new.id, 1)
    ON CONFLICT (asset_id) DO UPDATE SET mark = mark + 1;
END;
CREATE TRIGGER search_dirty_assets_u AFTER UPDATE OF title, description, keywords, filename, folder_id ON assets BEGIN
    INSERT INTO search_dirty (asset_id, mark) VALUES (new.id, 1)
    ON CONFLICT (asset_id) DO UPDATE SET mark = mark + 1;
END;
CREATE TRIGGER search_dirty_folders_u AFTER UPDATE OF path ON folders BEGIN
    INSERT INTO search_dirty (asset_id, mark) SELECT id, 1 FROM assets WHERE folder_id = new.id
    ON CONFLICT (asset_id) DO UPDATE SET mark = mark + 1;
END;
INSERT INTO search_dirty (asset_id, mark) SELECT id, 1 FROM assets WHERE 1 = 1
ON CONFLICT (asset_id) DO NOTHING;

CREATE INDEX assets_created ON assets (created_at);
