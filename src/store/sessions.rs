//! Sign-in sessions. Only a hash of each token is stored, so a copy of the database opens no session.

use super::users::USER_COLUMNS_U;
use super::{Result, Store, UserRow};

/// Ends every session of `user_id`, inside the caller's transaction (deactivation, reactivation, a password
/// reset); returns how many there were.
pub(crate) async fn end_all(conn: &mut sqlx::AnyConnection, user_id: i64) -> Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

impl Store {
    pub async fn create_session(&self, token_hash: &str, user_id: i64, ttl_ms: i64) -> Result<()> {
        let now = self.now();
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(now + ttl_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The user a live session belongs to; expired sessions open nothing.
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<UserRow>> {
        // A deactivated account's sessions were deleted with it; the filter also covers a session created in
        // the moment between a sign-in's password check and the deactivation.
        let sql = format!(
            "SELECT {USER_COLUMNS_U} FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.deactivated_at IS NULL"
        );
        Ok(sqlx::query_as(&sql)
            .bind(token_hash)
            .bind(self.now())
            .fetch_optional(self.pool())
            .await?)
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Drops expired sessions; returns how many.
    pub async fn purge_expired_sessions(&self) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(self.now())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
