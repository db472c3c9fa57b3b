-- Removing a member (or a member leaving) revokes every token of that user bound to the
-- workspace in the same batch: "the tokens of one user in one workspace".
CREATE INDEX tokens_by_member ON tokens (user_id, workspace_id);
