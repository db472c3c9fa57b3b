//! Test bundles: tar.gz archives built in memory, well-formed or hostile on purpose.

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::Value;

/// A tar.gz with the given files (path, contents) and, if given, `burstflare.json`.
pub fn bundle(files: &[(&str, &str)], manifest: Option<&Value>) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    let mut add = |path: &str, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, data).expect("append");
    };
    for (path, contents) in files {
        add(path, contents.as_bytes());
    }
    if let Some(manifest) = manifest {
        add("burstflare.json", manifest.to_string().as_bytes());
    }
    builder.into_inner().expect("tar").finish().expect("gzip")
}

/// A tar.gz whose one entry has a raw name written straight into the header (so names the tar
/// crate would refuse, like `../evil`, can be made), optionally as a symlink to `link`.
pub fn hostile(name: &str, link: Option<&str>) -> Vec<u8> {
    let mut header = tar::Header::new_old();
    {
        let raw = header.as_old_mut();
        raw.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(target) = link {
            raw.linkname[..target.len()].copy_from_slice(target.as_bytes());
        }
    }
    header.set_mode(0o644);
    let data: &[u8] = if link.is_some() { b"" } else { b"pwned" };
    header.set_size(data.len() as u64);
    header.set_entry_type(if link.is_some() { tar::EntryType::Symlink } else { tar::EntryType::Regular });
    header.set_cksum();
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    builder.append(&header, data).expect("append");
    builder.into_inner().expect("tar").finish().expect("gzip")
}
