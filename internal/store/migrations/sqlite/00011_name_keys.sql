-- +goose Up
-- Names that differ only in case, '-', '_' or '.', or by a separator at an end, are one name
-- (names.Key). Each channel keeps the key of its last segment; top-level channels (which hold
-- the names of users and orgs too: each has a channel of its name) are one namespace, the
-- subchannels of a parent another, and a unique index refuses a second channel with a key.
--
-- Look-alikes made before this rule stay as they were: in each group the oldest holds the
-- key, the others are marked name_shadowed and answer only to their exact spelling. Nothing
-- is renamed; `wharf serve` logs each group at startup (store.LookAlikes).
ALTER TABLE channels ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN name_shadowed INTEGER NOT NULL DEFAULT 0;

-- names.Key in SQL: the last segment, ASCII lower-cased (SQLite's lower() folds only ASCII),
-- '_' and '.' made '-', runs of '-' made one (each pass halves a run: seven passes take runs
-- of up to 128, and a segment has at most 64 characters), '-' trimmed at both ends.
UPDATE channels SET name_key = replace(replace(lower(
    CASE WHEN instr(name, '/') > 0 THEN substr(name, instr(name, '/') + 1) ELSE name END), '_', '-'), '.', '-');
UPDATE channels SET name_key = replace(replace(replace(replace(replace(replace(replace(name_key,
    '--', '-'), '--', '-'), '--', '-'), '--', '-'), '--', '-'), '--', '-'), '--', '-');
UPDATE channels SET name_key = trim(name_key, '-');

-- The oldest of each key holds it. Grouped: SQLite runs a correlated EXISTS over channels
-- (PostgreSQL's form) once per channel, through every older one, before the key has an index:
-- hours at 100k channels.
UPDATE channels SET name_shadowed = 1 WHERE id NOT IN (
    SELECT MIN(id) FROM channels GROUP BY COALESCE(parent_id, 0), name_key);

CREATE UNIQUE INDEX channels_key_unique ON channels (COALESCE(parent_id, 0), name_key) WHERE NOT name_shadowed;

-- +goose Down
DROP INDEX channels_key_unique;
ALTER TABLE channels DROP COLUMN name_shadowed;
ALTER TABLE channels DROP COLUMN name_key;
