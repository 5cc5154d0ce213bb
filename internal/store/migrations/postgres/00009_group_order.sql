-- +goose Up
-- Group names sort byte by byte, as on SQLite and like the other names (00003, 00004), whatever
-- the database's locale: an org's groups list in the same order on both stores.
ALTER TABLE groups ALTER COLUMN name TYPE TEXT COLLATE "C";

-- +goose Down
ALTER TABLE groups ALTER COLUMN name TYPE TEXT COLLATE "default";
