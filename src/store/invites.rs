//! A cohort's invite code and its rules: rotating it (the old code dies at once), an optional expiry and an
//! optional cap on how many accounts it creates, and joining through it.
//!
//! Joining counts a use and creates the account in one transaction, behind a conditional `UPDATE` that only
//! matches while the code is open: two people racing for the last place cannot both get it.

use serde_json::json;

use super::audit::{self, Actor};
use super::{Result, Store, StoreError};

/// What an invite code opens, as a registration sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invite {
    /// The code joins this cohort.
    Open(i64),
    /// No cohort has this code (never had, or it was rotated away).
    Unknown,
    Archived,
    Expired,
    /// The code has created as many accounts as it may.
    Full,
}

impl Invite {
    /// What the registration form tells the visitor.
    pub fn message(self) -> &'static str {
        match self {
            Invite::Open(_) => "",
            Invite::Unknown => {
                "This invite code is not valid. Ask your instructor for the code of your cohort."
            }
            Invite::Archived => {
                "This cohort is closed (archived) and takes no new members. Ask your instructor which cohort to join."
            }
            Invite::Expired => {
                "This invite code has expired. Ask your instructor for a new one."
            }
            Invite::Full => {
                "This invite code has been used as many times as it may. Ask your instructor for a new one."
            }
        }
    }
}

/// Why joining through an invite code did not create an account.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("{}", .0.message())]
    Refused(Invite),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for JoinError {
    fn from(e: sqlx::Error) -> Self {
        JoinError::Store(e.into())
    }
}

/// What decides whether a code is open.
#[derive(sqlx::FromRow)]
struct CodeRow {
    id: i64,
    archived_at: Option<i64>,
    invite_expires_at: Option<i64>,
    invite_max_uses: Option<i64>,
    invite_uses: i64,
}

/// A new learner, as registration hands it over.
pub struct NewLearner<'a> {
    pub email: &'a crate::domain::Email,
    pub name: &'a crate::domain::DisplayName,
    pub password_hash: &'a str,
}

impl Store {
    /// The cohort an invite code opens, if any, whatever its limits (see [`Store::invite`]).
    pub async fn cohort_by_invite(&self, invite_code: &str) -> Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM cohorts WHERE invite_code = $1")
            .bind(invite_code)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|(id,)| id))
    }

    /// Whether `invite_code` may create an account now, and if not why.
    pub async fn invite(&self, invite_code: &str) -> Result<Invite> {
        let row: Option<CodeRow> = sqlx::query_as(
            "SELECT id, archived_at, invite_expires_at, invite_max_uses, invite_uses
             FROM cohorts WHERE invite_code = $1",
        )
        .bind(invite_code)
        .fetch_optional(self.pool())
        .await?;
        let Some(c) = row else {
            return Ok(Invite::Unknown);
        };
        Ok(if c.archived_at.is_some() {
            Invite::Archived
        } else if c.invite_expires_at.is_some_and(|e| e <= self.now()) {
            Invite::Expired
        } else if c.invite_max_uses.is_some_and(|m| c.invite_uses >= m) {
            Invite::Full
        } else {
            Invite::Open(c.id)
        })
    }

    /// Creates a learner in the cohort `invite_code` opens, counting the use; refused with the reason when the
    /// code is unknown, archived, expired or full at that moment. `Conflict` when the e-mail is taken.
    pub async fn join_by_invite(
        &self,
        invite_code: &str,
        learner: &NewLearner<'_>,
    ) -> std::result::Result<i64, JoinError> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let taken: Option<(i64,)> = sqlx::query_as(
            "UPDATE cohorts SET invite_uses = invite_uses + 1
             WHERE invite_code = $1 AND archived_at IS NULL
               AND (invite_expires_at IS NULL OR invite_expires_at > $2)
               AND (invite_max_uses IS NULL OR invite_uses < invite_max_uses)
             RETURNING id",
        )
        .bind(invite_code)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((cohort_id,)) = taken else {
            tx.rollback().await?;
            return Err(JoinError::Refused(self.invite(invite_code).await?));
        };
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO users (email, display_name, password_hash, role, cohort_id, created_at)
             VALUES ($1, $2, $3, 'learner', $4, $5) RETURNING id",
        )
        .bind(learner.email.as_str())
        .bind(learner.name.as_str())
        .bind(learner.password_hash)
        .bind(cohort_id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        tx.commit().await?;
        Ok(id)
    }

    /// Gives the cohort a new invite code; the old one stops working at once and the use count starts again.
    pub async fn rotate_invite(&self, actor: &Actor, cohort_id: i64, new_code: &str) -> Result<()> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let row: Option<(String,)> = sqlx::query_as("SELECT name FROM cohorts WHERE id = $1")
            .bind(cohort_id)
            .fetch_optional(&mut *tx)
            .await?;
        let (name,) = row.ok_or(StoreError::NotFound)?;
        sqlx::query("UPDATE cohorts SET invite_code = $1, invite_uses = 0 WHERE id = $2")
            .bind(new_code)
            .bind(cohort_id)
            .execute(&mut *tx)
            .await?;
        // The code itself stays out of the log: whoever reads the log need not be able to join.
        audit::record(
            &mut tx,
            now,
            actor,
            "cohort.rotate_code",
            &format!("cohort {name}"),
            json!({"cohort_id": cohort_id}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets (or, with `None`, lifts) the invite code's expiry and cap on uses.
    pub async fn set_invite_limits(
        &self,
        actor: &Actor,
        cohort_id: i64,
        expires_at: Option<i64>,
        max_uses: Option<i64>,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let row: Option<(String,)> = sqlx::query_as("SELECT name FROM cohorts WHERE id = $1")
            .bind(cohort_id)
            .fetch_optional(&mut *tx)
            .await?;
        let (name,) = row.ok_or(StoreError::NotFound)?;
        sqlx::query(
            "UPDATE cohorts SET invite_expires_at = $1, invite_max_uses = $2 WHERE id = $3",
        )
        .bind(expires_at)
        .bind(max_uses)
        .bind(cohort_id)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            now,
            actor,
            "cohort.set_limits",
            &format!("cohort {name}"),
            json!({"cohort_id": cohort_id, "expires_at": expires_at, "max_uses": max_uses}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
