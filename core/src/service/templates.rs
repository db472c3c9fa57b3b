//! Templates and versions: create (within the plan's quota), list and show, archive and restore,
//! delete (with their stored bundles and logs), add a version (which queues its build), promote a
//! ready version (appending a release), and list releases.

use super::{Actor, Service};
use crate::error::{Code, Error, ErrorKind, Result};
use crate::ids::{BuildId, ReleaseId, TemplateId, VersionId};
use crate::manifest::Manifest;
use crate::model::{Build, BuildStatus, Release, Template, TemplateVersion, VersionStatus};
use crate::ports::Job;
use crate::store::{Batch, Counted, Write};
use crate::values::{Role, SessionState, TemplateName, VersionLabel};
use serde_json::json;

/// A template with its versions, each with its build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateView {
    pub template: Template,
    pub versions: Vec<(TemplateVersion, Option<Build>)>,
}

pub(crate) fn template_not_found() -> Error {
    Error::new(Code::TemplateNotFound, "Template not found")
}

pub(crate) fn version_not_found() -> Error {
    Error::new(Code::VersionNotFound, "Template version not found")
}

impl Service {
    /// The template of the caller's workspace, or 404 (templates of other workspaces are invisible).
    pub(crate) async fn template(&self, actor: &Actor, id: &TemplateId) -> Result<Template> {
        self.ports.templates.get(&actor.workspace_id, id).await?.ok_or_else(template_not_found)
    }

    pub(crate) async fn template_version(
        &self,
        actor: &Actor,
        t: &TemplateId,
        v: &VersionId,
    ) -> Result<(Template, TemplateVersion)> {
        let template = self.template(actor, t).await?;
        let version = self.ports.templates.get_version(t, v).await?.ok_or_else(version_not_found)?;
        Ok((template, version))
    }

    pub async fn template_view(&self, template: Template) -> Result<TemplateView> {
        let mut versions = Vec::new();
        for version in self.ports.templates.versions(&template.id).await? {
            let build = self.ports.builds.for_version(&version.id).await?;
            versions.push((version, build));
        }
        Ok(TemplateView { template, versions })
    }

    pub async fn create_template(&self, actor: &Actor, name: &str, description: Option<&str>) -> Result<TemplateView> {
        actor.require(Role::Member)?;
        let name = TemplateName::parse(name)?;
        let description = description.unwrap_or("").trim().to_string();
        if description.chars().count() > 1000 {
            return Err(Error::new(Code::InvalidDescription, "description must be at most 1000 characters"));
        }
        let workspace = self.workspace(&actor.workspace_id).await?;
        let existing = self.ports.templates.list(&actor.workspace_id).await?;
        let taken = || Error::new(Code::TemplateNameTaken, "A template with this name already exists");
        if existing.iter().any(|t| t.name.normalised() == name.normalised()) {
            return Err(taken());
        }
        let limit = workspace.plan.limits().max_templates;
        let over_limit =
            || Error::new(Code::TemplateLimit, format!("The {} plan allows {limit} templates", workspace.plan));
        if existing.len() as u64 >= u64::from(limit) {
            return Err(over_limit());
        }
        let template = Template {
            id: TemplateId::from_uuid(self.ports.random.uuid()),
            workspace_id: actor.workspace_id.clone(),
            name: name.clone(),
            description,
            active_version_id: None,
            archived_at: None,
            archived_by_user_id: None,
            created_by_user_id: actor.user.id.clone(),
            created_at: self.now(),
            version: 1,
        };
        let mut batch = Batch::new();
        let audit =
            self.audit_template(actor, "template.created", &template, json!({ "name": template.name.as_str() }));
        batch
            .push(Write::CreateTemplate(template.clone()))
            .push(Write::AtMost { counted: Counted::Templates(actor.workspace_id.clone()), max: u64::from(limit) })
            .push(audit);
        match self.commit(batch).await {
            // A racing create took the name or the last free slot: say which.
            Err(e) if e.kind() == ErrorKind::Conflict => {
                let now = self.ports.templates.list(&actor.workspace_id).await?;
                if now.iter().any(|t| t.name.normalised() == name.normalised()) {
                    Err(taken())
                } else if now.len() as u64 >= u64::from(limit) {
                    Err(over_limit())
                } else {
                    Err(e)
                }
            }
            other => other.map(|()| TemplateView { template, versions: Vec::new() }),
        }
    }

    pub async fn list_templates(&self, actor: &Actor) -> Result<Vec<TemplateView>> {
        let mut views = Vec::new();
        for template in self.ports.templates.list(&actor.workspace_id).await? {
            views.push(self.template_view(template).await?);
        }
        Ok(views)
    }

    pub async fn show_template(&self, actor: &Actor, id: &TemplateId) -> Result<TemplateView> {
        let template = self.template(actor, id).await?;
        self.template_view(template).await
    }

    /// Archives (blocks new sessions) or restores a template.
    pub async fn set_archived(&self, actor: &Actor, id: &TemplateId, archived: bool) -> Result<TemplateView> {
        actor.require(Role::Admin)?;
        let current = self.template(actor, id).await?;
        if current.archived_at.is_some() == archived {
            let (code, message) = if archived {
                (Code::TemplateArchived, "Template is already archived")
            } else {
                (Code::TemplateNotArchived, "Template is not archived")
            };
            return Err(Error::new(code, message));
        }
        let mut updated = current.clone();
        updated.archived_at = archived.then(|| self.now());
        updated.archived_by_user_id = archived.then(|| actor.user.id.clone());
        updated.version += 1;
        let action = if archived { "template.archived" } else { "template.restored" };
        let mut batch = Batch::new();
        batch
            .push(Write::UpdateTemplate { template: updated.clone(), expected_version: current.version })
            .push(self.audit_template(actor, action, &updated, json!({})));
        self.commit(batch).await?;
        self.template_view(updated).await
    }

    /// Deletes the template, its versions, builds, releases and grants, then its stored bundles and
    /// build logs. Returns the number of versions, builds and releases removed.
    pub async fn delete_template(&self, actor: &Actor, id: &TemplateId) -> Result<(usize, usize, usize)> {
        actor.require(Role::Admin)?;
        let view = self.show_template(actor, id).await?;
        if self.ports.sessions.list(&actor.workspace_id).await?.iter().any(|s| &s.template_id == id) {
            return Err(Error::new(
                Code::TemplateInUse,
                "Sessions still use this template: delete them first (or archive the template)",
            ));
        }
        let releases = self.ports.templates.releases(&actor.workspace_id, Some(id)).await?;
        // Its deleted sessions go with it, and their snapshots with them.
        let mut snapshot_keys = Vec::new();
        let deleted = self.ports.sessions.in_states(Some(&actor.workspace_id), &[SessionState::Deleted]).await?;
        for session in deleted.iter().filter(|s| &s.template_id == id) {
            let snapshots = self.ports.snapshots.list(&session.id).await?;
            snapshot_keys.extend(snapshots.into_iter().filter_map(|s| s.content.map(|c| c.key)));
        }
        let builds: Vec<&Build> = view.versions.iter().filter_map(|(_, b)| b.as_ref()).collect();
        let counts = (view.versions.len(), builds.len(), releases.len());
        let mut batch = Batch::new();
        batch.push(Write::DeleteTemplate { template_id: id.clone(), expected_version: view.template.version }).push(
            self.audit_template(
                actor,
                "template.deleted",
                &view.template,
                json!({ "deletedVersions": counts.0, "deletedBuilds": counts.1, "deletedReleases": counts.2 }),
            ),
        );
        self.commit(batch).await?;
        // The records are gone; objects left behind by a failed delete are unreachable, not wrong.
        let keys = view.versions.iter().filter_map(|(v, _)| v.bundle.as_ref().map(|b| b.key.clone()));
        for key in keys.chain(builds.iter().map(|b| b.log_key.clone())).chain(snapshot_keys) {
            let _ = self.ports.blobs.delete(&key).await;
        }
        Ok(counts)
    }

    /// Adds a version with a validated manifest and queues its build (which waits for a bundle).
    pub async fn add_version(
        &self,
        actor: &Actor,
        template_id: &TemplateId,
        label: &str,
        manifest: &serde_json::Value,
        notes: Option<&str>,
    ) -> Result<(TemplateVersion, Build)> {
        actor.require(Role::Member)?;
        let template = self.template(actor, template_id).await?;
        let label = VersionLabel::parse(label)?;
        let manifest = Manifest::parse(manifest)?;
        let notes = notes.unwrap_or("").trim().to_string();
        if notes.chars().count() > 1000 {
            return Err(Error::new(Code::InvalidNotes, "notes must be at most 1000 characters"));
        }
        let exists = || Error::new(Code::VersionExists, "This template already has a version with that label");
        if self.ports.templates.versions(template_id).await?.iter().any(|v| v.label == label.as_str()) {
            return Err(exists());
        }
        let now = self.now();
        let version = TemplateVersion {
            id: VersionId::from_uuid(self.ports.random.uuid()),
            template_id: template.id.clone(),
            workspace_id: template.workspace_id.clone(),
            label: label.as_str().to_string(),
            notes,
            manifest,
            status: VersionStatus::Queued,
            bundle: None,
            created_by_user_id: actor.user.id.clone(),
            created_at: now,
            built_at: None,
            version: 1,
        };
        let build = Build {
            id: BuildId::from_uuid(self.ports.random.uuid()),
            version_id: version.id.clone(),
            template_id: template.id.clone(),
            workspace_id: template.workspace_id.clone(),
            status: BuildStatus::Queued,
            attempts: 0,
            last_error: None,
            artifact: None,
            log_key: format!("builds/{}/{}.log", template.id, version.label),
            created_at: now,
            updated_at: now,
            started_at: None,
            finished_at: None,
            dead_lettered_at: None,
            version: 1,
        };
        let mut batch = Batch::new();
        batch
            .push(Write::CreateVersion(version.clone()))
            .push(Write::CreateBuild(build.clone()))
            .push(self.job(Job::Build { build_id: build.id.clone() }, 0))
            .push(self.audit(
                "template.version_added",
                Some(&actor.user.id),
                Some(&actor.workspace_id),
                ("template_version", version.id.as_str()),
                json!({ "version": version.label, "templateId": template.id.as_str() }),
            ));
        match self.commit(batch).await {
            Err(e) if e.kind() == ErrorKind::Conflict => return Err(exists()),
            other => other?,
        }
        Ok((version, build))
    }

    /// Makes a ready version the active one and records the release.
    pub async fn promote(
        &self,
        actor: &Actor,
        template_id: &TemplateId,
        version_id: &VersionId,
    ) -> Result<(TemplateView, Release)> {
        actor.require(Role::Admin)?;
        let (template, version) = self.template_version(actor, template_id, version_id).await?;
        if version.status != VersionStatus::Ready {
            return Err(Error::new(Code::VersionNotReady, "Only a version whose build succeeded can be promoted"));
        }
        self.check_built_bundle(&version).await?;
        let release = Release {
            id: ReleaseId::from_uuid(self.ports.random.uuid()),
            workspace_id: template.workspace_id.clone(),
            template_id: template.id.clone(),
            version_id: version.id.clone(),
            created_by_user_id: actor.user.id.clone(),
            created_at: self.now(),
        };
        let mut updated = template.clone();
        updated.active_version_id = Some(version.id.clone());
        updated.version += 1;
        let details =
            json!({ "versionId": version.id.as_str(), "version": version.label, "releaseId": release.id.as_str() });
        let mut batch = Batch::new();
        batch
            .push(Write::UpdateTemplate { template: updated.clone(), expected_version: template.version })
            .push(Write::CreateRelease(release.clone()))
            .push(self.audit_template(actor, "template.promoted", &updated, details));
        self.commit(batch).await?;
        Ok((self.template_view(updated).await?, release))
    }

    /// Refuses a version whose stored bundle is not, byte for byte, what its build checked.
    async fn check_built_bundle(&self, version: &TemplateVersion) -> Result<()> {
        let mismatch = || {
            Error::new(
                Code::BundleDigestMismatch,
                "The stored bundle is not the one its build checked; upload it to a new version",
            )
        };
        let build = self.ports.builds.for_version(&version.id).await?;
        let expected = build.and_then(|b| b.artifact).map(|a| a.digest).ok_or_else(mismatch)?;
        let key = version.bundle.as_ref().map(|b| b.key.as_str()).ok_or_else(mismatch)?;
        let mut blob = self.ports.blobs.get(key).await?.ok_or_else(mismatch)?;
        if crate::blob::digest(blob.body.as_mut()).await? != expected {
            return Err(mismatch());
        }
        Ok(())
    }

    pub async fn list_releases(&self, actor: &Actor, template: Option<&TemplateId>) -> Result<Vec<Release>> {
        if let Some(id) = template {
            self.template(actor, id).await?;
        }
        Ok(self.ports.templates.releases(&actor.workspace_id, template).await?)
    }

    fn audit_template(&self, actor: &Actor, action: &str, template: &Template, details: serde_json::Value) -> Write {
        self.audit(action, Some(&actor.user.id), Some(&actor.workspace_id), ("template", template.id.as_str()), details)
    }
}
