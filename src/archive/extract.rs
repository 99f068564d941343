//! The second pass of `unpack`: writes what the scan accepted into a staging folder beside the destination,
//! then moves it into place with one rename.
//!
//! Staging beside the destination (same parent, so same file system) makes the final step atomic: the
//! destination either holds the whole project or does not exist, and a failure part-way leaves nothing behind
//! because the staging folder is a `TempDir` that removes itself when dropped.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::error::ArchiveError;
use super::read::{for_each_entry, read_error, RawEntry, RawKind};
use super::scan::{is_junk, safe_path};
use super::ArchiveLimits;

/// Fails unless `dest` is absent or an empty folder (a rename may replace an empty folder, nothing else).
pub(super) fn check_destination(dest: &Path) -> Result<(), ArchiveError> {
    match fs::read_dir(dest) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(ArchiveError::DestinationNotEmpty {
                dest: dest.to_path_buf(),
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ArchiveError::Io {
            context: "inspect the destination folder",
            source: e,
        }),
    }
}

/// Writes the archive into a fresh staging folder and renames it to `dest`.
pub(super) fn extract(
    bytes: &[u8],
    dest: &Path,
    strip: Option<&str>,
    limits: &ArchiveLimits,
) -> Result<(), ArchiveError> {
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let staging = tempfile::Builder::new()
        .prefix(".gauntlet-unpack-")
        .tempdir_in(parent)
        .map_err(ArchiveError::io("create a staging folder"))?;
    let root = staging.path().to_path_buf();
    let mut remaining = limits.max_unpacked_bytes;
    for_each_entry(bytes, limits, &mut |entry: RawEntry, data| {
        let Some(target) = target_path(&root, &entry.name, strip)? else {
            return Ok(());
        };
        match entry.kind {
            RawKind::Dir => {
                fs::create_dir_all(&target).map_err(ArchiveError::io("create a folder"))
            }
            RawKind::File { executable } => {
                write_file(&target, executable, data, &mut remaining, limits)
            }
            // The scan refused these; a second look costs nothing and keeps this pass safe on its own.
            RawKind::Link => Err(ArchiveError::Link { path: entry.name }),
            RawKind::Sparse { apparent } => Err(ArchiveError::SparseFile {
                path: entry.name,
                apparent,
            }),
            RawKind::Special => Err(ArchiveError::SpecialFile { path: entry.name }),
            RawKind::Skip => Ok(()),
        }
    })?;
    // TempDir makes its folder private (0700); the project folder is an ordinary one.
    fs::set_permissions(&root, fs::Permissions::from_mode(0o755))
        .map_err(ArchiveError::io("set the project folder's permissions"))?;
    fs::rename(&root, dest).map_err(ArchiveError::io("move the unpacked project into place"))?;
    // The staging path no longer exists; dropping the guard finds nothing to remove.
    drop(staging);
    Ok(())
}

/// Where an entry goes inside `root`, or `None` for entries that are not written (root, junk, the wrapper).
fn target_path(
    root: &Path,
    name: &str,
    strip: Option<&str>,
) -> Result<Option<PathBuf>, ArchiveError> {
    let Some(path) = safe_path(name)? else {
        return Ok(None);
    };
    if is_junk(&path) {
        return Ok(None);
    }
    let parts = match strip {
        Some(top) if path[0] == top => &path[1..],
        Some(_) => return Err(ArchiveError::NoDockerfile),
        None => &path[..],
    };
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        parts.iter().fold(root.to_path_buf(), |p, c| p.join(c)),
    ))
}

fn write_file(
    target: &Path,
    executable: bool,
    data: &mut dyn Read,
    remaining: &mut u64,
    limits: &ArchiveLimits,
) -> Result<(), ArchiveError> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(ArchiveError::io("create a folder"))?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if executable { 0o755 } else { 0o644 })
        .open(target)
        .map_err(ArchiveError::io("create a file"))?;
    // Bounded again here: the scan already counted these bytes, but this pass must not trust that alone.
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = data.read(&mut buf).map_err(|e| read_error(e, limits))?;
        if n == 0 {
            return Ok(());
        }
        *remaining = remaining
            .checked_sub(n as u64)
            .ok_or(ArchiveError::UnpackedTooLarge {
                limit: limits.max_unpacked_bytes,
            })?;
        file.write_all(&buf[..n])
            .map_err(ArchiveError::io("write a file"))?;
    }
}
