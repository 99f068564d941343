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
