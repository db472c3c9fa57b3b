//! Runtime tokens: a short-lived secret of its own kind (`bfrt_…`), bound to one session and one
//! user and stored hashed, that opens that session's runtime routes (the browser terminal and SSH
//! WebSockets, which cannot send an `Authorization` header). Only members of the session's
//! workspace, never viewers, get one, and only for a running session; it is refused anywhere else.

use super::{Actor, Service};
use crate::error::{Code, Error, Result};
use crate::ids::SessionId;
use crate::model::{Session, Token};
use crate::secret::{prefix, Secret, SecretHash};
use crate::store::{Batch, Write};
use crate::values::{Role, SessionState, TokenKind};
use serde_json::json;

/// Who a runtime token lets in, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeAccess {
    pub session: Session,
    pub user_id: crate::ids::UserId,
    pub role: Role,
}

impl RuntimeAccess {
    /// The token's holder as a runtime caller.
    pub fn caller(&self) -> super::RuntimeCaller {
        super::RuntimeCaller {
            user_id: self.user_id.clone(),
            workspace_id: self.session.workspace_id.clone(),
            role: self.role,
        }
    }
}

impl Service {
    /// Issues a runtime token for the caller and a running session of their workspace.
    pub async fn issue_runtime_token(&self, actor: &Actor, id: &SessionId) -> Result<(Secret, Token)> {
        actor.require(Role::Member)?;
        let session = self.session(actor, id).await?;
        if session.state != SessionState::Running {
            return Err(Error::new(Code::SessionNotRunning, "The session is not running; start it first"));
        }
        let (secret, mut token) =
            self.mint_token(TokenKind::Runtime, actor.client, &actor.family_id, &actor.user.id, &actor.workspace_id);
        token.session_id = Some(session.id.clone());
        let mut batch = Batch::new();
        batch.push(Write::CreateToken(token.clone())).push(self.audit(
            "session.runtime_token_issued",
            Some(&actor.user.id),
            Some(&actor.workspace_id),
            ("session", session.id.as_str()),
            json!({ "expiresAt": token.expires_at.to_iso() }),
        ));
        self.commit(batch).await?;
        Ok((secret, token))
    }

    /// Checks a runtime token for `session`: the right kind, live, bound to this very session,
    /// its user still a member (not a viewer) of the workspace, and the session still running.
    /// Every refusal is the same 401, so a token reveals nothing about other sessions.
    pub async fn runtime_access(&self, secret: &str, session: &SessionId) -> Result<RuntimeAccess> {
        let refused = Error::invalid_token;
        if !secret.starts_with(prefix::RUNTIME) || !secret[prefix::RUNTIME.len()..].starts_with('_') {
            return Err(refused());
        }
        let credential = self.ports.tokens.find_credential(&SecretHash::of(secret)).await?.ok_or_else(refused)?;
        let token = &credential.token;
        let bound = token.session_id.as_ref() == Some(session);
        if token.kind != TokenKind::Runtime || !token.is_live(self.now()) || !bound {
            return Err(refused());
        }
        let role = credential.membership.as_ref().map(|m| m.role).filter(|r| r.at_least(Role::Member));
        let found = self.ports.sessions.get(&token.workspace_id, session).await?;
        match (found, role) {
            (Some(session), Some(role)) if session.state == SessionState::Running => {
                Ok(RuntimeAccess { session, user_id: token.user_id.clone(), role })
            }
            _ => Err(refused()),
        }
    }
}
