-- +goose Up
-- A counter every replica moves after a change that may alter who may do what, and every
-- replica watches, to forget what it remembers of tokens and accounts within a second.
CREATE TABLE access_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT  NOT NULL
);
INSERT INTO access_epoch (id, n) VALUES (1, 0);

-- +goose Down
DROP TABLE access_epoch;
