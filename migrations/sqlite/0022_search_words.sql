-- Search that forgives (issue 21): the words of the library, for correcting misspelt ones.
-- Keep in step with migrations/postgres/0022_search_words.sql.
--
-- `search_words` holds every distinct word of `asset_search.doc` (3 letters or more, no
-- digits) with the number of search rows holding it, kept by triggers on `asset_search` in the
-- same transaction as the row, so it never drifts from the index. `search_words_trgm` indexes
-- each word as `||word||` with FTS5's trigram tokenizer (exact characters, case_sensitive 1):
-- a MATCH of `"abc" OR "bcd"` finds the words containing any of those three-character
-- pieces, which is exactly what PostgreSQL's LIKE '%abc%' OR … answers over its pg_trgm
-- index, so both engines hand assetport the same candidates (search::spelling ranks them).
CREATE TABLE search_words (
    id   INTEGER PRIMARY KEY,
    word TEXT NOT NULL UNIQUE,
    docs BIGINT NOT NULL
);
CREATE VIRTUAL TABLE search_words_trgm USING fts5(
    grams, content = '', tokenize = 'trigram case_sensitive 1'
);
CREATE TRIGGER search_words_ai AFTER INSERT ON search_words BEGIN
    INSERT INTO search_words_trgm (rowid, grams) VALUES (new.id, '||' || new.word || '||');
END;
CREATE TRIGGER search_words_ad AFTER DELETE ON search_words BEGIN
    INSERT INTO search_words_trgm (search_words_trgm, rowid, grams)
    VALUES ('delete', old.id, '||' || old.word || '||');
END;

-- The words of a doc: it is lower-case letters and digits separated by single spaces
-- (search::normalize), so it becomes a JSON array by quoting around the spaces.
INSERT INTO search_words (word, docs)
SELECT j.value, COUNT(DISTINCT s.rid)
FROM asset_search s, json_each('["' || replace(s.doc, ' ', '","') || '"]') j
WHERE length(j.value) >= 3 AND j.value NOT GLOB '*[0-9]*'
GROUP BY j.value;

CREATE TRIGGER search_words_doc_ai AFTER INSERT ON asset_search BEGIN
    INSERT INTO search_words (word, docs)
    SELECT DISTINCT j.value, 1 FROM json_each('["' || replace(new.doc, ' ', '","') || '"]') j
    WHERE length(j.value) >= 3 AND j.value NOT GLOB '*[0-9]*'
    ON CONFLICT (word) DO UPDATE SET docs = docs + 1;
END;
CREATE TRIGGER search_words_doc_ad AFTER DELETE ON asset_search BEGIN
    UPDATE search_words SET docs = docs - 1
    WHERE word IN (SELECT j.value FROM json_each('["' || replace(old.doc, ' ', '","') || '"]') j);
    DELETE FROM search_words WHERE docs <= 0
    AND word IN (SELECT j.value FROM json_each('["' || replace(old.doc, ' ', '","') || '"]') j);
END;
CREATE TRIGGER search_words_doc_au AFTER UPDATE OF doc ON asset_search WHEN old.doc <> new.doc BEGIN
    UPDATE search_words SET docs = docs - 1
    WHERE word IN (SELECT j.value FROM json_each('["' || replace(old.doc, ' ', '","') || '"]') j);
    INSERT INTO search_words (word, docs)
    SELECT DISTINCT j.value, 1 FROM json_each('["' || replace(new.doc, ' ', '","') || '"]') j
    WHERE length(j.value) >= 3 AND j.value NOT GLOB '*[0-9]*'
    ON CONFLICT (word) DO UPDATE SET docs = docs + 1;
    DELETE FROM search_words WHERE docs <= 0
    AND word IN (SELECT j.value FROM json_each('["' || replace(old.doc, ' ', '","') || '"]') j);
END;
