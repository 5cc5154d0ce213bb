-- +goose Up
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    email         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE channels (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    parent_id     INTEGER REFERENCES channels (id) ON DELETE CASCADE,
    owner_user_id INTEGER REFERENCES users (id),
    private       INTEGER NOT NULL DEFAULT 0,
    revision      INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE packages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    private    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    UNIQUE (channel_id, kind, name)
);

CREATE TABLE files (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id   INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    package_id   INTEGER NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    subdir       TEXT    NOT NULL,
    filename     TEXT    NOT NULL,
    sha256       TEXT    NOT NULL,
    md5          TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    version      TEXT    NOT NULL,
    build        TEXT    NOT NULL,
    build_number INTEGER NOT NULL,
    timestamp    INTEGER NOT NULL,
    record       BLOB    NOT NULL,
    run_exports  BLOB,
    about        BLOB,
    flags        INTEGER NOT NULL DEFAULT 0,
    uploader_id  INTEGER REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    UNIQUE (channel_id, subdir, filename)
);
CREATE INDEX files_sha256 ON files (sha256);

CREATE TABLE file_labels (
    file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    label   TEXT    NOT NULL,
    PRIMARY KEY (file_id, label)
);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    actor_id   INTEGER REFERENCES users (id),
    action     TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX events_channel ON events (channel_id, id);

-- +goose Down
DROP TABLE events;
DROP TABLE file_labels;
DROP TABLE files;
DROP TABLE packages;
DROP TABLE channels;
DROP TABLE users;
