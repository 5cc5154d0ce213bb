-- +goose Up
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_changed_at INTEGER NOT NULL DEFAULT 0;
UPDATE users SET email_verified = 1; -- accounts made before verification existed were made by an admin
-- Addresses become unique. Accounts made earlier may share one: the oldest keeps it, the others
-- get it marked so that nothing is lost and an administrator can give them their own.
UPDATE users SET email = email || '#duplicate-' || CAST(id AS TEXT)
    WHERE email <> '' AND id NOT IN (SELECT MIN(id) FROM users WHERE email <> '' GROUP BY lower(email));
CREATE UNIQUE INDEX users_email ON users (lower(email)) WHERE email <> '';

CREATE TABLE orgs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE org_members (
    org_id     INTEGER NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL CHECK (role IN ('owner', 'member')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user ON org_members (user_id);

CREATE TABLE groups (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id     INTEGER NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

-- package '' is the whole channel; level 1 read, 2 write, 3 manage.
CREATE TABLE grants (
    group_id   INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    package    TEXT    NOT NULL DEFAULT '',
    level      INTEGER NOT NULL CHECK (level BETWEEN 1 AND 3),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, channel_id, package)
);
CREATE INDEX grants_channel ON grants (channel_id);

ALTER TABLE channels ADD COLUMN owner_org_id INTEGER REFERENCES orgs (id);

-- Every user owns a channel of their name; users made earlier get theirs where the name is free.
INSERT INTO channels (name, owner_user_id, private, created_at, updated_at)
    SELECT u.name, u.id, FALSE, u.created_at, u.created_at FROM users u
    WHERE NOT EXISTS (SELECT 1 FROM channels c WHERE c.name = u.name);

-- Single-use links mailed to users: purpose 'verify', 'reset' or 'invite'.
CREATE TABLE email_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT    NOT NULL UNIQUE,
    purpose    TEXT    NOT NULL,
    user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL,
    created_by INTEGER REFERENCES users (id),
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

CREATE TABLE org_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id     INTEGER NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    actor_id   INTEGER REFERENCES users (id),
    action     TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX org_events_org ON org_events (org_id, id);

-- +goose Down
DROP TABLE org_events;
DROP TABLE email_tokens;
ALTER TABLE channels DROP COLUMN owner_org_id;
DROP TABLE grants;
DROP TABLE group_members;
DROP TABLE groups;
DROP TABLE org_members;
DROP TABLE orgs;
DROP INDEX users_email;
ALTER TABLE users DROP COLUMN password_changed_at;
ALTER TABLE users DROP COLUMN email_verified;
