//! Problems found in authored files (curriculum, labs, checks), each pinned to a file and a line.
//!
//! `gauntlet validate` collects every problem rather than stopping at the first, so an author fixes a whole
//! batch in one pass. Every loader in the crate reports through this one type.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    /// 1-based line; `None` when the problem concerns the file as a whole (missing, unreadable).
    pub line: Option<usize>,
    pub message: String,
}

impl Diagnostic {
    pub fn new(path: impl Into<PathBuf>, line: Option<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.into(),
            line,
            message: message.into(),
        }
    }

    /// A problem at a byte offset of `source`, the text of `path`.
    pub fn at_offset(path: &Path, source: &str, offset: usize, message: impl Into<String>) -> Self {
        Diagnostic::new(path, Some(line_of(source, offset)), message)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path.display(), line, self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// The 1-based line holding byte `offset` of `source` (offsets past the end count as the last line).
pub fn line_of(source: &str, offset: usize) -> usize {
    let end = offset.min(source.len());
    source.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_of_counts_newlines_before_the_offset() {
        let src = "a\nbb\nccc";
        assert_eq!(line_of(src, 0), 1);
        assert_eq!(line_of(src, 2), 2);
        assert_eq!(line_of(src, 5), 3);
        assert_eq!(line_of(src, 999), 3);
    }

    #[test]
    fn display_names_file_and_line() {
        let d = Diagnostic::new("labs/x/lab.toml", Some(4), "unknown pillar `foo`");
        assert_eq!(d.to_string(), "labs/x/lab.toml:4: unknown pillar `foo`");
    }
}
