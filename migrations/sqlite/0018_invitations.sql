-- Invitations (issue 20). Keep in step with migrations/postgres/0018_invitations.sql.
--
-- An admin invites a person by address, with the role and groups they will have; the person
-- sets their own password through a single-use link (only its hash is kept). Re-sending gives a
-- new token (the old link dies); withdrawing or accepting ends it. `groups` is a comma-
-- separated list of group ids, applied when the account is made.
CREATE TABLE invitations (
    id           TEXT PRIMARY KEY,
    email        TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    role         TEXT NOT NULL DEFAULT 'member',
    groups       TEXT NOT NULL DEFAULT '',
    token_hash   TEXT NOT NULL,
    created_by   TEXT,
    created_at   BIGINT NOT NULL,
    sent_at      BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    accepted_at  BIGINT,
    withdrawn_at BIGINT,
    user_id      TEXT
);
CREATE UNIQUE INDEX invitations_token ON invitations (token_hash);
CREATE INDEX invitations_email ON invitations (email);
-- At most one open invitation per address (two admins inviting at once: one wins, the other
-- gets 409); an expired one is closed (withdrawn) when the address is invited again.
CREATE UNIQUE INDEX invitations_open ON invitations (email)
    WHERE accepted_at IS NULL AND withdrawn_at IS NULL;

-- When and how each account last signed in (the users page shows it; "never signed in" is a
-- filter): written by `accounts::pages::sign_in`, the one place a session is bound to a user.
ALTER TABLE users ADD COLUMN last_sign_in_at BIGINT;
ALTER TABLE users ADD COLUMN sign_in_method TEXT NOT NULL DEFAULT '';

-- SCIM 2.0 provisioning tokens (issue 20): an identity provider's bearer token for
-- /scim/v2, made on /admin/sso and shown once; only its hash is kept.
CREATE TABLE scim_tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    token_hash TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX scim_tokens_hash ON scim_tokens (token_hash);
-- The identity provider's own id for an account or group (SCIM `externalId`).
ALTER TABLE users ADD COLUMN external_id TEXT;
