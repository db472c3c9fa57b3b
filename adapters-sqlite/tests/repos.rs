//! Round trips through every repository: what a batch writes, the reads return, in the promised
//! order. (The cross-adapter contract suite in `tests` covers behaviour; these pin the SQL.)

mod common;

use burstflare_core::secret::SecretHash;
use burstflare_core::store::{Batch, Write};
use burstflare_core::values::{Role, TokenKind};
use common::{audit, fresh, membership, register, token};

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
