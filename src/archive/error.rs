//! The one error type of the archive module.
//!
//! Every variant's `Display` is written for the learner who uploaded the archive: it names the file or the
//! number that broke a rule and what to do about it. Faults on the platform's side (a full disk, a missing
//! destination folder) say so without leaking server paths; their detail stays in `source()` for the log.

use std::io;
use std::path::PathBuf;

/// Why an upload could not be unpacked, or a project folder could not be packed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The compressed upload itself is over `max_bytes`.
    #[error("the archive is {}; the limit is {}", human_size(*.size), human_size(*.limit))]
    TooLarge { size: u64, limit: u64 },

    /// More entries than `max_files`; usually dependencies or build outputs that were packed by mistake.
    #[error(
        "the archive holds more than {limit} files; leave out dependencies and build outputs \
         (node_modules/, target/, .venv/) and let the Dockerfile fetch or build them"
    )]
    TooManyFiles { limit: usize },

    /// The contents, counted as they were decompressed, are over `max_unpacked_bytes`.
    #[error("the archive unpacks to more than {}, the limit", human_size(*.limit))]
    UnpackedTooLarge { limit: u64 },

    /// The contents grew more than `max_ratio` times the upload: the shape of a decompression bomb.
    #[error(
        "the archive expands to more than {limit} times its own size ({} from {}); \
         this looks like a decompression bomb and was not unpacked",
        human_size(*.unpacked), human_size(*.compressed)
    )]
    RatioTooHigh {
        limit: u64,
        unpacked: u64,
        compressed: u64,
    },

    /// An entry's name would place it outside the project folder.
    #[error("`{path}` {reason}; every file must stay inside the project folder")]
    UnsafePath { path: String, reason: &'static str },

    /// A symbolic or hard link; refused outright because a link can redirect later entries out of the folder.
    #[error("`{path}` is a link; links are not accepted, put the file itself in the archive")]
    Link { path: String },

    /// A sparse file: refused because its holes unpack to zeros, so a few bytes can claim a terabyte.
    #[error(
        "`{path}` is a sparse file ({} once its holes are filled); sparse files are not accepted, \
         leave it out and let the Dockerfile or the service create it",
        human_size(*.apparent)
    )]
    SparseFile { path: String, apparent: u64 },

    /// One file or folder name over what file systems allow (255 bytes on Linux); writing it would fail.
    #[error(
        "`{}` has a name of {len} bytes; a file or folder name may be at most {limit} bytes",
        shorten(path)
    )]
    NameTooLong {
        path: String,
        len: usize,
        limit: usize,
    },

    /// A whole path longer than we write, however short each of its names.
    #[error(
        "`{}` is a path of {len} bytes; a path may be at most {limit} bytes",
        shorten(path)
    )]
    PathTooLong {
        path: String,
        len: usize,
        limit: usize,
    },

    /// A device, FIFO or other entry that is neither a file nor a folder.
    #[error("`{path}` is a device or other special file; only files and folders are accepted")]
    SpecialFile { path: String },

    /// The same path twice, or a path that is a file in one entry and a folder in another.
    #[error("`{path}` appears more than once in the archive (or as both a file and a folder)")]
    Conflict { path: String },

    /// No `Dockerfile` at the root, nor inside one folder that wraps everything.
    #[error(
        "there is no `Dockerfile` at the top of the project; put it at the root of the archive \
         (a single folder wrapping everything is fine)"
    )]
    NoDockerfile,

    /// The bytes are none of the accepted formats.
    #[error("the upload is not a .zip, .tar.gz or .tar archive")]
    UnknownFormat,

    /// The format was recognised but its structure is broken.
    #[error("the archive is damaged and could not be read ({detail})")]
    Corrupt { detail: String },

    /// The destination already holds files; a platform bug, never the learner's doing.
    #[error("the platform could not unpack the archive (destination not empty)")]
    DestinationNotEmpty { dest: PathBuf },

    /// Reading or writing the local file system failed.
    #[error("the platform could not {context}")]
    Io {
        context: &'static str,
        #[source]
        source: io::Error,
    },
}

impl ArchiveError {
    /// Whether the learner can fix this by changing the upload (as opposed to a fault on our side).
    pub fn is_learner_fault(&self) -> bool {
        !matches!(self, Self::DestinationNotEmpty { .. } | Self::Io { .. })
    }

    pub(super) fn io(context: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| Self::Io { context, source }
    }
}

/// A path cut to a length a message can show: its start and its end, which are what a learner recognises.
fn shorten(path: &str) -> String {
    const HEAD: usize = 40;
    const TAIL: usize = 20;
    let chars = path.chars().count();
    if chars <= HEAD + TAIL + 1 {
        return path.to_string();
    }
    let head: String = path.chars().take(HEAD).collect();
    let tail: String = path.chars().skip(chars - TAIL).collect();
    format!("{head}…{tail}")
}

/// Formats a byte count the way a learner reads it: "31.2 MB", "512 KB", "80 bytes" (binary units).
pub fn human_size(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    let (value, unit) = if b >= KB * KB * KB {
        (b / (KB * KB * KB), "GB")
    } else if b >= KB * KB {
        (b / (KB * KB), "MB")
    } else if b >= KB {
        (b / KB, "KB")
    } else {
        return format!("{bytes} bytes");
    };
    let text = format!("{value:.1}");
    format!("{} {unit}", text.trim_end_matches(".0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_size(80), "80 bytes");
        assert_eq!(human_size(25 * 1024 * 1024), "25 MB");
        assert_eq!(human_size(32_715_571), "31.2 MB");
        let e = ArchiveError::TooLarge {
            size: 32_715_571,
            limit: 25 * 1024 * 1024,
        };
        assert_eq!(e.to_string(), "the archive is 31.2 MB; the limit is 25 MB");
    }

    #[test]
    fn a_long_name_is_shown_by_its_start_and_end() {
        let name = format!("src/{}.rs", "x".repeat(300));
        let e = ArchiveError::NameTooLong {
            path: name,
            len: 307,
            limit: 255,
        };
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("`src/{}…{}.rs`", "x".repeat(36), "x".repeat(17))),
            "{text}"
        );
        assert!(
            text.ends_with(
                "has a name of 307 bytes; a file or folder name may be at most 255 bytes"
            ),
            "{text}"
        );
        assert_eq!(shorten("src/main.rs"), "src/main.rs");
    }

    #[test]
    fn a_sparse_file_is_named_with_its_apparent_size() {
        let e = ArchiveError::SparseFile {
            path: "disk.img".into(),
            apparent: 1 << 40,
        };
        assert!(
            e.to_string()
                .starts_with("`disk.img` is a sparse file (1024 GB once its holes are filled)"),
            "{e}"
        );
    }
}
