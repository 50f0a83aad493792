-- Search that forgives (issue 21): the words of the library, for correcting misspelt ones.
-- Keep in step with migrations/sqlite/0022_search_words.sql.
--
-- `search_words` holds every distinct word of `asset_search.doc` (3 letters or more, no
-- digits) with the number of search rows holding it, kept by triggers on `asset_search` in the
-- same transaction as the row, so it never drifts from the index. A pg_trgm GIN index over
-- `||word||` answers `LIKE '%abc%' OR …` (the words containing any of those three-character
-- pieces), exactly what SQLite's FTS5 trigram table answers to `"abc" OR …`, so both engines
-- hand assetport the same candidates (search::spelling ranks them).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE search_words (
    word TEXT PRIMARY KEY,
    docs BIGINT NOT NULL
);
-- The operator class is named with the extension's schema, which need not be on the search
-- path (it may have been created earlier, elsewhere, by whoever administers the database).
DO $$
DECLARE
    ext_schema TEXT;
BEGIN
    SELECT n.nspname INTO ext_schema FROM pg_extension e
    JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
    EXECUTE format(
        'CREATE INDEX search_words_trgm ON search_words USING GIN ((''||'' || word || ''||'') %I.gin_trgm_ops)',
        ext_schema
    );
END;
$$;

-- The words of a doc: lower-case letters and digits separated by single spaces
-- (search::normalize).
INSERT INTO search_words (word, docs)
SELECT w, COUNT(DISTINCT s.asset_id)
FROM asset_search s, unnest(string_to_array(s.doc, ' ')) w
WHERE length(w) >= 3 AND w !~ '[0-9]'
GROUP BY w;

CREATE FUNCTION search_words_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE search_words SET docs = docs - 1
        WHERE word IN (SELECT unnest(string_to_array(OLD.doc, ' ')));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO search_words (word, docs)
        SELECT DISTINCT w, 1 FROM unnest(string_to_array(NEW.doc, ' ')) w
        WHERE length(w) >= 3 AND w !~ '[0-9]'
        ON CONFLICT (word) DO UPDATE SET docs = search_words.docs + 1;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM search_words WHERE docs <= 0
        AND word IN (SELECT unnest(string_to_array(OLD.doc, ' ')));
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER search_words_doc_ai AFTER INSERT ON asset_search
    FOR EACH ROW EXECUTE FUNCTION search_words_count();
CREATE TRIGGER search_words_doc_ad AFTER DELETE ON asset_search
    FOR EACH ROW EXECUTE FUNCTION search_words_count();
CREATE TRIGGER search_words_doc_au AFTER UPDATE OF doc ON asset_search
    FOR EACH ROW WHEN (OLD.doc IS DISTINCT FROM NEW.doc) EXECUTE FUNCTION search_words_count();
