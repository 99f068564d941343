//! Cohorts: a group of learners who joined with the same invite code, taught by the instructors on its staff.
//! Renaming, archiving and moving learners are audited (`audit.rs`) in the change's own transaction; the invite
//! code's rules are in `invites.rs`.

use serde_json::json;

use super::audit::{self, Actor};
use super::{Result, Store, StoreError};

/// A cohort with the number of learners in it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CohortRow {
    pub id: i64,
    pub name: String,
    pub invite_code: String,
    pub members: i64,
    /// When it was archived; an archived cohort keeps its data and opens to no one new.
    pub archived_at: Option<i64>,
    pub invite_expires_at: Option<i64>,
    pub invite_max_uses: Option<i64>,
    /// Accounts the current code has created.
    pub invite_uses: i64,
    /// When its week 1 opens; `None`: no schedule (`crate::schedule`).
    pub starts_at: Option<i64>,
}

const COHORT_COLUMNS: &str = "c.id, c.name, c.invite_code,
    (SELECT COUNT(*) FROM users u WHERE u.cohort_id = c.id) AS members,
    c.archived_at, c.invite_expires_at, c.invite_max_uses, c.invite_uses, c.starts_at";

/// Why a change to a cohort or its staff was refused: each says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("there is no cohort named `{0}`")]
    NoCohort(String),
    #[error("there is no account {0}")]
    NoAccount(String),
    #[error("{0} is a {1}, not an instructor: only instructors are a cohort's staff (admins see every cohort)")]
    NotInstructor(String, String),
    #[error("{0} is a {1}, not a learner: only learners belong to a cohort")]
    NotLearner(String, String),
    #[error("a cohort named `{0}` already exists")]
    NameTaken(String),
    #[error("a cohort's name is 1 to 80 characters")]
    BadName,
    #[error("{0} is not a learner of this cohort")]
    NotInCohort(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for StaffError {
    fn from(e: sqlx::Error) -> Self {
        StaffError::Store(e.into())
    }
}

/// A cohort's name as typed: trimmed, 1 to 80 characters.
pub fn cohort_name(typed: &str) -> std::result::Result<&str, StaffError> {
    let name = typed.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(StaffError::BadName);
    }
    Ok(name)
}

impl Store {
    /// Creates a cohort as the operator at the command line would; see [`Store::create_cohort_as`].
    pub async fn create_cohort(&self, name: &str, invite_code: &str) -> Result<i64> {
        self.create_cohort_as(&Actor::command_line(), name, invite_code)
            .await
    }

    /// Creates a cohort (audited); `Conflict` when the name or the code is taken.
    pub async fn create_cohort_as(
        &self,
        actor: &Actor,
        name: &str,
        invite_code: &str,
    ) -> Result<i64> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO cohorts (name, invite_code, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(invite_code)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            now,
            actor,
            "cohort.create",
            &format!("cohort {name}"),
            json!({"cohort_id": id}),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn list_cohorts(&self) -> Result<Vec<CohortRow>> {
        let sql = format!("SELECT {COHORT_COLUMNS} FROM cohorts c ORDER BY c.id");
        Ok(sqlx::query_as(&sql).fetch_all(self.pool()).await?)
    }

    /// The cohorts `staff_id` teaches.
    pub async fn cohorts_taught_by(&self, staff_id: i64) -> Result<Vec<CohortRow>> {
        let sql = format!(
            "SELECT {COHORT_COLUMNS} FROM cohorts c JOIN cohort_staff s ON s.cohort_id = c.id
             WHERE s.user_id = $1 ORDER BY c.id"
        );
        Ok(sqlx::query_as(&sql)
            .bind(staff_id)
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn cohort(&self, id: i64) -> Result<Option<CohortRow>> {
        let sql = format!("SELECT {COHORT_COLUMNS} FROM cohorts c WHERE c.id = $1");
        Ok(sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// The cohort of that name (the command line names cohorts).
    pub async fn cohort_named(&self, name: &str) -> std::result::Result<CohortRow, StaffError> {
        let sql = format!("SELECT {COHORT_COLUMNS} FROM cohorts c WHERE c.name = $1");
        let row: Option<CohortRow> = sqlx::query_as(&sql)
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.ok_or_else(|| StaffError::NoCohort(name.to_string()))
    }

    /// Renames a cohort (audited with the old and new names).
    pub async fn rename_cohort(
        &self,
        actor: &Actor,
        id: i64,
        new_name: &str,
    ) -> std::result::Result<(), StaffError> {
        let new_name = cohort_name(new_name)?;
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let old: Option<(String,)> = sqlx::query_as("SELECT name FROM cohorts WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let (old,) = old.ok_or_else(|| StaffError::NoCohort(format!("#{id}")))?;
        let renamed = sqlx::query("UPDATE cohorts SET name = $1 WHERE id = $2")
            .bind(new_name)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from);
        if let Err(StoreError::Conflict) = renamed {
            return Err(StaffError::NameTaken(new_name.to_string()));
        }
        renamed?;
        audit::record(
            &mut tx,
            now,
            actor,
            "cohort.rename",
            &format!("cohort {new_name}"),
            json!({"cohort_id": id, "from": old, "to": new_name}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Archives (`true`) or reopens a cohort. Archiving keeps its learners, their runs and its staff; only new
    /// joins are refused.
    pub async fn set_cohort_archived(&self, actor: &Actor, id: i64, archived: bool) -> Result<()> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let row: Option<(String,)> = sqlx::query_as("SELECT name FROM cohorts WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let (name,) = row.ok_or(StoreError::NotFound)?;
        sqlx::query("UPDATE cohorts SET archived_at = $1 WHERE id = $2")
            .bind(archived.then_some(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let action = if archived {
            "cohort.archive"
        } else {
            "cohort.reopen"
        };
        audit::record(
            &mut tx,
            now,
            actor,
            action,
            &format!("cohort {name}"),
            json!({"cohort_id": id}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Puts the learner `email` in the cohort `cohort_id`, taking them out of the one they were in (audited with
    /// both). Their runs and progress stay theirs; who may see them follows the new cohort.
    pub async fn place_learner(
        &self,
        actor: &Actor,
        cohort_id: i64,
        email: &str,
    ) -> std::result::Result<(), StaffError> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let cohort: Option<(String,)> = sqlx::query_as("SELECT name FROM cohorts WHERE id = $1")
            .bind(cohort_id)
            .fetch_optional(&mut *tx)
            .await?;
        let (cohort_name,) = cohort.ok_or_else(|| StaffError::NoCohort(format!("#{cohort_id}")))?;
        let user: Option<(i64, String, Option<i64>)> =
            sqlx::query_as("SELECT id, role, cohort_id FROM users WHERE email = $1")
                .bind(email)
                .fetch_optional(&mut *tx)
                .await?;
        let (user_id, role, from) = user.ok_or_else(|| StaffError::NoAccount(email.to_string()))?;
        if role != "learner" {
            return Err(StaffError::NotLearner(email.to_string(), role));
        }
        sqlx::query("UPDATE users SET cohort_id = $1 WHERE id = $2")
            .bind(cohort_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            now,
            actor,
            "cohort.place_learner",
            &format!("user {email}"),
            json!({"user_id": user_id, "from_cohort_id": from, "to_cohort_id": cohort_id, "to": cohort_name}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The cohort the learner `email` is in, if any (the access rule for moving them asks).
    pub async fn cohort_of(&self, email: &str) -> Result<Option<i64>> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT cohort_id FROM users WHERE email = $1")
                .bind(email)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.and_then(|(c,)| c))
    }

    /// A cohort's learners: id, e-mail, display name, whether active.
    pub async fn cohort_learners(&self, cohort_id: i64) -> Result<Vec<super::UserSummary>> {
        Ok(sqlx::query_as(
            "SELECT id, email, display_name, role, cohort_id, deactivated_at FROM users
             WHERE cohort_id = $1 ORDER BY email",
        )
        .bind(cohort_id)
        .fetch_all(self.pool())
        .await?)
    }
}
