-- Background jobs and renditions (issue 5). Keep in step with migrations/postgres/0008.
--
-- A job is one row; any instance may claim it by moving it to 'running' with a claim token and
-- a lease. Claims and completions name the token, so a job whose worker died is retaken after
-- its lease, and a late finisher cannot overwrite the new attempt. (kind, subject) is unique:
-- asking twice for the same work is one job.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL DEFAULT 5,
    run_at       BIGINT NOT NULL,
    claim        TEXT,
    lease_until  BIGINT,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX jobs_subject ON jobs (kind, subject);
CREATE INDEX jobs_due ON jobs (state, run_at);

-- What was learnt from each version's bytes. render_state: pending (job not run yet), ready
-- (thumb and preview exist), none (no renderer for this type: typed placeholder), failed.
ALTER TABLE asset_versions ADD COLUMN render_state TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE asset_versions ADD COLUMN format TEXT;
ALTER TABLE asset_versions ADD COLUMN width BIGINT;
ALTER TABLE asset_versions ADD COLUMN height BIGINT;
ALTER TABLE asset_versions ADD COLUMN pages BIGINT;
ALTER TABLE asset_versions ADD COLUMN duration_ms BIGINT;
-- Extracted metadata as JSON (media::Extracted), GPS included: only admins are shown that.
ALTER TABLE asset_versions ADD COLUMN extracted TEXT NOT NULL DEFAULT '{}';

-- Editable metadata beyond title/description/keywords (SPEC §1 Metadata).
ALTER TABLE assets ADD COLUMN credit TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN usage_terms TEXT NOT NULL DEFAULT '';

CREATE TABLE renditions (
    version_id TEXT NOT NULL REFERENCES asset_versions (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('thumb', 'preview')),
    blob_key   TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size       BIGINT NOT NULL,
    sha256     TEXT NOT NULL,
    width      BIGINT NOT NULL,
    height     BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (version_id, kind)
);

-- Versions that existed before renditions did get theirs in the background too.
INSERT INTO jobs (id, kind, subject, state, run_at, created_at, updated_at)
SELECT 'r' || id, 'renditions', id, 'pending', 0, 0, 0 FROM asset_versions;

-- Every new version gets its renditions job from the database itself, so no upload path
-- (form, API, tus, upload link, check-in) can forget to queue one.
CREATE TRIGGER asset_versions_render AFTER INSERT ON asset_versions
BEGIN
    INSERT INTO jobs (id, kind, subject, state, run_at, created_at, updated_at)
    VALUES ('r' || new.id, 'renditions', new.id, 'pending', 0, new.created_at, new.created_at)
    ON CONFLICT (kind, subject) DO NOTHING;
END;
