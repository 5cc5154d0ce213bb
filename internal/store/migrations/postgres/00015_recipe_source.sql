-- +goose Up
-- What channeldata.json takes from a conda package's rendered recipe (info/recipe/meta.yaml):
-- its source's url and git_url, as JSON, '{}' when it has none. NULL for files stored before
-- recipes were read (and for Python distributions); the server reads those from their blobs
-- in the background, finding them through the index.
ALTER TABLE files ADD COLUMN recipe_source BYTEA;
CREATE INDEX files_recipe_unread ON files (id) WHERE recipe_source IS NULL;

-- +goose Down
DROP INDEX files_recipe_unread;
ALTER TABLE files DROP COLUMN recipe_source;
