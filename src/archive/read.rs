//! Format detection and a uniform walk over the entries of a zip, gzip-tar or plain tar upload.
//!
//! Both passes of `unpack` (the scan that checks everything, then the write) use this one walk, so that what
//! gets written is exactly what was checked. Decompressed tar streams are capped here, below the entries,
//! because a tar header block (a PAX record, a long name) is read into memory before any entry is seen.

use std::io::{self, Cursor, Read};

use flate2::read::GzDecoder;

use super::error::ArchiveError;
use super::ArchiveLimits;

/// The container formats accepted, told apart by their magic bytes, never by a file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Zip,
    TarGz,
    Tar,
}

impl Format {
    pub(super) fn detect(bytes: &[u8]) -> Result<Self, ArchiveError> {
        if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
            Ok(Self::Zip)
        } else if bytes.starts_with(&[0x1f, 0x8b]) {
            Ok(Self::TarGz)
        } else if bytes.len() > 262 && &bytes[257..262] == b"ustar" {
            Ok(Self::Tar)
        } else {
            Err(ArchiveError::UnknownFormat)
        }
    }
}

/// What an entry claims to be. Only `File` and `Dir` are ever written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RawKind {
    File {
        executable: bool,
    },
    Dir,
    Link,
    Special,
    /// Metadata that tar tools add (a PAX global header from `git archive`); carries no file.
    Skip,
}

/// One entry: its name as stored (not yet checked) and its kind.
pub(super) struct RawEntry {
    pub name: String,
    pub kind: RawKind,
}

/// Calls `visit` for every entry, in archive order, with a reader over the entry's (decompressed) data.
pub(super) fn for_each_entry(
    bytes: &[u8],
    limits: &ArchiveLimits,
    visit: &mut dyn FnMut(RawEntry, &mut dyn Read) -> Result<(), ArchiveError>,
) -> Result<(), ArchiveError> {
    match Format::detect(bytes)? {
        Format::Zip => walk_zip(bytes, visit),
        Format::TarGz => {
            let capped = Capped::new(GzDecoder::new(bytes), stream_cap(limits));
            walk_tar(capped, limits, visit)
        }
        Format::Tar => walk_tar(Capped::new(bytes, stream_cap(limits)), limits, visit),
    }
}

/// The most decompressed tar stream we read: the content limit plus room for a header per file.
fn stream_cap(limits: &ArchiveLimits) -> u64 {
    let headers = (limits.max_files as u64 + 16).saturating_mul(3 * 512);
    limits
        .max_unpacked_bytes
        .saturating_add(headers)
        .saturating_add(1 << 20)
}

fn walk_zip(
    bytes: &[u8],
    visit: &mut dyn FnMut(RawEntry, &mut dyn Read) -> Result<(), ArchiveError>,
) -> Result<(), ArchiveError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(corrupt)?;
    for index in 0..zip.len() {
        let mut file = zip.by_index(index).map_err(corrupt)?;
        // Zips written by old Windows tools separate folders with backslashes.
        let name = file.name().map_err(corrupt)?.replace('\\', "/");
        let kind = zip_kind(&file);
        visit(RawEntry { name, kind }, &mut file)?;
    }
    Ok(())
}

fn zip_kind<R: Read>(file: &zip::read::ZipFile<'_, R>) -> RawKind {
    const S_IFMT: u32 = 0o170_000;
    const REGULAR: u32 = 0o100_000;
    const DIR: u32 = 0o040_000;
    let mode = file.unix_mode();
    if file.is_symlink() {
        RawKind::Link
    } else if mode.is_some_and(|m| !matches!(m & S_IFMT, 0 | REGULAR | DIR)) {
        RawKind::Special
    } else if file.is_dir() {
        RawKind::Dir
    } else {
        RawKind::File {
            executable: mode.is_some_and(|m| m & 0o111 != 0),
        }
    }
}

fn walk_tar<R: Read>(
    reader: Capped<R>,
    limits: &ArchiveLimits,
    visit: &mut dyn FnMut(RawEntry, &mut dyn Read) -> Result<(), ArchiveError>,
) -> Result<(), ArchiveError> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| read_error(e, limits))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| read_error(e, limits))?;
        let header = entry.header();
        let kind = tar_kind(header.entry_type(), header.mode().unwrap_or(0o644));
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        visit(RawEntry { name, kind }, &mut entry)?;
    }
    Ok(())
}

fn tar_kind(kind: tar::EntryType, mode: u32) -> RawKind {
    use tar::EntryType as T;
    match kind {
        T::Regular | T::Continuous => RawKind::File {
            executable: mode & 0o111 != 0,
        },
        T::Directory => RawKind::Dir,
        T::Symlink | T::Link => RawKind::Link,
        T::XGlobalHeader => RawKind::Skip,
        _ => RawKind::Special,
    }
}

fn corrupt(e: zip::result::ZipError) -> ArchiveError {
    ArchiveError::Corrupt {
        detail: e.to_string(),
    }
}

/// Maps a read error inside the tar stream, telling our own cap apart from a damaged archive.
pub(super) fn read_error(e: io::Error, limits: &ArchiveLimits) -> ArchiveError {
    if is_cap_reached(&e) {
        ArchiveError::UnpackedTooLarge {
            limit: limits.max_unpacked_bytes,
        }
    } else {
        ArchiveError::Corrupt {
            detail: e.to_string(),
        }
    }
}

/// Whether `Capped` caused this error, however deeply the tar crate wrapped it.
fn is_cap_reached(e: &io::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = e.get_ref().map(|inner| inner as _);
    while let Some(err) = cause {
        if err.is::<CapReached>() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if let Some(inner) = io.get_ref() {
                cause = Some(inner as _);
                continue;
            }
        }
        cause = err.source();
    }
    false
}

/// Marker carried inside the `io::Error` that `Capped` returns.
#[derive(Debug)]
struct CapReached;

impl std::fmt::Display for CapReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("decompressed stream over its cap")
    }
}

impl std::error::Error for CapReached {}

/// A reader that fails once more than `remaining` bytes have come through it.
struct Capped<R> {
    inner: R,
    remaining: u64,
}

impl<R> Capped<R> {
    fn new(inner: R, cap: u64) -> Self {
        Self {
            inner,
            remaining: cap,
        }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.remaining = self
            .remaining
            .checked_sub(n as u64)
            .ok_or_else(|| io::Error::other(CapReached))?;
        Ok(n)
    }
}
