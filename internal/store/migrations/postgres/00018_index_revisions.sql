-- +goose Up
-- A revision per (channel, label, subdir), so that a change rebuilds only the indexes it
-- touched: each change moves the channel's revision (which serializes writes to it) and sets
-- the rows of what it touched to that revision, in the same transaction. A row with subdir ''
-- is a change to the label's channeldata.json only (a recipe read later). No row: the floor.
CREATE TABLE index_revisions (
    channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    label      TEXT    NOT NULL,
    subdir     TEXT    NOT NULL,
    revision   BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, label, subdir)
);

-- Every (label, subdir) of a channel is at index_floor at least (a change to all of them, as
-- a privacy change of the channel is, sets only the floor). indexed_revision is the revision
-- the last writer that knew of index_revisions left: a Wharf from before this migration (a
-- replica not upgraded yet, a binary rolled back) moves revision alone, and a revision other
-- than indexed_revision then counts as a change to everything.
ALTER TABLE channels ADD COLUMN indexed_revision BIGINT NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN index_floor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN index_floor_at BIGINT NOT NULL DEFAULT 0;
UPDATE channels SET indexed_revision = revision, index_floor = revision, index_floor_at = updated_at;

-- +goose Down
ALTER TABLE channels DROP COLUMN index_floor_at;
ALTER TABLE channels DROP COLUMN index_floor;
ALTER TABLE channels DROP COLUMN indexed_revision;
DROP TABLE index_revisions;
