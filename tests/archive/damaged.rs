//! Archives a decoder or a file system would notice only too late: a gzip stream whose checksum does not
//! match what it holds, bytes after the stream, a zip naming one file twice, names longer than a file system
//! writes, and sparse files. Each is refused before anything is written, with a message naming the fault.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use gauntlet::archive::ArchiveError;

use super::support::{files, gz, raw_header, tar_of, zip_of, Workspace, DOCKERFILE};

const APP: &[u8] = b"print('the learner wrote this')\n";

fn project_tar() -> Vec<u8> {
    tar_of(&files(&[("Dockerfile", DOCKERFILE), ("app.py", APP)]))
}

/// A gzip stream of stored (uncompressed) blocks: a byte of the content can be changed without breaking
/// the deflate structure, so only the trailer's CRC-32 can tell.
fn stored_gz(bytes: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::none());
    gz.write_all(bytes).expect("gz write");
    gz.finish().expect("gz finish")
}

fn assert_damaged(ws: &Workspace, bytes: &[u8], needle: &str) {
    let err = ws.unpack(bytes).expect_err("refused");
    assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("the archive is damaged") && text.contains(needle),
        "{text}"
    );
    assert!(err.is_learner_fault());
    ws.assert_untouched();
}

#[test]
fn a_tar_gz_whose_content_does_not_match_its_checksum_is_refused_as_damaged() {
    let good = stored_gz(&project_tar());
    Workspace::new()
        .unpack(&good)
        .expect("the intact archive unpacks");
    let at = good
        .windows(APP.len())
        .position(|w| w == APP)
        .expect("content stored as is");
    let mut altered = good.clone();
    altered[at] = b'P';
    assert_damaged(&Workspace::new(), &altered, "checksum");
}

#[test]
fn a_tar_gz_whose_trailer_is_wrong_is_refused_as_damaged() {
    let good = gz(&project_tar());
    let ws = Workspace::new();
    let mut crc = good.clone();
    let at = crc.len() - 8;
    crc[at] ^= 0xff;
    assert_damaged(&ws, &crc, "checksum");
    let mut length = good;
    let at = length.len() - 4;
    length[at] ^= 0x01;
    assert_damaged(&ws, &length, "checksum");
}

#[test]
fn bytes_after_the_gzip_stream_make_the_archive_damaged() {
    let mut bytes = gz(&project_tar());
    bytes.extend_from_slice(b"appended by something else");
    assert_damaged(&Workspace::new(), &bytes, "gzip");
}

#[test]
fn a_tar_gz_of_several_gzip_members_is_one_valid_stream() {
    let tar = project_tar();
    let (first, second) = tar.split_at(700);
    let mut bytes = gz(first);
    bytes.extend(gz(second));
    let ws = Workspace::new();
    let unpacked = ws.unpack(&bytes).expect("unpacks");
    assert_eq!(unpacked.files, 2);
    assert_eq!(
        std::fs::read(ws.dest().join("app.py")).expect("app.py"),
        APP
    );
}

#[test]
fn more_than_padding_after_the_end_of_the_tar_is_refused() {
    let mut tar = project_tar();
    tar.extend(std::iter::repeat_n(0u8, 2 << 20));
    assert_damaged(
        &Workspace::new(),
        &gz(&tar),
        "follows the end of the tar archive",
    );
}

#[test]
fn a_zip_with_two_members_of_the_same_name_is_refused_naming_it() {
    let mut bytes = zip_of(&[
        ("Dockerfile", DOCKERFILE),
        ("app.py", b"first"),
        ("bpp.py", b"second"),
    ]);
    // The zip writer refuses duplicates, so rename the third member in its local and central headers.
    let mut renamed = 0;
    for at in 0..bytes.len() - 6 {
        if &bytes[at..at + 6] == b"bpp.py" {
            bytes[at] = b'a';
            renamed += 1;
        }
    }
    assert_eq!(renamed, 2, "local and central header");
    let ws = Workspace::new();
    let err = ws.unpack(&bytes).expect_err("refused");
    assert!(
        matches!(err, ArchiveError::Conflict { ref path } if path == "app.py"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("`app.py` appears more than once"),
        "{err}"
    );
    ws.assert_untouched();
}

#[test]
fn a_file_name_longer_than_a_file_system_allows_is_refused_before_writing() {
    let ws = Workspace::new();
    let long = format!("src/{}.py", "a".repeat(300));
    let err = ws
        .unpack(&zip_of(&[("Dockerfile", DOCKERFILE), (&long, APP)]))
        .expect_err("refused");
    assert!(
        matches!(
            err,
            ArchiveError::NameTooLong {
                len: 303,
                limit: 255,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_learner_fault());
    let text = err.to_string();
    assert!(
        text.contains("has a name of 303 bytes; a file or folder name may be at most 255 bytes"),
        "{text}"
    );
    assert!(text.len() < 200, "the name is shortened: {text}");
    ws.assert_untouched();

    // The same in a tar, where a long name travels in a GNU long-name header.
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in [("Dockerfile", DOCKERFILE), (long.as_str(), APP)] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        tar.append_data(&mut header, name, data).expect("append");
    }
    let bytes = tar.into_inner().expect("tar");
    let err = ws.unpack(&gz(&bytes)).expect_err("refused");
    assert!(matches!(err, ArchiveError::NameTooLong { .. }), "{err:?}");
    ws.assert_untouched();
}

#[test]
fn a_name_of_255_bytes_is_written() {
    let ws = Workspace::new();
    let name = "b".repeat(255);
    ws.unpack(&zip_of(&[("Dockerfile", DOCKERFILE), (&name, APP)]))
        .expect("unpacks");
    assert_eq!(std::fs::read(ws.dest().join(&name)).expect("read"), APP);
}

#[test]
fn a_gnu_sparse_file_is_refused_and_named_with_its_apparent_size() {
    const TB: u64 = 1 << 40;
    let mut header = tar::Header::new_gnu();
    header.set_path("disk.img").expect("path");
    header.set_entry_type(tar::EntryType::GNUSparse);
    header.set_mode(0o644);
    header.set_size(512);
    let gnu = header.as_gnu_mut().expect("gnu header");
    gnu.set_real_size(TB);
    // One block of data at the very end; everything before it is a hole.
    gnu.sparse[0].set_offset(TB - 512);
    gnu.sparse[0].set_length(512);
    header.set_cksum();
    let mut tar = tar::Builder::new(Vec::new());
    let mut dockerfile = raw_header(
        "Dockerfile",
        tar::EntryType::Regular,
        DOCKERFILE.len() as u64,
        None,
    );
    dockerfile.set_cksum();
    tar.append(&dockerfile, DOCKERFILE).expect("dockerfile");
    tar.append(&header, &[1u8; 512][..]).expect("sparse");
    let bytes = gz(&tar.into_inner().expect("tar"));
    assert!(bytes.len() < 4096, "a terabyte in {} bytes", bytes.len());

    let ws = Workspace::new();
    let err = ws.unpack(&bytes).expect_err("refused");
    assert!(
        matches!(err, ArchiveError::SparseFile { ref path, apparent } if path == "disk.img" && apparent == TB),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("`disk.img` is a sparse file (1024 GB once its holes are filled)"),
        "{text}"
    );
    assert!(!text.contains("device"), "{text}");
    ws.assert_untouched();
}

/// One PAX record: its length counts itself.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}{body}").len() != len {
        len += 1;
    }
    format!("{len}{body}").into_bytes()
}

#[test]
fn a_pax_sparse_file_is_refused_under_its_real_name() {
    let records: Vec<u8> = [
        ("GNU.sparse.major", "1"),
        ("GNU.sparse.minor", "0"),
        ("GNU.sparse.name", "data/disk.img"),
        ("GNU.sparse.realsize", "1099511627776"),
    ]
    .iter()
    .flat_map(|(k, v)| pax_record(k, v))
    .collect();
    let map = b"1\n1099511627264\n512\n";
    let mut data = map.to_vec();
    data.resize(512, 0);
    data.extend([1u8; 512]);
    let mut tar = tar::Builder::new(Vec::new());
    for (name, kind, body) in [
        ("Dockerfile", tar::EntryType::Regular, DOCKERFILE),
        ("PaxHeaders/disk.img", tar::EntryType::XHeader, &records[..]),
        (
            "GNUSparseFile.0/disk.img",
            tar::EntryType::Regular,
            &data[..],
        ),
    ] {
        let mut header = raw_header(name, kind, body.len() as u64, None);
        header.set_cksum();
        tar.append(&header, body).expect("append");
    }
    let ws = Workspace::new();
    let err = ws
        .unpack(&gz(&tar.into_inner().expect("tar")))
        .expect_err("refused");
    assert!(
        matches!(err, ArchiveError::SparseFile { ref path, apparent } if path == "data/disk.img" && apparent == 1 << 40),
        "{err:?}"
    );
    ws.assert_untouched();
}
