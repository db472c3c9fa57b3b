//! The device-code state machine (RFC 8628's shape): `pending → approved | denied` by a signed-in
//! person, then `approved → exchanged` once by the CLI. [`apply`] returns the record as it must be
//! stored, or `None` when the event cannot happen from its state (the caller says why in its own
//! protocol's words: a browser error or an RFC 8628 grant error).

use crate::ids::{UserId, WorkspaceId};
use crate::model::DeviceAuthorization;
use crate::time::Timestamp;
use crate::values::DeviceStatus;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceEvent {
    /// The person approves: the exchange issues tokens for them in this workspace.
    Approved { user: UserId, workspace: WorkspaceId },
    /// The person denies: the exchange issues nothing, so no user or workspace is kept.
    Denied,
    /// The CLI exchanged an approved code for tokens.
    Exchanged,
}

pub fn apply(device: &DeviceAuthorization, event: DeviceEvent, at: Timestamp) -> Option<DeviceAuthorization> {
    let mut next = device.clone();
    match (device.status, event) {
        (DeviceStatus::Pending, DeviceEvent::Approved { user, workspace }) => {
            next.status = DeviceStatus::Approved;
            next.user_id = Some(user);
            next.workspace_id = Some(workspace);
            next.decided_at = Some(at);
        }
        (DeviceStatus::Pending, DeviceEvent::Denied) => {
            next.status = DeviceStatus::Denied;
            next.user_id = None;
            next.workspace_id = None;
            next.decided_at = Some(at);
        }
        (DeviceStatus::Approved, DeviceEvent::Exchanged) => next.status = DeviceStatus::Exchanged,
        _ => return None,
    }
    next.version = device.version + 1;
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::DeviceId;
    use crate::secret::SecretHash;
    use DeviceStatus::*;

    fn device(status: DeviceStatus) -> DeviceAuthorization {
        DeviceAuthorization {
            id: DeviceId::from_raw("dev_1"),
            device_code_hash: SecretHash::of("d"),
            user_code_hash: SecretHash::of("u"),
            status,
            user_id: None,
            workspace_id: None,
            created_at: Timestamp(0),
            expires_at: Timestamp(100),
            decided_at: None,
            version: 1,
        }
    }

    #[test]
    fn device_codes_follow_the_table() {
        let approve =
            || DeviceEvent::Approved { user: UserId::from_raw("usr_1"), workspace: WorkspaceId::from_raw("ws") };
        let table = [
            (Pending, approve(), Some(Approved)),
            (Pending, DeviceEvent::Denied, Some(Denied)),
            (Pending, DeviceEvent::Exchanged, None),
            (Approved, approve(), None),
            (Approved, DeviceEvent::Denied, None),
            (Approved, DeviceEvent::Exchanged, Some(Exchanged)),
            (Denied, approve(), None),
            (Denied, DeviceEvent::Exchanged, None),
            (Exchanged, DeviceEvent::Exchanged, None),
        ];
        for (from, event, want) in table {
            let got = apply(&device(from), event.clone(), Timestamp(5));
            assert_eq!(got.as_ref().map(|d| d.status), want, "{from:?} + {event:?}");
            if let Some(d) = got {
                assert_eq!(d.version, 2);
                match d.status {
                    Approved => assert!(d.user_id.is_some() && d.decided_at.is_some(), "an approval keeps the user"),
                    Denied => assert!(d.user_id.is_none() && d.decided_at.is_some(), "a denial keeps no user"),
                    _ => {}
                }
            }
        }
    }
}
