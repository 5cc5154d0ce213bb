-- +goose Up
-- A Python distribution's identity in a channel (pypi.Filename.Key: its normalized name,
-- PEP 440 version and tags): one file per identity, whatever the filename's spelling, held by
-- the unique index so that two spellings uploaded at once cannot both win. The store fills
-- dist_key in for the files stored before when it opens (the key needs the Go normalization).
-- dist_dup is 0 for the file that holds the distribution; a look-alike stored before this
-- migration keeps its own id there, so that it stays (and is reported) rather than being
-- dropped.
ALTER TABLE files ADD COLUMN dist_key TEXT COLLATE "C";
ALTER TABLE files ADD COLUMN dist_dup BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX files_dist ON files (channel_id, dist_key, dist_dup);

-- A removed distribution comes back only with the same bytes, under any spelling.
ALTER TABLE removed_files ADD COLUMN dist_key TEXT COLLATE "C";
CREATE INDEX removed_files_dist ON removed_files (channel_id, dist_key);

-- +goose Down
DROP INDEX removed_files_dist;
ALTER TABLE removed_files DROP COLUMN dist_key;
DROP INDEX files_dist;
ALTER TABLE files DROP COLUMN dist_dup;
ALTER TABLE files DROP COLUMN dist_key;
