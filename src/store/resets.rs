//! One-time password-reset codes. An admin issues one (no e-mail server is assumed: the web page or the CLI
//! shows it once) and the person redeems it on `/reset`. Only a hash is stored, a code works once, and a new code
//! for the same account cancels the older ones.

use serde_json::json;

use super::audit::{self, Actor};
use super::users::email_of;
use super::{Result, Store, StoreError};

/// How a redemption ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redeemed {
    /// The password is set and every session of the account has ended.
    Done { user_id: i64 },
    /// Unknown, used, expired, or for a deactivated account: one answer for all, so a guess learns nothing.
    Invalid,
}

impl Store {
    /// Stores the hash of a new reset code for `user_id`, valid `ttl_ms`; older unused codes stop working.
    pub async fn issue_password_reset(
        &self,
        actor: &Actor,
        user_id: i64,
        code_hash: &str,
        ttl_ms: i64,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let email = email_of(&mut tx, user_id).await?;
        let active: (Option<i64>,) =
            sqlx::query_as("SELECT deactivated_at FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
        if active.0.is_some() {
            // A deactivated account is reactivated first, on purpose, by someone who means it.
            return Err(StoreError::Conflict);
        }
        sqlx::query("DELETE FROM password_resets WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO password_resets (code_hash, user_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(code_hash)
        .bind(user_id)
        .bind(now)
        .bind(now + ttl_ms)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            now,
            actor,
            "user.issue_reset",
            &format!("user {email}"),
            json!({"user_id": user_id, "expires_at": now + ttl_ms}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Uses the code `code_hash` to set `password_hash`: marks the code used, sets the password and ends every
    /// session of the account, all in one transaction (the code cannot be used twice, even by two requests at
    /// once: the `UPDATE … WHERE used_at IS NULL` only matches for one of them).
    /// Whether `code_hash` names a code that could be redeemed now; checked before the costly hashing of the
    /// new password, so that guesses at `/reset` cost a lookup, not an argon2 hash. `redeem_password_reset`
    /// checks again, atomically.
    pub async fn password_reset_usable(&self, code_hash: &str) -> Result<bool> {
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT r.user_id FROM password_resets r JOIN users u ON u.id = r.user_id
             WHERE r.code_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2 AND u.deactivated_at IS NULL",
        )
        .bind(code_hash)
        .bind(self.now())
        .fetch_optional(self.pool())
        .await?;
        Ok(found.is_some())
    }

    pub async fn redeem_password_reset(
        &self,
        code_hash: &str,
        password_hash: &str,
    ) -> Result<Redeemed> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let claimed: Option<(i64,)> = sqlx::query_as(
            "UPDATE password_resets SET used_at = $1
             WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $3
               AND user_id IN (SELECT id FROM users WHERE deactivated_at IS NULL)
             RETURNING user_id",
        )
        .bind(now)
        .bind(code_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((user_id,)) = claimed else {
            tx.rollback().await?;
            return Ok(Redeemed::Invalid);
        };
        let email = email_of(&mut tx, user_id).await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let ended = super::sessions::end_all(&mut tx, user_id).await?;
        // A reset is how an account is recovered: a token made by whoever held it before must die too.
        let revoked = super::tokens::revoke_all(&mut tx, user_id, now).await?;
        audit::record(
            &mut tx,
            now,
            &Actor::user(user_id, &email),
            "user.reset_password",
            &format!("user {email}"),
            json!({"user_id": user_id, "sessions_ended": ended,
                   "tokens_revoked": revoked}),
        )
        .await?;
        tx.commit().await?;
        Ok(Redeemed::Done { user_id })
    }
}
