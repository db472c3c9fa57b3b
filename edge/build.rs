//! Embeds the web app: writes `$OUT_DIR/web_assets.rs`, a table of every file under `web/dist`
//! (built by `scripts/build-web`) as `(path, include_bytes!(…))`. Without `web/dist` the table is
//! empty and the native server answers `/` with a page saying how to build the app: compiling
//! never needs Node.js or the network, and a built app is picked up by the next `cargo build`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let web = manifest.join("../web");
    let dist = web.join("dist");
    // A missing path counts as changed on every build; watch the source folder until dist exists.
    let watched = if dist.exists() { &dist } else { &web };
    println!("cargo:rerun-if-changed={}", watched.display());
    let mut files = Vec::new();
    collect(&dist, &dist, &mut files);
    files.sort();
    let mut out = String::from("/// Every file of `web/dist`: its path below `dist` and its bytes.\n");
    out.push_str("pub static ASSETS: &[(&str, &[u8])] = &[\n");
    for (relative, absolute) in &files {
        let _ = writeln!(out, "    ({relative:?}, include_bytes!({:?})),", absolute.display().to_string());
    }
    out.push_str("];\n");
    let target = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("web_assets.rs");
    std::fs::write(target, out).expect("writing web_assets.rs");
}

/// The files below `dir` (skipping dot files, like the build's `.built` stamp).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let relative = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>();
            files.push((relative.join("/"), path.canonicalize().unwrap_or(path)));
        }
    }
}
