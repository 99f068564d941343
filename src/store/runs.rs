//! Submissions and runs: the grading queue. A run is claimed with a lease (worker id + expiry) that the worker
//! renews by heartbeat; a run whose lease expired is claimed again by any worker. Every write a worker makes
//! after the claim names its worker id, so a worker that lost its lease can no longer change the run, and the
//! final result is recorded exactly once.

use super::{progress, Backend, Result, Store};
use crate::domain::RunState;

/// Claims more than this many times mean the run itself kills workers: it is ended as a platform error.
pub const MAX_ATTEMPTS: i64 = 3;

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
}

impl RunRow {
    pub fn state(&self) -> RunState {
        RunState::parse(&self.state).unwrap_or(RunState::Error)
    }
}

const RUN_COLUMNS: &str =
    "id, submission_id, user_id, lab_id, state, stage, reason, detail, score, seed, \
    attempts, worker_id, build_log, container_log, created_at, started_at, finished_at";

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
    /// Stores an accepted archive and queues its run; returns the run's id.
    pub async fn submit(
        &self,
        user_id: i64,
        lab_id: &str,
        archive: &[u8],
        seed: i64,
    ) -> Result<i64> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let (submission,): (i64,) = sqlx::query_as(
            "INSERT INTO submissions (user_id, lab_id, archive, bytes, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user_id)
        .bind(lab_id)
        .bind(archive.to_vec())
        .bind(archive.len() as i64)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let (run,): (i64,) = sqlx::query_as(
            "INSERT INTO runs (submission_id, user_id, lab_id, state, seed, created_at)
             VALUES ($1, $2, $3, 'queued', $4, $5) RETURNING id",
        )
        .bind(submission)
        .bind(user_id)
        .bind(lab_id)
        .bind(seed)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO run_events (run_id, kind, payload, created_at) VALUES ($1, 'state', $2, $3)",
        )
        .bind(run)
        .bind(r#"{"state":"queued"}"#)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(run)
    }

    /// Queues another grading of the same submission (an instructor's re-grade); returns the new run's id.
    pub async fn regrade(&self, run_id: i64, seed: i64) -> Result<i64> {
        let run = self.run(run_id).await?;
        let now = self.now();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO runs (submission_id, user_id, lab_id, state, seed, created_at)
             VALUES ($1, $2, $3, 'queued', $4, $5) RETURNING id",
        )
        .bind(run.submission_id)
        .bind(run.user_id)
        .bind(&run.lab_id)
        .bind(seed)
        .bind(now)
        .fetch_one(self.pool())
        .await?;
        self.append_event(id, "state", r#"{"state":"queued"}"#)
            .await?;
        Ok(id)
    }

    /// Takes the oldest run that is queued or whose worker's lease expired, leasing it to `worker`.
    pub async fn claim_run(&self, worker: &str, lease_ms: i64) -> Result<Option<RunRow>> {
        let now = self.now();
        self.give_up_on_crashing_runs(now).await?;
        // PostgreSQL: several workers may claim at once; SKIP LOCKED makes each take a different row.
        // SQLite: one writer at a time, so the single UPDATE is already atomic.
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE runs SET worker_id = $1, lease_expires_at = $2, heartbeat_at = $3, attempts = attempts + 1,
                    started_at = COALESCE(started_at, $3)
             WHERE id = (SELECT id FROM runs
                         WHERE state IN ('queued', 'building', 'starting', 'checking')
                           AND (worker_id IS NULL OR lease_expires_at < $3)
                         ORDER BY id LIMIT 1 {lock})
             RETURNING {RUN_COLUMNS}"
        );
        let claimed: Option<RunRow> = sqlx::query_as(&sql)
            .bind(worker)
            .bind(now + lease_ms)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
        if let Some(run) = &claimed {
            let payload =
                serde_json::json!({ "worker": worker, "attempt": run.attempts }).to_string();
            let kind = if run.attempts > 1 {
                "resumed"
            } else {
                "claimed"
            };
            self.append_event(run.id, kind, &payload).await?;
        }
        Ok(claimed)
    }

    /// Ends, as a platform error, runs that were claimed and lost [`MAX_ATTEMPTS`] times.
    async fn give_up_on_crashing_runs(&self, now: i64) -> Result<()> {
        let ended: Vec<(i64,)> = sqlx::query_as(
            "UPDATE runs SET state = 'error', stage = 'grading', worker_id = NULL, finished_at = $1,
                    reason = 'Grading was interrupted several times; this is a fault of the platform, not of your service. Submit again later.'
             WHERE state IN ('queued', 'building', 'starting', 'checking') AND worker_id IS NOT NULL
               AND lease_expires_at < $1 AND attempts >= $2
             RETURNING id",
        )
        .bind(now)
        .bind(MAX_ATTEMPTS)
        .fetch_all(self.pool())
        .await?;
        for (id,) in ended {
            self.append_event(id, "finished", r#"{"state":"error"}"#)
                .await?;
        }
        Ok(())
    }

    /// Renews the lease; false when the run is no longer this worker's (the worker must stop).
    pub async fn heartbeat(&self, run_id: i64, worker: &str, lease_ms: i64) -> Result<bool> {
        let now = self.now();
        let done = sqlx::query(
            "UPDATE runs SET lease_expires_at = $1, heartbeat_at = $2
             WHERE id = $3 AND worker_id = $4 AND state IN ('queued', 'building', 'starting', 'checking')",
        )
        .bind(now + lease_ms)
        .bind(now)
        .bind(run_id)
        .bind(worker)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves a live run to another live state; false when the run is no longer this worker's.
    pub async fn advance(&self, run_id: i64, worker: &str, state: RunState) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE runs SET state = $1
             WHERE id = $2 AND worker_id = $3 AND state IN ('queued', 'building', 'starting', 'checking')",
        )
        .bind(state.as_str())
        .bind(run_id)
        .bind(worker)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 1 {
            let payload = serde_json::json!({ "state": state }).to_string();
            self.append_event(run_id, "state", &payload).await?;
        }
        Ok(done.rows_affected() == 1)
    }

    /// Puts a run back in the queue after a platform fault (the Docker engine went away), releasing the lease.
    pub async fn requeue(&self, run_id: i64, worker: &str, why: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE runs SET state = 'queued', worker_id = NULL, lease_expires_at = NULL
             WHERE id = $1 AND worker_id = $2 AND state IN ('queued', 'building', 'starting', 'checking')",
        )
        .bind(run_id)
        .bind(worker)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 1 {
            let payload = serde_json::json!({ "state": "queued", "why": why }).to_string();
            self.append_event(run_id, "requeued", &payload).await?;
        }
        Ok(done.rows_affected() == 1)
    }

    /// Records the end of a run once: its state, results and the learner's progress, in one transaction that
    /// only the lease holder can commit. Returns false (and changes nothing) when the run was not this worker's.
    pub async fn finish_run(
        &self,
        run_id: i64,
        worker: &str,
        result: &FinalResult,
    ) -> Result<bool> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let ended: Option<(i64, String)> = sqlx::query_as(
            "UPDATE runs SET state = $1, stage = $2, reason = $3, detail = $4, score = $5, build_log = $6,
                    container_log = $7, finished_at = $8, lease_expires_at = NULL
             WHERE id = $9 AND worker_id = $10 AND state IN ('queued', 'building', 'starting', 'checking')
             RETURNING user_id, lab_id",
        )
        .bind(result.state.as_str())
        .bind(&result.stage)
        .bind(&result.reason)
        .bind(&result.detail)
        .bind(result.score)
        .bind(&result.build_log)
        .bind(&result.container_log)
        .bind(now)
        .bind(run_id)
        .bind(worker)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((user_id, lab_id)) = ended else {
            tx.rollback().await?;
            return Ok(false);
        };
        for c in &result.checks {
            sqlx::query(
                "INSERT INTO check_results (run_id, position, check_id, title, hint, pillar, weight, required,
                                            verdict, message, detail, duration_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(run_id)
            .bind(c.position)
            .bind(&c.check_id)
            .bind(&c.title)
            .bind(&c.hint)
            .bind(&c.pillar)
            .bind(c.weight)
            .bind(c.required)
            .bind(&c.verdict)
            .bind(&c.message)
            .bind(&c.detail)
            .bind(c.duration_ms)
            .execute(&mut *tx)
            .await?;
        }
        // A platform error says nothing about the learner's work, and a lab without checks scores nothing: both
        // leave their progress alone.
        if result.counts && result.state != RunState::Error {
            let passed = result.state == RunState::Passed;
            progress::upsert(
                &mut tx,
                user_id,
                &lab_id,
                result.score.unwrap_or(0.0),
                passed,
                now,
            )
            .await?;
        }
        let payload =
            serde_json::json!({ "state": result.state, "score": result.score }).to_string();
        sqlx::query("INSERT INTO run_events (run_id, kind, payload, created_at) VALUES ($1, 'finished', $2, $3)")
            .bind(run_id)
            .bind(payload)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
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

    pub async fn check_results(&self, run_id: i64) -> Result<Vec<CheckResultRow>> {
        Ok(sqlx::query_as(
            "SELECT position, check_id, title, hint, pillar, weight, required, verdict, message, detail, duration_ms
             FROM check_results WHERE run_id = $1 ORDER BY position",
        )
        .bind(run_id)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn submission_archive(&self, submission_id: i64) -> Result<Vec<u8>> {
        let (bytes,): (Vec<u8>,) = sqlx::query_as("SELECT archive FROM submissions WHERE id = $1")
            .bind(submission_id)
            .fetch_one(self.pool())
            .await?;
        Ok(bytes)
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

    /// Ids of runs that are still live (a worker holds or may take them): their Docker objects must stay.
    pub async fn live_run_ids(&self) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT id FROM runs WHERE state IN ('queued', 'building', 'starting', 'checking')
               AND worker_id IS NOT NULL AND lease_expires_at >= $1",
        )
        .bind(self.now())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
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
