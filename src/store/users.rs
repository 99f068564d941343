//! Accounts: creating and reading them, and the changes staff make (password, role, deactivation), each audited
//! in the change's own transaction.

use serde_json::json;

use super::audit::{self, Actor};
use super::{Result, Store, StoreError};
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
    /// Set while the account is deactivated: it cannot sign in and holds no session or token.
    pub deactivated_at: Option<i64>,
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
    pub cohort_id: Option<i64>,
    pub deactivated_at: Option<i64>,
}

/// The columns of [`UserRow`], for the queries that join users to sessions and tokens (alias `u`).
pub(crate) const USER_COLUMNS_U: &str =
    "u.id, u.email, u.display_name, u.password_hash, u.role, u.cohort_id, u.deactivated_at";

impl Store {
    /// Creates an account (as the operator at the command line does, audited) and returns its id; `Conflict`
    /// when the email is taken. Learners who register through an invite are created by `join_by_invite`.
    pub async fn create_user(
        &self,
        email: &Email,
        name: &DisplayName,
        password_hash: &str,
        role: Role,
        cohort_id: Option<i64>,
    ) -> Result<i64> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
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
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            now,
            &Actor::command_line(),
            "user.create",
            &format!("user {email}"),
            json!({"user_id": id, "role": role.as_str(), "cohort_id": cohort_id}),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn user_by_email(&self, email: &Email) -> Result<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS_U} FROM users u WHERE u.email = $1");
        Ok(sqlx::query_as(&sql)
            .bind(email.as_str())
            .fetch_optional(self.pool())
            .await?)
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS_U} FROM users u WHERE u.id = $1");
        Ok(sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    pub async fn list_users(&self) -> Result<Vec<UserSummary>> {
        Ok(sqlx::query_as(
            "SELECT id, email, display_name, role, cohort_id, deactivated_at FROM users ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// Sets a new password hash and ends every session of the account but `keep_session` (the hash of the
    /// session that asked, when the person changed their own password).
    pub async fn set_password(
        &self,
        actor: &Actor,
        user_id: i64,
        password_hash: &str,
        keep_session: Option<&str>,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let email = email_of(&mut tx, user_id).await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(keep_session.unwrap_or(""))
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            now,
            actor,
            "user.set_password",
            &format!("user {email}"),
            json!({"user_id": user_id, "sessions_ended": ended.rows_affected()}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deactivates an account: it can no longer sign in, and all its sessions, API tokens and unused reset
    /// codes end in the same transaction, so nothing it held keeps working.
    pub async fn deactivate_user(&self, actor: &Actor, user_id: i64) -> Result<()> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let email = email_of(&mut tx, user_id).await?;
        sqlx::query(
            "UPDATE users SET deactivated_at = $1 WHERE id = $2 AND deactivated_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        let sessions = super::sessions::end_all(&mut tx, user_id).await?;
        let tokens = super::tokens::revoke_all(&mut tx, user_id, now).await?;
        sqlx::query("DELETE FROM password_resets WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            now,
            actor,
            "user.deactivate",
            &format!("user {email}"),
            json!({
                "user_id": user_id,
                "sessions_ended": sessions,
                "tokens_revoked": tokens,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lets a deactivated account sign in again (its old sessions and tokens stay ended).
    pub async fn activate_user(&self, actor: &Actor, user_id: i64) -> Result<()> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let email = email_of(&mut tx, user_id).await?;
        sqlx::query("UPDATE users SET deactivated_at = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        // A sign-in or a new token already under way when the account was deactivated may have landed after it;
        // hidden while deactivated, it must not come back to life now.
        super::sessions::end_all(&mut tx, user_id).await?;
        super::tokens::revoke_all(&mut tx, user_id, now).await?;
        audit::record(
            &mut tx,
            now,
            actor,
            "user.activate",
            &format!("user {email}"),
            json!({"user_id": user_id}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes an account's role. Someone who stops being an instructor leaves every cohort's staff, so that
    /// making them an instructor again later grants nothing by surprise.
    pub async fn set_role(&self, actor: &Actor, user_id: i64, role: Role) -> Result<()> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT email, role FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
        let (email, old) = row.ok_or(StoreError::NotFound)?;
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if role != Role::Instructor {
            sqlx::query("DELETE FROM cohort_staff WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        // Staff are no cohort's learners: a promoted learner leaves their cohort, or its instructors would
        // still see their work and list them.
        if role != Role::Learner {
            sqlx::query("UPDATE users SET cohort_id = NULL WHERE id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        audit::record(
            &mut tx,
            now,
            actor,
            "user.set_role",
            &format!("user {email}"),
            json!({"user_id": user_id, "from": old, "to": role.as_str()}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The e-mail of `user_id` inside a transaction, `NotFound` when there is no such account.
pub(crate) async fn email_of(conn: &mut sqlx::AnyConnection, user_id: i64) -> Result<String> {
    let row: Option<(String,)> = sqlx::query_as("SELECT email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    row.map(|(e,)| e).ok_or(StoreError::NotFound)
}
