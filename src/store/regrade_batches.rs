//! Cohort re-grades: one lab graded again for every learner of a cohort, after its checks changed.
//!
//! **Which run.** Each learner's *latest graded run* of the lab (the newest run that ended passed or failed): it
//! is the learner's current work, the one whose verdict they last saw. An older, better run is not chosen: its
//! code is usually what the learner has since changed, and the gradebook's best cell keeps reading every run,
//! the new one included. Runs that ended in a platform error carry no verdict to compare, and learners with no
//! graded run, or whose latest graded run's archive retention dropped, are skipped and counted.
//!
//! **Order.** The batch's runs queue at [`LOW_PRIORITY`](super::queue::LOW_PRIORITY): a learner's own
//! submission queued later is still claimed first, and they do not count against a learner's cap on live runs.
//! Everything (the batch, each learner's before and after run) is in the database, so a server restart loses
//! nothing: the runs are ordinary queued runs and the page reads its progress from them.

use super::audit::{self, Actor};
use super::queue::LOW_PRIORITY;
use super::{Result, Store, StoreError};
use crate::domain::RegradeReason;

/// A cohort re-grade as started.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BatchRow {
    pub id: i64,
    pub cohort_id: i64,
    pub lab_id: String,
    pub requester: String,
    pub reason: String,
    pub created_at: i64,
}

/// One learner's line of a batch: the run re-graded (before) and the re-grade run (after).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BatchLine {
    pub user_id: i64,
    pub email: String,
    pub before_run: i64,
    pub before_state: String,
    pub before_score: Option<f64>,
    pub after_run: i64,
    pub after_state: String,
    pub after_score: Option<f64>,
}

impl BatchLine {
    /// Whether the re-grade run has ended.
    pub fn done(&self) -> bool {
        matches!(self.after_state.as_str(), "passed" | "failed" | "error")
    }

    /// Whether the verdict or the score moved.
    pub fn changed(&self) -> bool {
        self.done()
            && (self.before_state != self.after_state
                || (self.before_score.unwrap_or(0.0) - self.after_score.unwrap_or(0.0)).abs()
                    > 1e-9)
    }
}

/// What starting a batch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStarted {
    pub batch_id: i64,
    /// Runs queued (one per learner with a graded run).
    pub queued: usize,
    /// Learners with no graded run of the lab, or whose run's archive is gone.
    pub skipped: usize,
}

#[derive(sqlx::FromRow)]
struct Pick {
    id: i64,
    user_id: i64,
    submission_id: i64,
    seed: i64,
    due_at: Option<i64>,
    late: i64,
    dropped: Option<i64>,
}

const GRADED: &str = "('passed', 'failed')";

impl Store {
    /// Queues, at low priority, a re-grade of `lab_id` for every learner of `cohort_id` (see the module's doc
    /// for which run), under `version` of the lab's files; records the batch and audits it in one transaction.
    /// [`StoreError::Conflict`] while an earlier batch of the same lab and cohort still has runs to grade.
    pub async fn regrade_cohort(
        &self,
        cohort_id: i64,
        lab_id: &str,
        version: Option<&str>,
        by: &Actor,
        reason: &RegradeReason,
    ) -> Result<BatchStarted> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        // Takes the write lock (SQLite) or the cohort's row lock (PostgreSQL) first, so two clicks at once cannot
        // both pass the check below.
        sqlx::query("UPDATE cohorts SET id = id WHERE id = $1")
            .bind(cohort_id)
            .execute(&mut *tx)
            .await?;
        let (running,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM regrade_batch_runs br
             JOIN regrade_batches b ON b.id = br.batch_id JOIN runs n ON n.id = br.run_id
             WHERE b.cohort_id = $1 AND b.lab_id = $2
               AND n.state IN ('queued', 'building', 'starting', 'checking')",
        )
        .bind(cohort_id)
        .bind(lab_id)
        .fetch_one(&mut *tx)
        .await?;
        if running > 0 {
            tx.rollback().await?;
            return Err(StoreError::Conflict);
        }
        let picks: Vec<Pick> = sqlx::query_as(&format!(
            "SELECT r.id, r.user_id, r.submission_id, r.seed, r.due_at, r.late,
                    s.archive_dropped_at AS dropped
             FROM runs r JOIN users u ON u.id = r.user_id JOIN submissions s ON s.id = r.submission_id
             WHERE u.cohort_id = $1 AND u.role = 'learner' AND r.lab_id = $2 AND r.state IN {GRADED}
               AND r.id = (SELECT l.id FROM runs l
                           WHERE l.user_id = r.user_id AND l.lab_id = $2 AND l.state IN {GRADED}
                           ORDER BY l.submission_id DESC, l.id DESC LIMIT 1)
             ORDER BY r.user_id"
        ))
        .bind(cohort_id)
        .bind(lab_id)
        .fetch_all(&mut *tx)
        .await?;
        let (learners,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM users WHERE cohort_id = $1 AND role = 'learner'")
                .bind(cohort_id)
                .fetch_one(&mut *tx)
                .await?;
        let (batch_id,): (i64,) = sqlx::query_as(
            "INSERT INTO regrade_batches (cohort_id, lab_id, requested_by, requester, reason, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(cohort_id)
        .bind(lab_id)
        .bind(by.id)
        .bind(by.name.as_str())
        .bind(reason.as_str())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let mut queued = 0;
        for pick in picks.iter().filter(|p| p.dropped.is_none()) {
            let (run_id,): (i64,) = sqlx::query_as(
                "INSERT INTO runs (submission_id, user_id, lab_id, state, seed, created_at, due_at, late,
                                   lab_version, priority)
                 VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(pick.submission_id)
            .bind(pick.user_id)
            .bind(lab_id)
            // The same seed as the run re-graded, so only the changed checks can change the verdict.
            .bind(pick.seed)
            .bind(now)
            .bind(pick.due_at)
            .bind(pick.late)
            .bind(version)
            .bind(LOW_PRIORITY)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO run_events (run_id, kind, payload, created_at) VALUES ($1, 'state', $2, $3)",
            )
            .bind(run_id)
            .bind(r#"{"state":"queued"}"#)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            // The run pages show who re-graded and why, as for a one-run re-grade.
            sqlx::query(
                "INSERT INTO regrades (run_id, original_run_id, requested_by, requester, reason, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(run_id)
            .bind(pick.id)
            .bind(by.id)
            .bind(by.name.as_str())
            .bind(reason.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO regrade_batch_runs (batch_id, user_id, original_run_id, run_id)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(batch_id)
            .bind(pick.user_id)
            .bind(pick.id)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
            queued += 1;
        }
        let skipped = usize::try_from(learners)
            .unwrap_or(0)
            .saturating_sub(queued);
        audit::record(
            &mut tx,
            now,
            by,
            "cohort.regrade",
            &format!("cohort {cohort_id}"),
            serde_json::json!({
                "batch": batch_id, "lab": lab_id, "queued": queued, "skipped": skipped,
                "reason": reason.as_str(),
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(BatchStarted {
            batch_id,
            queued,
            skipped,
        })
    }

    /// A batch, or [`StoreError::NotFound`].
    pub async fn regrade_batch(&self, batch_id: i64) -> Result<BatchRow> {
        Ok(sqlx::query_as(
            "SELECT id, cohort_id, lab_id, requester, reason, created_at FROM regrade_batches WHERE id = $1",
        )
        .bind(batch_id)
        .fetch_one(self.pool())
        .await?)
    }

    /// A cohort's batches, newest first.
    pub async fn regrade_batches_of(&self, cohort_id: i64) -> Result<Vec<BatchRow>> {
        Ok(sqlx::query_as(
            "SELECT id, cohort_id, lab_id, requester, reason, created_at FROM regrade_batches
             WHERE cohort_id = $1 ORDER BY id DESC LIMIT 50",
        )
        .bind(cohort_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// A batch's lines, by learner e-mail.
    pub async fn regrade_batch_lines(&self, batch_id: i64) -> Result<Vec<BatchLine>> {
        Ok(sqlx::query_as(
            "SELECT br.user_id, u.email, o.id AS before_run, o.state AS before_state, o.score AS before_score,
                    n.id AS after_run, n.state AS after_state, n.score AS after_score
             FROM regrade_batch_runs br JOIN users u ON u.id = br.user_id
             JOIN runs o ON o.id = br.original_run_id JOIN runs n ON n.id = br.run_id
             WHERE br.batch_id = $1 ORDER BY u.email",
        )
        .bind(batch_id)
        .fetch_all(self.pool())
        .await?)
    }
}
