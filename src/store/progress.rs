//! Progress: the best result per learner and lab, from which pillar progress is computed.

use super::{Result, Store};

/// A learner's standing on one lab.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LabProgressRow {
    pub lab_id: String,
    pub best_score: f64,
    pub passed: i64,
    pub attempts: i64,
}

impl Store {
    /// Every lab the learner has attempted.
    pub async fn lab_progress(&self, user_id: i64) -> Result<Vec<LabProgressRow>> {
        Ok(sqlx::query_as(
            "SELECT lab_id, best_score, passed, attempts FROM lab_progress WHERE user_id = $1 ORDER BY lab_id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Records one graded attempt, keeping the best score and whether the lab was ever passed.
    pub async fn record_attempt(
        &self,
        user_id: i64,
        lab_id: &str,
        score: f64,
        passed: bool,
    ) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        upsert(&mut conn, user_id, lab_id, score, passed, self.now()).await
    }
}

/// The upsert behind [`Store::record_attempt`], usable inside the transaction that finishes a run.
pub(super) async fn upsert(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    lab_id: &str,
    score: f64,
    passed: bool,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO lab_progress (user_id, lab_id, best_score, passed, attempts, updated_at)
         VALUES ($1, $2, $3, $4, 1, $5)
         ON CONFLICT (user_id, lab_id) DO UPDATE SET
            best_score = CASE WHEN excluded.best_score > lab_progress.best_score
                              THEN excluded.best_score ELSE lab_progress.best_score END,
            passed = CASE WHEN excluded.passed > lab_progress.passed
                          THEN excluded.passed ELSE lab_progress.passed END,
            attempts = lab_progress.attempts + 1,
            updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(lab_id)
    .bind(score)
    .bind(i64::from(passed))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}
