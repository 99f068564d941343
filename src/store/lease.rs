//! The grading queue's leases. A run is claimed with a lease (worker id, attempt number, expiry) that the
//! worker renews by heartbeat; a run whose lease expired is claimed again by any worker, as a new attempt.
//! Every write a worker makes after the claim names its [`Lease`], so a worker that lost its lease can no
//! longer change the run, and the final result is recorded exactly once.

use super::grading_stats::{self, StageTimes};
use super::queue;
use super::runs::{FinalResult, RunRow, RUN_COLUMNS};
use super::{progress, Backend, Result, Store};
use crate::domain::RunState;

/// Claims more than this many times mean the run itself kills workers: it is ended as a platform error.
pub const MAX_ATTEMPTS: i64 = 3;

/// A worker's hold on one attempt of a run. Every write a worker makes names all three, so that a worker whose
/// lease was taken (the run was claimed again: a new attempt) can change nothing, even under the same worker id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub run_id: i64,
    pub worker: String,
    pub attempt: i64,
}

impl Lease {
    /// The lease `worker` got by claiming `run`.
    pub fn of(run: &RunRow, worker: &str) -> Lease {
        Lease {
            run_id: run.id,
            worker: worker.to_string(),
            attempt: run.attempts,
        }
    }
}

/// The condition every write of a lease holder carries: the run is live, and this attempt is this worker's.
/// The arguments are the placeholders that bind the run id, the worker and the attempt.
pub(super) fn held(run: &str, worker: &str, attempt: &str) -> String {
    format!(
        "id = {run} AND worker_id = {worker} AND attempts = {attempt} \
         AND state IN ('queued', 'building', 'starting', 'checking')"
    )
}

impl Store {
    /// Takes the next waiting run (queued, or its worker's lease expired) in the fair order of
    /// [`super::queue`], leasing it to `worker`, whatever version of its lab it was submitted under.
    pub async fn claim_run(&self, worker: &str, lease_ms: i64) -> Result<Option<RunRow>> {
        self.claim_run_matching(worker, lease_ms, None).await
    }

    /// [`Store::claim_run`] among the runs submitted under a lab version in `versions` (`lab_id:version` keys,
    /// the worker's own files) or under none recorded; `None` takes any run.
    pub async fn claim_run_matching(
        &self,
        worker: &str,
        lease_ms: i64,
        versions: Option<&[String]>,
    ) -> Result<Option<RunRow>> {
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
                    started_at = COALESCE(started_at, $3), claim_seq = {next},
                    building_at = NULL, starting_at = NULL, checking_at = NULL
             WHERE id = (SELECT r.id FROM runs r WHERE {waiting} AND {matching}
                         ORDER BY r.priority, {key}, {served}, r.id LIMIT 1 {lock})
             RETURNING {RUN_COLUMNS}",
            next = queue::NEXT_CLAIM_SEQ,
            waiting = queue::waiting("$3"),
            key = queue::claim_key("$3"),
            served = queue::served(),
            matching = queue::versions_match(versions, 4),
        );
        let mut query = sqlx::query_as(&sql)
            .bind(worker)
            .bind(now + lease_ms)
            .bind(now);
        for key in versions.unwrap_or_default() {
            query = query.bind(key);
        }
        let claimed: Option<RunRow> = query.fetch_optional(self.pool()).await?;
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

    /// Ends, as a platform error, runs that were claimed and lost [`MAX_ATTEMPTS`] times (their worker died,
    /// or panicked on them).
    async fn give_up_on_crashing_runs(&self, now: i64) -> Result<()> {
        let ended: Vec<(i64,)> = sqlx::query_as(
            "UPDATE runs SET state = 'error', stage = 'grading', worker_id = NULL, finished_at = $1,
                    reason = 'Grading was interrupted several times; this is a fault of the platform, not of your service. Submit again later.'
             WHERE state IN ('queued', 'building', 'starting', 'checking') AND attempts >= $2
               AND (worker_id IS NULL OR lease_expires_at < $1)
             RETURNING id",
        )
        .bind(now)
        .bind(MAX_ATTEMPTS)
        .fetch_all(self.pool())
        .await?;
        if !ended.is_empty() {
            let mut tx = self.pool().begin().await?;
            for _ in &ended {
                grading_stats::count_outcome(&mut tx, "error").await?;
            }
            tx.commit().await?;
        }
        for (id,) in ended {
            self.append_event(id, "finished", r#"{"state":"error"}"#)
                .await?;
        }
        Ok(())
    }

    /// Renews the lease; false when the run is no longer this attempt's, or its lease already expired (another
    /// worker may take it at any moment): the worker must stop at once.
    pub async fn heartbeat(&self, lease: &Lease, lease_ms: i64) -> Result<bool> {
        let now = self.now();
        let done = sqlx::query(&format!(
            "UPDATE runs SET lease_expires_at = $1, heartbeat_at = $2
             WHERE {} AND lease_expires_at >= $2",
            held("$3", "$4", "$5")
        ))
        .bind(now + lease_ms)
        .bind(now)
        .bind(lease.run_id)
        .bind(&lease.worker)
        .bind(lease.attempt)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves a live run to another live state; false when the run is no longer this attempt's.
    pub async fn advance(&self, lease: &Lease, state: RunState) -> Result<bool> {
        // When the attempt entered the state, for the stage durations of /metrics (store/grading_stats.rs).
        let mark = match state {
            RunState::Building => Some("building_at"),
            RunState::Starting => Some("starting_at"),
            RunState::Checking => Some("checking_at"),
            _ => None,
        };
        let set_mark = mark
            .map(|column| format!(", {column} = $5"))
            .unwrap_or_default();
        let sql = format!(
            "UPDATE runs SET state = $1{set_mark} WHERE {}",
            held("$2", "$3", "$4")
        );
        let mut query = sqlx::query(&sql)
            .bind(state.as_str())
            .bind(lease.run_id)
            .bind(&lease.worker)
            .bind(lease.attempt);
        if mark.is_some() {
            query = query.bind(self.now());
        }
        let done = query.execute(self.pool()).await?;
        if done.rows_affected() == 1 {
            let payload = serde_json::json!({ "state": state }).to_string();
            self.append_event(lease.run_id, "state", &payload).await?;
        }
        Ok(done.rows_affected() == 1)
    }

    /// Puts a run back in the queue after a platform fault (the Docker engine went away), releasing the lease.
    pub async fn requeue(&self, lease: &Lease, why: &str) -> Result<bool> {
        self.release(lease, why, 0).await
    }

    /// Puts a run back in the queue without counting this attempt (the server is shutting down: nothing about
    /// the run is to blame, so it must not move closer to [`MAX_ATTEMPTS`]).
    pub async fn requeue_uncounted(&self, lease: &Lease, why: &str) -> Result<bool> {
        self.release(lease, why, 1).await
    }

    async fn release(&self, lease: &Lease, why: &str, uncount: i64) -> Result<bool> {
        let done = sqlx::query(&format!(
            "UPDATE runs SET state = 'queued', worker_id = NULL, lease_expires_at = NULL,
                    attempts = attempts - $1
             WHERE {}",
            held("$2", "$3", "$4")
        ))
        .bind(uncount)
        .bind(lease.run_id)
        .bind(&lease.worker)
        .bind(lease.attempt)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 1 {
            let payload = serde_json::json!({ "state": "queued", "why": why }).to_string();
            self.append_event(lease.run_id, "requeued", &payload)
                .await?;
        }
        Ok(done.rows_affected() == 1)
    }

    /// Records the end of a run once: its state, results and the learner's progress, in one transaction that
    /// only the lease holder can commit. Returns false (and changes nothing) when the run was not this worker's.
    pub async fn finish_run(&self, lease: &Lease, result: &FinalResult) -> Result<bool> {
        let run_id = lease.run_id;
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        #[allow(clippy::type_complexity)]
        let ended: Option<(i64, String, i64, Option<i64>, Option<i64>, Option<i64>, Option<i64>)> =
            sqlx::query_as(&format!(
            "UPDATE runs SET state = $1, stage = $2, reason = $3, detail = $4, score = $5, build_log = $6,
                    container_log = $7, finished_at = $8, lease_expires_at = NULL
             WHERE {}
             RETURNING user_id, lab_id, created_at, started_at, building_at, starting_at, checking_at",
            held("$9", "$10", "$11")
        ))
        .bind(result.state.as_str())
        .bind(&result.stage)
        .bind(&result.reason)
        .bind(&result.detail)
        .bind(result.score)
        .bind(&result.build_log)
        .bind(&result.container_log)
        .bind(now)
        .bind(run_id)
        .bind(&lease.worker)
        .bind(lease.attempt)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((user_id, lab_id, created_at, started_at, building_at, starting_at, checking_at)) =
            ended
        else {
            tx.rollback().await?;
            return Ok(false);
        };
        let times = StageTimes {
            created_at,
            started_at,
            building_at,
            starting_at,
            checking_at,
            finished_at: now,
        };
        grading_stats::record(&mut tx, &times).await?;
        grading_stats::count_outcome(&mut tx, result.state.as_str()).await?;
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
}
