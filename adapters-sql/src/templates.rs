//! Templates: the `templates` table, its statements and the [`TemplateRepo`], whose version and
//! release reads use the statements of [`crate::versions`] and [`crate::releases`].

use crate::exec::{SqlExecutor, Stmt};
use crate::row::{first, RowReader};
use crate::{releases, versions, SqlRepos};
use async_trait::async_trait;
use burstflare_core::ids::{TemplateId, UserId, VersionId, WorkspaceId};
use burstflare_core::model::{Release, Template, TemplateVersion};
use burstflare_core::ports::{PortResult, TemplateRepo};
use burstflare_core::time::Timestamp;
use burstflare_core::values::TemplateName;

/// The columns template reads list, in the order [`read_template`] uses.
macro_rules! columns {
    () => {
        "id, workspace_id, name, description, active_version_id, archived_at, archived_by_user_id, \
         created_by_user_id, created_at, version"
    };
}

const GET: &str = concat!("SELECT ", columns!(), " FROM templates WHERE id = ?1 AND workspace_id = ?2");

/// Oldest first; `rowid` orders templates created in the same instant by insertion.
const LIST: &str = concat!("SELECT ", columns!(), " FROM templates WHERE workspace_id = ?1 ORDER BY created_at, rowid");

/// Fails on UNIQUE (workspace_id, name_normalised) when the workspace has the name in any case.
const INSERT: &str = concat!(
    "INSERT INTO templates (",
    columns!(),
    ", name_normalised) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
);

/// Guarded: replaces the mutable fields; matches nothing when the version moved on.
const UPDATE: &str = "UPDATE templates SET description = ?1, active_version_id = ?2, archived_at = ?3, \
     archived_by_user_id = ?4, version = ?7 WHERE id = ?5 AND version = ?6";

/// Guarded; versions, builds, releases and grants follow through ON DELETE CASCADE.
const DELETE: &str = "DELETE FROM templates WHERE id = ?1 AND version = ?2";

/// Reads the columns of `columns!()`.
fn read_template(row: &mut RowReader) -> PortResult<Template> {
    Ok(Template {
        id: TemplateId::from_raw(row.text()?),
        workspace_id: WorkspaceId::from_raw(row.text()?),
        name: TemplateName::from_stored(row.text()?),
        description: row.text()?,
        active_version_id: row.opt_text()?.map(VersionId::from_raw),
        archived_at: row.opt_time()?,
        archived_by_user_id: row.opt_text()?.map(UserId::from_raw),
        created_by_user_id: UserId::from_raw(row.text()?),
        created_at: row.time()?,
        version: row.int()?,
    })
}

pub(crate) fn insert(template: &Template) -> Stmt {
    Stmt::new(
        INSERT,
        vec![
            template.id.as_str().into(),
            template.workspace_id.as_str().into(),
            template.name.as_str().into(),
            template.description.as_str().into(),
            template.active_version_id.as_ref().map(VersionId::as_str).into(),
            template.archived_at.map(Timestamp::millis).into(),
            template.archived_by_user_id.as_ref().map(UserId::as_str).into(),
            template.created_by_user_id.as_str().into(),
            template.created_at.millis().into(),
            template.version.into(),
            template.name.normalised().into(),
        ],
    )
}

pub(crate) fn update(template: &Template, expected_version: i64) -> Stmt {
    Stmt::new(
        UPDATE,
        vec![
            template.description.as_str().into(),
            template.active_version_id.as_ref().map(VersionId::as_str).into(),
            template.archived_at.map(Timestamp::millis).into(),
            template.archived_by_user_id.as_ref().map(UserId::as_str).into(),
            template.id.as_str().into(),
            expected_version.into(),
            template.version.into(),
        ],
    )
}

pub(crate) fn delete(id: &TemplateId, expected_version: i64) -> Stmt {
    Stmt::new(DELETE, vec![id.as_str().into(), expected_version.into()])
}

#[async_trait]
impl<E: SqlExecutor> TemplateRepo for SqlRepos<E> {
    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn get(&self, workspace: &WorkspaceId, id: &TemplateId) -> PortResult<Option<Template>> {
        let rows = self.exec.query(Stmt::new(GET, vec![id.as_str().into(), workspace.as_str().into()])).await?;
        first(rows).map(|mut row| read_template(&mut row)).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn list(&self, workspace: &WorkspaceId) -> PortResult<Vec<Template>> {
        let rows = self.exec.query(Stmt::new(LIST, vec![workspace.as_str().into()])).await?;
        rows.into_iter().map(|row| read_template(&mut RowReader::new(row))).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn versions(&self, template: &TemplateId) -> PortResult<Vec<TemplateVersion>> {
        let rows = self.exec.query(versions::list(template)).await?;
        rows.into_iter().map(|row| versions::read_version(&mut RowReader::new(row))).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn get_version(&self, template: &TemplateId, id: &VersionId) -> PortResult<Option<TemplateVersion>> {
        let rows = self.exec.query(versions::get(template, id)).await?;
        first(rows).map(|mut row| versions::read_version(&mut row)).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn releases(&self, workspace: &WorkspaceId, template: Option<&TemplateId>) -> PortResult<Vec<Release>> {
        let rows = self.exec.query(releases::list(workspace, template)).await?;
        rows.into_iter().map(|row| releases::read_release(&mut RowReader::new(row))).collect()
    }
}
