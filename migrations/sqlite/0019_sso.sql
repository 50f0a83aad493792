-- OpenID Connect sign-in (issue 20). Keep in step with migrations/postgres/0019_sso.sql.
--
-- One row per identity provider, made on /admin/sso or read from assetport.toml's [[sso]]
-- tables at start (source 'config': shown, not editable on the page). The client secret is
-- stored sealed with the shared secret (sso::seal), never in clear. group_map is a JSON object
-- from a value of the groups claim to assetport group ids; admin_values lists claim values
-- that make an account an admin. allowed_domains (comma-separated, lower case) limits which
-- addresses may sign in through the provider; empty allows any. sso_only refuses a password
-- to members whose address is in those domains (admins keep theirs: the break-glass way in).
CREATE TABLE sso_providers (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    issuer          TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    client_secret_sealed TEXT NOT NULL DEFAULT '',
    scopes          TEXT NOT NULL DEFAULT 'openid email profile',
    groups_claim    TEXT NOT NULL DEFAULT 'groups',
    group_map       TEXT NOT NULL DEFAULT '{}',
    admin_values    TEXT NOT NULL DEFAULT '',
    allowed_domains TEXT NOT NULL DEFAULT '',
    jit             INTEGER NOT NULL DEFAULT 1,
    sso_only        INTEGER NOT NULL DEFAULT 0,
    source          TEXT NOT NULL DEFAULT 'admin',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- Which provider subject is which account: after the first sign-in the subject (the
-- provider's stable id), not the address, finds the account.
CREATE TABLE sso_identities (
    provider_id TEXT NOT NULL,
    subject     TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (provider_id, subject)
);
CREATE INDEX sso_identities_user ON sso_identities (user_id);
