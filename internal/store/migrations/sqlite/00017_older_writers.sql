-- +goose Up
-- A Wharf from before migration 11 (a replica not upgraded yet, or a binary rolled back)
-- inserts channels, and the channels of new users and orgs, with the empty name key: the
-- first would take the key '' and every later one fail on the unique index, and none be
-- found by another spelling or guard against look-alikes. The database gives such rows
-- their key itself (names.Key of the last segment, as in migration 11); a look-alike of a
-- name that is there is then refused to the older Wharf as a taken name.

-- +goose StatementBegin
CREATE TRIGGER channels_name_key AFTER INSERT ON channels FOR EACH ROW WHEN NEW.name_key = ''
BEGIN
    UPDATE channels SET name_key = trim(replace(replace(replace(replace(replace(replace(replace(replace(replace(lower(CASE WHEN instr(NEW.name, '/') > 0 THEN substr(NEW.name, instr(NEW.name, '/') + 1) ELSE NEW.name END), '_', '-'), '.', '-'), '--', '-'), '--', '-'), '--', '-'), '--', '-'), '--', '-'), '--', '-'), '--', '-'), '-') WHERE id = NEW.id;
END;
-- +goose StatementEnd

-- Rows an older Wharf inserted since migration 11 get their key, the first of a key (or the
-- one that held it) holding it, the others marked as look-alikes made before the rule.
UPDATE channels SET name_shadowed = 1 WHERE name_key = '';
UPDATE channels SET name_key = trim(replace(replace(replace(replace(replace(replace(replace(replace(replace(lower(CASE WHEN instr(name, '/') > 0 THEN substr(name, instr(name, '/') + 1) ELSE name END), '_', '-'), '.', '-'), '--', '-'), '--', '-'), '--', '-'), '--', '-'), '--', '-'), '--', '-'), '--', '-'), '-') WHERE name_key = '';
UPDATE channels SET name_shadowed = 0 WHERE name_shadowed AND id IN (
    SELECT MIN(id) FROM channels GROUP BY COALESCE(parent_id, 0), name_key
    HAVING SUM(CASE WHEN name_shadowed THEN 0 ELSE 1 END) = 0);

-- Python files an older Wharf stored have no distribution key until the store opens
-- (fillDistKeys); this index finds them at each opening without reading every file.
CREATE INDEX files_dist_unkeyed ON files (id) WHERE subdir = 'pypi' AND dist_key IS NULL;

-- +goose Down
DROP INDEX files_dist_unkeyed;
DROP TRIGGER channels_name_key;
