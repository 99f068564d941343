//! Packs a project folder into the tar.gz that `unpack` and the Docker build both accept.
//!
//! Used by the CLI's `submit` (a learner's own folder) and by the sandbox's tests (a context built in a temp
//! folder). It honours `.gitignore` and `.dockerignore` with gitignore semantics (the `ignore` crate), which
//! covers the common patterns; Docker's own matcher differs in corner cases (a bare `*.md` there only
//! matches at the root), so the image is built from exactly what was packed rather than re-filtered.

use std::fs;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;
use ignore::WalkBuilder;

use super::error::ArchiveError;
use super::ArchiveLimits;

/// Folders never packed, whatever the ignore files say: history and build outputs are never part of a build
/// context, and `target/` alone can be gigabytes.
const ALWAYS_SKIPPED: [&str; 2] = [".git", "target"];

/// Files packed even when `.dockerignore` names them: Docker always sends them, since the build needs them
/// (`COPY` still skips them), and a common `.dockerignore` starts with `*`.
const ALWAYS_SENT: [&str; 2] = ["Dockerfile", ".dockerignore"];

pub(super) fn pack(dir: &Path, limits: &ArchiveLimits) -> Result<Vec<u8>, ArchiveError> {
    if !dir.join("Dockerfile").is_file() {
        return Err(ArchiveError::NoDockerfile);
    }
    let walker = WalkBuilder::new(dir)
        .hidden(false)
        .parents(false)
        .git_global(false)
        .git_exclude(false)
        .require_git(false)
        .add_custom_ignore_filename(".dockerignore")
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|e| {
            let skipped = e.depth() > 0
                && e.file_type().is_some_and(|t| t.is_dir())
                && ALWAYS_SKIPPED.iter().any(|s| e.file_name() == *s);
            !skipped
        })
        .build();

    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    tar.mode(tar::HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    let (mut files, mut bytes) = (0usize, 0u64);
    let mut sent = [false; ALWAYS_SENT.len()];
    for entry in walker {
        let entry = entry.map_err(|e| ArchiveError::Io {
            context: "read the project folder",
            source: std::io::Error::other(e.to_string()),
        })?;
        if entry.depth() == 0 {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .map_err(|e| ArchiveError::Io {
                context: "read the project folder",
                source: std::io::Error::other(e.to_string()),
            })?
            .to_path_buf();
        let kind = entry.file_type();
        if kind.is_some_and(|t| t.is_symlink()) {
            return Err(ArchiveError::Link {
                path: rel.display().to_string(),
            });
        }
        files += 1;
        if files > limits.max_files {
            return Err(ArchiveError::TooManyFiles {
                limit: limits.max_files,
            });
        }
        if kind.is_some_and(|t| t.is_file()) {
            let len = fs::metadata(entry.path())
                .map_err(ArchiveError::io("read the project folder"))?
                .len();
            bytes = bytes.saturating_add(len);
            if bytes > limits.max_unpacked_bytes {
                return Err(ArchiveError::UnpackedTooLarge {
                    limit: limits.max_unpacked_bytes,
                });
            }
        } else if !kind.is_some_and(|t| t.is_dir()) {
            return Err(ArchiveError::SpecialFile {
                path: rel.display().to_string(),
            });
        }
        if let Some(i) = ALWAYS_SENT.iter().position(|name| rel == Path::new(name)) {
            sent[i] = true;
        }
        tar.append_path_with_name(entry.path(), &rel)
            .map_err(ArchiveError::io("pack the project folder"))?;
    }
    for (name, _) in ALWAYS_SENT.iter().zip(sent).filter(|(_, sent)| !sent) {
        let path = dir.join(name);
        // Only regular files: a symlinked Dockerfile is refused above when walked, and here never followed.
        if fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            tar.append_path_with_name(&path, name)
                .map_err(ArchiveError::io("pack the project folder"))?;
        }
    }
    let packed = tar
        .into_inner()
        .and_then(|gz| gz.finish())
        .map_err(ArchiveError::io("pack the project folder"))?;
    let size = packed.len() as u64;
    if size > limits.max_bytes {
        return Err(ArchiveError::TooLarge {
            size,
            limit: limits.max_bytes,
        });
    }
    Ok(packed)
}
