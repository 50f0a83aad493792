-- CRC-32 of each version's bytes, computed while uploading (like the SHA-256). A ZIP can then
-- name an entry's checksum up front and send the stored bytes without reading them twice.
-- NULL for versions stored before this column existed; ZIPs compute theirs on the fly.
ALTER TABLE asset_versions ADD COLUMN crc32 BIGINT;
