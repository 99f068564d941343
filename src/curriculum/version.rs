//! A lab's version: the content hash of every file in its folder, public (lab.toml, README, starter) and hidden
//! (checks, mutants, grader) alike.
//!
//! Workers on several hosts each read the course from their own disk. While a course change is being deployed,
//! two workers may hold different checks for the same lab; a run must be graded by the checks it was submitted
//! under, or a learner's verdict depends on which worker happened to claim it. So a run records the version of
//! its lab when it is queued, and a worker claims only runs whose version matches its own files (runs queued
//! before versions were recorded carry none and go to any worker).

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The SHA-256 of a lab folder's files, as 64 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LabVersion(String);

impl LabVersion {
    /// Hashes every regular file under `dir`: each one's path relative to `dir` (with `/` separators), its
    /// length and its bytes, in path order, so that the same tree gives the same hash on every machine and
    /// moving bytes from one file to another changes it. Links are hashed as their target's path, never
    /// followed, so a link out of the folder cannot make the hash read elsewhere.
    pub fn of_dir(dir: &Path) -> std::io::Result<LabVersion> {
        let mut files = Vec::new();
        collect(dir, PathBuf::new(), &mut files)?;
        files.sort();
        let mut hasher = Sha256::new();
        for relative in files {
            let path = dir.join(&relative);
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let meta = std::fs::symlink_metadata(&path)?;
            let (kind, bytes) = if meta.file_type().is_symlink() {
                (
                    b'l',
                    std::fs::read_link(&path)?
                        .to_string_lossy()
                        .into_owned()
                        .into_bytes(),
                )
            } else {
                (b'f', std::fs::read(&path)?)
            };
            hasher.update([kind]);
            hasher.update((name.len() as u64).to_le_bytes());
            hasher.update(name.as_bytes());
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
        }
        Ok(LabVersion(hex::encode(hasher.finalize())))
    }

    /// A hash of a folder's version and labs' versions, in the order given: the whole course's version.
    pub fn of_parts<'a>(
        files: &str,
        labs: impl Iterator<Item = (&'a crate::domain::LabId, &'a LabVersion)>,
    ) -> LabVersion {
        let mut hasher = Sha256::new();
        hasher.update(files.as_bytes());
        for (id, v) in labs {
            hasher.update(b"\n");
            hasher.update(id.as_str().as_bytes());
            hasher.update(b":");
            hasher.update(v.as_str().as_bytes());
        }
        LabVersion(hex::encode(hasher.finalize()))
    }

    /// A version as stored with a run; `None` unless it is 64 hex digits.
    pub fn parse(text: &str) -> Option<LabVersion> {
        (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| LabVersion(text.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, enough to tell versions apart in logs and pages.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }
}

impl fmt::Display for LabVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every file and link under `dir/relative`, as paths relative to `dir`.
fn collect(dir: &Path, relative: PathBuf, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir.join(&relative))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = relative.join(entry.file_name());
        if kind.is_dir() {
            collect(dir, path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        }
        dir
    }

    #[test]
    fn the_same_files_give_the_same_version_whatever_order_they_were_written_in() {
        let a = tree(&[
            ("lab.toml", "x"),
            ("checks/a.toml", "1"),
            ("checks/b.toml", "2"),
        ]);
        let b = tree(&[
            ("checks/b.toml", "2"),
            ("checks/a.toml", "1"),
            ("lab.toml", "x"),
        ]);
        let va = LabVersion::of_dir(a.path()).unwrap();
        assert_eq!(va, LabVersion::of_dir(b.path()).unwrap());
        assert_eq!(LabVersion::parse(va.as_str()), Some(va.clone()));
        assert_eq!(va.short().len(), 12);
    }

    #[test]
    fn a_hidden_check_changed_renamed_or_added_changes_the_version() {
        let base =
            LabVersion::of_dir(tree(&[("lab.toml", "x"), ("checks/a.toml", "1")]).path()).unwrap();
        for other in [
            tree(&[("lab.toml", "x"), ("checks/a.toml", "2")]),
            tree(&[("lab.toml", "x"), ("checks/b.toml", "1")]),
            tree(&[
                ("lab.toml", "x"),
                ("checks/a.toml", "1"),
                ("checks/c.toml", ""),
            ]),
            // Bytes moved from one file to the next: the lengths tell them apart.
            tree(&[("lab.toml", "x1"), ("checks/a.toml", "")]),
        ] {
            assert_ne!(LabVersion::of_dir(other.path()).unwrap(), base);
        }
    }

    #[test]
    fn only_64_hex_digits_parse() {
        assert!(LabVersion::parse("abc").is_none());
        assert!(LabVersion::parse(&"g".repeat(64)).is_none());
        assert!(LabVersion::parse(&"A".repeat(64)).is_some());
    }
}
