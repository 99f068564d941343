//! Quiz attempts: each submission of a module's quiz with its answers and score, the learner's history per
//! week, and the best score per learner and week that counts toward pillars (`crate::progress`).

use super::{Result, Store};

/// One recorded attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QuizAttemptRow {
    pub id: i64,
    pub user_id: i64,
    pub week: i64,
    /// JSON: question id -> the values sent.
    pub answers: String,
    pub correct: i64,
    pub total: i64,
    pub score: f64,
    pub created_at: i64,
}

/// A learner's best score on one week's quiz and how often they took it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QuizBestRow {
    pub user_id: i64,
    pub week: i64,
    pub best_score: f64,
    pub attempts: i64,
}

/// What a graded attempt records.
#[derive(Debug, Clone)]
pub struct NewQuizAttempt<'a> {
    pub user_id: i64,
    pub week: u8,
    pub answers: &'a str,
    pub correct: usize,
    pub total: usize,
    pub score: f64,
}

const ATTEMPT_COLUMNS: &str = "id, user_id, week, answers, correct, total, score, created_at";

impl Store {
    /// Records a graded attempt and returns its id.
    pub async fn record_quiz_attempt(&self, a: &NewQuizAttempt<'_>) -> Result<i64> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO quiz_attempts (user_id, week, answers, correct, total, score, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(a.user_id)
        .bind(i64::from(a.week))
        .bind(a.answers)
        .bind(a.correct as i64)
        .bind(a.total as i64)
        .bind(a.score)
        .bind(self.now())
        .fetch_one(self.pool())
        .await?;
        Ok(id)
    }

    /// The learner's attempts at one week's quiz, newest first.
    pub async fn quiz_attempts(&self, user_id: i64, week: u8) -> Result<Vec<QuizAttemptRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ATTEMPT_COLUMNS} FROM quiz_attempts WHERE user_id = $1 AND week = $2 ORDER BY id DESC"
        ))
        .bind(user_id)
        .bind(i64::from(week))
        .fetch_all(self.pool())
        .await?)
    }

    /// One attempt, whoever made it: callers check that the viewer may read it.
    pub async fn quiz_attempt(&self, id: i64) -> Result<Option<QuizAttemptRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ATTEMPT_COLUMNS} FROM quiz_attempts WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// The learner's counted score per week whose quiz they took: the first attempt's. Later attempts are
    /// practice: the result page shows the right answers, so a best-of rule would let a second attempt copy them.
    pub async fn quiz_best(&self, user_id: i64) -> Result<Vec<QuizBestRow>> {
        Ok(sqlx::query_as(
            "SELECT q.user_id, q.week,
                    (SELECT f.score FROM quiz_attempts f WHERE f.user_id = q.user_id AND f.week = q.week
                     ORDER BY f.id LIMIT 1) AS best_score,
                    COUNT(*) AS attempts
             FROM quiz_attempts q
             WHERE q.user_id = $1 GROUP BY q.user_id, q.week ORDER BY q.week",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// The counted (first) score per learner and week for a cohort's learners (or one of them), in one statement.
    pub async fn cohort_quiz_best(
        &self,
        cohort_id: i64,
        only_user: Option<i64>,
    ) -> Result<Vec<QuizBestRow>> {
        let sql = format!(
            "SELECT q.user_id, q.week,
                    (SELECT f.score FROM quiz_attempts f WHERE f.user_id = q.user_id AND f.week = q.week
                     ORDER BY f.id LIMIT 1) AS best_score,
                    COUNT(*) AS attempts
             FROM quiz_attempts q JOIN users u ON u.id = q.user_id
             WHERE u.role = 'learner' AND u.cohort_id = $1 {}
             GROUP BY q.user_id, q.week ORDER BY q.user_id, q.week",
            if only_user.is_some() {
                "AND u.id = $2"
            } else {
                "AND $2 = $2"
            }
        );
        Ok(sqlx::query_as(&sql)
            .bind(cohort_id)
            .bind(only_user.unwrap_or(0))
            .fetch_all(self.pool())
            .await?)
    }
}

/// The best score per week, as `crate::progress` reads it; rows for weeks outside the course are dropped.
pub fn best_by_week(rows: &[QuizBestRow]) -> crate::progress::QuizBest {
    rows.iter()
        .filter_map(|r| {
            crate::domain::Week::parse(r.week)
                .ok()
                .map(|w| (w, r.best_score))
        })
        .collect()
}
