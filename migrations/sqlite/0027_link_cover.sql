-- The picture a share link's page shows large (issue 21): an asset id the admin picked, or ''
-- for the first picture, as before. Keep in step with migrations/postgres/0027_link_cover.sql.
ALTER TABLE links ADD COLUMN cover_asset_id TEXT NOT NULL DEFAULT '';
