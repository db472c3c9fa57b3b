//! Releases (the promotion history): the `releases` table and its statements.

use crate::exec::Stmt;
use crate::row::RowReader;
use burstflare_core::ids::{ReleaseId, TemplateId, UserId, VersionId, WorkspaceId};
use burstflare_core::model::Release;
use burstflare_core::ports::PortResult;

/// The columns release statements list, in the order [`read_release`] and [`insert`] use.
macro_rules! columns {
    () => {
        "id, workspace_id, template_id, version_id, created_by_user_id, created_at"
    };
}

/// Newest first; `rowid` orders releases made in the same instant by insertion.
const LIST: &str =
    concat!("SELECT ", columns!(), " FROM releases WHERE workspace_id = ?1 ORDER BY created_at DESC, rowid DESC");

const LIST_FOR_TEMPLATE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM releases WHERE template_id = ?2 AND workspace_id = ?1 ORDER BY created_at DESC, rowid DESC"
);

const INSERT: &str = concat!("INSERT INTO releases (", columns!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)");

/// Reads the columns of `columns!()`.
pub(crate) fn read_release(row: &mut RowReader) -> PortResult<Release> {
    Ok(Release {
        id: ReleaseId::from_raw(row.text()?),
        workspace_id: WorkspaceId::from_raw(row.text()?),
        template_id: TemplateId::from_raw(row.text()?),
        version_id: VersionId::from_raw(row.text()?),
        created_by_user_id: UserId::from_raw(row.text()?),
        created_at: row.time()?,
    })
}

pub(crate) fn insert(release: &Release) -> Stmt {
    Stmt::new(
        INSERT,
        vec![
            release.id.as_str().into(),
            release.workspace_id.as_str().into(),
            release.template_id.as_str().into(),
            release.version_id.as_str().into(),
            release.created_by_user_id.as_str().into(),
            release.created_at.millis().into(),
        ],
    )
}

/// Releases of the workspace, or of one of its templates.
pub(crate) fn list(workspace: &WorkspaceId, template: Option<&TemplateId>) -> Stmt {
    match template {
        Some(template) => Stmt::new(LIST_FOR_TEMPLATE, vec![workspace.as_str().into(), template.as_str().into()]),
        None => Stmt::new(LIST, vec![workspace.as_str().into()]),
    }
}
