//! Template versions: the `template_versions` table and its statements. The manifest is stored
//! as its JSON and validated again when read; the bundle is four nullable columns.

use crate::exec::Stmt;
use crate::row::{from_wire, json_text, to_i64, wire, RowReader};
use burstflare_core::error::PortError;
use burstflare_core::ids::{TemplateId, UserId, VersionId, WorkspaceId};
use burstflare_core::manifest::Manifest;
use burstflare_core::model::{BundleInfo, TemplateVersion, VersionStatus};
use burstflare_core::ports::PortResult;
use burstflare_core::time::Timestamp;

/// The columns version statements list, in the order [`read_version`] and [`insert`] use.
macro_rules! columns {
    () => {
        "id, template_id, workspace_id, label, notes, manifest, status, bundle_key, bundle_content_type, \
         bundle_bytes, bundle_uploaded_at, created_by_user_id, created_at, built_at, version"
    };
}

const GET: &str = concat!("SELECT ", columns!(), " FROM template_versions WHERE id = ?1 AND template_id = ?2");

/// Oldest first; `rowid` orders versions created in the same instant by insertion.
const LIST: &str =
    concat!("SELECT ", columns!(), " FROM template_versions WHERE template_id = ?1 ORDER BY created_at, rowid");

/// Fails on UNIQUE (template_id, label), and on the foreign key when the template is gone.
const INSERT: &str = concat!(
    "INSERT INTO template_versions (",
    columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
);

/// Guarded: replaces the mutable fields (status, bundle, built time).
const UPDATE: &str = "UPDATE template_versions SET status = ?1, bundle_key = ?2, bundle_content_type = ?3, \
     bundle_bytes = ?4, bundle_uploaded_at = ?5, built_at = ?6, version = ?9 \
     WHERE id = ?7 AND version = ?8";

/// Reads the columns of `columns!()`.
pub(crate) fn read_version(row: &mut RowReader) -> PortResult<TemplateVersion> {
    Ok(TemplateVersion {
        id: VersionId::from_raw(row.text()?),
        template_id: TemplateId::from_raw(row.text()?),
        workspace_id: WorkspaceId::from_raw(row.text()?),
        label: row.text()?,
        notes: row.text()?,
        manifest: Manifest::parse(&row.json()?)
            .map_err(|e| PortError::Other(format!("a stored manifest is invalid: {}", e.message)))?,
        status: row.parsed(from_wire::<VersionStatus>)?,
        bundle: read_bundle(row)?,
        created_by_user_id: UserId::from_raw(row.text()?),
        created_at: row.time()?,
        built_at: row.opt_time()?,
        version: row.int()?,
    })
}

fn read_bundle(row: &mut RowReader) -> PortResult<Option<BundleInfo>> {
    let (key, content_type, bytes, uploaded_at) = (row.opt_text()?, row.opt_text()?, row.opt_uint()?, row.opt_time()?);
    match (key, content_type, bytes, uploaded_at) {
        (Some(key), Some(content_type), Some(bytes), Some(uploaded_at)) => {
            Ok(Some(BundleInfo { key, content_type, bytes, uploaded_at }))
        }
        (None, None, None, None) => Ok(None),
        _ => Err(PortError::Other("a version's bundle columns are partly set".into())),
    }
}

/// The bundle's four columns, all NULL without a bundle.
fn bundle_params(bundle: Option<&BundleInfo>) -> PortResult<[crate::SqlValue; 4]> {
    Ok(match bundle {
        Some(b) => [
            b.key.as_str().into(),
            b.content_type.as_str().into(),
            to_i64(b.bytes)?.into(),
            b.uploaded_at.millis().into(),
        ],
        None => std::array::from_fn(|_| crate::SqlValue::Null),
    })
}

pub(crate) fn insert(v: &TemplateVersion) -> PortResult<Stmt> {
    let mut params = vec![
        v.id.as_str().into(),
        v.template_id.as_str().into(),
        v.workspace_id.as_str().into(),
        v.label.as_str().into(),
        v.notes.as_str().into(),
        json_text(&v.manifest.to_json())?.into(),
        wire(&v.status)?.into(),
    ];
    params.extend(bundle_params(v.bundle.as_ref())?);
    params.extend([
        v.created_by_user_id.as_str().into(),
        v.created_at.millis().into(),
        v.built_at.map(Timestamp::millis).into(),
        v.version.into(),
    ]);
    Ok(Stmt::new(INSERT, params))
}

pub(crate) fn update(v: &TemplateVersion, expected_version: i64) -> PortResult<Stmt> {
    let mut params = vec![wire(&v.status)?.into()];
    params.extend(bundle_params(v.bundle.as_ref())?);
    params.extend([
        v.built_at.map(Timestamp::millis).into(),
        v.id.as_str().into(),
        expected_version.into(),
        v.version.into(),
    ]);
    Ok(Stmt::new(UPDATE, params))
}

pub(crate) fn get(template: &TemplateId, id: &VersionId) -> Stmt {
    Stmt::new(GET, vec![id.as_str().into(), template.as_str().into()])
}

pub(crate) fn list(template: &TemplateId) -> Stmt {
    Stmt::new(LIST, vec![template.as_str().into()])
}
