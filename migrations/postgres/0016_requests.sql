-- Requests that close a loop (issue 19). Keep in step with migrations/sqlite/0016_requests.sql.
--
-- One row per request, decided once (state moves from 'pending' to 'approved' or 'denied' in
-- one conditional UPDATE, so two deciders racing get one decision and one 409):
--   renewal   a visitor of an expired or used-up share link asks for more time / downloads;
--   access    a visitor of a bound per-recipient link who is not its recipient asks for their
--             own link (`email` is the new person; approval issues a link under the same share,
--             `result_link_id`);
--   download  a member asks to download assets they may only view (`asset_ids`, comma-
--             separated); approval makes one `download_grants` row per asset.
CREATE TABLE requests (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('renewal', 'access', 'download')),
    state          TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'denied')),
    link_id        TEXT,
    user_id        TEXT,
    name           TEXT NOT NULL DEFAULT '',
    email          TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL DEFAULT '',
    asset_ids      TEXT NOT NULL DEFAULT '',
    ip             TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    decided_at     BIGINT,
    decided_by     TEXT,
    answer         TEXT NOT NULL DEFAULT '',
    result_link_id TEXT
);
CREATE INDEX requests_created ON requests (created_at);
CREATE INDEX requests_link ON requests (link_id);
CREATE INDEX requests_user ON requests (user_id);

-- A member's personal, time-limited right to download one asset (part of the visibility
-- scope, access.rs): active while revoked_at IS NULL AND expires_at > now.
CREATE TABLE download_grants (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    asset_id   TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    request_id TEXT,
    granted_by TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX download_grants_user ON download_grants (user_id, asset_id);

-- A per-recipient link bound to its recipient: the one-time code goes only to that address.
ALTER TABLE links ADD COLUMN bind_recipient INTEGER NOT NULL DEFAULT 0;
