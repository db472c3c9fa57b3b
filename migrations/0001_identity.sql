-- Identity and workspaces: accounts, workspaces, memberships, invites, tokens, device codes,
-- the audit log, rate-limit windows and the batch guard. One schema for SQLite (sqlx) and
-- Cloudflare D1: plain SQLite SQL, no PRAGMA, no transaction statements.
-- Conventions: ids are TEXT (`<prefix>_<uuid>`); timestamps are INTEGER epoch milliseconds;
-- secrets are stored only as their hex SHA-256 (`*_hash`); rows updated by guarded writes carry
-- `version`. Migrations are append-only: never edit an applied file, add the next one.

CREATE TABLE users (
    id               TEXT    NOT NULL PRIMARY KEY,
    email            TEXT    NOT NULL,
    email_normalised TEXT    NOT NULL UNIQUE,
    name             TEXT    NOT NULL,
    password_hash    TEXT    NOT NULL,
    created_at       INTEGER NOT NULL
);

CREATE TABLE workspaces (
    id            TEXT    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL,
    owner_user_id TEXT    NOT NULL REFERENCES users (id),
    plan          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    version       INTEGER NOT NULL
);

CREATE TABLE memberships (
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    user_id      TEXT    NOT NULL REFERENCES users (id),
    role         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);

-- "Every workspace of a user, oldest membership first".
CREATE INDEX memberships_by_user ON memberships (user_id, created_at);

CREATE TABLE invites (
    id                  TEXT    NOT NULL PRIMARY KEY,
    code_hash           TEXT    NOT NULL UNIQUE,
    workspace_id        TEXT    NOT NULL REFERENCES workspaces (id),
    email               TEXT    NOT NULL,
    role                TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    created_by_user_id  TEXT    NOT NULL REFERENCES users (id),
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    accepted_at         INTEGER,
    accepted_by_user_id TEXT    REFERENCES users (id),
    version             INTEGER NOT NULL
);

CREATE INDEX invites_by_workspace ON invites (workspace_id, created_at);

CREATE TABLE tokens (
    id           TEXT    NOT NULL PRIMARY KEY,
    hash         TEXT    NOT NULL UNIQUE,
    kind         TEXT    NOT NULL,
    client       TEXT    NOT NULL,
    family_id    TEXT    NOT NULL,
    user_id      TEXT    NOT NULL REFERENCES users (id),
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER,
    revoked_at   INTEGER,
    version      INTEGER NOT NULL
);

CREATE INDEX tokens_by_family ON tokens (family_id);

CREATE TABLE device_authorizations (
    id               TEXT    NOT NULL PRIMARY KEY,
    device_code_hash TEXT    NOT NULL UNIQUE,
    user_code_hash   TEXT    NOT NULL UNIQUE,
    status           TEXT    NOT NULL,
    user_id          TEXT    REFERENCES users (id),
    workspace_id     TEXT    REFERENCES workspaces (id),
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    decided_at       INTEGER,
    version          INTEGER NOT NULL
);

-- No foreign keys: the log outlives what it mentions, and some entries have no actor or workspace.
CREATE TABLE audit_log (
    id            TEXT    NOT NULL PRIMARY KEY,
    action        TEXT    NOT NULL,
    actor_user_id TEXT,
    workspace_id  TEXT,
    target_type   TEXT    NOT NULL,
    target_id     TEXT    NOT NULL,
    details       TEXT    NOT NULL, -- JSON
    created_at    INTEGER NOT NULL
);

CREATE INDEX audit_log_by_workspace ON audit_log (workspace_id, created_at);

-- Fixed-window counters, one row per key.
CREATE TABLE rate_limits (
    key      TEXT    NOT NULL PRIMARY KEY,
    count    INTEGER NOT NULL,
    reset_at INTEGER NOT NULL
);

-- Makes a guarded UPDATE that matched no row fail its batch: each guarded statement is followed by
-- `INSERT OR REPLACE INTO batch_guard (ok) VALUES (changes())`, whose CHECK fails on 0, and a failed
-- statement rolls back the whole batch (one transaction in SQLite, one atomic batch in D1).
CREATE TABLE batch_guard (
    ok INTEGER PRIMARY KEY CHECK (ok > 0)
);
