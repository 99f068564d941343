//! The database: one pool for SQLite or PostgreSQL, migrations per backend, and one file per aggregate with its
//! SQL. No other module writes SQL.
//!
//! Queries go through `sqlx::Any` at run time with `$N` placeholders (both drivers accept them), so one query
//! string serves both engines. Times are stored as Unix milliseconds and flags as integers because `Any` cannot
//! decode SQLite's booleans or timestamps. Where the engines need different SQL (locking in the queue), the
//! store branches on [`Backend`].

mod audit;
mod backup;
mod cohorts;
mod gradebook;
mod grading_stats;
mod invites;
mod lease;
mod progress;
mod queue;
mod quizzes;
mod regrade_batches;
mod regrades;
mod reloads;
mod resets;
mod runs;
mod schedule;
mod sessions;
mod staff;
mod tokens;
mod users;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::AnyPool;

use crate::clock::{SharedClock, SystemClock};
pub use crate::config::Backend;
use crate::config::DatabaseUrl;
pub use crate::domain::Quota;
pub use audit::{Actor, AuditRow};
pub use backup::{backup_sqlite, BackupError};
pub use cohorts::{cohort_name, CohortRow, StaffError};
pub use gradebook::{CohortRunRow, FailedCheckRow, LatestCheckRow, Learners};
pub use grading_stats::{GradingSnapshot, StageHistogram, StageTimes, STAGES, STAGE_BOUNDS_SECS};
pub use invites::{Invite, JoinError, NewLearner};
pub use lease::{Lease, MAX_ATTEMPTS};
pub use progress::LabProgressRow;
pub use queue::{LiveRunRow, LOW_PRIORITY};
pub use quizzes::{best_by_week, NewQuizAttempt, QuizAttemptRow, QuizBestRow};
pub use regrade_batches::{BatchLine, BatchRow, BatchStarted};
pub use regrades::RegradeRow;
pub use reloads::VersionChange;
pub use resets::Redeemed;
pub use runs::{CheckResultRow, EventRow, FinalResult, RunRow, RunTerms};
pub use schedule::EarlyWeekRow;
pub use tokens::ApiTokenRow;
pub use users::{UserRow, UserSummary};

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    Conflict,
    /// The learner already has this many runs queued or being graded.
    #[error(
        "the learner already has {0} run(s) waiting or being graded, the most allowed at once"
    )]
    LiveRunCap(i64),
    /// Retention dropped the submission's archive: its runs keep their results, but it cannot be graded again.
    #[error("this submission's archive is no longer kept (only the newest ones are), so it cannot be graded again; ask the learner to submit again")]
    ArchiveGone,
    #[error("cannot create the database folder {path}: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Database(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The application's handle on its database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    clock: SharedClock,
}

impl Store {
    /// Connects, creating the SQLite file (and its folder) when missing, and applies pending migrations.
    pub async fn connect(url: &DatabaseUrl) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = url.backend();
        if backend == Backend::Sqlite {
            ensure_sqlite_folder(url.expose())?;
        }
        let options = AnyConnectOptions::from_str(url.expose())?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Foreign keys are off by default in SQLite; WAL lets readers run beside the writer, and
                        // a busy timeout makes concurrent writers wait instead of failing at once.
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await?;
        Ok(Store {
            pool,
            backend,
            clock: Arc::new(SystemClock),
        })
    }

    /// The same store reading time from `clock` (tests move time by hand).
    pub fn with_clock(mut self, clock: SharedClock) -> Store {
        self.clock = clock;
        self
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Answers when the database does (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

fn ensure_sqlite_folder(url: &str) -> Result<()> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::Folder {
                path: parent.display().to_string(),
                source,
            })?;
        }
    }
    Ok(())
}
