-- Snapshots of sessions' persisted paths, each session's "latest good" snapshot, and upload grants
-- that may target a snapshot. Same conventions as 0001-0004.
-- A snapshot's content columns are all set, or all NULL before its first upload completes. Purging
-- a session takes its snapshots with it (ON DELETE CASCADE), and deleting a snapshot takes its
-- upload grants. `sessions.latest_snapshot_id` has no foreign key (a cycle with `snapshots`, as
-- `templates.active_version_id`); core moves it in the batches that complete or delete snapshots,
-- and reads join it to `snapshots`, so a pointer to a removed snapshot reads as none.

CREATE TABLE snapshots (
    id                 TEXT    NOT NULL PRIMARY KEY,
    session_id         TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    workspace_id       TEXT    NOT NULL REFERENCES workspaces (id),
    label              TEXT    NOT NULL,
    kind               TEXT    NOT NULL, -- `manual` or `automatic`
    object_key         TEXT,
    content_type       TEXT,
    bytes              INTEGER,
    sha256             TEXT,
    uploaded_at        INTEGER,
    created_by_user_id TEXT    REFERENCES users (id), -- NULL for automatic snapshots
    created_at         INTEGER NOT NULL,
    version            INTEGER NOT NULL
);

-- "Snapshots of a session, oldest first" (also serves the cascade from sessions).
CREATE INDEX snapshots_by_session ON snapshots (session_id, created_at);
-- The workspace's snapshot bytes (the quota guard).
CREATE INDEX snapshots_by_workspace ON snapshots (workspace_id, created_at);
-- "Snapshots whose content never arrived" (reconcile).
CREATE INDEX snapshots_unfinished ON snapshots (created_at) WHERE uploaded_at IS NULL;

ALTER TABLE sessions ADD COLUMN latest_snapshot_id TEXT;

-- Upload grants now target a template version's bundle or a session's snapshot (exactly one of
-- the two pairs is set), may leave the size open (automatic snapshots, streamed as they are
-- made) and may have no person behind them. SQLite cannot relax NOT NULL in place, so the table
-- is rebuilt; nothing references it.
CREATE TABLE upload_grants_next (
    id                 TEXT    NOT NULL PRIMARY KEY,
    secret_hash        TEXT    NOT NULL UNIQUE,
    workspace_id       TEXT    NOT NULL REFERENCES workspaces (id),
    template_id        TEXT    REFERENCES templates (id) ON DELETE CASCADE,
    version_id         TEXT    REFERENCES template_versions (id) ON DELETE CASCADE,
    session_id         TEXT    REFERENCES sessions (id) ON DELETE CASCADE,
    snapshot_id        TEXT    REFERENCES snapshots (id) ON DELETE CASCADE,
    content_type       TEXT    NOT NULL,
    bytes              INTEGER,
    created_by_user_id TEXT    REFERENCES users (id),
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    used_at            INTEGER,
    version            INTEGER NOT NULL,
    CHECK ((template_id IS NOT NULL AND version_id IS NOT NULL AND session_id IS NULL AND snapshot_id IS NULL)
        OR (template_id IS NULL AND version_id IS NULL AND session_id IS NOT NULL AND snapshot_id IS NOT NULL))
);

INSERT INTO upload_grants_next (id, secret_hash, workspace_id, template_id, version_id, content_type, bytes,
                                created_by_user_id, created_at, expires_at, used_at, version)
SELECT id, secret_hash, workspace_id, template_id, version_id, content_type, bytes, created_by_user_id, created_at,
       expires_at, used_at, version
FROM upload_grants;

DROP TABLE upload_grants;

ALTER TABLE upload_grants_next RENAME TO upload_grants;

CREATE INDEX upload_grants_by_template ON upload_grants (template_id);
CREATE INDEX upload_grants_by_version ON upload_grants (version_id);
CREATE INDEX upload_grants_by_session ON upload_grants (session_id);
CREATE INDEX upload_grants_by_snapshot ON upload_grants (snapshot_id);
