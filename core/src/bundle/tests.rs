//! Archives built with the `tar` and `flate2` crates (names and link targets written raw where the
//! `tar` crate would refuse them), fed to the inspector in 7-byte chunks.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use ::tar::{Builder, EntryType, Header};
use flate2::write::GzEncoder;
use flate2::{Compression, Crc, GzBuilder};
use sha2::{Digest, Sha256};

use super::*;

type Tar = Builder<Vec<u8>>;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The uncompressed tar, end-of-archive marker included.
fn tar_bytes(entries: impl FnOnce(&mut Tar)) -> Vec<u8> {
    let mut builder = Builder::new(Vec::new());
    entries(&mut builder);
    builder.into_inner().unwrap()
}

fn archive(entries: impl FnOnce(&mut Tar)) -> Vec<u8> {
    gzip(&tar_bytes(entries))
}

/// One entry whose name and link target go into the header as given.
fn raw(tar: &mut Tar, name: &str, kind: EntryType, link: &str, data: &[u8]) {
    let mut header = Header::new_gnu();
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append(&header, data).unwrap();
}

fn file(tar: &mut Tar, name: &str, data: &[u8]) {
    raw(tar, name, EntryType::Regular, "", data);
}

/// One PAX record, `"<len> key=value\n"`, whose length counts its own digits.
fn pax(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while len != body.len() + len.to_string().len() {
        len = body.len() + len.to_string().len();
    }
    format!("{len}{body}").into_bytes()
}

fn inspect_with(bytes: &[u8], limits: Limits) -> Result<BundleReport, BundleError> {
    inspect_in_chunks(bytes, limits, 7)
}

fn inspect_in_chunks(bytes: &[u8], limits: Limits, size: usize) -> Result<BundleReport, BundleError> {
    let mut inspector = BundleInspector::new(limits);
    for chunk in bytes.chunks(size) {
        inspector.feed(chunk)?;
    }
    inspector.finish()
}

fn inspect(bytes: &[u8]) -> Result<BundleReport, BundleError> {
    inspect_with(bytes, Limits::default())
}

fn escapes(what: &str) -> Result<BundleReport, BundleError> {
    Err(BundleError::PathEscapes(what.to_string()))
}

fn assert_logged(report: &BundleReport, line: &str) {
    assert!(report.log.iter().any(|l| l.starts_with(line)), "no `{line}` in {:#?}", report.log);
}

#[test]
fn a_normal_archive_is_counted_and_logged() {
    let bytes = archive(|t| {
        raw(t, "./", EntryType::Directory, "", b"");
        raw(t, "./app/", EntryType::Directory, "", b"");
        raw(t, "./app/src/", EntryType::Directory, "", b"");
        // 100 kB that hardly compresses, so it inflates in several steps.
        let noise: Vec<u8> = (0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        file(t, "./app/src/main.rs", &noise);
        file(t, "README.md", b"hello");
        raw(t, "./app/readme", EntryType::Symlink, "../README.md", b"");
        raw(t, "app/src/current", EntryType::Symlink, "./main.rs", b"");
        raw(t, "app/copy", EntryType::Link, "./README.md", b"");
    });
    let report = inspect(&bytes).unwrap();
    assert_eq!((report.files, report.directories, report.links, report.unpacked_bytes), (2, 3, 3, 100_005));
    assert_eq!(report.compressed_bytes, bytes.len() as u64);
    assert_eq!(report.sha256_hex, hex::encode(Sha256::digest(&bytes)));
    assert_eq!(report.manifest, None);
    assert_logged(&report, "gzip: ok");
    assert_logged(&report, "tar: ok (headers checksummed, end-of-archive marker present)");
    assert_logged(&report, "entries: 2 files, 3 directories, 3 links");
    assert_logged(&report, "unpacked: 100005 bytes");
    assert_logged(&report, "manifest: no burstflare.json");
    for size in [1, 512, 65_536, bytes.len()] {
        assert_eq!(inspect_in_chunks(&bytes, Limits::default(), size).as_ref(), Ok(&report), "in chunks of {size}");
    }
}

#[test]
fn the_root_manifest_is_returned() {
    let manifest = br#"{"name":"python","image":"python:3.12"}"#;
    let bytes = archive(|t| {
        file(t, "sub/burstflare.json", b"{}");
        file(t, "./burstflare.json", manifest);
    });
    let report = inspect(&bytes).unwrap();
    assert_eq!(report.manifest.as_deref(), Some(&manifest[..]));
    assert_logged(&report, &format!("manifest: burstflare.json found ({} bytes)", manifest.len()));

    let limits = Limits { max_manifest_bytes: manifest.len() as u64 - 1, ..Limits::default() };
    assert_eq!(inspect_with(&bytes, limits), Err(BundleError::ManifestTooLarge));
    let linked = archive(|t| raw(t, "burstflare.json", EntryType::Symlink, "other.json", b""));
    assert!(matches!(inspect(&linked), Err(BundleError::UnsupportedEntry(e)) if e.starts_with("burstflare.json")));
}

#[test]
fn not_gzip_is_refused_at_once() {
    let mut inspector = BundleInspector::new(Limits::default());
    assert_eq!(inspector.feed(b"PK\x03\x04"), Err(BundleError::NotGzip));
    assert_eq!(inspector.feed(&archive(|t| file(t, "a", b"a"))), Err(BundleError::NotGzip), "errors stick");
    assert_eq!(inspect(&tar_bytes(|t| file(t, "a", b"a"))), Err(BundleError::NotGzip));
    assert_eq!(inspect(b""), Err(BundleError::NotGzip));
}

#[test]
fn a_truncated_stream_is_refused() {
    let tar = tar_bytes(|t| file(t, "big", &[7; 20_000]));
    let bytes = gzip(&tar);
    assert_eq!(inspect(&bytes[..bytes.len() / 2]), Err(BundleError::Truncated));
    assert_eq!(inspect(&bytes[..bytes.len() - 3]), Err(BundleError::Truncated), "in the gzip trailer");
    assert_eq!(inspect(&gzip(&tar[..10_000])), Err(BundleError::Truncated), "inside an entry");
    assert_eq!(inspect(&gzip(&tar[..300])), Err(BundleError::Truncated), "inside a header");
}

#[test]
fn a_missing_end_marker_is_tolerated_only_at_an_entry_boundary() {
    let mut tar = tar_bytes(|t| file(t, "a", b"a"));
    let report = inspect(&gzip(&tar[..1024])).unwrap();
    assert_logged(&report, "tar: ok (headers checksummed, no end-of-archive marker");
    tar.resize(10_240, 0);
    assert_eq!(inspect(&gzip(&tar)).map(|r| r.files), Ok(1), "zero padding to a 10 KiB record");
    tar.extend_from_slice(&[1; 512]);
    assert_eq!(inspect(&gzip(&tar)), Err(BundleError::Corrupt("data after the end-of-archive marker".into())));
}

#[test]
fn corrupt_checksums_are_refused() {
    let mut tar = tar_bytes(|t| file(t, "a.txt", b"a"));
    tar[0] = b'b';
    assert_eq!(inspect(&gzip(&tar)), Err(BundleError::Corrupt("b.txt: header checksum mismatch".into())));

    let mut bytes = archive(|t| file(t, "a.txt", b"a"));
    let crc_at = bytes.len() - 8;
    bytes[crc_at] ^= 1;
    assert_eq!(inspect(&bytes), Err(BundleError::Corrupt("gzip CRC-32 or length mismatch".into())));
}

#[test]
fn optional_gzip_header_fields_are_read() {
    let tar = tar_bytes(|t| file(t, "a", b"a"));
    let mut encoder = GzBuilder::new()
        .extra(vec![1, 2, 3])
        .filename("bundle.tar")
        .comment("c")
        .write(Vec::new(), Compression::default());
    encoder.write_all(&tar).unwrap();
    let bytes = encoder.finish().unwrap();
    assert_eq!(inspect(&bytes).map(|r| r.files), Ok(1));

    // The same header with FHCRC: the low 16 bits of the header's CRC-32 follow it.
    let header_len = 10 + 2 + 3 + "bundle.tar\0".len() + "c\0".len();
    let mut header = bytes[..header_len].to_vec();
    header[3] |= 0x02;
    let mut crc = Crc::new();
    crc.update(&header);
    let with_crc = |crc16: u16| [&header[..], &crc16.to_le_bytes(), &bytes[header_len..]].concat();
    assert_eq!(inspect(&with_crc(crc.sum() as u16)).map(|r| r.files), Ok(1));
    assert_eq!(
        inspect(&with_crc(!crc.sum() as u16)),
        Err(BundleError::Corrupt("gzip header checksum mismatch".into()))
    );

    let mut not_deflate = bytes.clone();
    not_deflate[2] = 7;
    assert_eq!(inspect(&not_deflate), Err(BundleError::Corrupt("gzip compression method 7 is not deflate".into())));
}

#[test]
fn several_gzip_members_make_one_stream() {
    let tar = tar_bytes(|t| {
        file(t, "a", b"a");
        file(t, "b", b"b");
    });
    let bytes = [gzip(&tar[..700]), gzip(&tar[700..])].concat();
    assert_eq!(inspect(&bytes).map(|r| r.files), Ok(2));
    assert_eq!(
        inspect(&[bytes.clone(), b"junk".to_vec()].concat()),
        Err(BundleError::Corrupt("data after the gzip stream".into()))
    );
}

#[test]
fn paths_outside_the_root_are_refused() {
    assert_eq!(inspect(&archive(|t| file(t, "/etc/cron.d/x", b""))), escapes("/etc/cron.d/x"));
    assert_eq!(inspect(&archive(|t| file(t, "../x", b""))), escapes("../x"));
    assert_eq!(inspect(&archive(|t| file(t, "a/../../x", b""))), escapes("a/../../x"));
    let inside_but_dotted = archive(|t| file(t, "a/../b", b""));
    assert_eq!(inspect(&inside_but_dotted), escapes("a/../b"), "any `..` component is refused");
}

#[test]
fn symlinks_must_stay_inside_the_root() {
    let to_passwd = archive(|t| raw(t, "passwd", EntryType::Symlink, "/etc/passwd", b""));
    assert_eq!(inspect(&to_passwd), escapes("passwd -> /etc/passwd (symlink)"));
    let climbing = archive(|t| raw(t, "a/l", EntryType::Symlink, "../../x", b""));
    assert_eq!(inspect(&climbing), escapes("a/l -> ../../x (symlink)"));
    let deep_enough = archive(|t| raw(t, "a/b/l", EntryType::Symlink, "../../x", b""));
    assert_eq!(inspect(&deep_enough).map(|r| r.links), Ok(1));
    let dotted = archive(|t| raw(t, "a/b/l", EntryType::Symlink, "c/../../x", b""));
    assert_eq!(inspect(&dotted), escapes("a/b/l -> c/../../x (symlink)"));
}

#[test]
fn chains_through_symlinks_are_refused() {
    let through = archive(|t| {
        raw(t, "s", EntryType::Symlink, ".", b"");
        raw(t, "s/s/l", EntryType::Symlink, "../../x", b"");
    });
    assert_eq!(inspect(&through), escapes("s/s/l (goes through or replaces a symlink)"));
    let hard_to_symlink = archive(|t| {
        raw(t, "a/b/l", EntryType::Symlink, "../../x", b"");
        raw(t, "h", EntryType::Link, "a/b/l", b"");
    });
    assert_eq!(inspect(&hard_to_symlink), escapes("h -> a/b/l (hard link)"));
}

#[test]
fn hard_links_must_stay_inside_the_root() {
    assert_eq!(
        inspect(&archive(|t| raw(t, "h", EntryType::Link, "../secret", b""))),
        escapes("h -> ../secret (hard link)")
    );
    assert_eq!(
        inspect(&archive(|t| raw(t, "h", EntryType::Link, "/etc/shadow", b""))),
        escapes("h -> /etc/shadow (hard link)")
    );
}

#[test]
fn devices_and_fifos_are_refused() {
    let device = archive(|t| raw(t, "dev/tty", EntryType::Char, "", b""));
    assert_eq!(inspect(&device), Err(BundleError::UnsupportedEntry("dev/tty (character device)".into())));
    let fifo = archive(|t| raw(t, "pipe", EntryType::Fifo, "", b""));
    assert_eq!(inspect(&fifo), Err(BundleError::UnsupportedEntry("pipe (fifo)".into())));
}

#[test]
fn the_entry_limit_holds() {
    let entries = |n: usize| archive(|t| (0..n).for_each(|i| file(t, &format!("f{i}"), b"")));
    let limits = Limits { max_entries: 3, ..Limits::default() };
    assert_eq!(inspect_with(&entries(3), limits).map(|r| r.files), Ok(3));
    assert_eq!(inspect_with(&entries(4), limits), Err(BundleError::TooManyEntries(3)));
}

#[test]
fn the_unpacked_size_limit_holds() {
    let two_files = |second: usize| {
        archive(|t| {
            file(t, "a", &[1; 600]);
            file(t, "b", &vec![2; second]);
        })
    };
    let limits = Limits { max_unpacked_bytes: 1000, ..Limits::default() };
    assert_eq!(inspect_with(&two_files(400), limits).map(|r| r.unpacked_bytes), Ok(1000));
    assert_eq!(inspect_with(&two_files(401), limits), Err(BundleError::TooLarge(1000)));
}

#[test]
fn a_gzip_bomb_is_stopped_early_by_the_ratio() {
    const SIZE: u64 = 50 * 1024 * 1024;
    let mut builder = Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    let mut header = Header::new_gnu();
    header.set_path("zeros").unwrap();
    header.set_size(SIZE);
    header.set_cksum();
    builder.append(&header, std::io::repeat(0).take(SIZE)).unwrap();
    let bytes = builder.into_inner().unwrap().finish().unwrap();

    let started = Instant::now();
    let mut inspector = BundleInspector::new(Limits::default());
    let mut fed = 0;
    let error = bytes.chunks(7).find_map(|chunk| {
        fed += chunk.len();
        inspector.feed(chunk).err()
    });
    let Some(BundleError::RatioExceeded { limit: 100, inflated, .. }) = error else { panic!("{error:?}") };
    assert!(fed < bytes.len() / 10, "stopped after {fed} of {} bytes", bytes.len());
    assert!(inflated < 2 * RATIO_GRACE_BYTES, "inflated {inflated} bytes");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn pax_headers_give_path_linkpath_and_size() {
    let long = format!("{}/burstflare.json", "d".repeat(300));
    let bytes = archive(|t| {
        raw(t, "PaxHeaders/1", EntryType::XHeader, "", &[pax("comment", "hi"), pax("path", &long)].concat());
        file(t, "short-name", b"x");
        raw(t, "PaxHeaders/2", EntryType::XHeader, "", &pax("path", "burstflare.json"));
        file(t, "ignored", b"{}");
    });
    let report = inspect(&bytes).unwrap();
    assert_eq!((report.files, report.manifest.as_deref()), (2, Some(&b"{}"[..])));

    let escaping = archive(|t| {
        raw(t, "PaxHeaders/l", EntryType::XHeader, "", &pax("linkpath", "../../etc"));
        raw(t, "l", EntryType::Symlink, "fine", b"");
    });
    assert_eq!(inspect(&escaping), escapes("l -> ../../etc (symlink)"));

    // The header says 0 bytes; only the PAX size tells where the next header starts.
    let mut header = Header::new_gnu();
    header.set_path("sized").unwrap();
    header.set_cksum();
    let sized = archive(|t| {
        raw(t, "PaxHeaders/s", EntryType::XHeader, "", &pax("size", "5"));
        t.append(&header, &b"hello"[..]).unwrap();
    });
    assert_eq!(inspect(&sized).map(|r| r.unpacked_bytes), Ok(5));

    let malformed = archive(|t| raw(t, "PaxHeaders/m", EntryType::XHeader, "", b"99 path=x\n"));
    assert_eq!(inspect(&malformed), Err(BundleError::Corrupt("PAX header: bad record length".into())));
    let sparse = archive(|t| raw(t, "PaxHeaders/s", EntryType::XHeader, "", &pax("GNU.sparse.size", "9")));
    assert!(matches!(inspect(&sparse), Err(BundleError::UnsupportedEntry(_))));
}

#[test]
fn gnu_long_names_work() {
    let long = format!("{}/file.txt", "n".repeat(200));
    let bytes = archive(|t| {
        let mut header = Header::new_gnu();
        header.set_size(3);
        t.append_data(&mut header, &long, &b"abc"[..]).unwrap();
    });
    assert_eq!(inspect(&bytes).map(|r| (r.files, r.unpacked_bytes)), Ok((1, 3)));

    let escaping_name = archive(|t| {
        raw(t, "././@LongLink", EntryType::GNULongName, "", format!("../{long}\0").as_bytes());
        file(t, "short", b"");
    });
    assert_eq!(inspect(&escaping_name), escapes(&format!("../{long}")));
    let escaping_link = archive(|t| {
        raw(t, "././@LongLink", EntryType::GNULongLink, "", b"/etc/passwd\0");
        raw(t, "l", EntryType::Symlink, "short", b"");
    });
    assert_eq!(inspect(&escaping_link), escapes("l -> /etc/passwd (symlink)"));
}

#[test]
fn the_ustar_prefix_is_part_of_the_name() {
    let with_prefix = |prefix: &[u8], name: &[u8]| {
        let mut header = Header::new_ustar();
        header.as_ustar_mut().unwrap().prefix[..prefix.len()].copy_from_slice(prefix);
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_cksum();
        archive(|t| t.append(&header, &b""[..]).unwrap())
    };
    assert_eq!(inspect(&with_prefix(b"..", b"x")), escapes("../x"));
    assert_eq!(inspect(&with_prefix(b"sub", b"burstflare.json")).map(|r| r.manifest), Ok(None));

    // GNU headers keep access and change times where ustar has its prefix.
    let mut gnu = Header::new_gnu();
    gnu.as_gnu_mut().unwrap().atime.copy_from_slice(b"14000000000\0");
    gnu.as_old_mut().name[..15].copy_from_slice(b"burstflare.json");
    gnu.set_cksum();
    let bytes = archive(|t| t.append(&gnu, &b""[..]).unwrap());
    assert_eq!(inspect(&bytes).map(|r| r.manifest), Ok(Some(Vec::new())));
}

#[test]
fn an_archive_with_no_entries_is_empty() {
    // A gzip of zero bytes, of only the end-of-archive marker, of only zero padding.
    for tar in [Vec::new(), tar_bytes(|_| {}), vec![0; 10_240]] {
        assert_eq!(inspect(&gzip(&tar)), Err(BundleError::Empty), "{} tar bytes", tar.len());
    }
    // A global PAX header is no entry either.
    let only_global = tar_bytes(|t| {
        let records = pax("comment", "nothing here");
        let mut header = Header::new_ustar();
        header.set_entry_type(EntryType::XGlobalHeader);
        header.set_size(records.len() as u64);
        header.set_cksum();
        t.append(&header, &records[..]).unwrap();
    });
    assert_eq!(inspect(&gzip(&only_global)), Err(BundleError::Empty));
    let one_dir = archive(|t| raw(t, "./", EntryType::Directory, "", b""));
    assert_eq!(inspect(&one_dir).map(|r| r.directories), Ok(1), "one entry is enough");
}
