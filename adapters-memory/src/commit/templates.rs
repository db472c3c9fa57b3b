//! The template writes of a batch: checked against the stored rows as the earlier writes of the
//! batch left them (an overlay of staged rows over the store, minus the templates the batch
//! deleted with everything hanging off them), with the same rules as the SQL schema: unique
//! names per workspace (any case), labels per template, one build per version, unique grant
//! hashes, references that must exist, and guards on every update and delete. Deleting a template
//! also removes its sessions ([`super::sessions`] reads [`TemplateStage::deleted`]).

use super::{guard, Stage, Staged};
use crate::state::{State, Table};
use crate::templates::{name_key, TemplateTables};
use burstflare_core::error::PortError;
use burstflare_core::ids::{BuildId, GrantId, ReleaseId, TemplateId, UsageId, VersionId, WorkspaceId};
use burstflare_core::model::{Build, GrantTarget, Release, Template, TemplateVersion, UploadGrant, UsageEvent};
use burstflare_core::ports::PortResult;
use burstflare_core::store::{Counted, Write};
use std::collections::HashSet;
use std::hash::Hash;

/// What a batch does to the template tables.
#[derive(Default)]
pub(super) struct TemplateStage {
    templates: Stage<TemplateId, Template>,
    versions: Stage<VersionId, TemplateVersion>,
    builds: Stage<BuildId, Build>,
    releases: Stage<ReleaseId, Release>,
    grants: Stage<GrantId, UploadGrant>,
    usage: Stage<UsageId, UsageEvent>,
    /// Templates the batch deletes: their stored rows and dependants no longer count.
    deleted: HashSet<TemplateId>,
}

impl<K: Clone + Eq + Hash, V: Clone> Stage<K, V> {
    /// Drops staged rows that `keep` refuses.
    pub(super) fn retain(&mut self, keep: impl Fn(&V) -> bool) {
        self.rows.retain(|_, row| keep(row));
        let rows = &self.rows;
        self.order.retain(|key| rows.contains_key(key));
    }
}

fn conflict(what: &str) -> PortError {
    PortError::Conflict(what.to_string())
}

impl TemplateStage {
    /// The row as the batch so far left it: staged, else stored unless its template was deleted.
    fn live<K: Clone + Eq + Hash, V: Clone>(
        &self,
        stage: &Stage<K, V>,
        table: &Table<K, V>,
        key: &K,
        template_of: impl Fn(&V) -> &TemplateId,
    ) -> Option<V> {
        match stage.rows.get(key) {
            Some(row) => Some(row.clone()),
            None => table.get(key).filter(|row| !self.deleted.contains(template_of(row))).cloned(),
        }
    }

    /// The templates the batch deleted so far (their sessions go with them).
    pub(super) fn deleted(&self) -> &HashSet<TemplateId> {
        &self.deleted
    }

    fn template(&self, t: &TemplateTables, id: &TemplateId) -> Option<Template> {
        self.live(&self.templates, &t.templates, id, |row| &row.id)
    }

    fn version(&self, t: &TemplateTables, id: &VersionId) -> Option<TemplateVersion> {
        self.live(&self.versions, &t.versions, id, |row| &row.template_id)
    }

    /// True when the stored row an index points at is still there (its template not deleted).
    fn stored_alive<K: Eq + Hash, V>(
        &self,
        table: &Table<K, V>,
        key: Option<&K>,
        template_of: impl Fn(&V) -> &TemplateId,
    ) -> bool {
        key.and_then(|key| table.get(key)).is_some_and(|row| !self.deleted.contains(template_of(row)))
    }

    fn check_create_template(&self, t: &TemplateTables, template: &Template) -> PortResult<()> {
        if self.template(t, &template.id).is_some() {
            return Err(conflict("template already exists"));
        }
        let key = name_key(template);
        let staged = self.templates.rows.values().any(|row| name_key(row) == key);
        if staged || self.stored_alive(&t.templates, t.names.get(&key), |row| &row.id) {
            return Err(conflict("template name already exists in the workspace"));
        }
        Ok(())
    }

    /// Templates of the workspace as the batch so far left them.
    fn count_templates(&self, t: &TemplateTables, workspace: &WorkspaceId) -> u64 {
        let staged = self.templates.rows.values().filter(|row| &row.workspace_id == workspace);
        let stored = t.templates.iter().filter(|row| {
            &row.workspace_id == workspace
                && !self.deleted.contains(&row.id)
                && !self.templates.rows.contains_key(&row.id)
        });
        (staged.count() + stored.count()) as u64
    }

    fn check_create_version(&self, t: &TemplateTables, version: &TemplateVersion) -> PortResult<()> {
        if self.template(t, &version.template_id).is_none() {
            return Err(conflict("unknown template"));
        }
        if self.version(t, &version.id).is_some() {
            return Err(conflict("template version already exists"));
        }
        let key = (version.template_id.clone(), version.label.clone());
        let staged = self.versions.rows.values().any(|v| v.template_id == key.0 && v.label == key.1);
        if staged || self.stored_alive(&t.versions, t.labels.get(&key), |row| &row.template_id) {
            return Err(conflict("template version label already exists"));
        }
        Ok(())
    }

    /// A build, release or grant names a template and a version that must exist.
    pub(super) fn check_parents(
        &self,
        t: &TemplateTables,
        template: &TemplateId,
        version: &VersionId,
    ) -> PortResult<()> {
        if self.template(t, template).is_none() {
            return Err(conflict("unknown template"));
        }
        if self.version(t, version).is_none() {
            return Err(conflict("unknown template version"));
        }
        Ok(())
    }

    fn check_create_build(&self, t: &TemplateTables, build: &Build) -> PortResult<()> {
        self.check_parents(t, &build.template_id, &build.version_id)?;
        if self.live(&self.builds, &t.builds, &build.id, |row| &row.template_id).is_some() {
            return Err(conflict("build already exists"));
        }
        let staged = self.builds.rows.values().any(|b| b.version_id == build.version_id);
        if staged || self.stored_alive(&t.builds, t.build_of.get(&build.version_id), |row| &row.template_id) {
            return Err(conflict("the version already has a build"));
        }
        Ok(())
    }

    fn check_create_grant(&self, t: &TemplateTables, grant: &UploadGrant) -> PortResult<()> {
        if let GrantTarget::Bundle { template_id, version_id } = &grant.target {
            self.check_parents(t, template_id, version_id)?;
        }
        if self.grant(t, &grant.id).is_some() {
            return Err(conflict("upload grant already exists"));
        }
        let staged = self.grants.rows.values().any(|g| g.secret_hash == grant.secret_hash);
        let stored = t.grant_hashes.get(&grant.secret_hash).and_then(|id| self.grant(t, id));
        if staged || stored.is_some() {
            return Err(conflict("upload grant secret already exists"));
        }
        Ok(())
    }

    /// The grant as the batch so far left it (gone with its template: `None`; snapshot grants
    /// that lost their snapshot are dropped when the batch is applied).
    fn grant(&self, t: &TemplateTables, id: &GrantId) -> Option<UploadGrant> {
        match self.grants.rows.get(id) {
            Some(row) => Some(row.clone()),
            None => t
                .grants
                .get(id)
                .filter(|g| g.target.template_id().is_none_or(|tpl| !self.deleted.contains(tpl)))
                .cloned(),
        }
    }

    /// Stages a new grant whose target the caller checked (a snapshot grant).
    pub(super) fn stage_grant(&mut self, t: &TemplateTables, grant: UploadGrant) -> PortResult<()> {
        self.check_create_grant(t, &grant)?;
        self.grants.put(grant.id.clone(), grant);
        Ok(())
    }

    /// Drops the template and its staged dependants, and hides its stored ones.
    fn delete(&mut self, id: &TemplateId) {
        self.templates.retain(|row| &row.id != id);
        self.versions.retain(|row| &row.template_id != id);
        self.builds.retain(|row| &row.template_id != id);
        self.releases.retain(|row| &row.template_id != id);
        self.grants.retain(|row| row.target.template_id() != Some(id));
        self.deleted.insert(id.clone());
    }

    /// Writes the batch's effect into the store: deletions first, then staged rows in order.
    pub(super) fn apply(self, t: &mut TemplateTables) {
        for id in &self.deleted {
            t.remove_template(id);
        }
        self.templates.into_rows().for_each(|row| t.put_template(row));
        self.versions.into_rows().for_each(|row| t.put_version(row));
        self.builds.into_rows().for_each(|row| t.put_build(row));
        self.releases.into_rows().for_each(|row| t.put_release(row));
        self.grants.into_rows().for_each(|row| t.put_grant(row));
        self.usage.into_rows().for_each(|row| t.put_usage(row));
    }
}

impl Staged {
    /// Checks one template write and stages its effect.
    pub(super) fn check_template(&mut self, state: &State, write: Write) -> PortResult<()> {
        let t = &state.templates;
        match write {
            Write::CreateTemplate(template) => {
                self.refer(state, Some(&template.created_by_user_id), Some(&template.workspace_id))?;
                self.refer(state, template.archived_by_user_id.as_ref(), None)?;
                self.templates.check_create_template(t, &template)?;
                self.templates.templates.put(template.id.clone(), template);
            }
            Write::UpdateTemplate { template, expected_version } => {
                let row = self.templates.template(t, &template.id);
                guard(row.as_ref().map(|r| r.version), expected_version, "template")?;
                self.refer(state, template.archived_by_user_id.as_ref(), None)?;
                if let Some(mut row) = row {
                    row.description = template.description;
                    row.active_version_id = template.active_version_id;
                    row.archived_at = template.archived_at;
                    row.archived_by_user_id = template.archived_by_user_id;
                    row.version = template.version;
                    self.templates.templates.put(template.id, row);
                }
            }
            Write::DeleteTemplate { template_id, expected_version } => {
                let row = self.templates.template(t, &template_id);
                guard(row.as_ref().map(|r| r.version), expected_version, "template")?;
                self.templates.delete(&template_id);
            }
            Write::CreateVersion(version) => {
                self.refer(state, Some(&version.created_by_user_id), Some(&version.workspace_id))?;
                self.templates.check_create_version(t, &version)?;
                self.templates.versions.put(version.id.clone(), version);
            }
            Write::UpdateVersion { version, expected_version } => {
                let row = self.templates.version(t, &version.id);
                guard(row.as_ref().map(|r| r.version), expected_version, "template version")?;
                if let Some(mut row) = row {
                    row.status = version.status;
                    row.bundle = version.bundle;
                    row.built_at = version.built_at;
                    row.version = version.version;
                    self.templates.versions.put(version.id, row);
                }
            }
            Write::CreateBuild(build) => {
                self.refer(state, None, Some(&build.workspace_id))?;
                self.templates.check_create_build(t, &build)?;
                self.templates.builds.put(build.id.clone(), build);
            }
            Write::UpdateBuild { build, expected_version } => {
                let row = self.templates.live(&self.templates.builds, &t.builds, &build.id, |b| &b.template_id);
                guard(row.as_ref().map(|r| r.version), expected_version, "build")?;
                if let Some(mut row) = row {
                    row.status = build.status;
                    row.attempts = build.attempts;
                    row.last_error = build.last_error;
                    row.artifact = build.artifact;
                    row.updated_at = build.updated_at;
                    row.started_at = build.started_at;
                    row.finished_at = build.finished_at;
                    row.dead_lettered_at = build.dead_lettered_at;
                    row.version = build.version;
                    self.templates.builds.put(build.id, row);
                }
            }
            Write::CreateRelease(release) => {
                self.refer(state, Some(&release.created_by_user_id), Some(&release.workspace_id))?;
                self.templates.check_parents(t, &release.template_id, &release.version_id)?;
                if self.templates.live(&self.templates.releases, &t.releases, &release.id, |r| &r.template_id).is_some()
                {
                    return Err(conflict("release already exists"));
                }
                self.templates.releases.put(release.id.clone(), release);
            }
            Write::CreateGrant(grant) => {
                self.refer(state, grant.created_by_user_id.as_ref(), Some(&grant.workspace_id))?;
                self.templates.check_create_grant(t, &grant)?;
                self.templates.grants.put(grant.id.clone(), grant);
            }
            Write::UpdateGrant { grant, expected_version } => {
                let row = self.templates.grant(t, &grant.id);
                guard(row.as_ref().map(|r| r.version), expected_version, "upload grant")?;
                if let Some(mut row) = row {
                    row.used_at = grant.used_at;
                    row.version = grant.version;
                    self.templates.grants.put(grant.id, row);
                }
            }
            Write::Usage(event) => {
                self.refer(state, None, Some(&event.workspace_id))?;
                if self.templates.usage.rows.contains_key(&event.id) || t.usage.contains(&event.id) {
                    return Err(conflict("usage event already exists"));
                }
                self.templates.usage.put(event.id.clone(), event);
            }
            Write::AtMost { counted: Counted::Templates(workspace), max } => {
                let count = self.templates.count_templates(t, &workspace);
                if count > max {
                    return Err(conflict(&format!(
                        "the workspace would have {count} templates, at most {max} allowed"
                    )));
                }
            }
            other => return Err(PortError::Other(format!("not a template write: {other:?}"))),
        }
        Ok(())
    }
}
