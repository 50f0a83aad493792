-- Check-out: since when an asset is locked (shown to others, and to admins who may break it).
ALTER TABLE assets ADD COLUMN checked_out_at BIGINT;
