//! Specifications for `gauntlet::archive`: what an upload may contain, and that a refused upload leaves no
//! trace, neither in the work folder nor beside it.

#[path = "archive/support.rs"]
mod support;

#[path = "archive/damaged.rs"]
mod damaged;

use std::fs;
use std::io::{Cursor, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;
use gauntlet::archive::{pack, unpack, ArchiveError, ArchiveLimits};
use support::{files, gz, tar_of, zip_of, Workspace, DOCKERFILE};
use tempfile::TempDir;
use zip::write::SimpleFileOptions;

#[test]
fn unpacks_a_zip_with_a_dockerfile_at_the_root() {
    let ws = Workspace::new();
    let bytes = zip_of(&[
        ("Dockerfile", DOCKERFILE),
        ("src/", b""),
        ("src/main.rs", b"fn main() {}"),
    ]);
    let out = ws.unpack(&bytes).expect("unpacks");
    assert_eq!(out.files, 2);
    assert_eq!(out.stripped, None);
    assert_eq!(
        fs::read(ws.dest().join("Dockerfile")).expect("Dockerfile"),
        DOCKERFILE
    );
    assert_eq!(
        fs::read(ws.dest().join("src/main.rs")).expect("main.rs"),
        b"fn main() {}"
    );
}

#[test]
fn unpacks_a_tar_gz_and_keeps_the_executable_bit() {
    let ws = Workspace::new();
    let mut tar = tar::Builder::new(Vec::new());
    for (name, mode, data) in [
        ("Dockerfile", 0o644, DOCKERFILE),
        ("run.sh", 0o755, b"#!/bin/sh\n" as &[u8]),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        tar.append_data(&mut header, name, data).expect("append");
    }
    let bytes = gz(&tar.into_inner().expect("tar"));
    let out = ws.unpack(&bytes).expect("unpacks");
    assert_eq!(out.files, 2);
    let mode = fs::metadata(ws.dest().join("run.sh"))
        .expect("run.sh")
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "run.sh lost its executable bit");
}

#[test]
fn unpacks_a_plain_tar() {
    let ws = Workspace::new();
    let bytes = tar_of(&files(&[("Dockerfile", DOCKERFILE), ("./app", b"x")]));
    assert_eq!(ws.unpack(&bytes).expect("unpacks").files, 2);
    assert!(ws.dest().join("app").is_file());
}

#[test]
fn strips_a_single_folder_wrapping_the_project() {
    let ws = Workspace::new();
    let bytes = zip_of(&[
        ("my-project/", b""),
        ("my-project/Dockerfile", DOCKERFILE),
        ("my-project/src/main.rs", b"fn main() {}"),
        ("__MACOSX/my-project/._Dockerfile", b"resource fork"),
    ]);
    let out = ws.unpack(&bytes).expect("unpacks");
    assert_eq!(out.stripped.as_deref(), Some("my-project"));
    assert!(ws.dest().join("Dockerfile").is_file());
    assert!(ws.dest().join("src/main.rs").is_file());
    assert!(
        !ws.dest().join("__MACOSX").exists(),
        "macOS junk was written"
    );
}

#[test]
fn rejects_zip_slip() {
    let ws = Workspace::new();
    let bytes = zip_of(&[("Dockerfile", DOCKERFILE), ("../evil", b"pwned")]);
    let err = ws.unpack(&bytes).expect_err("refused");
    assert!(
        matches!(err, ArchiveError::UnsafePath { ref path, .. } if path == "../evil"),
        "{err:?}"
    );
    ws.assert_untouched();
}

#[test]
fn rejects_tar_with_parent_components() {
    let ws = Workspace::new();
    let bytes = gz(&tar_of(&files(&[
        ("Dockerfile", DOCKERFILE),
        ("src/../../evil", b"pwned"),
    ])));
    let err = ws.unpack(&bytes).expect_err("refused");
    assert!(matches!(err, ArchiveError::UnsafePath { .. }), "{err:?}");
    assert!(err.to_string().contains("`..`"), "{err}");
    ws.assert_untouched();
}

#[test]
fn rejects_absolute_paths() {
    let ws = Workspace::new();
    let bytes = tar_of(&files(&[
        ("Dockerfile", DOCKERFILE),
        ("/tmp/gauntlet-evil", b"pwned"),
    ]));
    let err = ws.unpack(&bytes).expect_err("refused");
    assert!(
        matches!(err, ArchiveError::UnsafePath { reason, .. } if reason.contains("absolute")),
        "{err:?}"
    );
    assert!(!Path::new("/tmp/gauntlet-evil").exists());
    ws.assert_untouched();
}

#[test]
fn rejects_a_symlink_pointing_out() {
    let ws = Workspace::new();
    let bytes = tar_of(&[
        ("Dockerfile", tar::EntryType::Regular, DOCKERFILE, None),
        ("passwd", tar::EntryType::Symlink, b"", Some("/etc/passwd")),
    ]);
    let err = ws.unpack(&bytes).expect_err("refused");
    assert!(
        matches!(err, ArchiveError::Link { ref path } if path == "passwd"),
        "{err:?}"
    );
    ws.assert_untouched();
}

#[test]
fn rejects_a_symlink_in_a_zip() {
    let ws = Workspace::new();
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("Dockerfile", SimpleFileOptions::default())
        .expect("file");
    zip.write_all(DOCKERFILE).expect("write");
    zip.add_symlink("escape", "../../..", SimpleFileOptions::default())
        .expect("symlink");
    let bytes = zip.finish().expect("finish").into_inner();
    let err = ws.unpack(&bytes).expect_err("refused");
    assert!(matches!(err, ArchiveError::Link { .. }), "{err:?}");
    ws.assert_untouched();
}

#[test]
fn rejects_hard_links_and_devices() {
    let ws = Workspace::new();
    let hard = tar_of(&[
        ("Dockerfile", tar::EntryType::Regular, DOCKERFILE, None),
        ("shadow", tar::EntryType::Link, b"", Some("/etc/shadow")),
    ]);
    assert!(matches!(ws.unpack(&hard), Err(ArchiveError::Link { .. })));
    let device = tar_of(&[
        ("Dockerfile", tar::EntryType::Regular, DOCKERFILE, None),
        ("sda", tar::EntryType::Block, b"", None),
    ]);
    assert!(matches!(
        ws.unpack(&device),
        Err(ArchiveError::SpecialFile { .. })
    ));
    ws.assert_untouched();
}

#[test]
fn rejects_a_decompression_bomb_without_writing_it() {
    let ws = Workspace::new();
    // One gigabyte of zeros behind a Dockerfile; compressed, about a megabyte.
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    let mut header = tar::Header::new_gnu();
    header.set_size(DOCKERFILE.len() as u64);
    tar.append_data(&mut header, "Dockerfile", DOCKERFILE)
        .expect("append");
    let mut header = tar::Header::new_gnu();
    header.set_size(1 << 30);
    tar.append_data(&mut header, "zeros", std::io::repeat(0).take(1 << 30))
        .expect("append bomb");
    let bytes = tar.into_inner().and_then(|gz| gz.finish()).expect("finish");
    eprintln!("bomb: 1 GB compressed to {} bytes", bytes.len());
    assert!(
        bytes.len() < 2 << 20,
        "the bomb must pass the size check and break the ratio first"
    );
    let started = std::time::Instant::now();
    let err = ws.unpack(&bytes).expect_err("refused");
    assert!(
        matches!(err, ArchiveError::RatioTooHigh { limit: 100, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("decompression bomb"), "{err}");
    eprintln!(
        "bomb of {} bytes refused in {:?}: {err}",
        bytes.len(),
        started.elapsed()
    );
    ws.assert_untouched();
}

#[test]
fn rejects_contents_over_the_unpacked_limit() {
    let ws = Workspace::new();
    let big = vec![7u8; 2 << 20];
    let bytes = zip_of(&[("Dockerfile", DOCKERFILE), ("big.bin", &big)]);
    let limits = ArchiveLimits {
        max_unpacked_bytes: 1 << 20,
        ..ArchiveLimits::default()
    };
    let err = unpack(&bytes, &ws.dest(), &limits).expect_err("refused");
    assert!(
        matches!(err, ArchiveError::UnpackedTooLarge { limit } if limit == 1 << 20),
        "{err:?}"
    );
    ws.assert_untouched();
}

#[test]
fn rejects_too_many_files() {
    let ws = Workspace::new();
    let names: Vec<String> = (0..2001).map(|i| format!("f/{i}.txt")).collect();
    let mut entries: Vec<(&str, &[u8])> = vec![("Dockerfile", DOCKERFILE)];
    entries.extend(names.iter().map(|n| (n.as_str(), b"x" as &[u8])));
    let err = ws.unpack(&zip_of(&entries)).expect_err("refused");
    assert!(
        matches!(err, ArchiveError::TooManyFiles { limit: 2000 }),
        "{err:?}"
    );
    ws.assert_untouched();
}

#[test]
fn rejects_an_upload_over_the_size_limit() {
    let ws = Workspace::new();
    // Incompressible bytes, so the zip stays over the limit.
    let noise: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let bytes = zip_of(&[("Dockerfile", DOCKERFILE), ("noise", &noise)]);
    let limits = ArchiveLimits {
        max_bytes: 1024,
        ..ArchiveLimits::default()
    };
    let err = unpack(&bytes, &ws.dest(), &limits).expect_err("refused");
    assert!(
        matches!(err, ArchiveError::TooLarge { limit: 1024, .. }),
        "{err:?}"
    );
    ws.assert_untouched();
}

#[test]
fn rejects_a_project_without_dockerfile() {
    let ws = Workspace::new();
    let err = ws
        .unpack(&zip_of(&[("src/main.rs", b"fn main() {}")]))
        .expect_err("refused");
    assert!(matches!(err, ArchiveError::NoDockerfile), "{err:?}");
    // Two top-level folders: nothing to strip, so the nested Dockerfile does not count.
    let err = ws
        .unpack(&zip_of(&[("a/Dockerfile", DOCKERFILE), ("b/x", b"x")]))
        .expect_err("refused");
    assert!(matches!(err, ArchiveError::NoDockerfile), "{err:?}");
    ws.assert_untouched();
}

#[test]
fn rejects_garbage_bytes() {
    let ws = Workspace::new();
    let err = ws
        .unpack(b"this is not an archive at all")
        .expect_err("refused");
    assert!(matches!(err, ArchiveError::UnknownFormat), "{err:?}");
    let mut truncated = zip_of(&[("Dockerfile", DOCKERFILE)]);
    truncated.truncate(20);
    let err = ws.unpack(&truncated).expect_err("refused");
    assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err:?}");
    ws.assert_untouched();
}

#[test]
fn rejects_duplicate_entries() {
    let ws = Workspace::new();
    let bytes = tar_of(&files(&[
        ("Dockerfile", DOCKERFILE),
        ("a", b"1"),
        ("a/b", b"2"),
    ]));
    let err = ws.unpack(&bytes).expect_err("refused");
    assert!(
        matches!(err, ArchiveError::Conflict { ref path } if path == "a"),
        "{err:?}"
    );
    ws.assert_untouched();
}

#[test]
fn refuses_a_destination_that_already_has_files() {
    let ws = Workspace::new();
    fs::create_dir(ws.dest()).expect("dest");
    fs::write(ws.dest().join("keep"), b"mine").expect("keep");
    let err = ws
        .unpack(&zip_of(&[("Dockerfile", DOCKERFILE)]))
        .expect_err("refused");
    assert!(
        matches!(err, ArchiveError::DestinationNotEmpty { .. }),
        "{err:?}"
    );
    assert!(!err.is_learner_fault());
    assert_eq!(fs::read(ws.dest().join("keep")).expect("kept"), b"mine");
}

fn project_with_ignores() -> TempDir {
    let dir = tempfile::tempdir().expect("dir");
    let p = dir.path();
    for (path, body) in [
        ("Dockerfile", "FROM scratch\n"),
        ("src/main.rs", "fn main() {}"),
        (".gitignore", "*.log\nsecrets/\n"),
        (".dockerignore", "docs/\n"),
        ("debug.log", "noise"),
        ("secrets/key", "k"),
        ("docs/readme.md", "d"),
        (".git/HEAD", "ref"),
        ("target/debug/app", "bin"),
        ("nested/target/x", "bin"),
    ] {
        let path = p.join(path);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, body).expect("write");
    }
    dir
}

fn listing(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(root).expect("rel").display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn pack_honours_gitignore_and_dockerignore_and_skips_git_and_target() {
    let project = project_with_ignores();
    let bytes = pack(project.path(), &ArchiveLimits::default()).expect("packs");
    let ws = Workspace::new();
    ws.unpack(&bytes).expect("round trip");
    assert_eq!(
        listing(&ws.dest()),
        vec![".dockerignore", ".gitignore", "Dockerfile", "src/main.rs"]
    );
}

#[test]
fn pack_sends_the_dockerfile_and_dockerignore_even_when_dockerignore_names_them() {
    let dir = tempfile::tempdir().expect("dir");
    for (path, body) in [
        ("Dockerfile", "FROM scratch\n"),
        (".dockerignore", "*\n!main.go\n"),
        ("main.go", "package main"),
        ("notes.txt", "left out"),
    ] {
        fs::write(dir.path().join(path), body).expect("write");
    }
    let bytes = pack(dir.path(), &ArchiveLimits::default()).expect("packs");
    let ws = Workspace::new();
    ws.unpack(&bytes).expect("round trip");
    assert_eq!(
        listing(&ws.dest()),
        vec![".dockerignore", "Dockerfile", "main.go"]
    );
}

#[test]
fn pack_refuses_a_folder_without_dockerfile() {
    let dir = tempfile::tempdir().expect("dir");
    fs::write(dir.path().join("main.rs"), "fn main() {}").expect("write");
    let err = pack(dir.path(), &ArchiveLimits::default()).expect_err("refused");
    assert!(matches!(err, ArchiveError::NoDockerfile), "{err:?}");
}

#[test]
fn pack_refuses_symlinks() {
    let dir = tempfile::tempdir().expect("dir");
    fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").expect("write");
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("passwd")).expect("symlink");
    let err = pack(dir.path(), &ArchiveLimits::default()).expect_err("refused");
    assert!(matches!(err, ArchiveError::Link { .. }), "{err:?}");
}
