//! An online copy of the SQLite database, taken while the server and its workers keep running.
//!
//! `VACUUM INTO` reads the database inside one read transaction and writes a compact, self-contained file (no
//! `-wal` beside it), so the copy is consistent even while runs are being graded; copying `gauntlet.db` with `cp`
//! instead can catch a write half-done and leaves the WAL behind. PostgreSQL has its own tools (`pg_dump`), which
//! docs/operations.md describes; this module refuses it rather than pretending.

use std::path::{Path, PathBuf};

use std::str::FromStr;

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, Connection};

use crate::config::{Backend, DatabaseUrl};

/// Why a backup was not written.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("the database is PostgreSQL: back it up with pg_dump (see docs/operations.md, \"Backup and restore\")")]
    Postgres,
    #[error("there is no database at {0}: check the data folder or --database-url")]
    NoDatabase(PathBuf),
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

/// Writes a consistent copy of the SQLite database at `url` to `to`, a file that must not exist yet, and returns
/// its size in bytes.
///
/// The database is opened as it is: never created (a wrong data folder is an error, not an empty backup) and
/// never migrated (a newer binary taking a backup before an upgrade must not upgrade the live database under the
/// old server, or the backup could not roll the upgrade back). The copy is created readable by its owner only:
/// it holds password and token hashes.
pub async fn backup_sqlite(url: &DatabaseUrl, to: &Path) -> Result<u64, BackupError> {
    if url.backend() == Backend::Postgres {
        return Err(BackupError::Postgres);
    }
    let database = sqlite_file(url.expose());
    if !database.is_file() {
        return Err(BackupError::NoDatabase(database));
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
    let source = database
        .to_str()
        .ok_or_else(|| BackupError::NotUtf8(database.clone()))?;
    // `VACUUM INTO` accepts an existing file only when it is empty: create it first, owner-only.
    create_private(to)?;
    sqlx::any::install_default_drivers();
    let copied = async {
        let options = AnyConnectOptions::from_str(&format!("sqlite://{source}?mode=rw"))?;
        let mut conn = AnyConnection::connect_with(&options).await?;
        sqlx::query("PRAGMA busy_timeout = 10000")
            .execute(&mut conn)
            .await?;
        sqlx::query("VACUUM INTO $1")
            .bind(target.to_string())
            .execute(&mut conn)
            .await?;
        conn.close().await
    }
    .await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(to);
        return Err(BackupError::Database(e));
    }
    std::fs::metadata(to)
        .map(|m| m.len())
        .map_err(|source| BackupError::Read {
            path: to.to_path_buf(),
            source,
        })
}

/// The database file a `sqlite:` URL names (its query, such as `?mode=rwc`, left out).
fn sqlite_file(url: &str) -> PathBuf {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    PathBuf::from(rest.split('?').next().unwrap_or(rest))
}

fn create_private(path: &Path) -> Result<(), BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .map(|_| ())
        .map_err(|source| BackupError::Read {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_of_a_sqlite_url_leaves_its_options_out() {
        assert_eq!(
            sqlite_file("sqlite:///data/gauntlet.db?mode=rwc"),
            PathBuf::from("/data/gauntlet.db")
        );
        assert_eq!(
            sqlite_file("sqlite:gauntlet.db"),
            PathBuf::from("gauntlet.db")
        );
    }
}
