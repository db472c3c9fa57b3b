-- Templates and what hangs off them: versions (manifest + uploaded bundle), one build per version,
-- releases (promotion history), one-time upload grants, usage events, and the local job queue.
-- Same conventions as 0001 (TEXT ids, INTEGER epoch-millisecond timestamps, secrets only as their
-- hex SHA-256, `version` on rows changed by guarded writes). Deleting a template is one DELETE:
-- its versions, builds, releases and grants go with it through ON DELETE CASCADE (foreign keys are
-- on in sqlx's connections and always on in D1). The guard's `changes()` counts only the template
-- row itself, never the cascaded rows.

CREATE TABLE templates (
    id                  TEXT    NOT NULL PRIMARY KEY,
    workspace_id        TEXT    NOT NULL REFERENCES workspaces (id),
    name                TEXT    NOT NULL,
    name_normalised     TEXT    NOT NULL, -- lower-cased name: unique per workspace whatever the case
    description         TEXT    NOT NULL,
    -- No foreign key: versions reference their template, and a cycle would make inserts order-bound.
    active_version_id   TEXT,
    archived_at         INTEGER,
    archived_by_user_id TEXT    REFERENCES users (id),
    created_by_user_id  TEXT    NOT NULL REFERENCES users (id),
    created_at          INTEGER NOT NULL,
    version             INTEGER NOT NULL,
    UNIQUE (workspace_id, name_normalised)
);

-- "Templates of a workspace, oldest first".
CREATE INDEX templates_by_workspace ON templates (workspace_id, created_at);

CREATE TABLE template_versions (
    id                  TEXT    NOT NULL PRIMARY KEY,
    template_id         TEXT    NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    workspace_id        TEXT    NOT NULL REFERENCES workspaces (id),
    label               TEXT    NOT NULL,
    notes               TEXT    NOT NULL,
    manifest            TEXT    NOT NULL, -- JSON
    status              TEXT    NOT NULL,
    -- The uploaded bundle: all four set, or all four NULL before the first upload.
    bundle_key          TEXT,
    bundle_content_type TEXT,
    bundle_bytes        INTEGER,
    bundle_uploaded_at  INTEGER,
    created_by_user_id  TEXT    NOT NULL REFERENCES users (id),
    created_at          INTEGER NOT NULL,
    built_at            INTEGER,
    version             INTEGER NOT NULL,
    -- Also serves "versions of a template" and the cascade from templates.
    UNIQUE (template_id, label)
);

CREATE TABLE builds (
    id                      TEXT    NOT NULL PRIMARY KEY,
    version_id              TEXT    NOT NULL UNIQUE REFERENCES template_versions (id) ON DELETE CASCADE,
    template_id             TEXT    NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    workspace_id            TEXT    NOT NULL REFERENCES workspaces (id),
    status                  TEXT    NOT NULL,
    attempts                INTEGER NOT NULL,
    last_error              TEXT,
    -- What a successful build recorded: all three set, or all three NULL.
    artifact_digest         TEXT,
    artifact_file_count     INTEGER,
    artifact_unpacked_bytes INTEGER,
    log_key                 TEXT    NOT NULL,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    started_at              INTEGER,
    finished_at             INTEGER,
    dead_lettered_at        INTEGER,
    version                 INTEGER NOT NULL
);

CREATE INDEX builds_by_template ON builds (template_id);
-- "Builds of a workspace, oldest first".
CREATE INDEX builds_by_workspace ON builds (workspace_id, created_at);
-- "Builds still `building` that started before the timeout".
CREATE INDEX builds_by_status ON builds (status, started_at);

CREATE TABLE releases (
    id                 TEXT    NOT NULL PRIMARY KEY,
    workspace_id       TEXT    NOT NULL REFERENCES workspaces (id),
    template_id        TEXT    NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    version_id         TEXT    NOT NULL REFERENCES template_versions (id) ON DELETE CASCADE,
    created_by_user_id TEXT    NOT NULL REFERENCES users (id),
    created_at         INTEGER NOT NULL
);

-- "Releases of a workspace / of a template, newest first"; the latter also serves the cascade.
CREATE INDEX releases_by_workspace ON releases (workspace_id, created_at);
CREATE INDEX releases_by_template ON releases (template_id, created_at);
CREATE INDEX releases_by_version ON releases (version_id);

CREATE TABLE upload_grants (
    id                 TEXT    NOT NULL PRIMARY KEY,
    secret_hash        TEXT    NOT NULL UNIQUE,
    workspace_id       TEXT    NOT NULL REFERENCES workspaces (id),
    template_id        TEXT    NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    version_id         TEXT    NOT NULL REFERENCES template_versions (id) ON DELETE CASCADE,
    content_type       TEXT    NOT NULL,
    bytes              INTEGER NOT NULL,
    created_by_user_id TEXT    NOT NULL REFERENCES users (id),
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    used_at            INTEGER,
    version            INTEGER NOT NULL
);

CREATE INDEX upload_grants_by_template ON upload_grants (template_id);
CREATE INDEX upload_grants_by_version ON upload_grants (version_id);

-- Metering: kept when templates go (like the audit log), so no foreign key to them.
CREATE TABLE usage_events (
    id           TEXT    NOT NULL PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    kind         TEXT    NOT NULL,
    value        INTEGER NOT NULL,
    details      TEXT    NOT NULL, -- JSON
    created_at   INTEGER NOT NULL
);

CREATE INDEX usage_events_by_workspace ON usage_events (workspace_id, created_at);

-- The local job queue (Cloudflare uses Queues instead). A runner claims the oldest due job whose
-- lease is absent or over with one `UPDATE … RETURNING`, leasing it; `complete` deletes the row,
-- `release` clears the lease and sets a new `run_at`.
CREATE TABLE jobs (
    id          TEXT    NOT NULL PRIMARY KEY,
    payload     TEXT    NOT NULL, -- JSON of the job
    run_at      INTEGER NOT NULL,
    lease_until INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

-- "Due jobs, oldest `run_at` first".
CREATE INDEX jobs_by_run_at ON jobs (run_at);
