//! Device authorizations: the `device_authorizations` table, its statements and its [`DeviceRepo`].

use crate::exec::{SqlExecutor, Stmt};
use crate::row::{first, RowReader};
use crate::SqlRepos;
use async_trait::async_trait;
use burstflare_core::ids::{DeviceId, UserId, WorkspaceId};
use burstflare_core::model::DeviceAuthorization;
use burstflare_core::ports::{DeviceRepo, PortResult};
use burstflare_core::secret::SecretHash;
use burstflare_core::time::Timestamp;
use burstflare_core::values::DeviceStatus;

/// The columns device statements list, in the order [`read_device`] and [`insert`] use.
macro_rules! columns {
    () => {
        "id, device_code_hash, user_code_hash, status, user_id, workspace_id, created_at, \
         expires_at, decided_at, version"
    };
}

const FIND_BY_DEVICE_CODE: &str =
    concat!("SELECT ", columns!(), " FROM device_authorizations WHERE device_code_hash = ?1");

const FIND_BY_USER_CODE: &str = concat!("SELECT ", columns!(), " FROM device_authorizations WHERE user_code_hash = ?1");

const INSERT: &str =
    concat!("INSERT INTO device_authorizations (", columns!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");

/// Guarded: matches nothing when the version moved on, so a code is decided and exchanged once.
const UPDATE: &str = "UPDATE device_authorizations \
     SET status = ?1, user_id = ?2, workspace_id = ?3, decided_at = ?4, version = ?7 \
     WHERE id = ?5 AND version = ?6";

/// Reads the columns of `columns!()`.
fn read_device(row: &mut RowReader) -> PortResult<DeviceAuthorization> {
    Ok(DeviceAuthorization {
        id: DeviceId::from_raw(row.text()?),
        device_code_hash: SecretHash::from_stored(row.text()?),
        user_code_hash: SecretHash::from_stored(row.text()?),
        status: row.parsed(DeviceStatus::parse)?,
        user_id: row.opt_text()?.map(UserId::from_raw),
        workspace_id: row.opt_text()?.map(WorkspaceId::from_raw),
        created_at: row.time()?,
        expires_at: row.time()?,
        decided_at: row.opt_time()?,
        version: row.int()?,
    })
}

pub(crate) fn insert(device: &DeviceAuthorization) -> Stmt {
    Stmt::new(
        INSERT,
        vec![
            device.id.as_str().into(),
            device.device_code_hash.as_str().into(),
            device.user_code_hash.as_str().into(),
            device.status.as_str().into(),
            device.user_id.as_ref().map(UserId::as_str).into(),
            device.workspace_id.as_ref().map(WorkspaceId::as_str).into(),
            device.created_at.millis().into(),
            device.expires_at.millis().into(),
            device.decided_at.map(Timestamp::millis).into(),
            device.version.into(),
        ],
    )
}

pub(crate) fn update(d: &DeviceAuthorization, expected_version: i64) -> Stmt {
    Stmt::new(
        UPDATE,
        vec![
            d.status.as_str().into(),
            d.user_id.as_ref().map(UserId::as_str).into(),
            d.workspace_id.as_ref().map(WorkspaceId::as_str).into(),
            d.decided_at.map(Timestamp::millis).into(),
            d.id.as_str().into(),
            expected_version.into(),
            d.version.into(),
        ],
    )
}

#[async_trait]
impl<E: SqlExecutor> DeviceRepo for SqlRepos<E> {
    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn find_by_device_code(&self, hash: &SecretHash) -> PortResult<Option<DeviceAuthorization>> {
        let rows = self.exec.query(Stmt::new(FIND_BY_DEVICE_CODE, vec![hash.as_str().into()])).await?;
        first(rows).map(|mut row| read_device(&mut row)).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn find_by_user_code(&self, hash: &SecretHash) -> PortResult<Option<DeviceAuthorization>> {
        let rows = self.exec.query(Stmt::new(FIND_BY_USER_CODE, vec![hash.as_str().into()])).await?;
        first(rows).map(|mut row| read_device(&mut row)).transpose()
    }
}
