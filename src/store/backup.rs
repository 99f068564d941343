//! An online copy of the SQLite database, taken while the server and its workers keep running.
//!
//! `VACUUM INTO` reads the database inside one read transaction and writes a compact, self-contained file (no
//! `-wal` beside it), so the copy is consistent even while runs are being graded; copying `gauntlet.db` with `cp`
//! instead can catch a write half-done and leaves the WAL behind. PostgreSQL has its own tools (`pg_dump`), which
//! docs/operations.md describes; this module refuses it rather than pretending.

use std::path::{Path, PathBuf};

use super::{Backend, Store};

/// Why a backup was not written.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("the database is PostgreSQL: back it up with pg_dump (see docs/operations.md, \"Backup and restore\")")]
    Postgres,
    #[error("{0} already exists: a backup never overwrites a file, choose a new name")]
    Exists(PathBuf),
    #[error("the backup's folder {0} does not exist")]
    NoFolder(PathBuf),
    #[error("the backup path {0} is not valid UTF-8, which SQLite needs")]
    NotUtf8(PathBuf),
    #[error("cannot read the backup {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the database could not write the backup: {0}")]
    Database(#[from] sqlx::Error),
}

impl Store {
    /// Writes a consistent copy of the SQLite database to `to`, a file that must not exist yet, and returns its
    /// size in bytes.
    pub async fn backup_to(&self, to: &Path) -> Result<u64, BackupError> {
        if self.backend() == Backend::Postgres {
            return Err(BackupError::Postgres);
        }
        if to.exists() {
            return Err(BackupError::Exists(to.to_path_buf()));
        }
        let folder = match to.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !folder.is_dir() {
            return Err(BackupError::NoFolder(folder));
        }
        let target = to
            .to_str()
            .ok_or_else(|| BackupError::NotUtf8(to.to_path_buf()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target.to_string())
            .execute(self.pool())
            .await?;
        std::fs::metadata(to)
            .map(|m| m.len())
            .map_err(|source| BackupError::Read {
                path: to.to_path_buf(),
                source,
            })
    }
}
