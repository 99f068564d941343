//! A cohort's staff: the instructors who teach it and so see its learners' work (`crate::access`). Adding and
//! removing are audited in the change's own transaction.

use serde_json::json;

use super::audit::{self, Actor};
use super::{Result, StaffError, Store};

impl Store {
    /// Makes the instructor `email` staff of the cohort named `cohort`, as the operator at the command line.
    pub async fn add_cohort_instructor(
        &self,
        cohort: &str,
        email: &str,
    ) -> std::result::Result<(), StaffError> {
        let id = self.cohort_named(cohort).await?.id;
        self.add_instructor(&Actor::command_line(), id, email).await
    }

    /// Takes the instructor `email` off the cohort named `cohort`, as the operator at the command line; whether
    /// they were on it.
    pub async fn remove_cohort_instructor(
        &self,
        cohort: &str,
        email: &str,
    ) -> std::result::Result<bool, StaffError> {
        let id = self.cohort_named(cohort).await?.id;
        self.remove_instructor(&Actor::command_line(), id, email)
            .await
    }

    /// Makes the instructor `email` staff of the cohort `cohort_id`; adding twice is not an error.
    pub async fn add_instructor(
        &self,
        actor: &Actor,
        cohort_id: i64,
        email: &str,
    ) -> std::result::Result<(), StaffError> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let (user_id, cohort_name) = staff_pair(&mut tx, cohort_id, email).await?;
        let added = sqlx::query(
            "INSERT INTO cohort_staff (cohort_id, user_id, added_at) VALUES ($1, $2, $3)
             ON CONFLICT (cohort_id, user_id) DO NOTHING",
        )
        .bind(cohort_id)
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if added.rows_affected() > 0 {
            audit::record(
                &mut tx,
                now,
                actor,
                "cohort.add_instructor",
                &format!("user {email}"),
                json!({"user_id": user_id, "cohort_id": cohort_id, "cohort": cohort_name}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Takes the instructor `email` off the cohort `cohort_id`; whether they were on it.
    pub async fn remove_instructor(
        &self,
        actor: &Actor,
        cohort_id: i64,
        email: &str,
    ) -> std::result::Result<bool, StaffError> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let (user_id, cohort_name) = staff_pair(&mut tx, cohort_id, email).await?;
        let done = sqlx::query("DELETE FROM cohort_staff WHERE cohort_id = $1 AND user_id = $2")
            .bind(cohort_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let removed = done.rows_affected() > 0;
        if removed {
            audit::record(
                &mut tx,
                now,
                actor,
                "cohort.remove_instructor",
                &format!("user {email}"),
                json!({"user_id": user_id, "cohort_id": cohort_id, "cohort": cohort_name}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(removed)
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

    /// Whether `staff_id` is on the staff of the cohort `cohort_id`.
    pub async fn teaches_cohort(&self, staff_id: i64, cohort_id: i64) -> Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT cohort_id FROM cohort_staff WHERE user_id = $1 AND cohort_id = $2",
        )
        .bind(staff_id)
        .bind(cohort_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }
}

/// The instructor's id and the cohort's name, or why the pair is refused.
async fn staff_pair(
    conn: &mut sqlx::AnyConnection,
    cohort_id: i64,
    email: &str,
) -> std::result::Result<(i64, String), StaffError> {
    let cohort: Option<(String,)> = sqlx::query_as("SELECT name FROM cohorts WHERE id = $1")
        .bind(cohort_id)
        .fetch_optional(&mut *conn)
        .await?;
    let (cohort_name,) = cohort.ok_or_else(|| StaffError::NoCohort(format!("#{cohort_id}")))?;
    let user: Option<(i64, String)> = sqlx::query_as("SELECT id, role FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(&mut *conn)
        .await?;
    let (user_id, role) = user.ok_or_else(|| StaffError::NoAccount(email.to_string()))?;
    if role != "instructor" {
        return Err(StaffError::NotInstructor(email.to_string(), role));
    }
    Ok((user_id, cohort_name))
}
