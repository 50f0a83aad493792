-- Pictures with transparency also offer PNG and WebP presets (issue 21): the renderer says
-- whether a version has a pixel that is not fully opaque. Versions rendered before stay 0
-- until they are rendered again. Keep in step with
-- migrations/sqlite/0026_transparent_versions.sql.
ALTER TABLE asset_versions ADD COLUMN transparent BIGINT NOT NULL DEFAULT 0;
-- Links created with every size offered keep offering every size.
UPDATE links SET presets = 'large,web,small,png,webp' WHERE presets = 'large,web,small';
