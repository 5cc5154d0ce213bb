-- +goose Up
-- Access tokens. Only the SHA-256 of a secret is kept. owner_key ('u:ID' or 'o:ID') makes
-- names unique per owner, users and orgs alike.
CREATE TABLE tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_key     TEXT    NOT NULL,
    owner_user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    owner_org_id  INTEGER REFERENCES orgs (id) ON DELETE CASCADE,
    created_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    name          TEXT    NOT NULL,
    description   TEXT    NOT NULL DEFAULT '',
    hash          TEXT    NOT NULL UNIQUE,
    kind          TEXT    NOT NULL,
    strength      TEXT    NOT NULL,
    scopes        TEXT    NOT NULL,
    resources     TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (owner_key, name)
);

-- +goose Down
DROP TABLE tokens;
