//! What a curriculum reload writes: the runs still waiting under a lab version this server just replaced move
//! to the new one, and the audit log says who reloaded (or tried to) and what changed.

use super::audit::{self, Actor};
use super::{Result, Store};

/// One lab whose files changed in a reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionChange {
    pub lab_id: String,
    /// `None`: the lab is new.
    pub old: Option<String>,
    /// `None`: the lab was removed.
    pub new: Option<String>,
}

impl Store {
    /// Records a successful reload: every run still queued (never claimed, or put back) under a replaced version
    /// of its lab is moved to the lab's new version, since this server no longer holds the old files and its
    /// workers would otherwise leave the run waiting for ever; then audits it. Returns how many runs moved.
    pub async fn record_reload(
        &self,
        by: &Actor,
        course_version: &str,
        changes: &[VersionChange],
    ) -> Result<u64> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let mut moved = 0;
        for change in changes {
            let (Some(old), Some(new)) = (&change.old, &change.new) else {
                continue;
            };
            moved += sqlx::query(
                "UPDATE runs SET lab_version = $1
                 WHERE lab_id = $2 AND lab_version = $3 AND state = 'queued' AND worker_id IS NULL",
            )
            .bind(new)
            .bind(&change.lab_id)
            .bind(old)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        let labs: Vec<&str> = changes.iter().map(|c| c.lab_id.as_str()).collect();
        audit::record(
            &mut tx,
            now,
            by,
            "curriculum.reload",
            "curriculum",
            serde_json::json!({ "version": course_version, "changed_labs": labs, "runs_moved": moved }),
        )
        .await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// Audits a reload that was refused because the new files have problems (the old course stays live).
    pub async fn record_failed_reload(&self, by: &Actor, problems: &[String]) -> Result<()> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        audit::record(
            &mut tx,
            now,
            by,
            "curriculum.reload_failed",
            "curriculum",
            serde_json::json!({ "problems": problems.len(), "first": problems.first() }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
