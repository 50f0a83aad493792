-- A share link's address can be shown again (issue 21): its token is also kept sealed with the
-- shared secret (crate::sealed, purpose "share link token", the link id as associated data);
-- lookups still use only token_hash. Links made before this keep '' and say so on their page
-- (rotating one gives it an address that is kept). Keep in step with migrations/sqlite/0020_link_addresses.sql.
ALTER TABLE links ADD COLUMN token_sealed TEXT NOT NULL DEFAULT '';
