//! Builds: the `builds` table, its statements and its [`BuildRepo`]. The artefact is three
//! nullable columns; statuses are stored as their wire names (`dead_lettered`).

use crate::exec::{SqlExecutor, SqlValue, Stmt};
use crate::row::{first, from_wire, to_i64, wire, RowReader};
use crate::SqlRepos;
use async_trait::async_trait;
use burstflare_core::error::PortError;
use burstflare_core::ids::{BuildId, TemplateId, VersionId, WorkspaceId};
use burstflare_core::model::{Artifact, Build, BuildStatus};
use burstflare_core::ports::{BuildRepo, PortResult};
use burstflare_core::time::Timestamp;

/// The columns build statements list, in the order [`read_build`] and [`insert`] use.
macro_rules! columns {
    () => {
        "id, version_id, template_id, workspace_id, status, attempts, last_error, artifact_digest, \
         artifact_file_count, artifact_unpacked_bytes, log_key, created_at, updated_at, started_at, \
         finished_at, dead_lettered_at, version"
    };
}

const GET: &str = concat!("SELECT ", columns!(), " FROM builds WHERE id = ?1");

const FOR_VERSION: &str = concat!("SELECT ", columns!(), " FROM builds WHERE version_id = ?1");

/// Oldest first; `rowid` orders builds created in the same instant by insertion.
const LIST: &str = concat!("SELECT ", columns!(), " FROM builds WHERE workspace_id = ?1 ORDER BY created_at, rowid");

/// Every workspace's builds still `building` that started at or before `?1`, longest-running first.
const STUCK: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM builds WHERE status = 'building' AND started_at <= ?1 ORDER BY started_at, rowid"
);

const WAITING: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM builds WHERE status IN ('queued', 'retrying') AND updated_at <= ?1 ORDER BY updated_at, rowid"
);

/// Fails on UNIQUE (version_id): a version has one build.
const INSERT: &str = concat!(
    "INSERT INTO builds (",
    columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
);

/// Guarded: replaces the mutable fields.
const UPDATE: &str = "UPDATE builds SET status = ?1, attempts = ?2, last_error = ?3, artifact_digest = ?4, \
     artifact_file_count = ?5, artifact_unpacked_bytes = ?6, updated_at = ?7, started_at = ?8, \
     finished_at = ?9, dead_lettered_at = ?10, version = ?13 WHERE id = ?11 AND version = ?12";

/// Reads the columns of `columns!()`.
fn read_build(row: &mut RowReader) -> PortResult<Build> {
    Ok(Build {
        id: BuildId::from_raw(row.text()?),
        version_id: VersionId::from_raw(row.text()?),
        template_id: TemplateId::from_raw(row.text()?),
        workspace_id: WorkspaceId::from_raw(row.text()?),
        status: row.parsed(from_wire::<BuildStatus>)?,
        attempts: u32::try_from(row.int()?).map_err(|_| PortError::Other("build attempts out of range".into()))?,
        last_error: row.opt_text()?,
        artifact: read_artifact(row)?,
        log_key: row.text()?,
        created_at: row.time()?,
        updated_at: row.time()?,
        started_at: row.opt_time()?,
        finished_at: row.opt_time()?,
        dead_lettered_at: row.opt_time()?,
        version: row.int()?,
    })
}

fn read_artifact(row: &mut RowReader) -> PortResult<Option<Artifact>> {
    match (row.opt_text()?, row.opt_uint()?, row.opt_uint()?) {
        (Some(digest), Some(file_count), Some(unpacked_bytes)) => {
            Ok(Some(Artifact { digest, file_count, unpacked_bytes }))
        }
        (None, None, None) => Ok(None),
        _ => Err(PortError::Other("a build's artifact columns are partly set".into())),
    }
}

/// The mutable fields, in the order of [`UPDATE`]'s first ten parameters (and of the insert's
/// columns from `status` to `last_error`, then the artefact).
fn state_params(build: &Build) -> PortResult<Vec<SqlValue>> {
    let (digest, files, unpacked) = match &build.artifact {
        Some(a) => (a.digest.as_str().into(), to_i64(a.file_count)?.into(), to_i64(a.unpacked_bytes)?.into()),
        None => (SqlValue::Null, SqlValue::Null, SqlValue::Null),
    };
    Ok(vec![
        wire(&build.status)?.into(),
        i64::from(build.attempts).into(),
        build.last_error.as_deref().into(),
        digest,
        files,
        unpacked,
    ])
}

pub(crate) fn insert(build: &Build) -> PortResult<Stmt> {
    let mut params = vec![
        build.id.as_str().into(),
        build.version_id.as_str().into(),
        build.template_id.as_str().into(),
        build.workspace_id.as_str().into(),
    ];
    params.extend(state_params(build)?);
    params.extend([
        build.log_key.as_str().into(),
        build.created_at.millis().into(),
        build.updated_at.millis().into(),
        build.started_at.map(Timestamp::millis).into(),
        build.finished_at.map(Timestamp::millis).into(),
        build.dead_lettered_at.map(Timestamp::millis).into(),
        build.version.into(),
    ]);
    Ok(Stmt::new(INSERT, params))
}

pub(crate) fn update(build: &Build, expected_version: i64) -> PortResult<Stmt> {
    let mut params = state_params(build)?;
    params.extend([
        build.updated_at.millis().into(),
        build.started_at.map(Timestamp::millis).into(),
        build.finished_at.map(Timestamp::millis).into(),
        build.dead_lettered_at.map(Timestamp::millis).into(),
        build.id.as_str().into(),
        expected_version.into(),
        build.version.into(),
    ]);
    Ok(Stmt::new(UPDATE, params))
}

impl<E: SqlExecutor> SqlRepos<E> {
    async fn builds(&self, sql: &'static str, param: SqlValue) -> PortResult<Vec<Build>> {
        let rows = self.exec.query(Stmt::new(sql, vec![param])).await?;
        rows.into_iter().map(|row| read_build(&mut RowReader::new(row))).collect()
    }
}

#[async_trait]
impl<E: SqlExecutor> BuildRepo for SqlRepos<E> {
    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn get(&self, id: &BuildId) -> PortResult<Option<Build>> {
        let rows = self.exec.query(Stmt::new(GET, vec![id.as_str().into()])).await?;
        first(rows).map(|mut row| read_build(&mut row)).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn for_version(&self, version: &VersionId) -> PortResult<Option<Build>> {
        let rows = self.exec.query(Stmt::new(FOR_VERSION, vec![version.as_str().into()])).await?;
        first(rows).map(|mut row| read_build(&mut row)).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn list(&self, workspace: &WorkspaceId) -> PortResult<Vec<Build>> {
        self.builds(LIST, workspace.as_str().into()).await
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn stuck(&self, before: Timestamp) -> PortResult<Vec<Build>> {
        self.builds(STUCK, before.millis().into()).await
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn waiting(&self, before: Timestamp) -> PortResult<Vec<Build>> {
        self.builds(WAITING, before.millis().into()).await
    }
}
