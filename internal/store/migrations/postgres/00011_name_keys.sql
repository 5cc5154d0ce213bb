-- +goose Up
-- Names that differ only in case, '-', '_' or '.', or by a separator at an end, are one name
-- (names.Key). Each channel keeps the key of its last segment; top-level channels (which hold
-- the names of users and orgs too: each has a channel of its name) are one namespace, the
-- subchannels of a parent another, and a unique index refuses a second channel with a key.
--
-- Look-alikes made before this rule stay as they were: in each group the oldest holds the
-- key, the others are marked name_shadowed and answer only to their exact spelling. Nothing
-- is renamed; `wharf serve` logs each group at startup (store.LookAlikes).
ALTER TABLE channels ADD COLUMN name_key TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN name_shadowed BOOLEAN NOT NULL DEFAULT FALSE;

-- names.Key in SQL: the last segment, ASCII lower-cased (translate, not lower(), which would
-- fold other letters by the locale), each run of '-', '_' and '.' made one '-', '-' trimmed
-- at both ends.
UPDATE channels SET name_key = btrim(regexp_replace(translate(
    CASE WHEN strpos(name, '/') > 0 THEN substr(name, strpos(name, '/') + 1) ELSE name END,
    'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), '[-_.]+', '-', 'g'), '-');

UPDATE channels SET name_shadowed = TRUE WHERE EXISTS (
    SELECT 1 FROM channels o WHERE o.id < channels.id
    AND COALESCE(o.parent_id, 0) = COALESCE(channels.parent_id, 0) AND o.name_key = channels.name_key);

CREATE UNIQUE INDEX channels_key_unique ON channels (COALESCE(parent_id, 0), name_key) WHERE NOT name_shadowed;

-- +goose Down
DROP INDEX channels_key_unique;
ALTER TABLE channels DROP COLUMN name_shadowed;
ALTER TABLE channels DROP COLUMN name_key;
