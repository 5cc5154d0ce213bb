-- +goose Up
-- What channeldata.json takes from a conda package's rendered recipe (info/recipe/meta.yaml):
-- its source's url and git_url, as JSON, '{}' when it has none. NULL for files stored before
-- recipes were read (and for Python distributions).
ALTER TABLE files ADD COLUMN recipe_source BYTEA;

-- +goose Down
ALTER TABLE files DROP COLUMN recipe_source;
