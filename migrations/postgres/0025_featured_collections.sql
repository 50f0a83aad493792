-- Admins feature collections on partners' home (issue 21). Keep in step with
-- migrations/sqlite/0025_featured_collections.sql.
ALTER TABLE collections ADD COLUMN featured BIGINT NOT NULL DEFAULT 0;
