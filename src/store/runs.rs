//! Submissions and runs: queuing them, reading them and their events. Claiming and the lease a worker holds
//! are in `lease.rs`; the queue's order, quotas and retention in `queue.rs`.

use super::{Result, Store};
use crate::domain::Quota;
use crate::domain::RunState;
use crate::schedule::Timing;

/// What a run is queued under besides its submission: the version of the lab's files that must grade it
/// (`None`: any worker may) and how it stands against the lab's due date.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunTerms<'a> {
    pub version: Option<&'a str>,
    pub timing: Timing,
}

/// A run as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRow {
    pub id: i64,
    pub submission_id: i64,
    pub user_id: i64,
    pub lab_id: String,
    pub state: String,
    pub stage: Option<String>,
    pub reason: Option<String>,
    pub detail: Option<String>,
    pub score: Option<f64>,
    pub seed: i64,
    pub attempts: i64,
    pub worker_id: Option<String>,
    pub build_log: String,
    pub container_log: String,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// When the lab was due for the learner at submission; `None`: nothing was due.
    pub due_at: Option<i64>,
    /// 1 when the submission came after `due_at` (graded all the same).
    pub late: i64,
    /// The version of the lab's files the run was submitted under (`None`: any worker may grade it).
    pub lab_version: Option<String>,
}

impl RunRow {
    pub fn state(&self) -> RunState {
        RunState::parse(&self.state).unwrap_or(RunState::Error)
    }
}

pub(super) const RUN_COLUMNS: &str =
    "id, submission_id, user_id, lab_id, state, stage, reason, detail, score, seed, \
    attempts, worker_id, build_log, container_log, created_at, started_at, finished_at, due_at, late, \
    lab_version";

/// One thing that happened during a run, for the live page and the CLI.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub run_id: i64,
    pub kind: String,
    pub payload: String,
    pub created_at: i64,
}

/// One check's result as stored.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct CheckResultRow {
    pub position: i64,
    pub check_id: String,
    pub title: String,
    pub hint: String,
    pub pillar: String,
    pub weight: f64,
    pub required: i64,
    pub verdict: String,
    pub message: String,
    pub detail: String,
    pub duration_ms: i64,
}

/// What a worker records when a run ends.
#[derive(Debug, Clone)]
pub struct FinalResult {
    pub state: RunState,
    /// The stage the run ended in (`build`, `start`, `checks`, …).
    pub stage: String,
    /// Learner-facing reason.
    pub reason: String,
    /// Hidden detail, instructors only.
    pub detail: String,
    pub score: Option<f64>,
    pub build_log: String,
    pub container_log: String,
    pub checks: Vec<CheckResultRow>,
    /// Whether the run counts toward the learner's progress: not a platform error (it says nothing about their
    /// work), nor a run of a lab that has no checks yet (nothing was scored).
    pub counts: bool,
}

impl Store {
    /// Stores an accepted archive and queues its run, with no cap and no retention; returns the run's id.
    pub async fn submit(
        &self,
        user_id: i64,
        lab_id: &str,
        archive: &[u8],
        seed: i64,
    ) -> Result<i64> {
        self.submit_within(
            user_id,
            lab_id,
            archive,
            seed,
            Quota::UNLIMITED,
            RunTerms::default(),
        )
        .await
    }

    /// Inserts the submission, its queued run (under `terms`) and the run's first event in `tx`; returns the
    /// run's id.
    pub(super) async fn insert_run(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        user_id: i64,
        lab_id: &str,
        archive: &[u8],
        seed: i64,
        terms: RunTerms<'_>,
    ) -> Result<i64> {
        let now = self.now();
        let (submission,): (i64,) = sqlx::query_as(
            "INSERT INTO submissions (user_id, lab_id, archive, bytes, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user_id)
        .bind(lab_id)
        .bind(archive.to_vec())
        .bind(archive.len() as i64)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
        let (run,): (i64,) = sqlx::query_as(
            "INSERT INTO runs (submission_id, user_id, lab_id, state, seed, created_at, due_at, late, lab_version)
             VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(submission)
        .bind(user_id)
        .bind(lab_id)
        .bind(seed)
        .bind(now)
        .bind(terms.timing.due_at)
        .bind(i64::from(terms.timing.late))
        .bind(terms.version)
        .fetch_one(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO run_events (run_id, kind, payload, created_at) VALUES ($1, 'state', $2, $3)",
        )
        .bind(run)
        .bind(r#"{"state":"queued"}"#)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(run)
    }

    pub async fn append_event(&self, run_id: i64, kind: &str, payload: &str) -> Result<i64> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO run_events (run_id, kind, payload, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(run_id)
        .bind(kind)
        .bind(payload)
        .bind(self.now())
        .fetch_one(self.pool())
        .await?;
        Ok(id)
    }

    /// Events of a run after the one with id `after` (0 for all), oldest first.
    pub async fn events_after(&self, run_id: i64, after: i64, limit: i64) -> Result<Vec<EventRow>> {
        Ok(sqlx::query_as(
            "SELECT id, run_id, kind, payload, created_at FROM run_events
             WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(run_id)
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn run(&self, run_id: i64) -> Result<RunRow> {
        Ok(
            sqlx::query_as(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"))
                .bind(run_id)
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// A learner's runs of one lab, newest first.
    pub async fn runs_of(&self, user_id: i64, lab_id: &str, limit: i64) -> Result<Vec<RunRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE user_id = $1 AND lab_id = $2 ORDER BY id DESC LIMIT $3"
        ))
        .bind(user_id)
        .bind(lab_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// The runs that graded one submission, oldest first: the learner's own run, then its re-grades.
    pub async fn runs_of_submission(&self, submission_id: i64) -> Result<Vec<RunRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE submission_id = $1 ORDER BY id"
        ))
        .bind(submission_id)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn check_results(&self, run_id: i64) -> Result<Vec<CheckResultRow>> {
        Ok(sqlx::query_as(
            "SELECT position, check_id, title, hint, pillar, weight, required, verdict, message, detail, duration_ms
             FROM check_results WHERE run_id = $1 ORDER BY position",
        )
        .bind(run_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Runs waiting for a worker (for metrics and the operator).
    pub async fn queue_depth(&self) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM runs WHERE state = 'queued' AND worker_id IS NULL",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(n)
    }

    /// Runs that are still live (a worker holds them), with the attempt it holds: that attempt's Docker objects
    /// must stay; earlier attempts' may go.
    pub async fn live_runs(&self) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT id, attempts FROM runs WHERE state IN ('queued', 'building', 'starting', 'checking')
               AND worker_id IS NOT NULL AND lease_expires_at >= $1",
        )
        .bind(self.now())
        .fetch_all(self.pool())
        .await?)
    }
}

impl Store {
    /// This installation's id, created on first use: eight lowercase hex digits.
    pub async fn instance_id(&self) -> Result<String> {
        let fresh = hex::encode(rand::random::<[u8; 4]>());
        sqlx::query("INSERT INTO instance (singleton, id) VALUES (1, $1) ON CONFLICT (singleton) DO NOTHING")
            .bind(format!("g{fresh}"))
            .execute(self.pool())
            .await?;
        let (id,): (String,) = sqlx::query_as("SELECT id FROM instance WHERE singleton = 1")
            .fetch_one(self.pool())
            .await?;
        Ok(id)
    }
}
