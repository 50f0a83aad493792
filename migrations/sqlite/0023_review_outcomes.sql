-- Review outcomes wait to be mailed (issue 21): decisions on one contributor's files within 10
-- minutes of each other go out as one mail (library::outcomes), listing each file with its
-- outcome and comment. mailed_at is set when that mail went. Keep in step with
-- migrations/postgres/0023_review_outcomes.sql.
CREATE TABLE review_outcomes (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    asset_id       TEXT NOT NULL,
    version_id     TEXT NOT NULL,
    version_number BIGINT NOT NULL,
    label          TEXT NOT NULL,
    approved       BIGINT NOT NULL,
    comment        TEXT NOT NULL DEFAULT '',
    reviewer_id    TEXT,
    decided_at     BIGINT NOT NULL,
    mailed_at      BIGINT
);
CREATE INDEX review_outcomes_waiting ON review_outcomes (user_id, mailed_at);
