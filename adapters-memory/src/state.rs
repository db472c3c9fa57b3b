//! The tables behind [`crate::MemoryStore`]: one insertion-ordered table per entity plus the
//! secondary indexes that enforce uniqueness and serve lookups. Insertion order is the tie-break
//! wherever the port contract orders by a timestamp, the way SQLite falls back to `rowid`.

use crate::jobs::JobTable;
use crate::sessions::SessionTables;
use crate::templates::TemplateTables;
use burstflare_core::ids::{AuditId, DeviceId, FamilyId, InviteId, TokenId, UserId, WorkspaceId};
use burstflare_core::model::{AuditEntry, DeviceAuthorization, Invite, Membership, Token, User, Workspace};
use burstflare_core::ports::{Purged, WindowCount};
use burstflare_core::secret::SecretHash;
use burstflare_core::time::Timestamp;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// Rows in insertion order with an index by primary key. Rows are only removed by rebuilding a
/// whole table ([`Table::drain`]), which only tables without position indexes do.
#[derive(Debug)]
pub(crate) struct Table<K, V> {
    rows: Vec<V>,
    index: HashMap<K, usize>,
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Self { rows: Vec::new(), index: HashMap::new() }
    }
}

impl<K: Eq + Hash, V> Table<K, V> {
    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.index.get(key).map(|&at| &self.rows[at])
    }
    pub(crate) fn contains(&self, key: &K) -> bool {
        self.index.contains_key(key)
    }
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }
    /// Replaces the row with this key, or appends it; returns its position.
    pub(crate) fn upsert(&mut self, key: K, row: V) -> usize {
        match self.index.get(&key) {
            Some(&at) => {
                self.rows[at] = row;
                at
            }
            None => {
                self.rows.push(row);
                self.index.insert(key, self.rows.len() - 1);
                self.rows.len() - 1
            }
        }
    }
    pub(crate) fn at(&self, position: usize) -> &V {
        &self.rows[position]
    }
    /// Every row, in insertion order.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, V> {
        self.rows.iter()
    }
    /// Takes every row out, in insertion order (used to rebuild a table without some rows).
    pub(crate) fn drain(&mut self) -> Vec<V> {
        self.index.clear();
        std::mem::take(&mut self.rows)
    }
}

/// An account and its password hash.
#[derive(Debug, Clone)]
pub(crate) struct StoredUser {
    pub user: User,
    pub password_hash: String,
}

pub(crate) type MembershipKey = (WorkspaceId, UserId);

/// Everything the memory store holds, guarded by one mutex.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub users: Table<UserId, StoredUser>,
    /// Normalised email → user.
    pub emails: HashMap<String, UserId>,
    pub workspaces: Table<WorkspaceId, Workspace>,
    pub memberships: Table<MembershipKey, Membership>,
    /// Membership positions per workspace and per user, in insertion order.
    pub members_of: HashMap<WorkspaceId, Vec<usize>>,
    pub memberships_of: HashMap<UserId, Vec<usize>>,
    pub invites: Table<InviteId, Invite>,
    pub invite_codes: HashMap<SecretHash, InviteId>,
    pub invites_of: HashMap<WorkspaceId, Vec<usize>>,
    pub tokens: Table<TokenId, Token>,
    pub token_hashes: HashMap<SecretHash, TokenId>,
    pub families: HashMap<FamilyId, Vec<TokenId>>,
    pub devices: Table<DeviceId, DeviceAuthorization>,
    pub device_codes: HashMap<SecretHash, DeviceId>,
    pub user_codes: HashMap<SecretHash, DeviceId>,
    pub audit: Table<AuditId, AuditEntry>,
    pub audit_of: HashMap<WorkspaceId, Vec<usize>>,
    /// Fixed-window rate-limit counters by key.
    pub windows: HashMap<String, WindowCount>,
    /// Templates with their versions, builds, releases and grants, and usage events.
    pub templates: TemplateTables,
    /// Sessions and their events.
    pub sessions: SessionTables,
    /// The local job queue.
    pub jobs: JobTable,
}

impl State {
    pub(crate) fn put_user(&mut self, stored: StoredUser) {
        let id = stored.user.id.clone();
        if !self.users.contains(&id) {
            self.emails.insert(stored.user.email.normalised(), id.clone());
        }
        self.users.upsert(id, stored);
    }

    pub(crate) fn put_workspace(&mut self, workspace: Workspace) {
        self.workspaces.upsert(workspace.id.clone(), workspace);
    }

    pub(crate) fn put_membership(&mut self, membership: Membership) {
        let key = (membership.workspace_id.clone(), membership.user_id.clone());
        let is_new = !self.memberships.contains(&key);
        let at = self.memberships.upsert(key.clone(), membership);
        if is_new {
            self.members_of.entry(key.0).or_default().push(at);
            self.memberships_of.entry(key.1).or_default().push(at);
        }
    }

    /// Removes these memberships, rebuilding the table and its position indexes in insertion
    /// order (the way SQLite's `rowid` order survives a DELETE).
    pub(crate) fn remove_memberships(&mut self, gone: &HashSet<MembershipKey>) {
        if gone.is_empty() {
            return;
        }
        let rows = self.memberships.drain();
        self.members_of.clear();
        self.memberships_of.clear();
        for membership in rows {
            if !gone.contains(&(membership.workspace_id.clone(), membership.user_id.clone())) {
                self.put_membership(membership);
            }
        }
    }

    pub(crate) fn put_invite(&mut self, invite: Invite) {
        let is_new = !self.invites.contains(&invite.id);
        let (id, code, workspace) = (invite.id.clone(), invite.code_hash.clone(), invite.workspace_id.clone());
        let at = self.invites.upsert(id.clone(), invite);
        if is_new {
            self.invite_codes.insert(code, id);
            self.invites_of.entry(workspace).or_default().push(at);
        }
    }

    pub(crate) fn put_token(&mut self, token: Token) {
        if !self.tokens.contains(&token.id) {
            self.token_hashes.insert(token.hash.clone(), token.id.clone());
            self.families.entry(token.family_id.clone()).or_default().push(token.id.clone());
        }
        self.tokens.upsert(token.id.clone(), token);
    }

    pub(crate) fn put_device(&mut self, device: DeviceAuthorization) {
        if !self.devices.contains(&device.id) {
            self.device_codes.insert(device.device_code_hash.clone(), device.id.clone());
            self.user_codes.insert(device.user_code_hash.clone(), device.id.clone());
        }
        self.devices.upsert(device.id.clone(), device);
    }

    /// Drops tokens and device codes that expired at or before `now`, and ended rate-limit
    /// windows; returns how many of each. Tables without position indexes are rebuilt.
    pub(crate) fn purge_expired(&mut self, now: Timestamp) -> Purged {
        let tokens = self.tokens.drain();
        let before = tokens.len();
        self.token_hashes.clear();
        self.families.clear();
        tokens.into_iter().filter(|t| t.expires_at.is_after(now)).for_each(|t| self.put_token(t));
        let devices = self.devices.drain();
        let devices_before = devices.len();
        self.device_codes.clear();
        self.user_codes.clear();
        devices.into_iter().filter(|d| d.expires_at.is_after(now)).for_each(|d| self.put_device(d));
        let windows_before = self.windows.len();
        self.windows.retain(|_, w| w.reset_at.is_after(now));
        Purged {
            tokens: count(before, self.tokens.len()),
            device_codes: count(devices_before, self.devices.len()),
            rate_windows: count(windows_before, self.windows.len()),
        }
    }

    /// Drops the runtime tokens whose session is gone (the SQL schema's ON DELETE CASCADE).
    pub(crate) fn drop_tokens_of_gone_sessions(&mut self) {
        let gone = |t: &Token| t.session_id.as_ref().is_some_and(|s| !self.sessions.sessions.contains(s));
        if !self.tokens.iter().any(gone) {
            return;
        }
        let tokens = self.tokens.drain();
        self.token_hashes.clear();
        self.families.clear();
        let sessions = &self.sessions.sessions;
        let kept: Vec<Token> =
            tokens.into_iter().filter(|t| t.session_id.as_ref().is_none_or(|s| sessions.contains(s))).collect();
        kept.into_iter().for_each(|t| self.put_token(t));
    }

    /// Drops the upload grants whose snapshot is gone (the SQL schema's ON DELETE CASCADE).
    pub(crate) fn drop_grants_of_gone_snapshots(&mut self) {
        let snapshots = &self.sessions.snapshots;
        let gone =
            |g: &burstflare_core::model::UploadGrant| g.target.snapshot_id().is_some_and(|s| !snapshots.contains(s));
        if !self.templates.grants.iter().any(gone) {
            return;
        }
        let grants = self.templates.grants.drain();
        self.templates.grant_hashes.clear();
        let kept: Vec<_> = grants.into_iter().filter(|g| !gone(g)).collect();
        kept.into_iter().for_each(|g| self.templates.put_grant(g));
    }

    pub(crate) fn put_audit(&mut self, entry: AuditEntry) {
        let is_new = !self.audit.contains(&entry.id);
        let workspace = entry.workspace_id.clone();
        let at = self.audit.upsert(entry.id.clone(), entry);
        if let (true, Some(workspace)) = (is_new, workspace) {
            self.audit_of.entry(workspace).or_default().push(at);
        }
    }
}

fn count(before: usize, after: usize) -> u64 {
    u64::try_from(before.saturating_sub(after)).unwrap_or(u64::MAX)
}
