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
    /// Records a successful reload: every run still waiting (never claimed, put back, or its worker's lease run
    /// out) under a replaced version of its lab is moved to the lab's new version, since this server no longer
    /// holds the old files and its workers would otherwise leave the run waiting for ever; waiting runs of a lab
    /// the course dropped end as a platform error; then audits it. Returns how many runs moved.
    pub async fn record_reload(
        &self,
        by: &Actor,
        course_version: &str,
        changes: &[VersionChange],
    ) -> Result<u64> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let mut moved = 0;
        // Waiting: never claimed, put back, or claimed by a worker whose lease has run out (it died).
        let waiting = "state IN ('queued', 'building', 'starting', 'checking')
                       AND (worker_id IS NULL OR lease_expires_at < $4)";
        for change in changes {
            match (&change.old, &change.new) {
                (Some(old), Some(new)) => {
                    moved += sqlx::query(&format!(
                        "UPDATE runs SET lab_version = $1 WHERE lab_id = $2 AND lab_version = $3 AND {waiting}"
                    ))
                    .bind(new)
                    .bind(&change.lab_id)
                    .bind(old)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                // The lab is gone: no worker of this course can grade its waiting runs, which would otherwise
                // wait for ever and hold places under their learners' cap. They end as a platform error.
                (Some(old), None) => {
                    let ended: Vec<(i64,)> = sqlx::query_as(&format!(
                        "UPDATE runs SET state = 'error', stage = 'grading', worker_id = NULL,
                                lease_expires_at = NULL, finished_at = $1,
                                reason = 'This lab was removed from the course before your run was graded; this is not a fault of your service.'
                         WHERE lab_id = $2 AND lab_version = $3 AND {}
                         RETURNING id",
                        waiting.replace("$4", "$1")
                    ))
                    .bind(now)
                    .bind(&change.lab_id)
                    .bind(old)
                    .fetch_all(&mut *tx)
                    .await?;
                    for (id,) in ended {
                        sqlx::query(
                            "INSERT INTO run_events (run_id, kind, payload, created_at)
                             VALUES ($1, 'finished', '{\"state\":\"error\"}', $2)",
                        )
                        .bind(id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                _ => {}
            }
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
