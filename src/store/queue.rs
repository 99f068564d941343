//! The queue's rules beyond one run: the order runs are claimed in (fair across learners), a waiting run's
//! place in it, the cap on a learner's live runs, archive retention, and a lease holder's batched events.
//!
//! **Claim order.** Each waiting run gets a key of four parts, compared in order:
//! 0. its priority: 0 for a learner's own submission (and a one-run re-grade), 1 (low) for a run of a cohort
//!    re-grade ([`LOW_PRIORITY`]), so a learner's run queued after a whole cohort's re-grade is graded first;
//! 1. how many runs its learner has running now plus how many of their runs have waited longer: a learner's
//!    first waiting run comes before anyone's second, and a learner with runs in progress yields to one with
//!    none;
//! 2. when the learner was last served (the claim sequence number of their latest claimed run; never served
//!    first): among learners with nothing running, turns rotate, so a learner whose run just finished waits
//!    behind one who has not had a turn;
//! 3. the run's id: oldest first within a learner.
//!
//! That is round-robin across learners, oldest first within each. A run's queue position is its rank under the
//! same key now; it changes as other runs start and end.

use super::lease::{held, Lease};
use super::{Result, Store, StoreError};
use crate::domain::Quota;

/// The priority of a cohort re-grade's runs: claimed after every waiting run of priority 0.
pub const LOW_PRIORITY: i64 = 1;

/// The live states: the run is waiting or being graded.
const LIVE: &str = "('queued', 'building', 'starting', 'checking')";

/// The claim key of the waiting run aliased `r` at time `$now` (see the module's doc).
pub(super) fn claim_key(now: &str) -> String {
    // A waiting low-priority run of the learner does not hold their own submission back.
    format!(
        "(SELECT COUNT(*) FROM runs o WHERE o.user_id = r.user_id AND o.state IN {LIVE}
            AND ((o.id < r.id AND o.priority <= r.priority)
                 OR (o.worker_id IS NOT NULL AND o.lease_expires_at >= {now} AND o.priority <= r.priority)))"
    )
}

/// When the learner of the run aliased `r` was last served: the highest claim sequence number among their runs
/// (0 if none was ever claimed).
pub(super) fn served() -> String {
    "(SELECT COALESCE(MAX(s.claim_seq), 0) FROM runs s WHERE s.user_id = r.user_id)".to_string()
}

/// The next claim sequence number (ties under concurrent claims on PostgreSQL are harmless: the id breaks them).
pub(super) const NEXT_CLAIM_SEQ: &str = "(SELECT COALESCE(MAX(claim_seq), 0) + 1 FROM runs)";

/// Whether the run aliased `r` is waiting for a worker at time `$now`: queued, or its lease expired.
pub(super) fn waiting(now: &str) -> String {
    format!("r.state IN {LIVE} AND (r.worker_id IS NULL OR r.lease_expires_at < {now})")
}

/// Whether the run aliased `r` was submitted under a version of its lab a worker holds: `keys` are that
/// worker's `lab_id:version` pairs ([`crate::curriculum::Curriculum::version_keys`]), bound from placeholder
/// `$first` on. A run with no recorded version matches every worker. `None` matches every run.
pub(super) fn versions_match(keys: Option<&[String]>, first: usize) -> String {
    match keys {
        None => "TRUE".to_string(),
        Some([]) => "r.lab_version IS NULL".to_string(),
        Some(keys) => {
            let list: Vec<String> = (first..first + keys.len())
                .map(|n| format!("${n}"))
                .collect();
            format!(
                "(r.lab_version IS NULL OR r.lab_id || ':' || r.lab_version IN ({}))",
                list.join(", ")
            )
        }
    }
}

impl Store {
    /// A waiting run's place in the claim order (1 = next), or `None` when it is not waiting.
    pub async fn queue_position(&self, run_id: i64) -> Result<Option<i64>> {
        let sql = format!(
            "WITH w AS (SELECT r.id, r.priority AS p, {key} AS k, {served} AS s FROM runs r WHERE {waiting})
             SELECT COUNT(*) FROM w, w me
             WHERE me.id = $2 AND (w.p < me.p OR (w.p = me.p AND (w.k < me.k OR (w.k = me.k AND (w.s < me.s
                                   OR (w.s = me.s AND w.id <= me.id))))))",
            key = claim_key("$1"),
            served = served(),
            waiting = waiting("$1"),
        );
        let (n,): (i64,) = sqlx::query_as(&sql)
            .bind(self.now())
            .bind(run_id)
            .fetch_one(self.pool())
            .await?;
        Ok((n > 0).then_some(n))
    }

    /// Runs waiting for a worker that were submitted under a version of their lab other than `versions` (a
    /// worker's `lab_id:version` keys): what that worker leaves alone. `(run id, lab id, version)`, oldest first.
    pub async fn waiting_for_other_versions(
        &self,
        versions: &[String],
    ) -> Result<Vec<(i64, String, String)>> {
        let sql = format!(
            "SELECT r.id, r.lab_id, r.lab_version FROM runs r
             WHERE {waiting} AND r.lab_version IS NOT NULL AND NOT {matching}
             ORDER BY r.id LIMIT 100",
            waiting = waiting("$1"),
            matching = versions_match(Some(versions), 2),
        );
        let mut query = sqlx::query_as(&sql).bind(self.now());
        for key in versions {
            query = query.bind(key);
        }
        Ok(query.fetch_all(self.pool()).await?)
    }

    /// The learner's own runs that are queued or being graded (a cohort re-grade's runs are not theirs).
    pub async fn live_runs_of(&self, user_id: i64) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(&format!(
            "SELECT COUNT(*) FROM runs WHERE user_id = $1 AND state IN {LIVE} AND priority = 0"
        ))
        .bind(user_id)
        .fetch_one(self.pool())
        .await?;
        Ok(n)
    }

    /// Stores an accepted archive and queues its run unless the learner already has
    /// [`Quota::max_live_runs`] live runs ([`StoreError::LiveRunCap`]); then drops the archives of that
    /// learner's older submissions of the lab past [`Quota::keep_archives`]. `timing` (its due date and whether
    /// it is late) is stored on the run. Returns the run's id.
    pub async fn submit_within(
        &self,
        user_id: i64,
        lab_id: &str,
        archive: &[u8],
        seed: i64,
        quota: Quota,
        terms: super::runs::RunTerms<'_>,
    ) -> Result<i64> {
        let mut tx = self.pool().begin().await?;
        // Takes the learner's row lock (PostgreSQL) or the write lock (SQLite) before counting, so that two
        // submissions at once cannot both pass the cap.
        sqlx::query("UPDATE users SET id = id WHERE id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        // A cohort re-grade's runs are staff's, not the learner's: they do not take the learner's places.
        let (live,): (i64,) = sqlx::query_as(&format!(
            "SELECT COUNT(*) FROM runs WHERE user_id = $1 AND state IN {LIVE} AND priority = 0"
        ))
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
        if live >= quota.max_live_runs {
            tx.rollback().await?;
            return Err(StoreError::LiveRunCap(quota.max_live_runs));
        }
        let run = self
            .insert_run(&mut tx, user_id, lab_id, archive, seed, terms)
            .await?;
        tx.commit().await?;
        self.drop_old_archives(user_id, lab_id, quota.keep_archives)
            .await?;
        Ok(run)
    }

    /// Empties the archives of a learner's submissions of a lab beyond the newest `keep`, except those a live
    /// run still needs; returns how many were dropped.
    pub async fn drop_old_archives(&self, user_id: i64, lab_id: &str, keep: i64) -> Result<u64> {
        let done = sqlx::query(&format!(
            "UPDATE submissions SET archive = $1, archive_dropped_at = $2
             WHERE user_id = $3 AND lab_id = $4 AND archive_dropped_at IS NULL
               AND id NOT IN (SELECT id FROM submissions WHERE user_id = $3 AND lab_id = $4
                              ORDER BY id DESC LIMIT $5)
               AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.submission_id = submissions.id
                               AND runs.state IN {LIVE})"
        ))
        .bind(Vec::<u8>::new())
        .bind(self.now())
        .bind(user_id)
        .bind(lab_id)
        .bind(keep)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// The submission's archive, or `None` when retention dropped it.
    pub async fn submission_archive(&self, submission_id: i64) -> Result<Option<Vec<u8>>> {
        let (bytes, dropped): (Vec<u8>, Option<i64>) =
            sqlx::query_as("SELECT archive, archive_dropped_at FROM submissions WHERE id = $1")
                .bind(submission_id)
                .fetch_one(self.pool())
                .await?;
        Ok(dropped.is_none().then_some(bytes))
    }

    /// Appends events of a run in one statement, only while `lease` holds it; false (and nothing written) when
    /// it does not.
    pub async fn append_events(&self, lease: &Lease, events: &[(&str, String)]) -> Result<bool> {
        if events.is_empty() {
            return Ok(true);
        }
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        // A no-op write on the run row: it checks the lease and holds the row until the events are in, so a
        // claim by another worker cannot slip between the check and the insert.
        let held = sqlx::query(&format!(
            "UPDATE runs SET heartbeat_at = heartbeat_at WHERE {}",
            held("$1", "$2", "$3")
        ))
        .bind(lease.run_id)
        .bind(&lease.worker)
        .bind(lease.attempt)
        .execute(&mut *tx)
        .await?;
        if held.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        let values: Vec<String> = (0..events.len())
            .map(|i| format!("($1, ${}, ${}, $2)", 3 + 2 * i, 4 + 2 * i))
            .collect();
        let sql = format!(
            "INSERT INTO run_events (run_id, kind, payload, created_at) VALUES {}",
            values.join(", ")
        );
        let mut insert = sqlx::query(&sql).bind(lease.run_id).bind(now);
        for (kind, payload) in events {
            insert = insert.bind(*kind).bind(payload.as_str());
        }
        insert.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Every run queued or being graded, oldest first, with its learner's e-mail: the staff's queue view.
    pub async fn live_run_list(&self) -> Result<Vec<LiveRunRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT r.id, r.user_id, u.email, r.lab_id, r.state, r.attempts, r.worker_id, r.created_at
             FROM runs r JOIN users u ON u.id = r.user_id WHERE r.state IN {LIVE} ORDER BY r.id"
        ))
        .fetch_all(self.pool())
        .await?)
    }
}

/// A run in the staff's queue view.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveRunRow {
    pub id: i64,
    pub user_id: i64,
    pub email: String,
    pub lab_id: String,
    pub state: String,
    pub attempts: i64,
    pub worker_id: Option<String>,
    pub created_at: i64,
}
