//! The first pass of `unpack`: reads every entry, decompressing it into nothing, and decides whether the
//! archive may be written at all.
//!
//! Sizes are counted from the bytes actually decompressed, never from headers, which a bomb can fake; the
//! walk stops as soon as a limit is crossed, so a gigabyte of zeros costs at most the limit to reject.

use std::collections::BTreeSet;
use std::io::Read;

use super::error::ArchiveError;
use super::read::{for_each_entry, read_error, RawEntry, RawKind};
use super::ArchiveLimits;

/// Below this many unpacked bytes the ratio is not enforced: small text files compress far better than 100:1
/// once tar padding is counted, and a bomb needs volume to hurt.
const RATIO_GRACE_BYTES: u64 = 4 << 20;

/// The longest file or folder name written: `NAME_MAX` of Linux file systems. Longer names fail on disk, so
/// they are refused here, with the learner's name for them, rather than as a fault of the platform.
pub(super) const MAX_NAME_BYTES: usize = 255;

/// The longest entry path accepted. The project is written below a scratch folder and `PATH_MAX` is 4096;
/// no course project needs paths this deep.
pub(super) const MAX_PATH_BYTES: usize = 1024;

/// Folders that archiving tools add and that are never part of a project (macOS resource forks).
const JUNK_TOP_LEVEL: &str = "__MACOSX";

/// The outcome of a successful scan: what to strip and what will be written.
#[derive(Debug)]
pub(super) struct Plan {
    /// The single top-level folder that wraps everything, when the Dockerfile sits inside it.
    pub strip: Option<String>,
    pub files: usize,
    pub bytes: u64,
}

/// A checked relative path: only normal components, no `.`/`..`, never empty.
pub(super) type SafePath = Vec<String>;

/// Splits an entry name into safe components, or says why it is unsafe. `Ok(None)` is the root itself.
pub(super) fn safe_path(name: &str) -> Result<Option<SafePath>, ArchiveError> {
    let unsafe_path = |reason| ArchiveError::UnsafePath {
        path: name.to_string(),
        reason,
    };
    if name.len() > MAX_PATH_BYTES {
        return Err(ArchiveError::PathTooLong {
            path: name.to_string(),
            len: name.len(),
            limit: MAX_PATH_BYTES,
        });
    }
    if name.contains('\0') {
        return Err(unsafe_path("contains a NUL byte"));
    }
    let bytes = name.as_bytes();
    let drive = bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic();
    if name.starts_with('/') || drive {
        return Err(unsafe_path("is an absolute path"));
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(unsafe_path("climbs out of the folder with `..`")),
            long if long.len() > MAX_NAME_BYTES => {
                return Err(ArchiveError::NameTooLong {
                    path: name.to_string(),
                    len: long.len(),
                    limit: MAX_NAME_BYTES,
                })
            }
            normal => parts.push(normal.to_string()),
        }
    }
    Ok((!parts.is_empty()).then_some(parts))
}

/// Whether an entry belongs to the junk that OS archivers add; such entries are neither checked nor written.
pub(super) fn is_junk(path: &SafePath) -> bool {
    path.first().is_some_and(|p| p == JUNK_TOP_LEVEL)
}

/// Running totals checked after every chunk read.
struct Budget<'a> {
    limits: &'a ArchiveLimits,
    compressed: u64,
    unpacked: u64,
    entries: usize,
}

impl Budget<'_> {
    fn add_entry(&mut self) -> Result<(), ArchiveError> {
        self.entries += 1;
        if self.entries > self.limits.max_files {
            return Err(ArchiveError::TooManyFiles {
                limit: self.limits.max_files,
            });
        }
        Ok(())
    }

    fn add_bytes(&mut self, n: u64) -> Result<(), ArchiveError> {
        self.unpacked = self.unpacked.saturating_add(n);
        if self.unpacked > self.limits.max_unpacked_bytes {
            return Err(ArchiveError::UnpackedTooLarge {
                limit: self.limits.max_unpacked_bytes,
            });
        }
        let ratio_cap = self.compressed.saturating_mul(self.limits.max_ratio);
        if self.unpacked > RATIO_GRACE_BYTES && self.unpacked > ratio_cap {
            return Err(ArchiveError::RatioTooHigh {
                limit: self.limits.max_ratio,
                unpacked: self.unpacked,
                compressed: self.compressed,
            });
        }
        Ok(())
    }

    /// Reads an entry to its end, counting as it goes.
    fn drain(&mut self, data: &mut dyn Read) -> Result<(), ArchiveError> {
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = data
                .read(&mut buf)
                .map_err(|e| read_error(e, self.limits))?;
            if n == 0 {
                return Ok(());
            }
            self.add_bytes(n as u64)?;
        }
    }
}

/// Checks the whole archive without writing anything.
pub(super) fn scan(bytes: &[u8], limits: &ArchiveLimits) -> Result<Plan, ArchiveError> {
    let size = bytes.len() as u64;
    if size > limits.max_bytes {
        return Err(ArchiveError::TooLarge {
            size,
            limit: limits.max_bytes,
        });
    }
    let mut budget = Budget {
        limits,
        compressed: size,
        unpacked: 0,
        entries: 0,
    };
    let mut files: BTreeSet<SafePath> = BTreeSet::new();
    let mut dirs: BTreeSet<SafePath> = BTreeSet::new();
    for_each_entry(bytes, limits, &mut |entry: RawEntry, data| {
        let Some(path) = safe_path(&entry.name)? else {
            return Ok(());
        };
        if is_junk(&path) || entry.kind == RawKind::Skip {
            return Ok(());
        }
        budget.add_entry()?;
        match entry.kind {
            RawKind::Link => return Err(ArchiveError::Link { path: entry.name }),
            RawKind::Sparse { apparent } => {
                return Err(ArchiveError::SparseFile {
                    path: entry.name,
                    apparent,
                })
            }
            RawKind::Special => return Err(ArchiveError::SpecialFile { path: entry.name }),
            RawKind::Dir => {
                dirs.insert(path);
            }
            RawKind::File { .. } => {
                if !files.insert(path) {
                    return Err(ArchiveError::Conflict { path: entry.name });
                }
            }
            RawKind::Skip => {}
        }
        budget.drain(data)
    })?;
    check_no_file_is_a_folder(&files, &dirs)?;
    let strip = find_root(&files, &dirs)?;
    Ok(Plan {
        strip,
        files: files.len(),
        bytes: budget.unpacked,
    })
}

/// Rejects `a` as a file when `a/b` also exists (or `a` is listed as a folder): writing would fail half-way.
fn check_no_file_is_a_folder(
    files: &BTreeSet<SafePath>,
    dirs: &BTreeSet<SafePath>,
) -> Result<(), ArchiveError> {
    for path in files.iter().chain(dirs.iter()) {
        for len in 1..path.len() {
            let parent = &path[..len];
            if files.contains(parent) {
                return Err(ArchiveError::Conflict {
                    path: parent.join("/"),
                });
            }
        }
    }
    if let Some(both) = files.intersection(dirs).next() {
        return Err(ArchiveError::Conflict {
            path: both.join("/"),
        });
    }
    Ok(())
}

/// Finds where the project starts: the root, or one folder that wraps everything and holds the Dockerfile.
fn find_root(
    files: &BTreeSet<SafePath>,
    dirs: &BTreeSet<SafePath>,
) -> Result<Option<String>, ArchiveError> {
    let dockerfile = |prefix: &[String]| {
        let mut path = prefix.to_vec();
        path.push("Dockerfile".to_string());
        files.contains(&path)
    };
    if dockerfile(&[]) {
        return Ok(None);
    }
    let tops: BTreeSet<&String> = files.iter().chain(dirs.iter()).map(|p| &p[0]).collect();
    let mut tops = tops.into_iter();
    match (tops.next(), tops.next()) {
        (Some(top), None)
            if !files.contains(&vec![top.clone()]) && dockerfile(std::slice::from_ref(top)) =>
        {
            Ok(Some(top.clone()))
        }
        _ => Err(ArchiveError::NoDockerfile),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_paths_keep_only_normal_components() {
        assert_eq!(
            safe_path("./src/main.rs").ok().flatten(),
            Some(vec!["src".to_string(), "main.rs".to_string()])
        );
        assert!(matches!(safe_path("./"), Ok(None)));
        assert!(matches!(
            safe_path("a/../../evil"),
            Err(ArchiveError::UnsafePath { .. })
        ));
        assert!(matches!(
            safe_path("/etc/passwd"),
            Err(ArchiveError::UnsafePath { .. })
        ));
        assert!(matches!(
            safe_path("C:/x"),
            Err(ArchiveError::UnsafePath { .. })
        ));
    }

    #[test]
    fn names_and_paths_are_capped_at_what_a_file_system_writes() {
        let longest = "n".repeat(MAX_NAME_BYTES);
        assert!(safe_path(&format!("src/{longest}")).is_ok());
        assert!(matches!(
            safe_path(&format!("src/{longest}n/main.rs")),
            Err(ArchiveError::NameTooLong {
                len: 256,
                limit: 255,
                ..
            })
        ));
        // Multi-byte characters count by their bytes, as the file system counts them.
        assert!(matches!(
            safe_path(&"é".repeat(128)),
            Err(ArchiveError::NameTooLong { len: 256, .. })
        ));
        let deep = vec!["d".repeat(200); 5].join("/");
        assert!(safe_path(&deep).is_ok(), "1004 bytes");
        let deeper = vec!["d".repeat(200); 6].join("/");
        assert!(matches!(
            safe_path(&deeper),
            Err(ArchiveError::PathTooLong {
                len: 1205,
                limit: 1024,
                ..
            })
        ));
    }
}
