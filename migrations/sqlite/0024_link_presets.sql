-- Which download presets a share link offers (issue 21): names, comma-separated; every one by
-- default, as before. Keep in step with migrations/postgres/0024_link_presets.sql.
ALTER TABLE links ADD COLUMN presets TEXT NOT NULL DEFAULT 'large,web,small';
