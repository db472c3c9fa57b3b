-- Runtime tokens: short-lived secrets bound to one session (and one user) for the runtime routes
-- (browser terminal and SSH WebSockets, which cannot send headers). They go with their session.
ALTER TABLE tokens ADD COLUMN session_id TEXT REFERENCES sessions (id) ON DELETE CASCADE;

CREATE INDEX tokens_by_session ON tokens (session_id);
