-- +goose Up
-- Web UI sessions. Only the SHA-256 of the cookie's secret is kept; ending a session deletes
-- its row, so a copied cookie dies with it.
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    hash         TEXT    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    user_agent   TEXT    NOT NULL DEFAULT '',
    addr         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Settings an administrator changes at run time (the sign-up mode), shared by every replica.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The web UI lists a package's files; privacy and uploads look packages up by name whatever
-- their kind.
CREATE INDEX files_package ON files (package_id, version);
CREATE INDEX packages_channel_name ON packages (channel_id, name);

-- +goose Down
DROP INDEX packages_channel_name;
DROP INDEX files_package;
DROP TABLE settings;
DROP TABLE sessions;
