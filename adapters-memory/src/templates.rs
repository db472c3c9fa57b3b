//! Templates and what hangs off them in memory: the tables inside [`State`] (templates, versions,
//! builds, releases, upload grants, usage events) with the indexes that enforce their uniqueness,
//! the cascade that removes a template with its dependants, and the read ports over them. Lists
//! filter in insertion order and sort stably by time, so ties fall back to insertion order the way
//! SQLite falls back to `rowid`.

use crate::state::{State, Table};
use crate::MemoryStore;
use async_trait::async_trait;
use burstflare_core::ids::{BuildId, GrantId, ReleaseId, TemplateId, UsageId, VersionId, WorkspaceId};
use burstflare_core::model::{Build, BuildStatus, Release, Template, TemplateVersion, UploadGrant, UsageEvent};
use burstflare_core::ports::{BuildRepo, PortResult, TemplateRepo, UploadGrantRepo, UsageRepo};
use burstflare_core::secret::SecretHash;
use burstflare_core::time::Timestamp;
use std::cmp::Reverse;
use std::collections::HashMap;
use std::hash::Hash;

/// The template tables. No position indexes: removing a template rebuilds the tables it touches.
#[derive(Debug, Default)]
pub(crate) struct TemplateTables {
    pub templates: Table<TemplateId, Template>,
    /// (workspace, lower-cased name) → template.
    pub names: HashMap<(WorkspaceId, String), TemplateId>,
    pub versions: Table<VersionId, TemplateVersion>,
    /// (template, label) → version.
    pub labels: HashMap<(TemplateId, String), VersionId>,
    pub builds: Table<BuildId, Build>,
    /// Version → its one build.
    pub build_of: HashMap<VersionId, BuildId>,
    pub releases: Table<ReleaseId, Release>,
    pub grants: Table<GrantId, UploadGrant>,
    pub grant_hashes: HashMap<SecretHash, GrantId>,
    /// Kept when templates go, like the audit log.
    pub usage: Table<UsageId, UsageEvent>,
}

/// A template's name as its uniqueness key.
pub(crate) fn name_key(template: &Template) -> (WorkspaceId, String) {
    (template.workspace_id.clone(), template.name.normalised())
}

impl TemplateTables {
    pub(crate) fn put_template(&mut self, template: Template) {
        self.names.insert(name_key(&template), template.id.clone());
        self.templates.upsert(template.id.clone(), template);
    }

    pub(crate) fn put_version(&mut self, version: TemplateVersion) {
        self.labels.insert((version.template_id.clone(), version.label.clone()), version.id.clone());
        self.versions.upsert(version.id.clone(), version);
    }

    pub(crate) fn put_build(&mut self, build: Build) {
        self.build_of.insert(build.version_id.clone(), build.id.clone());
        self.builds.upsert(build.id.clone(), build);
    }

    pub(crate) fn put_release(&mut self, release: Release) {
        self.releases.upsert(release.id.clone(), release);
    }

    pub(crate) fn put_grant(&mut self, grant: UploadGrant) {
        self.grant_hashes.insert(grant.secret_hash.clone(), grant.id.clone());
        self.grants.upsert(grant.id.clone(), grant);
    }

    pub(crate) fn put_usage(&mut self, event: UsageEvent) {
        self.usage.upsert(event.id.clone(), event);
    }

    /// Removes the template with its versions, builds, releases and grants (the SQL cascade),
    /// keeping every other row in its place.
    pub(crate) fn remove_template(&mut self, id: &TemplateId) {
        let templates = self.templates.drain();
        self.names.clear();
        templates.into_iter().filter(|t| &t.id != id).for_each(|t| self.put_template(t));
        let versions = self.versions.drain();
        self.labels.clear();
        versions.into_iter().filter(|v| &v.template_id != id).for_each(|v| self.put_version(v));
        let builds = self.builds.drain();
        self.build_of.clear();
        builds.into_iter().filter(|b| &b.template_id != id).for_each(|b| self.put_build(b));
        let releases = self.releases.drain();
        releases.into_iter().filter(|r| &r.template_id != id).for_each(|r| self.put_release(r));
        let grants = self.grants.drain();
        self.grant_hashes.clear();
        grants.into_iter().filter(|g| g.target.template_id() != Some(id)).for_each(|g| self.put_grant(g));
    }
}

/// The rows of `table` that `keep` selects, cloned, oldest first by `time`.
fn oldest_first<K: Eq + Hash, V: Clone, T: Ord>(
    table: &Table<K, V>,
    keep: impl Fn(&V) -> bool,
    time: impl Fn(&V) -> T,
) -> Vec<V> {
    let mut rows: Vec<V> = table.iter().filter(|row| keep(row)).cloned().collect();
    rows.sort_by_key(time);
    rows
}

#[async_trait]
impl TemplateRepo for MemoryStore {
    async fn get(&self, workspace: &WorkspaceId, id: &TemplateId) -> PortResult<Option<Template>> {
        self.read(|s| s.templates.templates.get(id).filter(|t| &t.workspace_id == workspace).cloned())
    }

    async fn list(&self, workspace: &WorkspaceId) -> PortResult<Vec<Template>> {
        self.read(|s| oldest_first(&s.templates.templates, |t| &t.workspace_id == workspace, |t| t.created_at))
    }

    async fn versions(&self, template: &TemplateId) -> PortResult<Vec<TemplateVersion>> {
        self.read(|s| oldest_first(&s.templates.versions, |v| &v.template_id == template, |v| v.created_at))
    }

    async fn get_version(&self, template: &TemplateId, id: &VersionId) -> PortResult<Option<TemplateVersion>> {
        self.read(|s| s.templates.versions.get(id).filter(|v| &v.template_id == template).cloned())
    }

    async fn releases(&self, workspace: &WorkspaceId, template: Option<&TemplateId>) -> PortResult<Vec<Release>> {
        self.read(|s| releases(s, workspace, template))
    }
}

/// Newest first, later insertions first among releases of the same instant.
fn releases(s: &State, workspace: &WorkspaceId, template: Option<&TemplateId>) -> Vec<Release> {
    let mut rows: Vec<Release> = s
        .templates
        .releases
        .iter()
        .rev()
        .filter(|r| &r.workspace_id == workspace && template.is_none_or(|t| &r.template_id == t))
        .cloned()
        .collect();
    rows.sort_by_key(|r| Reverse(r.created_at));
    rows
}

#[async_trait]
impl BuildRepo for MemoryStore {
    async fn get(&self, id: &BuildId) -> PortResult<Option<Build>> {
        self.read(|s| s.templates.builds.get(id).cloned())
    }

    async fn for_version(&self, version: &VersionId) -> PortResult<Option<Build>> {
        self.read(|s| s.templates.build_of.get(version).and_then(|id| s.templates.builds.get(id)).cloned())
    }

    async fn list(&self, workspace: &WorkspaceId) -> PortResult<Vec<Build>> {
        self.read(|s| oldest_first(&s.templates.builds, |b| &b.workspace_id == workspace, |b| b.created_at))
    }

    async fn stuck(&self, before: Timestamp) -> PortResult<Vec<Build>> {
        let stuck = |b: &Build| b.status == BuildStatus::Building && b.started_at.is_some_and(|at| at <= before);
        self.read(|s| oldest_first(&s.templates.builds, stuck, |b| b.started_at))
    }

    async fn waiting(&self, before: Timestamp) -> PortResult<Vec<Build>> {
        let waiting = |b: &Build| b.status.is_runnable() && b.updated_at <= before;
        self.read(|s| oldest_first(&s.templates.builds, waiting, |b| Some(b.updated_at)))
    }
}

#[async_trait]
impl UploadGrantRepo for MemoryStore {
    async fn find_by_secret(&self, hash: &SecretHash) -> PortResult<Option<UploadGrant>> {
        self.read(|s| s.templates.grant_hashes.get(hash).and_then(|id| s.templates.grants.get(id)).cloned())
    }
}

#[async_trait]
impl UsageRepo for MemoryStore {
    async fn totals(&self, workspace: &WorkspaceId, since: Timestamp) -> PortResult<Vec<(String, i64)>> {
        self.read(|s| {
            let mut totals = std::collections::BTreeMap::<String, i64>::new();
            for event in s.templates.usage.iter().filter(|e| &e.workspace_id == workspace && e.created_at >= since) {
                *totals.entry(event.kind.clone()).or_default() += event.value;
            }
            totals.into_iter().collect()
        })
    }
}
