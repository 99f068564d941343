//! Sign-in sessions. Only a hash of each token is stored, so a copy of the database opens no session.

use super::{Result, Store, UserRow};

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
        Ok(sqlx::query_as(
            "SELECT u.id, u.email, u.display_name, u.password_hash, u.role, u.cohort_id
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
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
