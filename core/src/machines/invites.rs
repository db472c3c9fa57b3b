//! The invite state machine: `pending → accepted` (once, before it expires, by the address it was
//! sent to) and `pending → revoked`. [`apply`] returns the invite as it must be stored, with every
//! dependent field and its row version, or refuses the event with the error the caller sees.

use crate::error::{Code, Error};
use crate::ids::UserId;
use crate::model::Invite;
use crate::time::Timestamp;
use crate::values::{Email, InviteStatus};

/// What happens to an invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteEvent {
    /// `by`, whose email is `email`, accepts it.
    Accepted { by: UserId, email: Email },
    /// An admin withdraws it.
    Revoked,
}

/// The invite after `event` at `at`, or why it cannot happen.
pub fn apply(invite: &Invite, event: InviteEvent, at: Timestamp) -> Result<Invite, Error> {
    match invite.status {
        InviteStatus::Accepted => return Err(Error::new(Code::InviteUsed, "Invite already used")),
        InviteStatus::Revoked => return Err(Error::new(Code::InviteRevoked, "Invite was revoked")),
        InviteStatus::Pending => {}
    }
    let mut next = invite.clone();
    match event {
        InviteEvent::Accepted { by, email } => {
            if !invite.expires_at.is_after(at) {
                return Err(Error::new(Code::InviteExpired, "Invite expired"));
            }
            if invite.email.normalised() != email.normalised() {
                return Err(Error::new(Code::InviteEmailMismatch, "This invite is for another email address"));
            }
            next.status = InviteStatus::Accepted;
            next.accepted_at = Some(at);
            next.accepted_by_user_id = Some(by);
        }
        InviteEvent::Revoked => next.status = InviteStatus::Revoked,
    }
    next.version = invite.version + 1;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{InviteId, WorkspaceId};
    use crate::secret::SecretHash;
    use crate::values::Role;

    fn invite(status: InviteStatus) -> Invite {
        Invite {
            id: InviteId::from_raw("inv_1"),
            code_hash: SecretHash::of("code"),
            workspace_id: WorkspaceId::from_raw("ws_1"),
            email: Email::parse("ada@example.com").unwrap(),
            role: Role::Member,
            status,
            created_by_user_id: UserId::from_raw("usr_0"),
            created_at: Timestamp(0),
            expires_at: Timestamp(100),
            accepted_at: None,
            accepted_by_user_id: None,
            version: 3,
        }
    }

    fn accept(email: &str) -> InviteEvent {
        InviteEvent::Accepted { by: UserId::from_raw("usr_1"), email: Email::parse(email).unwrap() }
    }

    #[test]
    fn invites_follow_the_table() {
        use InviteStatus::*;
        let cases: [(InviteStatus, InviteEvent, Timestamp, Result<InviteStatus, &str>); 8] = [
            (Pending, accept("ada@example.com"), Timestamp(50), Ok(Accepted)),
            (Pending, accept("ada@example.com"), Timestamp(100), Err("invite_expired")),
            (Pending, accept("bob@example.com"), Timestamp(50), Err("invite_email_mismatch")),
            (Pending, InviteEvent::Revoked, Timestamp(50), Ok(Revoked)),
            (Accepted, accept("ada@example.com"), Timestamp(50), Err("invite_used")),
            (Accepted, InviteEvent::Revoked, Timestamp(50), Err("invite_used")),
            (Revoked, accept("ada@example.com"), Timestamp(50), Err("invite_revoked")),
            (Revoked, InviteEvent::Revoked, Timestamp(50), Err("invite_revoked")),
        ];
        for (from, event, at, want) in cases {
            let got = apply(&invite(from), event.clone(), at).map(|i| i.status).map_err(|e| e.code.as_str());
            assert_eq!(got, want, "{from:?} + {event:?} at {at:?}");
        }
    }

    #[test]
    fn acceptance_records_who_when_and_moves_the_version() {
        let accepted = apply(&invite(InviteStatus::Pending), accept("ada@example.com"), Timestamp(42)).unwrap();
        assert_eq!(accepted.accepted_at, Some(Timestamp(42)));
        assert_eq!(accepted.accepted_by_user_id, Some(UserId::from_raw("usr_1")));
        assert_eq!(accepted.version, 4);
    }
}
