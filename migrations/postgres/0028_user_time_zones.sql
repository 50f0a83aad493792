-- Each account's time zone (issue 21): the IANA name its browser reported, or '' for none
-- yet (UTC). Pages and the mails sent to the account show times in it. Keep in step with
-- migrations/sqlite/0028_user_time_zones.sql.
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
