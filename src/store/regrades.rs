//! Re-grades: another grading of a stored submission, started by a member of staff (or the operator) for a
//! reason. Each re-grade run keeps who started it, why, and the run it was started from, so the staff's run
//! page links both ways; the audit log gets the same entry in the same transaction.

use super::audit::{self, Actor};
use super::{Result, Store, StoreError};
use crate::domain::RegradeReason;

/// Who re-graded which run, and why.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RegradeRow {
    /// The re-grade run.
    pub run_id: i64,
    /// The run whose page the re-grade was started from.
    pub original_run_id: i64,
    /// The requester's name as it was then (an e-mail, or `command line`).
    pub requester: String,
    pub reason: String,
    pub created_at: i64,
}

const REGRADE_COLUMNS: &str = "run_id, original_run_id, requester, reason, created_at";

impl Store {
    /// Queues another grading of `run_id`'s submission with `seed`, recording `by` and `reason` and auditing
    /// it; returns the new run's id. [`StoreError::ArchiveGone`] when retention dropped the archive.
    pub async fn regrade(
        &self,
        run_id: i64,
        seed: i64,
        version: Option<&str>,
        by: &Actor,
        reason: &RegradeReason,
    ) -> Result<i64> {
        let run = self.run(run_id).await?;
        if self.submission_archive(run.submission_id).await?.is_none() {
            return Err(StoreError::ArchiveGone);
        }
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO runs (submission_id, user_id, lab_id, state, seed, created_at, due_at, late, lab_version)
             VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(run.submission_id)
        .bind(run.user_id)
        .bind(&run.lab_id)
        .bind(seed)
        .bind(now)
        // A re-grade is as late as its submission was.
        .bind(run.due_at)
        .bind(run.late)
        // Graded by the checks the server holds now, which is what a re-grade is for.
        .bind(version)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO run_events (run_id, kind, payload, created_at) VALUES ($1, 'state', $2, $3)",
        )
        .bind(id)
        .bind(r#"{"state":"queued"}"#)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO regrades (run_id, original_run_id, requested_by, requester, reason, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(run_id)
        .bind(by.id)
        .bind(by.name.as_str())
        .bind(reason.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // A re-grade of a run still waiting replaces it: left queued, it would hold a place under the learner's
        // cap on live runs and, if a worker of its own lab version came back, give the submission two verdicts.
        let replaced =
            format!("Replaced by re-grade run {id} before it was graded; it does not count.");
        let ended = sqlx::query(
            "UPDATE runs SET state = 'error', reason = $1, finished_at = $2 WHERE id = $3 AND state = 'queued'",
        )
        .bind(&replaced)
        .bind(now)
        .bind(run_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if ended > 0 {
            sqlx::query(
                "INSERT INTO run_events (run_id, kind, payload, created_at) VALUES ($1, 'finished', $2, $3)",
            )
            .bind(run_id)
            .bind(r#"{"state":"error"}"#)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        audit::record(
            &mut tx,
            now,
            by,
            "run.regrade",
            &format!("run {run_id}"),
            serde_json::json!({ "regrade_run": id, "seed": seed, "reason": reason.as_str() }),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The re-grades among the runs of one submission, oldest first: how each was started.
    pub async fn regrades_of_submission(&self, submission_id: i64) -> Result<Vec<RegradeRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {REGRADE_COLUMNS} FROM regrades
             WHERE run_id IN (SELECT id FROM runs WHERE submission_id = $1) ORDER BY run_id"
        ))
        .bind(submission_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Which of the learner's submissions of the lab `submission_id` is (1 = their first) and how many they
    /// have made: the attempt a run graded.
    pub async fn submission_number(
        &self,
        user_id: i64,
        lab_id: &str,
        submission_id: i64,
    ) -> Result<(i64, i64)> {
        let (n, total): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN id <= $3 THEN 1 ELSE 0 END), 0), COUNT(*)
             FROM submissions WHERE user_id = $1 AND lab_id = $2",
        )
        .bind(user_id)
        .bind(lab_id)
        .bind(submission_id)
        .fetch_one(self.pool())
        .await?;
        Ok((n, total))
    }
}
