-- A counter that moves whenever anything a share link shows may have changed (assets, their
-- versions, folders, a link's asset list). Link galleries are cached per process and checked
-- against it on every request, so a change made on any instance is seen on the next request.
-- Triggers bump it, so no code path can forget to.
CREATE TABLE library_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO library_generation (id, n) VALUES (1, 0);

CREATE TRIGGER library_generation_assets_i AFTER INSERT ON assets
BEGIN UPDATE library_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER library_generation_assets_u AFTER UPDATE ON assets
BEGIN UPDATE library_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER library_generation_assets_d AFTER DELETE ON assets
BEGIN UPDATE library_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER library_generation_versions_i AFTER INSERT ON asset_versions
BEGIN UPDATE library_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER library_generation_versions_u AFTER UPDATE ON asset_versions
BEGIN UPDATE library_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER library_generation_versions_d AFTER DELETE ON asset_versions
BEGIN UPDATE library_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER library_generation_folders_i AFTER INSERT ON folders
BEGIN UPDATE library_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER library_generation_folders_u AFTER UPDATE ON folders
BEGIN UPDATE library_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER library_generation_folders_d AFTER DELETE ON folders
BEGIN UPDATE library_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER library_generation_link_assets_i AFTER INSERT ON link_assets
BEGIN UPDATE library_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER library_generation_link_assets_u AFTER UPDATE ON link_assets
BEGIN UPDATE library_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER library_generation_link_assets_d AFTER DELETE ON link_assets
BEGIN UPDATE library_generation SET n = n + 1 WHERE id = 1; END;

-- The next moment an availability window opens or closes: how long a cached gallery may live.
CREATE INDEX assets_available_from ON assets (available_from) WHERE available_from IS NOT NULL;
CREATE INDEX assets_available_until ON assets (available_until) WHERE available_until IS NOT NULL;
