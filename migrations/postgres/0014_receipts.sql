-- Receipts (issue 18): one row per counted download of one stored object — a member's or a
-- link visitor's original or rendition, or one file inside a counted ZIP — and how much of it
-- reached the client. Written only by the audit writer (`receipts::store`), off the request
-- path; `sent` is the union of the byte ranges handed to the connection, as merged intervals
-- "start-end,start-end" (end exclusive), so a download made of several Range requests and
-- resumes completes when the union covers every byte. Keep in step with the other dialect.
CREATE TABLE receipts (
    -- The counted download (the `dl` of its resume token); a ZIP's files are `<dl>.<n>`.
    id             TEXT PRIMARY KEY,
    asset_id       TEXT NOT NULL,
    version_id     TEXT NOT NULL,
    version_number BIGINT NOT NULL,
    -- original | preview | thumb: which stored object of the version.
    object         TEXT NOT NULL,
    -- member_api | member_page | link | member_zip | link_zip | upload_link
    channel        TEXT NOT NULL,
    -- user | recipient | anonymous
    who_kind       TEXT NOT NULL,
    user_id        TEXT,
    -- The share link (or upload link, channel upload_link) it went through.
    link_id        TEXT,
    -- A member's address, a per-recipient link's recipient or an address a code was verified for.
    email          TEXT,
    ip             TEXT NOT NULL,
    user_agent     TEXT NOT NULL,
    size           BIGINT NOT NULL,
    sent           TEXT NOT NULL DEFAULT '',
    bytes_sent     BIGINT NOT NULL DEFAULT 0,
    started_at     BIGINT NOT NULL,
    completed_at   BIGINT,
    updated_at     BIGINT NOT NULL
);
-- Read by asset (API, asset page, recalls) and by link (API, the link's page); every index is
-- one more write per download, so there are no others.
CREATE INDEX receipts_asset ON receipts (asset_id, id);
CREATE INDEX receipts_link ON receipts (link_id, id);

-- Recalls (issue 18): an asset replaced by a newer approved version, archived, withdrawn by its
-- availability window, or recalled by an admin. Everyone with a completed receipt for a
-- recalled version and a known address gets a notice (one mail per person per day, through
-- the job queue) with an acknowledge address. `dedupe` makes each trigger open one recall,
-- however many instances see it.
CREATE TABLE recalls (
    id            TEXT PRIMARY KEY,
    asset_id      TEXT NOT NULL,
    -- replaced | archived | withdrawn | recalled
    reason        TEXT NOT NULL,
    -- replace (use the current version) | stop (stop using it)
    mode          TEXT NOT NULL,
    message       TEXT NOT NULL DEFAULT '',
    -- Versions below this number are recalled.
    below_version BIGINT NOT NULL,
    -- Anonymous link downloads of those versions, completed: counted, not told.
    anonymous     BIGINT NOT NULL DEFAULT 0,
    created_by    TEXT,
    created_at    BIGINT NOT NULL,
    dedupe        TEXT NOT NULL
);
CREATE UNIQUE INDEX recalls_dedupe ON recalls (dedupe);
CREATE INDEX recalls_asset ON recalls (asset_id, created_at);

CREATE TABLE recall_notices (
    id              TEXT PRIMARY KEY,
    recall_id       TEXT NOT NULL REFERENCES recalls (id),
    email           TEXT NOT NULL,
    user_id         TEXT,
    -- The share link a recipient received it through (the newest).
    link_id         TEXT,
    -- The recalled versions this person has, e.g. "1, 2".
    versions        TEXT NOT NULL,
    notified_at     BIGINT,
    acknowledged_at BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX recall_notices_once ON recall_notices (recall_id, email);
CREATE INDEX recall_notices_email ON recall_notices (email, notified_at);
