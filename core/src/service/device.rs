//! CLI sign-in by device authorization, in the shape of RFC 8628: the CLI starts and gets a secret
//! device code plus a short user code; a signed-in person approves (or denies) the user code; the
//! CLI polls the exchange, which answers `authorization_pending` until a decision and issues
//! tokens exactly once.

use super::{Actor, Service, SignIn};
use crate::error::{Code, Error, ErrorKind, Result};
use crate::ids::DeviceId;
use crate::machines::devices::{self, DeviceEvent};
use crate::model::DeviceAuthorization;
use crate::secret::{normalise_user_code, prefix, user_code, Secret, SecretHash};
use crate::store::{Batch, Write};
use crate::time::Timestamp;
use crate::values::{ClientKind, DeviceStatus};
use serde_json::json;

/// What the CLI gets when it starts: show `user_code` and `verification_uri`, keep `device_code`.
#[derive(Debug, Clone)]
pub struct DeviceStart {
    pub device_code: Secret,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_at: Timestamp,
    pub expires_in: i64,
    pub interval: i64,
}

impl Service {
    pub async fn device_start(&self) -> Result<DeviceStart> {
        let now = self.now();
        let device_code = self.secret(prefix::DEVICE);
        let user_code = user_code(self.ports.random.bytes32());
        let expires_at = now.plus_seconds(self.config.device_ttl_seconds);
        let record = DeviceAuthorization {
            id: DeviceId::from_uuid(self.ports.random.uuid()),
            device_code_hash: device_code.hash(),
            user_code_hash: SecretHash::of(&normalise_user_code(&user_code)),
            status: DeviceStatus::Pending,
            user_id: None,
            workspace_id: None,
            created_at: now,
            expires_at,
            decided_at: None,
            version: 1,
        };
        let mut batch = Batch::new();
        let audit = self.audit("device.started", None, None, ("device_code", record.id.as_str()), json!({}));
        batch.push(Write::CreateDevice(record)).push(audit);
        self.commit(batch).await?;
        let path = &self.config.device_verification_path;
        Ok(DeviceStart {
            device_code,
            verification_uri: path.clone(),
            verification_uri_complete: format!("{path}?user_code={user_code}"),
            user_code,
            expires_at,
            expires_in: self.config.device_ttl_seconds,
            interval: self.config.device_poll_interval_seconds,
        })
    }

    /// Approves (or denies) a pending, unexpired user code for the caller and their current
    /// workspace.
    pub async fn device_decide(&self, actor: &Actor, typed_user_code: &str, approve: bool) -> Result<()> {
        let hash = SecretHash::of(&normalise_user_code(typed_user_code));
        let record = self
            .ports
            .devices
            .find_by_user_code(&hash)
            .await?
            .ok_or_else(|| Error::new(Code::DeviceCodeNotFound, "No sign-in request has this code"))?;
        if !record.expires_at.is_after(self.now()) {
            return Err(Error::new(Code::DeviceCodeExpired, "This code has expired; start again"));
        }
        let event = if approve {
            DeviceEvent::Approved { user: actor.user.id.clone(), workspace: actor.workspace_id.clone() }
        } else {
            DeviceEvent::Denied
        };
        let decided = devices::apply(&record, event, self.now())
            .ok_or_else(|| Error::new(Code::DeviceCodeDecided, "This code was already used"))?;
        let action = if approve { "device.approved" } else { "device.denied" };
        let mut batch = Batch::new();
        batch.push(Write::UpdateDevice { device: decided, expected_version: record.version }).push(self.audit(
            action,
            Some(&actor.user.id),
            Some(&actor.workspace_id),
            ("device_code", record.id.as_str()),
            json!({}),
        ));
        self.commit(batch).await
    }

    /// Polled by the CLI. Errors use RFC 8628's codes: `authorization_pending`, `access_denied`,
    /// `expired_token`, `invalid_grant` (unknown or already exchanged).
    pub async fn device_exchange(&self, device_secret: &str) -> Result<SignIn> {
        let invalid = || Error::new(Code::InvalidGrant, "Unknown or already used device code");
        if !device_secret.starts_with(&format!("{}_", prefix::DEVICE)) {
            return Err(invalid());
        }
        let record = self.ports.devices.find_by_device_code(&SecretHash::of(device_secret)).await?;
        let record = record.ok_or_else(invalid)?;
        let expired = !record.expires_at.is_after(self.now());
        match record.status {
            DeviceStatus::Exchanged => return Err(invalid()),
            _ if expired => return Err(Error::new(Code::ExpiredToken, "The device code expired; start again")),
            DeviceStatus::Pending => {
                return Err(Error::new(Code::AuthorizationPending, "Waiting for approval in the browser"))
            }
            DeviceStatus::Denied => return Err(Error::new(Code::AccessDenied, "The sign-in request was denied")),
            DeviceStatus::Approved => {}
        }
        let (Some(user_id), Some(workspace_id)) = (record.user_id.clone(), record.workspace_id.clone()) else {
            return Err(Error::internal("approved device code without user"));
        };
        let user = self.ports.users.get(&user_id).await?.ok_or_else(invalid)?;
        let membership = self.ports.memberships.get(&workspace_id, &user_id).await?;
        let membership = membership.ok_or_else(|| Error::new(Code::NotAMember, "You are no longer a member"))?;
        let workspace = self.workspace(&workspace_id).await?;
        let view = self.view(workspace, membership.role).await?;
        let exchanged = devices::apply(&record, DeviceEvent::Exchanged, self.now()).ok_or_else(invalid)?;
        let mut batch = Batch::new();
        batch.push(Write::UpdateDevice { device: exchanged, expected_version: record.version }).push(self.audit(
            "device.exchanged",
            Some(&user_id),
            Some(&workspace_id),
            ("device_code", record.id.as_str()),
            json!({}),
        ));
        let sign_in = self.issue_pair(&mut batch, user, view, ClientKind::Api, None);
        match self.commit(batch).await {
            Err(e) if e.kind() == ErrorKind::Conflict => Err(invalid()),
            other => other.map(|()| sign_in),
        }
    }
}
