//! Accounts.

use super::{Result, Store};
use crate::domain::{DisplayName, Email, Role};

/// A user as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub cohort_id: Option<i64>,
}

impl UserRow {
    /// The stored role; the column's CHECK constraint keeps it one of the three.
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Learner)
    }
}

/// A user as listed, without the password hash.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserSummary {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: String,
}

const USER_COLUMNS: &str = "id, email, display_name, password_hash, role, cohort_id";

impl Store {
    /// Creates an account and returns its id; `Conflict` when the email is taken.
    pub async fn create_user(
        &self,
        email: &Email,
        name: &DisplayName,
        password_hash: &str,
        role: Role,
        cohort_id: Option<i64>,
    ) -> Result<i64> {
        let now = self.now();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO users (email, display_name, password_hash, role, cohort_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(email.as_str())
        .bind(name.as_str())
        .bind(password_hash)
        .bind(role.as_str())
        .bind(cohort_id)
        .bind(now)
        .fetch_one(self.pool())
        .await?;
        Ok(id)
    }

    pub async fn user_by_email(&self, email: &Email) -> Result<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        Ok(sqlx::query_as(&sql)
            .bind(email.as_str())
            .fetch_optional(self.pool())
            .await?)
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        Ok(sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    pub async fn list_users(&self) -> Result<Vec<UserSummary>> {
        Ok(
            sqlx::query_as("SELECT id, email, display_name, role FROM users ORDER BY id")
                .fetch_all(self.pool())
                .await?,
        )
    }
}
