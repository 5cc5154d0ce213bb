-- +goose Up
-- Python distributions live in files too (kind "pypi", subdir "pypi"), with what the Simple
-- API serves besides the bytes.
ALTER TABLE files ADD COLUMN core_metadata BYTEA;
ALTER TABLE files ADD COLUMN core_metadata_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE files ADD COLUMN requires_python TEXT NOT NULL DEFAULT '';
ALTER TABLE files ADD COLUMN yanked BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE files ADD COLUMN yanked_reason TEXT NOT NULL DEFAULT '';

-- A Python filename, once removed, may come back only with the same bytes (as on PyPI).
CREATE TABLE removed_files (
    channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    subdir     TEXT    NOT NULL,
    filename   TEXT COLLATE "C" NOT NULL,
    sha256     TEXT    NOT NULL,
    removed_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, subdir, filename)
);

-- +goose Down
DROP TABLE removed_files;
ALTER TABLE files DROP COLUMN yanked_reason;
ALTER TABLE files DROP COLUMN yanked;
ALTER TABLE files DROP COLUMN requires_python;
ALTER TABLE files DROP COLUMN core_metadata_sha256;
ALTER TABLE files DROP COLUMN core_metadata;
