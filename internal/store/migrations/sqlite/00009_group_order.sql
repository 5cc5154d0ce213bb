-- +goose Up
-- SQLite already compares group names byte by byte (BINARY); PostgreSQL's 00009 makes it do
-- the same. Kept so that both dialects number their migrations alike.
SELECT 1;

-- +goose Down
SELECT 1;
