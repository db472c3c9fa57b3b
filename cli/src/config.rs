//! The CLI's config file: where it lives, what it keeps between runs (server URL, the token pair,
//! the current workspace and email), and how it is written: atomically (temp file + rename), the
//! file 0600 and a directory it creates 0700, so a crash never leaves half a file and other
//! local users never read the tokens.

use crate::error::{CliError, Result};
use burstflare_api::SignInPayload;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The server used when neither `--url`, `BURSTFLARE_URL` nor the config names one.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8787";

/// What the config file holds. Keys this version does not know are kept as they are.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

impl Config {
    /// The saved access token, if signed in.
    pub fn access_token(&self) -> Option<&str> {
        non_empty(&self.token)
    }

    pub fn refresh_token(&self) -> Option<&str> {
        non_empty(&self.refresh_token)
    }

    pub fn workspace_id(&self) -> Option<&str> {
        non_empty(&self.workspace_id)
    }

    pub fn saved_url(&self) -> Option<&str> {
        non_empty(&self.url)
    }

    /// Remembers a sign-in: the server it was made at and the new token pair.
    pub fn save_sign_in(&mut self, url: &str, sign_in: &SignInPayload) {
        self.url = Some(url.to_string());
        self.token = Some(sign_in.token.clone());
        self.refresh_token = Some(sign_in.refresh_token.clone());
        self.workspace_id = Some(sign_in.workspace.id.clone());
        self.user_email = Some(sign_in.user.email.clone());
    }

    /// Forgets the tokens and workspace; keeps the URL and email for the next sign-in.
    pub fn clear_sign_in_cookies(&mut self) {
        self.token = None;
        self.refresh_token = None;
        self.workspace_id = None;
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Config")
            .field("url", &self.url)
            .field("token", &secret(&self.token))
            .field("refresh_token", &secret(&self.refresh_token))
            .field("workspace_id", &self.workspace_id)
            .field("user_email", &self.user_email)
            .field("other_keys", &self.other.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The config file at one path.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
}

impl ConfigFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// `$XDG_CONFIG_HOME/burstflare/config.json`, else `~/.config/burstflare/config.json`.
    pub fn default_path() -> Result<PathBuf> {
        let xdg = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from).filter(|p| p.is_absolute());
        let home =
            || std::env::var_os("HOME").map(PathBuf::from).filter(|p| p.is_absolute()).map(|h| h.join(".config"));
        xdg.or_else(home).map(|base| base.join("burstflare").join("config.json")).ok_or_else(|| {
            CliError::config("cannot find a config directory; pass --config PATH or set BURSTFLARE_CONFIG")
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the config; a missing file is an empty config.
    pub fn load(&self) -> Result<Config> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(self.io_error("cannot read", e)),
        };
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        serde_json::from_str(&text)
            .map_err(|e| CliError::config(format!("config file {} is not valid: {e}", self.path.display())))
    }

    /// Replaces the file with `config` in one step, readable by its owner only.
    pub fn save(&self, config: &Config) -> Result<()> {
        let mut text = serde_json::to_string_pretty(config).expect("a config always serialises");
        text.push('\n');
        write_atomically(&self.path, text.as_bytes()).map_err(|e| self.io_error("cannot write", e))
    }

    fn io_error(&self, what: &str, e: io::Error) -> CliError {
        CliError::config(format!("{what} config file {}: {e}", self.path.display()))
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    create_private_dir(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let temp = dir.join(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
    let written = (|| {
        let mut file = create_private_file(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written?;
    // Make the rename itself durable where the platform allows opening a directory.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn create_private_file(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Config {
        Config {
            url: Some("http://example.test".into()),
            token: Some("bfa_secret_access".into()),
            refresh_token: Some("bfr_secret_refresh".into()),
            workspace_id: Some("ws_1".into()),
            user_email: Some("ada@example.com".into()),
            other: Map::new(),
        }
    }

    #[test]
    fn missing_file_is_an_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        let file = ConfigFile::new(dir.path().join("nope/config.json"));
        assert_eq!(file.load().unwrap(), Config::default());
    }

    #[test]
    fn save_then_load_round_trips_and_keeps_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        fs::write(&path, r#"{"token":"old","editor":"vim"}"#).unwrap();
        let file = ConfigFile::new(&path);
        let mut config = file.load().unwrap();
        assert_eq!(config.access_token(), Some("old"));
        config.token = sample().token;
        file.save(&config).unwrap();
        let again = file.load().unwrap();
        assert_eq!(again.access_token(), Some("bfa_secret_access"));
        assert_eq!(again.other.get("editor"), Some(&Value::from("vim")));
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers.len(), 1, "no temp file left behind: {leftovers:?}");
    }

    #[cfg(unix)]
    #[test]
    fn save_makes_the_file_0600_and_new_directories_0700() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/burstflare/config.json");
        ConfigFile::new(&path).save(&sample()).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        // Overwriting keeps it private even if someone loosened the old file.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        ConfigFile::new(&path).save(&sample()).unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn empty_strings_count_as_signed_out_and_clear_keeps_url_and_email() {
        let mut config = sample();
        config.token = Some(String::new());
        assert_eq!(config.access_token(), None);
        config.clear_sign_in_cookies();
        assert_eq!((config.refresh_token(), config.workspace_id()), (None, None));
        assert_eq!(config.saved_url(), Some("http://example.test"));
        assert_eq!(config.user_email.as_deref(), Some("ada@example.com"));
    }

    #[test]
    fn debug_never_shows_tokens() {
        let shown = format!("{:?}", sample());
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("<redacted>") && shown.contains("ws_1"));
    }

    #[test]
    fn invalid_json_is_a_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        fs::write(&path, "{not json").unwrap();
        assert_eq!(ConfigFile::new(&path).load().unwrap_err().code, "config");
    }
}
