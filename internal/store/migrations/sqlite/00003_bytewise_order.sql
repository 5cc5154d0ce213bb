-- +goose Up
-- SQLite already compares text byte by byte (BINARY); PostgreSQL's 00003 makes it do the same.
SELECT 1;

-- +goose Down
SELECT 1;
