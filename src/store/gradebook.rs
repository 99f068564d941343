//! The rows behind the staff's cohort views (gradebook, learner page, check analytics, exports): a whole
//! cohort's runs in one statement and their failed checks in a second, so a page costs two queries whatever the
//! cohort's size (no query per learner or per lab). The matrix itself is built in `crate::gradebook`.

use super::{Result, Store};

/// A learner of the cohort with one of their runs (the run columns are `None` for a learner with no run yet,
/// so that they still appear).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CohortRunRow {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    /// When the account was made: the start of the learner's timeline.
    pub joined_at: i64,
    pub run_id: Option<i64>,
    pub lab_id: Option<String>,
    pub state: Option<String>,
    pub score: Option<f64>,
    pub created_at: Option<i64>,
}

/// One failed check of one run.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FailedCheckRow {
    pub run_id: i64,
    pub check_id: String,
}

/// One check's result in a learner's latest graded run of a lab (passed or failed; platform errors say nothing
/// about the learner's work and are left out).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LatestCheckRow {
    pub user_id: i64,
    pub email: String,
    pub lab_id: String,
    pub run_id: i64,
    pub check_id: String,
    pub title: String,
    pub verdict: String,
    pub message: String,
}

/// Which learners a cohort query covers: one cohort's, or every cohort's (admins' analytics).
#[derive(Debug, Clone, Copy)]
pub enum Learners {
    Cohort(i64),
    Everyone,
}

impl Learners {
    /// The condition on `users u`, its placeholder `$1` bound by [`Learners::bind`].
    fn condition(self) -> &'static str {
        match self {
            Learners::Cohort(_) => "u.role = 'learner' AND u.cohort_id = $1",
            Learners::Everyone => "u.role = 'learner' AND $1 = $1",
        }
    }

    fn value(self) -> i64 {
        match self {
            Learners::Cohort(id) => id,
            Learners::Everyone => 0,
        }
    }
}

impl Store {
    /// Every learner of the cohort with every run of theirs, oldest run first; a learner without runs comes once
    /// with empty run columns. Optionally only one learner (the learner page).
    pub async fn cohort_runs(
        &self,
        cohort_id: i64,
        only_user: Option<i64>,
    ) -> Result<Vec<CohortRunRow>> {
        let sql = format!(
            "SELECT u.id AS user_id, u.email, u.display_name, u.created_at AS joined_at, r.id AS run_id,
                    r.lab_id, r.state, r.score, r.created_at
             FROM users u LEFT JOIN runs r ON r.user_id = u.id
             WHERE u.role = 'learner' AND u.cohort_id = $1 {}
             ORDER BY u.id, r.id",
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

    /// The failed checks of every run of the cohort's learners (the at-risk rule reads them).
    pub async fn cohort_failed_checks(
        &self,
        cohort_id: i64,
        only_user: Option<i64>,
    ) -> Result<Vec<FailedCheckRow>> {
        let sql = format!(
            "SELECT c.run_id, c.check_id FROM check_results c
             JOIN runs r ON r.id = c.run_id JOIN users u ON u.id = r.user_id
             WHERE u.role = 'learner' AND u.cohort_id = $1 {} AND c.verdict = 'fail'
             ORDER BY c.run_id, c.position",
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

    /// Every check result of each learner's latest graded run of each lab (or of `lab` only), in one statement.
    pub async fn latest_check_results(
        &self,
        learners: Learners,
        lab: Option<&str>,
    ) -> Result<Vec<LatestCheckRow>> {
        let sql = format!(
            "SELECT r.user_id, u.email, r.lab_id, r.id AS run_id, c.check_id, c.title, c.verdict, c.message
             FROM check_results c JOIN runs r ON r.id = c.run_id JOIN users u ON u.id = r.user_id
             WHERE r.id IN (SELECT MAX(r2.id) FROM runs r2 JOIN users u ON u.id = r2.user_id
                            WHERE {} AND r2.state IN ('passed', 'failed') {}
                            GROUP BY r2.user_id, r2.lab_id)
             ORDER BY u.email, r.lab_id, c.position",
            learners.condition(),
            if lab.is_some() {
                "AND r2.lab_id = $2"
            } else {
                "AND $2 = $2"
            }
        );
        Ok(sqlx::query_as(&sql)
            .bind(learners.value())
            .bind(lab.unwrap_or(""))
            .fetch_all(self.pool())
            .await?)
    }
}
