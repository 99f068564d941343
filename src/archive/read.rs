//! Format detection and a uniform walk over the entries of a zip, gzip-tar or plain tar upload.
//!
//! Both passes of `unpack` (the scan that checks everything, then the write) use this one walk, so that what
//! gets written is exactly what was checked. Decompressed tar streams are capped here, below the entries,
//! because a tar header block (a PAX record, a long name) is read into memory before any entry is seen.
//!
//! A tar reader stops at the end-of-archive block and never looks further, so on its own it would never reach
//! the gzip trailer, whose CRC-32 and length are the only proof that the bytes decompressed are the bytes
//! packed. The walk therefore reads the stream to its very end: a bad trailer, bytes after the last gzip
//! member, or more than a little padding after the tar's end all make the archive "damaged".

use std::collections::HashSet;
use std::io::{self, Cursor, Read};

use flate2::bufread::MultiGzDecoder;

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
    /// A sparse file (GNU or PAX sparse): its holes unpack to zeros, so it could fill the disk from nothing.
    Sparse {
        apparent: u64,
    },
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
            // Several gzip members in a row are one valid stream (RFC 1952); anything else after the last
            // member is refused by the decoder as an invalid header.
            let capped = Capped::new(MultiGzDecoder::new(bytes), stream_cap(limits));
            walk_tar(capped, limits, visit)
        }
        Format::Tar => walk_tar(Capped::new(bytes, stream_cap(limits)), limits, visit),
    }
}

/// The most a tar stream may hold after its end-of-archive block: tar pads its output to whole records
/// (10 KiB with GNU tar's default blocking factor); anything beyond a generous multiple is not padding.
const MAX_TAIL_BYTES: u64 = 1 << 20;

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
    // The zip crate indexes members by name, so of two with one name only the last would be seen.
    if zip.has_duplicate_names() {
        return Err(
            match duplicate_zip_name(bytes, zip.central_directory_start()) {
                Some(path) => ArchiveError::Conflict { path },
                None => ArchiveError::Corrupt {
                    detail: "two members have the same name".into(),
                },
            },
        );
    }
    for index in 0..zip.len() {
        let mut file = zip.by_index(index).map_err(corrupt)?;
        // Zips written by old Windows tools separate folders with backslashes.
        let name = file.name().map_err(corrupt)?.replace('\\', "/");
        let kind = zip_kind(&file);
        visit(RawEntry { name, kind }, &mut file)?;
    }
    Ok(())
}

/// The first name found twice in the central directory that starts at `start`.
///
/// The zip crate knows that a name repeats but not which; the central directory is a list of fixed 46-byte
/// headers, each followed by its name, extra field and comment, so walking it is a few bounds-checked reads.
fn duplicate_zip_name(bytes: &[u8], start: u64) -> Option<String> {
    const SIGNATURE: &[u8] = b"PK\x01\x02";
    const FIXED: usize = 46;
    let u16_at = |header: &[u8], at: usize| -> Option<usize> {
        let b = header.get(at..at + 2)?;
        Some(usize::from(u16::from_le_bytes([b[0], b[1]])))
    };
    let mut rest = bytes.get(usize::try_from(start).ok()?..)?;
    let mut seen = HashSet::new();
    while rest.starts_with(SIGNATURE) {
        let name_len = u16_at(rest, 28)?;
        let (extra_len, comment_len) = (u16_at(rest, 30)?, u16_at(rest, 32)?);
        let name = rest.get(FIXED..FIXED + name_len)?;
        if !seen.insert(name) {
            return Some(String::from_utf8_lossy(name).replace('\\', "/"));
        }
        rest = rest.get(FIXED + name_len + extra_len + comment_len..)?;
    }
    None
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
        let mut kind = tar_kind(header.entry_type(), header.mode().unwrap_or(0o644));
        let mut name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if header.entry_type().is_gnu_sparse() {
            // The tar crate has already read the sparse map: `size` is the size the file claims to have.
            kind = RawKind::Sparse {
                apparent: entry.size(),
            };
        } else if let Some((real_name, apparent)) = pax_sparse(&mut entry) {
            kind = RawKind::Sparse { apparent };
            name = real_name.unwrap_or(name);
        }
        visit(RawEntry { name, kind }, &mut entry)?;
    }
    read_to_end(archive.into_inner(), limits)
}

/// Reads what follows the tar's end-of-archive block, which drives a gzip decoder through its trailer.
fn read_to_end<R: Read>(reader: Capped<R>, limits: &ArchiveLimits) -> Result<(), ArchiveError> {
    let mut tail = reader.take(MAX_TAIL_BYTES + 1);
    let read = io::copy(&mut tail, &mut io::sink()).map_err(|e| read_error(e, limits))?;
    if read > MAX_TAIL_BYTES {
        return Err(ArchiveError::Corrupt {
            detail: format!(
                "more than {} of data follows the end of the tar archive",
                super::human_size(MAX_TAIL_BYTES)
            ),
        });
    }
    Ok(())
}

/// A PAX-format sparse file (`tar --format=posix --sparse`): its records name the real file and its size,
/// while the tar crate sees only an ordinary file holding the sparse map and the data.
fn pax_sparse<R: Read>(entry: &mut tar::Entry<'_, R>) -> Option<(Option<String>, u64)> {
    let records = entry.pax_extensions().ok().flatten()?;
    let (mut sparse, mut name, mut apparent) = (false, None, 0);
    for record in records.flatten() {
        let Ok(key) = record.key() else { continue };
        let value = || String::from_utf8_lossy(record.value_bytes()).into_owned();
        match key {
            "GNU.sparse.name" => name = Some(value()),
            "GNU.sparse.realsize" | "GNU.sparse.size" => apparent = value().parse().unwrap_or(0),
            _ => {}
        }
        sparse |= key.starts_with("GNU.sparse.");
    }
    sparse.then_some((name, apparent))
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
