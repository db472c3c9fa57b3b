-- Sessions (developer environments) and their event history. Same conventions as 0001/0002.
-- A session's name is unique per workspace among live sessions (any state but `deleted`), whatever
-- the case: a partial unique index, so a deleted session frees its name until it is purged.
-- Deleting a template takes its sessions and their events with it (ON DELETE CASCADE): core
-- refuses to delete a template that still has live sessions, so only deleted ones go this way.
-- Purging a session is one guarded DELETE; its events follow through the cascade, and the guard's
-- `changes()` counts only the session row.

CREATE TABLE sessions (
    id                   TEXT    NOT NULL PRIMARY KEY,
    workspace_id         TEXT    NOT NULL REFERENCES workspaces (id),
    template_id          TEXT    NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    version_id           TEXT    NOT NULL REFERENCES template_versions (id) ON DELETE CASCADE,
    name                 TEXT    NOT NULL,
    name_normalised      TEXT    NOT NULL, -- lower-cased name
    state                TEXT    NOT NULL,
    state_detail         TEXT,
    created_by_user_id   TEXT    NOT NULL REFERENCES users (id),
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    last_started_at      INTEGER,
    last_stopped_at      INTEGER,
    last_active_at       INTEGER,
    sleep_ttl_seconds    INTEGER,
    idle_timeout_seconds INTEGER,
    version              INTEGER NOT NULL
);

-- Live names are unique per workspace, whatever the case.
CREATE UNIQUE INDEX sessions_live_name ON sessions (workspace_id, name_normalised) WHERE state <> 'deleted';
-- "Sessions of a workspace, oldest first" (also serves the running-session quota).
CREATE INDEX sessions_by_workspace ON sessions (workspace_id, created_at);
-- "Sessions in these states" (reconcile, across workspaces).
CREATE INDEX sessions_by_state ON sessions (state, created_at);
-- The cascades from templates and versions.
CREATE INDEX sessions_by_template ON sessions (template_id);
CREATE INDEX sessions_by_version ON sessions (version_id);

CREATE TABLE session_events (
    id           TEXT    NOT NULL PRIMARY KEY,
    session_id   TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    state        TEXT    NOT NULL,
    details      TEXT    NOT NULL, -- JSON
    created_at   INTEGER NOT NULL
);

-- "Events of a session in append order": the index's entries for one session are in rowid order.
CREATE INDEX session_events_by_session ON session_events (session_id);
