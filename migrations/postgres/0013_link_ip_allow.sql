-- Networks a share link or an upload link may be opened from: comma-separated CIDR ranges,
-- written only by `links::options::IpAllow` (canonical, validated). Empty: anywhere.
ALTER TABLE links ADD COLUMN ip_allow TEXT NOT NULL DEFAULT '';
ALTER TABLE upload_links ADD COLUMN ip_allow TEXT NOT NULL DEFAULT '';
