//! Seeds a fresh data directory with many users, straight through the SQLite store's storage
//! ports in big batches. Each user gets what registration gives it (account, personal workspace, owner
//! membership) plus one live access token, so every table the measured requests touch grows. One
//! argon2 hash is computed up front and reused: seeding 10⁵ users takes seconds, not hours.

use anyhow::Context;
use burstflare_adapters_sqlite::{SqliteStore, DB_FILE};
use burstflare_adapters_system::system_ports;
use burstflare_core::ids::{FamilyId, TokenId, UserId, WorkspaceId};
use burstflare_core::model::{Membership, Token, User, Workspace};
use burstflare_core::ports::Random;
use burstflare_core::secret::{prefix, Secret};
use burstflare_core::store::{Batch, Write};
use burstflare_core::time::Timestamp;
use burstflare_core::values::{ClientKind, DisplayName, Email, Plan, Role, TokenKind};
use std::path::Path;
use std::time::{Duration, Instant};

/// Users per committed batch (four writes each).
const USERS_PER_BATCH: u64 = 5_000;
/// The password behind the shared hash (nobody signs in as a seeded user).
const PASSWORD: &str = "seeded-password";

/// What seeding did.
#[derive(Debug, Clone, Copy)]
pub struct Seeded {
    pub users: u64,
    pub elapsed: Duration,
    /// Size of the database file and its write-ahead log.
    pub db_bytes: u64,
}

/// Creates `users` users in the store at `dir` (which should be empty) and closes it.
pub async fn seed(dir: &Path, users: u64) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let store = SqliteStore::open_in(dir).await.context("opening the store to seed")?;
    let (storage, system) = (store.storage(), system_ports());
    let password_hash = system.hasher.hash(PASSWORD).await?;
    let now = system.clock.now();
    let mut next = 0;
    while next < users {
        let end = (next + USERS_PER_BATCH).min(users);
        let mut batch = Batch::new();
        for i in next..end {
            push_user(&mut batch, system.random.as_ref(), i, &password_hash, now);
        }
        storage.uow.commit(batch).await.with_context(|| format!("committing users {next}..{end}"))?;
        next = end;
    }
    store.close().await;
    let size = |name: String| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
    let db_bytes = size(DB_FILE.to_string()) + size(format!("{DB_FILE}-wal"));
    Ok(Seeded { users, elapsed: started.elapsed(), db_bytes })
}

/// The writes registration would make for user number `i`, plus a live access token.
fn push_user(batch: &mut Batch, random: &dyn Random, i: u64, password_hash: &str, now: Timestamp) {
    let user = User {
        id: UserId::from_uuid(random.uuid()),
        email: Email::from_stored(format!("seed.user{i}@bench.example")),
        name: DisplayName::from_stored(format!("Seed User {i}")),
        created_at: now,
    };
    let workspace = Workspace {
        id: WorkspaceId::from_uuid(random.uuid()),
        name: format!("Seed User {i}'s Workspace"),
        owner_user_id: user.id.clone(),
        plan: Plan::Free,
        created_at: now,
        version: 1,
    };
    let membership = Membership {
        workspace_id: workspace.id.clone(),
        user_id: user.id.clone(),
        role: Role::Owner,
        created_at: now,
        version: 1,
    };
    let token = Token {
        id: TokenId::from_uuid(random.uuid()),
        hash: Secret::new(prefix::ACCESS, random.bytes32()).hash(),
        kind: TokenKind::Access,
        client: ClientKind::Api,
        family_id: FamilyId::from_uuid(random.uuid()),
        user_id: user.id.clone(),
        workspace_id: workspace.id.clone(),
        created_at: now,
        expires_at: now.plus_seconds(24 * 3600),
        used_at: None,
        revoked_at: None,
        version: 1,
        session_id: None,
    };
    batch
        .push(Write::CreateUser { user, password_hash: password_hash.to_string() })
        .push(Write::CreateWorkspace(workspace))
        .push(Write::CreateMembership(membership))
        .push(Write::CreateToken(token));
}
