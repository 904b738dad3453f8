-- wsgw schema version 1: apps (tenants), members with hashed tokens, and grants.
-- Applied by store::Migrator inside one transaction; PRAGMA user_version records it.
-- Secrets are never stored: only the hex SHA-256 of each push key and token.

CREATE TABLE apps (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE
                  CHECK (length(name) BETWEEN 1 AND 64 AND name NOT GLOB '*[^A-Za-z0-9_.-]*'),
    visibility    TEXT    NOT NULL DEFAULT 'public'
                  CHECK (visibility IN ('public', 'members', 'private')),
    push_key_hash TEXT    NOT NULL CHECK (length(push_key_hash) = 64),
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE members (
    id         INTEGER PRIMARY KEY CHECK (id > 0),
    created_at INTEGER NOT NULL
) STRICT;

-- A member may hold several tokens; two members may (unwisely) pick the same one.
CREATE TABLE member_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: a replaced token must not match again
    member_id  INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    token_hash TEXT    NOT NULL CHECK (length(token_hash) = 64),
    created_at INTEGER NOT NULL,
    UNIQUE (member_id, token_hash)
) STRICT;

-- A grant lets one member subscribe to one private app.
CREATE TABLE grants (
    app_id     INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    member_id  INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, member_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX grants_by_member ON grants (member_id);
