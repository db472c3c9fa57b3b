//! Where the native server's CSRF key comes from: `BURSTFLARE_CSRF_KEY` when set; otherwise a
//! random key generated once into `csrf.key` (mode 0600) in the data folder, so tokens survive a
//! restart; for an in-memory server, a random key per process.

use crate::csrf::CsrfKey;
use anyhow::Context;
use burstflare_core::ports::Random;
use std::io::Write;
use std::path::Path;

/// The file the generated key is kept in, inside the data folder.
pub const KEY_FILE: &str = "csrf.key";

/// The key from `configured`, or the data folder's file (created if missing), or a fresh one.
pub fn load(configured: Option<&str>, data_dir: Option<&Path>, random: &dyn Random) -> anyhow::Result<CsrfKey> {
    if let Some(key) = configured {
        return CsrfKey::new(key.trim().as_bytes()).map_err(|e| anyhow::anyhow!("BURSTFLARE_CSRF_KEY: {e}"));
    }
    let fresh = || hex::encode(random.bytes32());
    let Some(dir) = data_dir else {
        return CsrfKey::new(fresh()).map_err(anyhow::Error::msg);
    };
    let path = dir.join(KEY_FILE);
    match create_private(&path, &fresh()) {
        Ok(()) => tracing::info!(path = %path.display(), "generated the CSRF key"),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    }
    let stored = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    CsrfKey::new(stored.trim().as_bytes()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Writes `content` to a new file readable by its owner only; fails if the file exists.
fn create_private(path: &Path, content: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(content.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burstflare_core::ids::FamilyId;

    struct Fixed(u8);

    impl Random for Fixed {
        fn uuid(&self) -> uuid::Uuid {
            uuid::Uuid::nil()
        }
        fn bytes32(&self) -> [u8; 32] {
            [self.0; 32]
        }
    }

    #[test]
    fn the_generated_key_is_private_and_kept_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let family = FamilyId::from_raw("fam_x");
        let first = load(None, Some(dir.path()), &Fixed(1)).unwrap();
        let again = load(None, Some(dir.path()), &Fixed(2)).unwrap();
        assert_eq!(first.token(&family), again.token(&family), "the stored key is reused");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let configured = load(Some(&"k".repeat(32)), Some(dir.path()), &Fixed(3)).unwrap();
        assert_ne!(configured.token(&family), first.token(&family), "the configured key wins");
        assert!(load(Some("short"), None, &Fixed(3)).is_err());
        let a = load(None, None, &Fixed(4)).unwrap();
        let b = load(None, None, &Fixed(5)).unwrap();
        assert_ne!(a.token(&family), b.token(&family), "in memory: a key per process");
    }
}
