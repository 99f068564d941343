//! Cohorts: a group of learners who joined with the same invite code.

use super::{Result, Store};

/// A cohort with the number of learners in it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CohortRow {
    pub id: i64,
    pub name: String,
    pub invite_code: String,
    pub members: i64,
}

impl Store {
    pub async fn create_cohort(&self, name: &str, invite_code: &str) -> Result<i64> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO cohorts (name, invite_code, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(invite_code)
        .bind(self.now())
        .fetch_one(self.pool())
        .await?;
        Ok(id)
    }

    /// The cohort an invite code opens, if any.
    pub async fn cohort_by_invite(&self, invite_code: &str) -> Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM cohorts WHERE invite_code = $1")
            .bind(invite_code)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|(id,)| id))
    }

    pub async fn list_cohorts(&self) -> Result<Vec<CohortRow>> {
        Ok(sqlx::query_as(
            "SELECT c.id, c.name, c.invite_code,
                    (SELECT COUNT(*) FROM users u WHERE u.cohort_id = c.id) AS members
             FROM cohorts c ORDER BY c.id",
        )
        .fetch_all(self.pool())
        .await?)
    }
}

/// Why an instructor could not be added to or removed from a cohort.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("there is no cohort named `{0}`")]
    NoCohort(String),
    #[error("there is no account {0}")]
    NoAccount(String),
    #[error("{0} is a {1}, not an instructor: only instructors are a cohort's staff (admins see every cohort)")]
    NotInstructor(String, String),
    #[error(transparent)]
    Store(#[from] super::StoreError),
}

impl Store {
    /// Makes the instructor `email` staff of the cohort `cohort`; adding twice is not an error.
    pub async fn add_cohort_instructor(
        &self,
        cohort: &str,
        email: &str,
    ) -> std::result::Result<(), StaffError> {
        let (cohort_id, user_id) = self.staff_pair(cohort, email).await?;
        sqlx::query(
            "INSERT INTO cohort_staff (cohort_id, user_id, added_at) VALUES ($1, $2, $3)
             ON CONFLICT (cohort_id, user_id) DO NOTHING",
        )
        .bind(cohort_id)
        .bind(user_id)
        .bind(self.now())
        .execute(self.pool())
        .await
        .map_err(super::StoreError::from)?;
        Ok(())
    }

    /// Takes the instructor `email` off the cohort `cohort`; whether they were on it.
    pub async fn remove_cohort_instructor(
        &self,
        cohort: &str,
        email: &str,
    ) -> std::result::Result<bool, StaffError> {
        let (cohort_id, user_id) = self.staff_pair(cohort, email).await?;
        let done = sqlx::query("DELETE FROM cohort_staff WHERE cohort_id = $1 AND user_id = $2")
            .bind(cohort_id)
            .bind(user_id)
            .execute(self.pool())
            .await
            .map_err(super::StoreError::from)?;
        Ok(done.rows_affected() > 0)
    }

    /// The e-mail addresses of a cohort's instructors, for listing.
    pub async fn cohort_instructors(&self, cohort_id: i64) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT u.email FROM cohort_staff s JOIN users u ON u.id = s.user_id
             WHERE s.cohort_id = $1 ORDER BY u.email",
        )
        .bind(cohort_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(e,)| e).collect())
    }

    /// Whether `staff_id` teaches a cohort `learner_id` belongs to.
    pub async fn teaches(&self, staff_id: i64, learner_id: i64) -> Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT s.cohort_id FROM cohort_staff s JOIN users u ON u.cohort_id = s.cohort_id
             WHERE s.user_id = $1 AND u.id = $2",
        )
        .bind(staff_id)
        .bind(learner_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    async fn staff_pair(
        &self,
        cohort: &str,
        email: &str,
    ) -> std::result::Result<(i64, i64), StaffError> {
        let cohort_id: Option<(i64,)> = sqlx::query_as("SELECT id FROM cohorts WHERE name = $1")
            .bind(cohort)
            .fetch_optional(self.pool())
            .await
            .map_err(super::StoreError::from)?;
        let (cohort_id,) = cohort_id.ok_or_else(|| StaffError::NoCohort(cohort.to_string()))?;
        let user: Option<(i64, String)> =
            sqlx::query_as("SELECT id, role FROM users WHERE email = $1")
                .bind(email)
                .fetch_optional(self.pool())
                .await
                .map_err(super::StoreError::from)?;
        let (user_id, role) = user.ok_or_else(|| StaffError::NoAccount(email.to_string()))?;
        if role != "instructor" {
            return Err(StaffError::NotInstructor(email.to_string(), role));
        }
        Ok((cohort_id, user_id))
    }
}
