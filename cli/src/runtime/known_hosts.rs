//! The CLI's own `known_hosts` file (beside its config), where each session's SSH host key is
//! pinned under its alias (`burstflare-<session id>`), so `ssh` checks it strictly and never
//! sees a changed key after a restart; and the managed block of `Host` entries that
//! `burstflare ssh-config` keeps in `~/.ssh/config`, replaced as a whole and nothing else touched.

use crate::error::{CliError, Result};
use std::path::{Path, PathBuf};

/// Lines between these markers belong to `burstflare ssh-config`.
pub const BEGIN: &str = "# >>> burstflare ssh-config (managed: edits inside are replaced) >>>";
pub const END: &str = "# <<< burstflare ssh-config <<<";

/// `known_hosts` beside the config file.
pub fn path_beside(config: &Path) -> PathBuf {
    config.parent().map_or_else(|| PathBuf::from("known_hosts"), |dir| dir.join("known_hosts"))
}

/// `text` with `alias`'s line set to `key` (added, or replaced if it changed).
pub fn with_key(text: &str, alias: &str, key: &str) -> String {
    let line = format!("{alias} {key}");
    let mut out: Vec<&str> = text.lines().filter(|l| l.split_whitespace().next() != Some(alias)).collect();
    out.push(&line);
    out.join("\n") + "\n"
}

/// `text` with the managed block replaced by `block` (appended when there was none; removed when
/// `block` is empty). Everything outside the markers stays as it was.
pub fn with_block(text: &str, block: &str) -> String {
    let mut outside = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        match line.trim() {
            l if l == BEGIN => inside = true,
            l if l == END => inside = false,
            _ if !inside => outside.push(line),
            _ => {}
        }
    }
    while outside.last().is_some_and(|l| l.trim().is_empty()) {
        outside.pop();
    }
    let mut out = outside.join("\n");
    if !block.is_empty() {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(&format!("{BEGIN}\n{}\n{END}", block.trim_end()));
    }
    out.push('\n');
    out
}

/// Writes `text` to `path` in one step (temp file and rename), creating its folder.
pub fn write(path: &Path, text: &str) -> Result<()> {
    let io = |what: &str, e: std::io::Error| CliError::new("io", format!("cannot {what} {}: {e}", path.display()));
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io("create the folder of", e))?;
    let temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io("write", e))?;
    std::fs::write(temp.path(), text).map_err(|e| io("write", e))?;
    temp.persist(path).map_err(|e| io("replace", e.error))?;
    Ok(())
}

/// The file's text, or empty when it does not exist.
pub fn read(path: &Path) -> Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(CliError::new("io", format!("cannot read {}: {e}", path.display()))),
    }
}

/// Quotes a word for the shell `ssh` runs a `ProxyCommand` with.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "/._-:=@%+,".contains(c)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_added_once_and_replaced_when_it_changes() {
        let once = with_key("", "burstflare-ses_1", "ssh-ed25519 AAAA1");
        assert_eq!(once, "burstflare-ses_1 ssh-ed25519 AAAA1\n");
        let other = with_key(&once, "burstflare-ses_2", "ssh-ed25519 BBBB");
        assert_eq!(with_key(&other, "burstflare-ses_1", "ssh-ed25519 AAAA1").lines().count(), 2);
        let changed = with_key(&other, "burstflare-ses_1", "ssh-ed25519 CCCC");
        assert!(changed.contains("burstflare-ses_1 ssh-ed25519 CCCC") && !changed.contains("AAAA1"));
    }

    #[test]
    fn the_block_is_replaced_and_the_rest_kept() {
        let user = "Host work\n  User me\n";
        let first = with_block(user, "Host burstflare-a\n  User x");
        assert!(first.starts_with(user) && first.contains(BEGIN) && first.ends_with(&format!("{END}\n")));
        let second = with_block(&first, "Host burstflare-b\n  User y");
        assert!(second.contains("burstflare-b") && !second.contains("burstflare-a"));
        assert_eq!(with_block(&second, "Host burstflare-b\n  User y"), second, "idempotent");
        assert_eq!(with_block(&second, ""), user, "an empty block removes itself");
        let after = format!("{second}Host later\n");
        assert!(with_block(&after, "Host burstflare-c").contains("Host later"));
    }

    #[test]
    fn words_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("/usr/bin/burstflare"), "/usr/bin/burstflare");
        assert_eq!(shell_quote("http://127.0.0.1:8787"), "http://127.0.0.1:8787");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
