-- Signed webhooks (issue 18). Keep in step with migrations/sqlite/0015_webhooks.sql.
--
-- An endpoint an admin registered: where to POST, which event types, and the signing secret
-- (`whsec_…`, Standard Webhooks). The secret is stored as given, not hashed: the server must
-- sign with it (see docs/architecture.md, "Signed webhooks"). `kinds` is a comma-separated list
-- of event types in a fixed order (`webhooks::WebhookKind`). `failing_since` is the first
-- failed attempt since the last success (NULL: the last attempt succeeded, or none failed);
-- an endpoint failing for 3 days is disabled (`enabled` 0, `disabled_at`, `disabled_reason`).
CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    kinds           TEXT NOT NULL,
    secret          TEXT NOT NULL,
    enabled         BIGINT NOT NULL DEFAULT 1,
    failing_since   BIGINT,
    disabled_at     BIGINT,
    disabled_reason TEXT NOT NULL DEFAULT '',
    created_by      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- One message to one endpoint: the body as sent (the exact bytes that are signed) and how its
-- attempts went. The id is the message's `webhook-id`, the same on every attempt and on
-- "send again", so receivers can tell a repeat. Sent by the job queue (`webhook` jobs, subject:
-- the delivery id). state: pending (waiting for its first or next attempt), succeeded, failed
-- (attempts used up, or the endpoint was disabled).
CREATE TABLE webhook_deliveries (
    id            TEXT PRIMARY KEY,
    webhook_id    TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts      BIGINT NOT NULL DEFAULT 0,
    response_code BIGINT,
    last_error    TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    attempted_at  BIGINT,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (webhook_id, id);

-- `link.expiring` is sent once per link and expiry: the first instance to insert the row sends
-- it. A link extended later is announced again when its new end comes near.
CREATE TABLE webhook_link_notices (
    link_id    TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (link_id, expires_at)
);
-- The periodic look for links about to expire reads this range.
CREATE INDEX links_expires ON links (expires_at);
