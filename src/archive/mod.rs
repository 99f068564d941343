//! Safe handling of learner uploads: unpacking a submitted archive into a folder, and packing a folder into
//! an archive.
//!
//! An upload is untrusted input that will be written to the grader's disk, so `unpack` reads the whole
//! archive once without writing anything (`scan`), refusing anything that could escape the destination
//! (absolute paths, `..`, links, devices) or exhaust the disk (size, file count, decompression ratio, all
//! counted from the bytes actually decompressed), and only then writes it (`extract`) through a staging
//! folder, so that on any error the destination is left untouched.
//!
//! - `read.rs`: format detection and one walk over zip / tar.gz / tar entries.
//! - `scan.rs`: the checking pass and the rules.
//! - `extract.rs`: the writing pass and the atomic move into place.
//! - `pack.rs`: folder to tar.gz, honouring `.gitignore` and `.dockerignore`.
//! - `error.rs`: `ArchiveError`, whose messages are written for the learner.

mod error;
mod extract;
mod pack;
mod read;
mod scan;

use std::path::Path;

pub use error::{human_size, ArchiveError};

/// Bounds on what an upload may cost us. The defaults fit a course project with its sources and a few assets.
#[derive(Debug, Clone)]
pub struct ArchiveLimits {
    /// The compressed upload, as received.
    pub max_bytes: u64,
    /// Entries (files and folders) in the archive.
    pub max_files: usize,
    /// The sum of all files' sizes once decompressed.
    pub max_unpacked_bytes: u64,
    /// Unpacked over compressed; enforced once the contents pass a few MB.
    pub max_ratio: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        Self {
            max_bytes: 25 << 20,
            max_files: 2000,
            max_unpacked_bytes: 200 << 20,
            max_ratio: 100,
        }
    }
}

/// What `unpack` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    /// Files written (folders not counted).
    pub files: usize,
    /// Their total size in bytes.
    pub bytes: u64,
    /// The top-level folder that wrapped the project and was stripped, if there was one.
    pub stripped: Option<String>,
}

/// Unpacks a zip, tar.gz or tar upload into `dest`, which must not exist or be an empty folder.
///
/// Nothing is written unless every check passes, and on any error `dest` is as it was.
pub fn unpack(bytes: &[u8], dest: &Path, limits: &ArchiveLimits) -> Result<Unpacked, ArchiveError> {
    extract::check_destination(dest)?;
    let unpacked = inspect(bytes, limits)?;
    extract::extract(bytes, dest, unpacked.stripped.as_deref(), limits)?;
    Ok(unpacked)
}

/// Checks an upload exactly as `unpack` does, without writing anything: what `unpack` would write, or why
/// it would refuse. `unpack` runs this same pass first; it is public for callers that only need the verdict
/// (the fuzz target, which feeds it arbitrary bytes).
pub fn inspect(bytes: &[u8], limits: &ArchiveLimits) -> Result<Unpacked, ArchiveError> {
    let plan = scan::scan(bytes, limits)?;
    Ok(Unpacked {
        files: plan.files,
        bytes: plan.bytes,
        stripped: plan.strip,
    })
}

/// Packs a project folder into a tar.gz, skipping what `.gitignore`/`.dockerignore` exclude and always
/// `.git/` and `target/`. Fails if the folder has no `Dockerfile` or the result breaks `limits`.
pub fn pack(dir: &Path, limits: &ArchiveLimits) -> Result<Vec<u8>, ArchiveError> {
    pack::pack(dir, limits)
}
