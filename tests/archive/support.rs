//! Builders for the archives the specifications feed to `unpack`, and the workspace that checks a refusal
//! left nothing behind.

use std::fs;
use std::io::{Cursor, Write};
use std::path::PathBuf;

use flate2::write::GzEncoder;
use flate2::Compression;
use gauntlet::archive::{unpack, ArchiveError, ArchiveLimits};
use tempfile::TempDir;
use zip::write::SimpleFileOptions;

pub const DOCKERFILE: &[u8] = b"FROM scratch\nCOPY app /app\n";

/// `outer/work/project` is where uploads land; `outer` exists so that an escape to `work/..` can be seen.
pub struct Workspace {
    outer: TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        let outer = tempfile::tempdir().expect("temp dir");
        fs::create_dir(outer.path().join("work")).expect("work dir");
        Self { outer }
    }
    pub fn work(&self) -> PathBuf {
        self.outer.path().join("work")
    }
    pub fn dest(&self) -> PathBuf {
        self.work().join("project")
    }
    /// The refusal contract: the work folder is empty and nothing appeared beside it.
    pub fn assert_untouched(&self) {
        let work: Vec<_> = fs::read_dir(self.work()).expect("read work").collect();
        assert!(work.is_empty(), "work folder not empty: {work:?}");
        let outer: Vec<_> = fs::read_dir(self.outer.path())
            .expect("read outer")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(
            outer,
            vec!["work"],
            "something was written outside the work folder"
        );
    }
    pub fn unpack(&self, bytes: &[u8]) -> Result<gauntlet::archive::Unpacked, ArchiveError> {
        unpack(bytes, &self.dest(), &ArchiveLimits::default())
    }
}

pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        if name.ends_with('/') {
            zip.add_directory(*name, SimpleFileOptions::default())
                .expect("zip dir");
        } else {
            zip.start_file(*name, SimpleFileOptions::default())
                .expect("zip file");
            zip.write_all(data).expect("zip write");
        }
    }
    zip.finish().expect("zip finish").into_inner()
}

/// A tar header written byte by byte, so that names the `tar` crate would refuse (`..`, `/abs`) can be made.
pub fn raw_header(name: &str, kind: tar::EntryType, size: u64, link: Option<&str>) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    let old = header.as_old_mut();
    old.name[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(link) = link {
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    header
}

pub fn tar_of(entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, kind, data, link) in entries {
        let header = raw_header(name, *kind, data.len() as u64, *link);
        tar.append(&header, *data).expect("tar append");
    }
    tar.into_inner().expect("tar finish")
}

pub fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(bytes).expect("gz write");
    gz.finish().expect("gz finish")
}

pub fn files(
    entries: &[(&'static str, &'static [u8])],
) -> Vec<(
    &'static str,
    tar::EntryType,
    &'static [u8],
    Option<&'static str>,
)> {
    entries
        .iter()
        .map(|(n, d)| (*n, tar::EntryType::Regular, *d, None))
        .collect()
}
