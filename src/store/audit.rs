//! The audit log: who changed which cohort or account, how and when.
//!
//! Every change a member of staff (or the operator at the command line) makes to cohorts and accounts writes
//! one entry here, in the same transaction as the change itself, so the log never claims a change that was
//! rolled back nor misses one that was kept.

use sqlx::AnyConnection;

use super::{Result, Store};

/// Who acted: a signed-in account, or the operator at the command line (no account).
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<i64>,
    /// What the log shows: the account's e-mail, or `command line`.
    pub name: String,
}

impl Actor {
    /// A signed-in account.
    pub fn user(id: i64, email: &str) -> Actor {
        Actor {
            id: Some(id),
            name: email.to_string(),
        }
    }

    /// The operator running `gauntlet` on the server (whoever can run it can read the database anyway).
    pub fn command_line() -> Actor {
        Actor {
            id: None,
            name: "command line".to_string(),
        }
    }
}

/// One entry of the log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// A JSON object with what changed (never a password or a code).
    pub details: String,
}

/// Writes one entry on `conn`, which is the change's own transaction.
pub(crate) async fn record(
    conn: &mut AnyConnection,
    at: i64,
    actor: &Actor,
    action: &str,
    target: &str,
    details: serde_json::Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, actor, action, target, details)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(at)
    .bind(actor.id)
    .bind(actor.name.as_str())
    .bind(action)
    .bind(target)
    .bind(details.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// Records that `actor` took a run's failure bundle (its hidden checks' requests and the run's secrets) off
    /// the platform.
    pub async fn audit_bundle_download(&self, actor: &Actor, run_id: i64) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        record(
            &mut conn,
            self.now(),
            actor,
            "run.bundle",
            &format!("run {run_id}"),
            serde_json::json!({ "run": run_id }),
        )
        .await
    }

    /// Up to `limit` entries, newest first, older than the entry `before` when given (keyset paging: a page
    /// stays the same while new entries arrive).
    pub async fn audit_entries(&self, before: Option<i64>, limit: i64) -> Result<Vec<AuditRow>> {
        Ok(sqlx::query_as(
            "SELECT id, at, actor, action, target, details FROM audit_log
             WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }
}
