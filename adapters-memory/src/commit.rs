//! Commits a [`Batch`] all or nothing. Every write is checked, in order, against the stored rows
//! as the earlier writes of the same batch left them (a staged copy of only the rows the batch
//! touches); the first failed guard or uniqueness rule refuses the batch with
//! `PortError::Conflict` before anything is applied. Only a fully checked batch is applied, with
//! no further check that could fail halfway. References are checked like SQL foreign keys: the
//! user or workspace a row names must exist, or be created earlier in the same batch. Template
//! writes are checked in [`templates`], session writes in [`sessions`], snapshot writes in
//! [`snapshots`]; the membership and token reads the checks share are in [`identity`].

mod identity;
mod sessions;
mod snapshots;
mod templates;

use crate::state::{MembershipKey, State, StoredUser, Table};
use burstflare_core::error::PortError;
use burstflare_core::ids::{AuditId, DeviceId, InviteId, TokenId, UserId, WorkspaceId};
use burstflare_core::model::{AuditEntry, DeviceAuthorization, Invite, Membership, Token, Workspace};
use burstflare_core::ports::{PortResult, QueuedJob};
use burstflare_core::secret::SecretHash;
use burstflare_core::store::{Batch, Counted, Write};

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// Checks the whole batch, then applies it; on `Err` the state is untouched.
pub(crate) fn commit(state: &mut State, batch: Batch) -> PortResult<()> {
    let mut staged = Staged::default();
    for write in batch.writes {
        staged.check(state, write)?;
    }
    staged.apply(state);
    Ok(())
}

/// A unique value a batch claims: it must be free in the store and not claimed twice by the batch.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Claim {
    UserId(UserId),
    Email(String),
    WorkspaceId(WorkspaceId),
    Membership(MembershipKey),
    InviteId(InviteId),
    InviteCode(SecretHash),
    TokenId(TokenId),
    TokenHash(SecretHash),
    DeviceId(DeviceId),
    DeviceCode(SecretHash),
    UserCode(SecretHash),
    AuditId(AuditId),
}

/// Rows a batch created or changed, keyed like their table, in first-touch order.
struct Stage<K, V> {
    rows: HashMap<K, V>,
    order: Vec<K>,
}

impl<K, V> Default for Stage<K, V> {
    fn default() -> Self {
        Self { rows: HashMap::new(), order: Vec::new() }
    }
}

impl<K: Clone + Eq + Hash, V: Clone> Stage<K, V> {
    /// The row as the batch so far left it.
    fn read(&self, table: &Table<K, V>, key: &K) -> Option<V> {
        self.rows.get(key).or_else(|| table.get(key)).cloned()
    }
    fn put(&mut self, key: K, row: V) {
        if self.rows.insert(key.clone(), row).is_none() {
            self.order.push(key);
        }
    }
    fn into_rows(self) -> impl Iterator<Item = V> {
        let mut rows = self.rows;
        self.order.into_iter().filter_map(move |key| rows.remove(&key))
    }
}

#[derive(Default)]
struct Staged {
    claims: HashSet<Claim>,
    users: Vec<StoredUser>,
    workspaces: Stage<WorkspaceId, Workspace>,
    memberships: Stage<MembershipKey, Membership>,
    /// Memberships the batch removes (applied after the staged rows).
    removed_memberships: HashSet<MembershipKey>,
    invites: Stage<InviteId, Invite>,
    tokens: Stage<TokenId, Token>,
    devices: Stage<DeviceId, DeviceAuthorization>,
    audit: Vec<AuditEntry>,
    jobs: Vec<QueuedJob>,
    templates: templates::TemplateStage,
    sessions: sessions::SessionStage,
}

/// Refuses a guarded write whose row is missing or carries another version.
fn guard(current: Option<i64>, expected: i64, what: &str) -> PortResult<()> {
    match current {
        None => Err(PortError::Conflict(format!("{what} not found"))),
        Some(version) if version != expected => {
            Err(PortError::Conflict(format!("{what} changed (version {version}, expected {expected})")))
        }
        Some(_) => Ok(()),
    }
}

impl Staged {
    fn claim(&mut self, claim: Claim, stored: bool, what: &str) -> PortResult<()> {
        if stored || !self.claims.insert(claim) {
            return Err(PortError::Conflict(format!("{what} already exists")));
        }
        Ok(())
    }

    /// Refuses a row that names a user or workspace that does not exist (yet).
    fn refer(&self, state: &State, user: Option<&UserId>, workspace: Option<&WorkspaceId>) -> PortResult<()> {
        if let Some(id) = user {
            if !state.users.contains(id) && !self.claims.contains(&Claim::UserId(id.clone())) {
                return Err(PortError::Conflict(format!("unknown user {id}")));
            }
        }
        if let Some(id) = workspace {
            if !state.workspaces.contains(id) && !self.claims.contains(&Claim::WorkspaceId(id.clone())) {
                return Err(PortError::Conflict(format!("unknown workspace {id}")));
            }
        }
        Ok(())
    }

    /// Checks one write against the store as the batch so far left it, and stages its effect.
    fn check(&mut self, state: &State, write: Write) -> PortResult<()> {
        match write {
            Write::CreateUser { user, password_hash } => {
                self.claim(Claim::UserId(user.id.clone()), state.users.contains(&user.id), "user")?;
                let email = user.email.normalised();
                self.claim(Claim::Email(email.clone()), state.emails.contains_key(&email), "email")?;
                self.users.push(StoredUser { user, password_hash });
            }
            Write::CreateWorkspace(workspace) => {
                self.refer(state, Some(&workspace.owner_user_id), None)?;
                let id = workspace.id.clone();
                self.claim(Claim::WorkspaceId(id.clone()), state.workspaces.contains(&id), "workspace")?;
                self.workspaces.put(id, workspace);
            }
            Write::CreateMembership(membership) => {
                self.refer(state, Some(&membership.user_id), Some(&membership.workspace_id))?;
                let key = (membership.workspace_id.clone(), membership.user_id.clone());
                let stored = state.memberships.contains(&key) && !self.removed_memberships.contains(&key);
                self.claim(Claim::Membership(key.clone()), stored, "membership")?;
                self.removed_memberships.remove(&key);
                self.memberships.put(key, membership);
            }
            Write::UpdateMembership { membership, expected_version } => {
                let key = (membership.workspace_id.clone(), membership.user_id.clone());
                let row = self.membership(state, &key);
                guard(row.as_ref().map(|m| m.version), expected_version, "membership")?;
                if let Some(mut row) = row {
                    row.role = membership.role;
                    row.version = membership.version;
                    self.memberships.put(key, row);
                }
            }
            Write::DeleteMembership { workspace_id, user_id, expected_version } => {
                let key = (workspace_id, user_id);
                guard(self.membership(state, &key).map(|m| m.version), expected_version, "membership")?;
                self.claims.remove(&Claim::Membership(key.clone()));
                self.removed_memberships.insert(key);
            }
            Write::RevokeMemberTokens { workspace_id, user_id, at } => {
                for token_id in self.member_tokens(state, &workspace_id, &user_id) {
                    self.revoke(state, token_id, at);
                }
            }
            Write::UpdateWorkspace { workspace, expected_version } => {
                let row = self.workspaces.read(&state.workspaces, &workspace.id);
                guard(row.as_ref().map(|w| w.version), expected_version, "workspace")?;
                if let Some(mut row) = row {
                    row.plan = workspace.plan;
                    row.version = workspace.version;
                    self.workspaces.put(workspace.id, row);
                }
            }
            Write::CreateInvite(invite) => {
                self.refer(state, Some(&invite.created_by_user_id), Some(&invite.workspace_id))?;
                self.refer(state, invite.accepted_by_user_id.as_ref(), None)?;
                let id = invite.id.clone();
                self.claim(Claim::InviteId(id.clone()), state.invites.contains(&id), "invite")?;
                let code = invite.code_hash.clone();
                let stored = state.invite_codes.contains_key(&code);
                self.claim(Claim::InviteCode(code), stored, "invite code")?;
                self.invites.put(id, invite);
            }
            Write::UpdateInvite { invite, expected_version } => {
                let row = self.invites.read(&state.invites, &invite.id);
                guard(row.as_ref().map(|i| i.version), expected_version, "invite")?;
                self.refer(state, invite.accepted_by_user_id.as_ref(), None)?;
                if let Some(mut row) = row {
                    row.status = invite.status;
                    row.accepted_at = invite.accepted_at;
                    row.accepted_by_user_id = invite.accepted_by_user_id;
                    row.version = invite.version;
                    self.invites.put(invite.id, row);
                }
            }
            Write::CreateToken(token) => {
                self.refer(state, Some(&token.user_id), Some(&token.workspace_id))?;
                if let Some(session) = &token.session_id {
                    let deleted = self.templates.deleted().clone();
                    if self.sessions.session(&state.sessions, &deleted, session).is_none() {
                        return Err(PortError::Conflict(format!("unknown session {session}")));
                    }
                }
                let id = token.id.clone();
                self.claim(Claim::TokenId(id.clone()), state.tokens.contains(&id), "token")?;
                let hash = token.hash.clone();
                let stored = state.token_hashes.contains_key(&hash);
                self.claim(Claim::TokenHash(hash), stored, "token hash")?;
                self.tokens.put(id, token);
            }
            Write::UpdateToken { token, expected_version } => {
                let row = self.tokens.read(&state.tokens, &token.id);
                guard(row.as_ref().map(|t| t.version), expected_version, "token")?;
                if let Some(mut row) = row {
                    row.used_at = token.used_at;
                    row.version = token.version;
                    self.tokens.put(token.id, row);
                }
            }
            Write::RevokeToken { token_id, at } => self.revoke(state, token_id, at),
            Write::RevokeFamily { family_id, at } => {
                for token_id in self.family(state, &family_id) {
                    self.revoke(state, token_id, at);
                }
            }
            Write::CreateDevice(device) => {
                self.refer(state, device.user_id.as_ref(), device.workspace_id.as_ref())?;
                let id = device.id.clone();
                self.claim(Claim::DeviceId(id.clone()), state.devices.contains(&id), "device authorization")?;
                let code = device.device_code_hash.clone();
                let stored = state.device_codes.contains_key(&code);
                self.claim(Claim::DeviceCode(code), stored, "device code")?;
                let code = device.user_code_hash.clone();
                let stored = state.user_codes.contains_key(&code);
                self.claim(Claim::UserCode(code), stored, "user code")?;
                self.devices.put(id, device);
            }
            Write::UpdateDevice { device, expected_version } => {
                let row = self.devices.read(&state.devices, &device.id);
                guard(row.as_ref().map(|d| d.version), expected_version, "device authorization")?;
                self.refer(state, device.user_id.as_ref(), device.workspace_id.as_ref())?;
                if let Some(mut row) = row {
                    row.status = device.status;
                    row.user_id = device.user_id;
                    row.workspace_id = device.workspace_id;
                    row.decided_at = device.decided_at;
                    row.version = device.version;
                    self.devices.put(device.id, row);
                }
            }
            Write::Enqueue(job) => self.jobs.push(job),
            Write::Audit(entry) => {
                let id = entry.id.clone();
                self.claim(Claim::AuditId(id), state.audit.contains(&entry.id), "audit entry")?;
                self.audit.push(entry);
            }
            write @ (Write::CreateSnapshot(_)
            | Write::UpdateSnapshot { .. }
            | Write::DeleteSnapshot { .. }
            | Write::MarkLatestSnapshot { .. }
            | Write::ReplaceLatestSnapshot { .. }
            | Write::AtMost { counted: Counted::SnapshotBytes(_), .. }) => self.check_snapshot(state, write)?,
            Write::CreateGrant(grant) if grant.target.snapshot_id().is_some() => {
                self.refer(state, grant.created_by_user_id.as_ref(), Some(&grant.workspace_id))?;
                let (session, snapshot) = match &grant.target {
                    burstflare_core::model::GrantTarget::Snapshot { session_id, snapshot_id } => {
                        (session_id, snapshot_id)
                    }
                    burstflare_core::model::GrantTarget::Bundle { .. } => unreachable!("a snapshot grant"),
                };
                let deleted = self.templates.deleted().clone();
                let found = self.sessions.snapshot(&state.sessions, &deleted, snapshot);
                if found.is_none_or(|s| &s.session_id != session) {
                    return Err(PortError::Conflict("unknown snapshot".to_string()));
                }
                self.templates.stage_grant(&state.templates, grant)?;
            }
            write @ (Write::CreateSession(_)
            | Write::UpdateSession { .. }
            | Write::AppendSessionEvent(_)
            | Write::TouchSession { .. }
            | Write::PurgeSession { .. }
            | Write::AtMost { counted: Counted::ActiveSessions(_), .. }) => self.check_session(state, write)?,
            write @ (Write::CreateTemplate(_)
            | Write::UpdateTemplate { .. }
            | Write::DeleteTemplate { .. }
            | Write::CreateVersion(_)
            | Write::UpdateVersion { .. }
            | Write::CreateBuild(_)
            | Write::UpdateBuild { .. }
            | Write::CreateRelease(_)
            | Write::CreateGrant(_)
            | Write::UpdateGrant { .. }
            | Write::Usage(_)
            | Write::AtMost { .. }) => self.check_template(state, write)?,
        }
        Ok(())
    }

    /// Writes every staged row into the store; cannot fail.
    fn apply(self, state: &mut State) {
        for user in self.users {
            state.put_user(user);
        }
        for workspace in self.workspaces.into_rows() {
            state.put_workspace(workspace);
        }
        for membership in self.memberships.into_rows() {
            state.put_membership(membership);
        }
        state.remove_memberships(&self.removed_memberships);
        for invite in self.invites.into_rows() {
            state.put_invite(invite);
        }
        for token in self.tokens.into_rows() {
            state.put_token(token);
        }
        for device in self.devices.into_rows() {
            state.put_device(device);
        }
        for entry in self.audit {
            state.put_audit(entry);
        }
        for job in self.jobs {
            state.jobs.push(job);
        }
        let deleted = self.templates.deleted().clone();
        self.templates.apply(&mut state.templates);
        if self.sessions.apply(&mut state.sessions, &deleted) {
            state.drop_tokens_of_gone_sessions();
            state.drop_grants_of_gone_snapshots();
        }
    }
}
