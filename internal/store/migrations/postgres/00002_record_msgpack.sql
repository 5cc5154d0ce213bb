-- +goose Up
-- The record as a CEP-16 shard holds it, encoded once at upload.
ALTER TABLE files ADD COLUMN record_msgpack BYTEA;

-- +goose Down
ALTER TABLE files DROP COLUMN record_msgpack;
