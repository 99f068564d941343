//! Personal API tokens for the CLI. Only a hash is stored; the token itself is shown once, when created.

use super::users::USER_COLUMNS_U;
use super::{Result, Store, UserRow};

/// Revokes every live token of `user_id` at `now`, inside the caller's transaction (deactivation, reactivation,
/// a password reset); returns how many were live.
pub(crate) async fn revoke_all(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    now: i64,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiTokenRow {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl Store {
    pub async fn create_api_token(
        &self,
        user_id: i64,
        name: &str,
        token_hash: &str,
    ) -> Result<i64> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(user_id)
        .bind(name)
        .bind(token_hash)
        .bind(self.now())
        .fetch_one(self.pool())
        .await?;
        Ok(id)
    }

    /// The user's tokens that are not revoked, newest first.
    pub async fn api_tokens(&self, user_id: i64) -> Result<Vec<ApiTokenRow>> {
        Ok(sqlx::query_as(
            "SELECT id, name, created_at, last_used_at FROM api_tokens
             WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id DESC",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Revokes one of the user's own tokens; `NotFound` for anyone else's.
    pub async fn revoke_api_token(&self, user_id: i64, token_id: i64) -> Result<()> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(self.now())
        .bind(token_id)
        .bind(user_id)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(super::StoreError::NotFound)
        }
    }

    /// The owner of a live token, noting its use.
    pub async fn api_token_user(&self, token_hash: &str) -> Result<Option<UserRow>> {
        let now = self.now();
        let sql = format!(
            "SELECT {USER_COLUMNS_U} FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.deactivated_at IS NULL"
        );
        let user: Option<UserRow> = sqlx::query_as(&sql)
            .bind(token_hash)
            .fetch_optional(self.pool())
            .await?;
        if user.is_some() {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2")
                .bind(now)
                .bind(token_hash)
                .execute(self.pool())
                .await?;
        }
        Ok(user)
    }
}
