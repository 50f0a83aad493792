-- A counter that moves whenever anything a share link shows may have changed (assets, their
-- versions, folders, a link's asset list). Link galleries are cached per process and checked
-- against it on every request, so a change made on any instance is seen on the next request.
-- Triggers bump it, so no code path can forget to. They run BEFORE each statement: a
-- transaction takes the counter's row lock before the rows it changes, so two transactions
-- cannot each hold a row the other waits for.
CREATE TABLE library_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO library_generation (id, n) VALUES (1, 0);

CREATE FUNCTION bump_library_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE library_generation SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER library_generation_assets BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON assets
    FOR EACH STATEMENT EXECUTE FUNCTION bump_library_generation();
CREATE TRIGGER library_generation_versions BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON asset_versions
    FOR EACH STATEMENT EXECUTE FUNCTION bump_library_generation();
CREATE TRIGGER library_generation_folders BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON folders
    FOR EACH STATEMENT EXECUTE FUNCTION bump_library_generation();
CREATE TRIGGER library_generation_link_assets BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON link_assets
    FOR EACH STATEMENT EXECUTE FUNCTION bump_library_generation();

CREATE INDEX assets_available_from ON assets (available_from) WHERE available_from IS NOT NULL;
CREATE INDEX assets_available_until ON assets (available_until) WHERE available_until IS NOT NULL;
