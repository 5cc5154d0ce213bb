-- +goose Up
-- Names sort byte by byte, as on SQLite, whatever the database's locale: listings, repodata
-- and shards come out in the same order on both stores.
ALTER TABLE channels ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE packages ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE files ALTER COLUMN subdir TYPE TEXT COLLATE "C";
ALTER TABLE files ALTER COLUMN filename TYPE TEXT COLLATE "C";
ALTER TABLE file_labels ALTER COLUMN label TYPE TEXT COLLATE "C";
ALTER TABLE users ALTER COLUMN name TYPE TEXT COLLATE "C";

-- +goose Down
ALTER TABLE channels ALTER COLUMN name TYPE TEXT COLLATE "default";
ALTER TABLE packages ALTER COLUMN name TYPE TEXT COLLATE "default";
ALTER TABLE files ALTER COLUMN subdir TYPE TEXT COLLATE "default";
ALTER TABLE files ALTER COLUMN filename TYPE TEXT COLLATE "default";
ALTER TABLE file_labels ALTER COLUMN label TYPE TEXT COLLATE "default";
ALTER TABLE users ALTER COLUMN name TYPE TEXT COLLATE "default";
