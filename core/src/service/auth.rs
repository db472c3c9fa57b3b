//! Accounts and sign-in: register, login, refresh with reuse detection, logout, switch workspace
//! and `me`.

use super::{Actor, Service};
use crate::error::{Code, Error, ErrorKind, Result};
use crate::ids::{FamilyId, UserId, WorkspaceId};
use crate::model::{Membership, User, Workspace, WorkspaceView};
use crate::secret::{prefix, Secret, SecretHash};
use crate::store::{Batch, Write};
use crate::time::Timestamp;
use crate::values::{ClientKind, DisplayName, Email, Password, Plan, Role, TokenKind};
use serde_json::json;

/// What every sign-in returns: the account, the workspace it is bound to, and a fresh token pair.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub user: User,
    pub workspace: WorkspaceView,
    pub client: ClientKind,
    pub access: Secret,
    pub access_expires_at: Timestamp,
    pub refresh: Secret,
    pub refresh_expires_at: Timestamp,
    /// The sign-in's token family: stable across refreshes, new for every sign-in. The edge binds
    /// the browser's CSRF token to it.
    pub family_id: FamilyId,
}

/// Registration input, validated once where it enters (its `Debug` never shows the password).
#[derive(Debug, Clone)]
pub struct Registration {
    pub email: Email,
    pub password: Password,
    pub name: Option<DisplayName>,
    pub client: ClientKind,
}

impl Registration {
    /// Validates a request's fields: a well-formed email, a password strong enough for a new
    /// account, and a display name if one was given.
    pub fn parse(email: &str, password: &str, name: Option<&str>, client: ClientKind) -> Result<Self> {
        Ok(Self {
            email: Email::parse(email)?,
            password: Password::new_for_account(password)?,
            name: name.map(DisplayName::parse).transpose()?,
            client,
        })
    }
}

fn invalid_credentials() -> Error {
    Error::new(Code::InvalidCredentials, "Invalid email or password")
}

impl Service {
    /// Creates the account, its personal workspace (owner) and a first token pair.
    pub async fn register(&self, input: Registration) -> Result<SignIn> {
        let Registration { email, password, name, client } = input;
        let name = match name {
            Some(name) => name,
            None => DisplayName::parse(&email.default_name())?,
        };
        let email_taken = || Error::new(Code::EmailTaken, "An account with this email already exists");
        if self.ports.users.find_by_email(&email.normalised()).await?.is_some() {
            return Err(email_taken());
        }
        let password_hash = self.ports.hasher.hash(password.expose()).await?;
        let now = self.now();
        let user = User { id: UserId::from_uuid(self.ports.random.uuid()), email, name, created_at: now };
        let workspace = Workspace {
            id: WorkspaceId::from_uuid(self.ports.random.uuid()),
            name: format!("{}'s Workspace", user.name.as_str()),
            owner_user_id: user.id.clone(),
            plan: Plan::Free,
            created_at: now,
            version: 1,
        };
        let membership = Membership {
            workspace_id: workspace.id.clone(),
            user_id: user.id.clone(),
            role: Role::Owner,
            created_at: now,
            version: 1,
        };
        let mut batch = Batch::new();
        batch
            .push(Write::CreateUser { user: user.clone(), password_hash })
            .push(Write::CreateWorkspace(workspace.clone()))
            .push(Write::CreateMembership(membership))
            .push(self.audit(
                "user.registered",
                Some(&user.id),
                Some(&workspace.id),
                ("user", user.id.as_str()),
                json!({ "email": user.email.as_str() }),
            ));
        let view = WorkspaceView { limits: workspace.plan.limits(), workspace, role: Role::Owner, member_count: 1 };
        let sign_in = self.issue_pair(&mut batch, user, view, client, None);
        match self.commit(batch).await {
            Err(e) if e.kind() == ErrorKind::Conflict => Err(email_taken()),
            other => other.map(|()| sign_in),
        }
    }

    /// Checks the password and signs in to the requested workspace (default: the oldest one the
    /// user belongs to, which is their personal workspace).
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client: ClientKind,
        workspace: Option<WorkspaceId>,
    ) -> Result<SignIn> {
        let password = Password::presented(password)?;
        let found = match Email::parse(email) {
            Ok(email) => self.ports.users.find_by_email(&email.normalised()).await?,
            Err(_) => None,
        };
        let Some((user, hash)) = found else {
            self.burn_verify(password.expose()).await?;
            return Err(invalid_credentials());
        };
        if !self.ports.hasher.verify(password.expose(), &hash).await? {
            return Err(invalid_credentials());
        }
        let (workspace, role) = self.pick_workspace(&user.id, workspace).await?;
        let view = self.view(workspace, role).await?;
        let mut batch = Batch::new();
        batch.push(self.audit(
            "user.logged_in",
            Some(&user.id),
            Some(&view.workspace.id),
            ("workspace", view.workspace.id.as_str()),
            json!({ "kind": client.as_str() }),
        ));
        let sign_in = self.issue_pair(&mut batch, user, view, client, None);
        self.commit(batch).await?;
        Ok(sign_in)
    }

    /// Exchanges a refresh token for a new pair in the same family. A refresh token that was
    /// already exchanged is reuse: the whole family is revoked and the call is refused.
    pub async fn refresh(&self, refresh_secret: &str) -> Result<SignIn> {
        self.refresh_guarded(refresh_secret, |_| Ok(())).await
    }

    /// [`Service::refresh`], refused with `guard`'s error before anything is written when `guard`
    /// rejects the token's family (the edge checks a cookie refresh's CSRF token this way).
    pub async fn refresh_guarded(
        &self,
        refresh_secret: &str,
        guard: impl FnOnce(&FamilyId) -> Result<()>,
    ) -> Result<SignIn> {
        if !refresh_secret.starts_with(&format!("{}_", prefix::REFRESH)) {
            return Err(Error::new(Code::RefreshTokenRequired, "A refresh token is required"));
        }
        let credential = self.ports.tokens.find_credential(&SecretHash::of(refresh_secret)).await?;
        let credential = credential.ok_or_else(Error::invalid_token)?;
        let token = credential.token;
        guard(&token.family_id)?;
        let now = self.now();
        if token.kind != TokenKind::Refresh || token.revoked_at.is_some() {
            return Err(Error::invalid_token());
        }
        if token.used_at.is_some() {
            return Err(self.revoke_reused_family(&token.family_id, &token.user_id, &token.workspace_id).await);
        }
        if !token.is_live(now) {
            return Err(Error::invalid_token());
        }
        let membership = credential.membership.ok_or_else(Error::invalid_token)?;
        let workspace = self.workspace(&token.workspace_id).await.map_err(|_| Error::invalid_token())?;
        let view = self.view(workspace, membership.role).await?;
        let mut batch = Batch::new();
        batch.push(Write::UpdateToken { token: token.used(now), expected_version: token.version }).push(self.audit(
            "auth.refreshed",
            Some(&token.user_id),
            Some(&token.workspace_id),
            ("auth_token", token.id.as_str()),
            json!({ "grantKind": token.client.as_str() }),
        ));
        let sign_in = self.issue_pair(&mut batch, credential.user, view, token.client, Some(token.family_id.clone()));
        match self.commit(batch).await {
            Err(e) if e.kind() == ErrorKind::Conflict => {
                Err(self.revoke_reused_family(&token.family_id, &token.user_id, &token.workspace_id).await)
            }
            other => other.map(|()| sign_in),
        }
    }

    /// Revokes the caller's access token and its whole family (all refresh tokens of that sign-in).
    pub async fn logout(&self, actor: &Actor) -> Result<()> {
        let now = self.now();
        let mut batch = Batch::new();
        batch.push(Write::RevokeFamily { family_id: actor.family_id.clone(), at: now }).push(self.audit(
            "auth.logged_out",
            Some(&actor.user.id),
            Some(&actor.workspace_id),
            ("auth_token", actor.token_id.as_str()),
            json!({ "family": actor.family_id.as_str() }),
        ));
        self.commit(batch).await
    }

    /// Signs the caller in to another workspace they belong to, as a new token family; the
    /// presented token keeps working for its own workspace.
    pub async fn switch_workspace(&self, actor: &Actor, target: &WorkspaceId) -> Result<SignIn> {
        let workspace = self.workspace(target).await?;
        let membership = self
            .ports
            .memberships
            .get(target, &actor.user.id)
            .await?
            .ok_or_else(|| Error::new(Code::NotAMember, "You are not a member of this workspace"))?;
        let view = self.view(workspace, membership.role).await?;
        let mut batch = Batch::new();
        batch.push(self.audit(
            "workspace.switched",
            Some(&actor.user.id),
            Some(target),
            ("workspace", target.as_str()),
            json!({ "from": actor.workspace_id.as_str() }),
        ));
        let sign_in = self.issue_pair(&mut batch, actor.user.clone(), view, actor.client, None);
        self.commit(batch).await?;
        Ok(sign_in)
    }

    /// Adds a new access + refresh pair (a new family unless one is given) to the batch.
    pub(crate) fn issue_pair(
        &self,
        batch: &mut Batch,
        user: User,
        workspace: WorkspaceView,
        client: ClientKind,
        family: Option<FamilyId>,
    ) -> SignIn {
        let family = family.unwrap_or_else(|| FamilyId::from_uuid(self.ports.random.uuid()));
        let ws = &workspace.workspace.id;
        let (access, access_token) = self.mint_token(TokenKind::Access, client, &family, &user.id, ws);
        let (refresh, refresh_token) = self.mint_token(TokenKind::Refresh, client, &family, &user.id, ws);
        let sign_in = SignIn {
            user,
            workspace,
            client,
            access,
            access_expires_at: access_token.expires_at,
            refresh,
            refresh_expires_at: refresh_token.expires_at,
            family_id: family,
        };
        batch.push(Write::CreateToken(access_token)).push(Write::CreateToken(refresh_token));
        sign_in
    }

    async fn pick_workspace(&self, user: &UserId, wanted: Option<WorkspaceId>) -> Result<(Workspace, Role)> {
        let all = self.ports.workspaces.list_for_user(user).await?;
        let found = match &wanted {
            Some(id) => all.into_iter().find(|(w, _)| &w.id == id),
            None => all.into_iter().next(),
        };
        found.ok_or_else(|| Error::new(Code::NotAMember, "You are not a member of this workspace"))
    }

    async fn revoke_reused_family(&self, family: &FamilyId, user: &UserId, workspace: &WorkspaceId) -> Error {
        let mut batch = Batch::new();
        batch.push(Write::RevokeFamily { family_id: family.clone(), at: self.now() }).push(self.audit(
            "auth.refresh_reused",
            Some(user),
            Some(workspace),
            ("token_family", family.as_str()),
            json!({}),
        ));
        if let Err(e) = self.commit(batch).await {
            return e;
        }
        Error::new(Code::RefreshTokenReused, "Refresh token was already used; that sign-in has been revoked")
    }

    /// Spends the time of one verification so unknown emails answer like wrong passwords.
    async fn burn_verify(&self, password: &str) -> Result<()> {
        let hash = match self.dummy_hash.get() {
            Some(hash) => hash.clone(),
            None => {
                let hash = self.ports.hasher.hash("burstflare-timing-equaliser").await?;
                self.dummy_hash.get_or_init(|| hash).clone()
            }
        };
        self.ports.hasher.verify(password, &hash).await.map_err(Error::from).map(|_| ())
    }
}
