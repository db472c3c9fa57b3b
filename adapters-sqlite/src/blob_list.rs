//! Listing the objects of an [`FsBlobStore`](crate::FsBlobStore): every file under the root whose
//! key starts with a prefix, temp files of puts still being written (or interrupted) left out.

use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;
use std::path::{Path, PathBuf};

/// The keys under `root` that start with `prefix`, sorted.
pub(crate) async fn list_keys(root: PathBuf, prefix: String) -> PortResult<Vec<String>> {
    tokio::task::spawn_blocking(move || {
        // Start from the deepest folder the prefix names whole, then filter by the prefix itself.
        let folder = prefix.rsplit_once('/').map_or("", |(folder, _)| folder);
        let start = folder.split('/').filter(|s| !s.is_empty()).fold(root.clone(), |p, s| p.join(s));
        let mut keys = Vec::new();
        walk(&start, folder, &mut keys)?;
        keys.retain(|k| k.starts_with(&prefix));
        keys.sort();
        Ok(keys)
    })
    .await
    .map_err(|e| PortError::Other(format!("listing blobs: {e}")))?
}

fn walk(dir: &Path, key_prefix: &str, keys: &mut Vec<String>) -> PortResult<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => return Ok(()),
        Err(e) => return Err(PortError::Unavailable(format!("listing {}: {e}", dir.display()))),
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if crate::blobs::is_temp_name(&name) {
            continue;
        }
        let Some(name) = name.to_str() else { continue };
        let key = if key_prefix.is_empty() { name.to_string() } else { format!("{key_prefix}/{name}") };
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&entry.path(), &key, keys)?,
            Ok(t) if t.is_file() => keys.push(key),
            _ => {}
        }
    }
    Ok(())
}
