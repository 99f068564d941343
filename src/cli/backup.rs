//! `gauntlet backup --to FILE`: an online copy of the SQLite database (see store/backup.rs for why `VACUUM INTO`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::config::{ConfigArgs, Settings};
use crate::store::backup_sqlite;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The new file to write the copy to (never overwritten)
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Copies the configured database to `to` and says what the copy does not hold.
pub async fn run(settings: &Settings, to: &Path) -> anyhow::Result<ExitCode> {
    // Decided from the URL, before connecting: a PostgreSQL operator gets the pointer to pg_dump at once.
    let bytes = backup_sqlite(&settings.database_url, to).await?;
    println!(
        "Backed up the database to {} ({:.1} MB).",
        to.display(),
        bytes as f64 / 1_048_576.0
    );
    println!(
        "The copy does not hold {}: keep that file with it (without it, sessions and form tokens end and re-grades \
         derive other run secrets).",
        settings.data_dir.join("secret.key").display()
    );
    Ok(ExitCode::SUCCESS)
}
