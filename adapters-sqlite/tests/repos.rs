//! Round trips through every repository: what a batch writes, the reads return, in the promised
//! order. (The cross-adapter contract suite in `tests` covers behaviour; these pin the SQL.)

mod common;

use burstflare_core::ids::{DeviceId, InviteId, UserId};
use burstflare_core::model::{DeviceAuthorization, Invite};
use burstflare_core::secret::SecretHash;
use burstflare_core::store::{Batch, Write};
use burstflare_core::time::Timestamp;
use burstflare_core::values::{DeviceStatus, InviteStatus, Role, TokenKind};
use common::{audit, fresh, membership, one, register, token, NOW};

#[tokio::test]
async fn find_session_joins_user_and_membership() {
    let db = fresh().await;
    let (ada, ada_ws) = register(&db.ports, 1, "ada@example.com").await;
    let (_, bob_ws) = register(&db.ports, 2, "bob@example.com").await;
    let mut batch = Batch::new();
    batch.push(Write::CreateToken(token(10, TokenKind::Access, &ada, &ada_ws))).push(Write::CreateToken(token(
        11,
        TokenKind::Refresh,
        &ada,
        &bob_ws,
    )));
    db.ports.uow.commit(batch).await.unwrap();

    let session = db.ports.tokens.find_session(&SecretHash::of("secret-10")).await.unwrap().unwrap();
    assert_eq!(session.token, token(10, TokenKind::Access, &ada, &ada_ws));
    assert_eq!(session.user, ada);
    assert_eq!(session.membership, Some(membership(&ada_ws, &ada, Role::Owner)));

    let outsider = db.ports.tokens.find_session(&SecretHash::of("secret-11")).await.unwrap().unwrap();
    assert_eq!(outsider.token.kind, TokenKind::Refresh);
    assert_eq!(outsider.membership, None, "no membership in a workspace the user left or never joined");
    assert_eq!(db.ports.tokens.find_session(&SecretHash::of("nope")).await.unwrap(), None);
}

#[tokio::test]
async fn refresh_use_is_guarded_and_family_revocation_is_idempotent() {
    let db = fresh().await;
    let (ada, ws) = register(&db.ports, 1, "ada@example.com").await;
    let mut batch = Batch::new();
    for n in [10, 11, 20] {
        batch.push(Write::CreateToken(token(n, TokenKind::Refresh, &ada, &ws)));
    }
    db.ports.uow.commit(batch).await.unwrap();
    let t10 = token(10, TokenKind::Refresh, &ada, &ws);
    let use_it = |v| Write::UseRefreshToken { token_id: t10.id.clone(), at: Timestamp(NOW.0 + 1), expected_version: v };
    db.ports.uow.commit(one(use_it(1))).await.unwrap();
    assert!(db.ports.uow.commit(one(use_it(1))).await.is_err(), "a refresh token rotates once");

    let revoke = Write::RevokeFamily { family_id: t10.family_id.clone(), at: Timestamp(NOW.0 + 2) };
    db.ports.uow.commit(one(revoke.clone())).await.unwrap();
    db.ports.uow.commit(one(revoke)).await.expect("revoking again is a no-op");
    let found = db.ports.tokens.find_session(&t10.hash).await.unwrap().unwrap().token;
    assert_eq!(
        (found.used_at, found.revoked_at, found.version),
        (Some(Timestamp(NOW.0 + 1)), Some(Timestamp(NOW.0 + 2)), 3)
    );
    let other = db.ports.tokens.find_session(&SecretHash::of("secret-20")).await.unwrap().unwrap().token;
    assert_eq!(other.revoked_at, None, "another family is untouched");

    let t20 = other.id.clone();
    db.ports.uow.commit(one(Write::RevokeToken { token_id: t20.clone(), at: NOW })).await.unwrap();
    db.ports.uow.commit(one(Write::RevokeToken { token_id: t20, at: Timestamp(NOW.0 + 5) })).await.unwrap();
    let other = db.ports.tokens.find_session(&SecretHash::of("secret-20")).await.unwrap().unwrap().token;
    assert_eq!(other.revoked_at, Some(NOW), "the first revocation stands");
}

#[tokio::test]
async fn workspaces_and_members_list_oldest_first() {
    let db = fresh().await;
    let (ada, ada_ws) = register(&db.ports, 1, "ada@example.com").await;
    let (bob, bob_ws) = register(&db.ports, 2, "bob@example.com").await;
    let (cy, _) = register(&db.ports, 3, "cy@example.com").await;
    let mut batch = Batch::new();
    batch
        .push(Write::CreateMembership(membership(&bob_ws, &ada, Role::Viewer)))
        .push(Write::CreateMembership(membership(&bob_ws, &cy, Role::Member)));
    db.ports.uow.commit(batch).await.unwrap();

    let listed = db.ports.workspaces.list_for_user(&ada.id).await.unwrap();
    let ids: Vec<_> = listed.iter().map(|(w, r)| (w.id.clone(), *r)).collect();
    assert_eq!(ids, vec![(ada_ws.id.clone(), Role::Owner), (bob_ws.id.clone(), Role::Viewer)]);
    assert_eq!(listed[0].0, ada_ws);
    assert_eq!(db.ports.workspaces.member_count(&bob_ws.id).await.unwrap(), 3);
    assert_eq!(db.ports.workspaces.member_count(&ada_ws.id).await.unwrap(), 1);

    let members = db.ports.memberships.list(&bob_ws.id).await.unwrap();
    let users: Vec<_> = members.iter().map(|m| m.user.clone()).collect();
    assert_eq!(users, vec![bob.clone(), ada.clone(), cy.clone()]);

    let set = |v| Write::SetMemberRole {
        workspace_id: bob_ws.id.clone(),
        user_id: cy.id.clone(),
        role: Role::Admin,
        expected_version: v,
    };
    db.ports.uow.commit(one(set(1))).await.unwrap();
    assert!(db.ports.uow.commit(one(set(1))).await.is_err());
    let m = db.ports.memberships.get(&bob_ws.id, &cy.id).await.unwrap().unwrap();
    assert_eq!((m.role, m.version), (Role::Admin, 2));
    assert_eq!(db.ports.memberships.get(&ada_ws.id, &cy.id).await.unwrap(), None);
}

fn invite(n: u32, ws: &burstflare_core::model::Workspace, by: &UserId, expires_at: Timestamp) -> Invite {
    Invite {
        id: InviteId::from_raw(format!("inv_{n}")),
        code_hash: SecretHash::of(&format!("invite-{n}")),
        workspace_id: ws.id.clone(),
        email: format!("guest{n}@example.com"),
        role: Role::Member,
        status: InviteStatus::Pending,
        created_by_user_id: by.clone(),
        created_at: NOW,
        expires_at,
        accepted_at: None,
        accepted_by_user_id: None,
        version: 1,
    }
}

#[tokio::test]
async fn invites_list_pending_unexpired_and_accept_once() {
    let db = fresh().await;
    let (ada, ws) = register(&db.ports, 1, "ada@example.com").await;
    let (bob, _) = register(&db.ports, 2, "bob@example.com").await;
    let later = Timestamp(NOW.0 + 1_000);
    let mut batch = Batch::new();
    for (n, expires) in [(1, later), (2, NOW), (3, later)] {
        batch.push(Write::CreateInvite(invite(n, &ws, &ada.id, expires)));
    }
    db.ports.uow.commit(batch).await.unwrap();
    let pending = db.ports.invites.list_pending(&ws.id, NOW).await.unwrap();
    let ids: Vec<_> = pending.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["inv_1", "inv_3"], "an invite expiring now has expired");

    let accept = |v| Write::AcceptInvite {
        invite_id: InviteId::from_raw("inv_1"),
        user_id: bob.id.clone(),
        at: NOW,
        expected_version: v,
    };
    db.ports.uow.commit(one(accept(1))).await.unwrap();
    assert!(db.ports.uow.commit(one(accept(1))).await.is_err());
    let found = db.ports.invites.find_by_code(&SecretHash::of("invite-1")).await.unwrap().unwrap();
    assert_eq!((found.status, found.accepted_at, found.version), (InviteStatus::Accepted, Some(NOW), 2));
    assert_eq!(found.accepted_by_user_id, Some(bob.id.clone()));
    assert_eq!(db.ports.invites.list_pending(&ws.id, NOW).await.unwrap().len(), 1);
    let mut third = invite(3, &ws, &ada.id, later);
    third.id = InviteId::from_raw("inv_4");
    assert!(db.ports.uow.commit(one(Write::CreateInvite(third))).await.is_err(), "code hashes are unique");
}

fn device(n: u32) -> DeviceAuthorization {
    DeviceAuthorization {
        id: DeviceId::from_raw(format!("dev_{n}")),
        device_code_hash: SecretHash::of(&format!("device-{n}")),
        user_code_hash: SecretHash::of(&format!("USER{n}")),
        status: DeviceStatus::Pending,
        user_id: None,
        workspace_id: None,
        created_at: NOW,
        expires_at: Timestamp(NOW.0 + 600_000),
        decided_at: None,
        version: 1,
    }
}

#[tokio::test]
async fn device_codes_are_decided_and_exchanged_once() {
    let db = fresh().await;
    let (ada, ws) = register(&db.ports, 1, "ada@example.com").await;
    db.ports.uow.commit(one(Write::CreateDevice(device(1)))).await.unwrap();
    db.ports.uow.commit(one(Write::CreateDevice(device(2)))).await.unwrap();
    let by_user = db.ports.devices.find_by_user_code(&SecretHash::of("USER1")).await.unwrap();
    assert_eq!(by_user, Some(device(1)));

    let decide = |n: u32, approved, v| Write::DecideDevice {
        device_id: DeviceId::from_raw(format!("dev_{n}")),
        approved,
        user_id: ada.id.clone(),
        workspace_id: ws.id.clone(),
        at: NOW,
        expected_version: v,
    };
    db.ports.uow.commit(one(decide(1, true, 1))).await.unwrap();
    assert!(db.ports.uow.commit(one(decide(1, false, 1))).await.is_err());
    db.ports.uow.commit(one(decide(2, false, 1))).await.unwrap();
    let approved = db.ports.devices.find_by_device_code(&SecretHash::of("device-1")).await.unwrap().unwrap();
    assert_eq!((approved.status, approved.decided_at, approved.version), (DeviceStatus::Approved, Some(NOW), 2));
    assert_eq!((approved.user_id, approved.workspace_id), (Some(ada.id.clone()), Some(ws.id.clone())));
    let denied = db.ports.devices.find_by_device_code(&SecretHash::of("device-2")).await.unwrap().unwrap();
    assert_eq!((denied.status, denied.user_id), (DeviceStatus::Denied, None));

    let exchange = Write::ExchangeDevice { device_id: approved.id.clone(), expected_version: 2 };
    db.ports.uow.commit(one(exchange.clone())).await.unwrap();
    assert!(db.ports.uow.commit(one(exchange)).await.is_err(), "a code is exchanged once");
    let done = db.ports.devices.find_by_device_code(&SecretHash::of("device-1")).await.unwrap().unwrap();
    assert_eq!((done.status, done.version), (DeviceStatus::Exchanged, 3));
}

#[tokio::test]
async fn audit_lists_newest_first_with_json_details() {
    let db = fresh().await;
    let (_, ws) = register(&db.ports, 1, "ada@example.com").await;
    let (_, other) = register(&db.ports, 2, "bob@example.com").await;
    let mut batch = Batch::new();
    for n in 1..=5 {
        batch.push(audit(n, &ws));
    }
    batch.push(audit(6, &other));
    db.ports.uow.commit(batch).await.unwrap();
    let entries = db.ports.audit.list(&ws.id, 3).await.unwrap();
    let ids: Vec<_> = entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["audit_5", "audit_4", "audit_3"], "same instant: newest insert first");
    let Write::Audit(expected) = audit(5, &ws) else { unreachable!() };
    assert_eq!(entries[0], expected);
}
