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
CREATE INDEX receipts_asset ON receipts (asset_id, id);
CREATE INDEX receipts_link ON receipts (link_id, id);
CREATE INDEX receipts_user ON receipts (user_id, completed_at);
CREATE INDEX receipts_email ON receipts (email, completed_at);
