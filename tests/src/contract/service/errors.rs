//! What a client hears when a port fails: a lost guarded write is 409 `conflict` with our own
//! message, the adapter's text (a SQL constraint, D1's message) kept only as the error's source.

use crate::contract::harness::{expect_code, Harness};
use anyhow::Context as _;
use async_trait::async_trait;
use burstflare_core::error::PortError;
use burstflare_core::ids::{TemplateId, VersionId, WorkspaceId};
use burstflare_core::model::{Release, Template, TemplateVersion};
use burstflare_core::ports::{PortResult, TemplateRepo};
use burstflare_core::{Config, ErrorKind, Service};
use std::error::Error as _;
use std::sync::Arc;

/// Answers `get` with a row read earlier, as a request that read just before a racing write did.
struct Stale {
    inner: Arc<dyn TemplateRepo>,
    row: Template,
}

#[async_trait]
impl TemplateRepo for Stale {
    async fn get(&self, _: &WorkspaceId, _: &TemplateId) -> PortResult<Option<Template>> {
        Ok(Some(self.row.clone()))
    }
    async fn list(&self, w: &WorkspaceId) -> PortResult<Vec<Template>> {
        self.inner.list(w).await
    }
    async fn versions(&self, t: &TemplateId) -> PortResult<Vec<TemplateVersion>> {
        self.inner.versions(t).await
    }
    async fn get_version(&self, t: &TemplateId, id: &VersionId) -> PortResult<Option<TemplateVersion>> {
        self.inner.get_version(t, id).await
    }
    async fn releases(&self, w: &WorkspaceId, t: Option<&TemplateId>) -> PortResult<Vec<Release>> {
        self.inner.releases(w, t).await
    }
}

pub async fn a_lost_guard_is_a_conflict_without_the_adapters_text(h: &Harness) -> anyhow::Result<()> {
    let owner = h.register("owner@example.com").await?;
    let actor = h.actor(&owner).await?;
    let id = h.service.create_template(&actor, "base", None).await?.template.id;
    let stale = h.ports.templates.get(&actor.workspace_id, &id).await?.context("template")?;
    // Someone else archives and restores it meanwhile: same state, newer row version.
    h.service.set_archived(&actor, &id, true).await?;
    h.service.set_archived(&actor, &id, false).await?;
    let current = h.ports.templates.get(&actor.workspace_id, &id).await?;

    let mut ports = h.ports.clone();
    ports.templates = Arc::new(Stale { inner: h.ports.templates.clone(), row: stale });
    let racing = Service::new(ports, Config::default());
    let lost = expect_code(racing.set_archived(&actor, &id, true).await, "conflict");
    assert_eq!(lost.kind(), ErrorKind::Conflict);
    let Some(PortError::Conflict(adapter)) = lost.cause() else { panic!("the port's error is kept: {lost:?}") };
    assert!(!adapter.is_empty());
    for said in [lost.message.as_str(), &lost.to_string()] {
        assert!(!said.contains(adapter.as_str()), "{said:?} repeats the adapter's {adapter:?}");
        assert!(!said.contains("constraint") && !said.contains("CHECK"), "{said:?}");
    }
    assert!(lost.source().is_some_and(|s| s.to_string().contains(adapter.as_str())), "the source keeps the cause");
    assert_eq!(h.ports.templates.get(&actor.workspace_id, &id).await?, current, "nothing was written");
    Ok(())
}
