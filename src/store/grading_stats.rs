//! Grading figures for `/metrics`, read from the database so that one scrape of any server covers the workers of
//! every grading host sharing it: the queue, the runs in progress, how runs ended, the workers' heartbeats, and
//! how long each stage took.
//!
//! Stage durations are a histogram kept as counts per bucket (`stage_buckets`, `stage_totals`), added to in the
//! transaction that records a run's end, so each run counts exactly once whoever graded it, and a scrape reads a
//! few rows instead of the runs. The counts only grow, as a Prometheus histogram's must.

use sqlx::{Any, Transaction};

use super::{Result, Store};

/// Upper bounds of the stage-duration buckets, in seconds: from a week-1 run's sub-second checks to a build that
/// uses its whole budget.
pub const STAGE_BOUNDS_SECS: [f64; 12] = [
    0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
];

/// The stages measured: waiting for a worker, building, starting until healthy, running the checks, and the
/// whole grading from the first claim to the end.
pub const STAGES: [&str; 5] = ["wait", "build", "start", "checks", "total"];

/// When a run was queued, first claimed, entered each live state (its last attempt) and ended; Unix ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimes {
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub building_at: Option<i64>,
    pub starting_at: Option<i64>,
    pub checking_at: Option<i64>,
    pub finished_at: i64,
}

impl StageTimes {
    /// Each stage the run went through and how long it took, in ms. A stage ends where the next one it reached
    /// begins, or at the run's end; a stage it never reached is left out. Clocks of different hosts may disagree
    /// by a little, so a negative span counts as 0.
    pub fn durations(&self) -> Vec<(&'static str, i64)> {
        let span = |from: i64, to: i64| (to - from).max(0);
        let mut out = Vec::new();
        if let Some(started) = self.started_at {
            out.push(("wait", span(self.created_at, started)));
        }
        let marks = [
            ("build", self.building_at),
            ("start", self.starting_at),
            ("checks", self.checking_at),
        ];
        for (i, (stage, at)) in marks.iter().enumerate() {
            let Some(at) = at else { continue };
            let end = marks[i + 1..]
                .iter()
                .find_map(|(_, next)| *next)
                .unwrap_or(self.finished_at);
            out.push((stage, span(*at, end)));
        }
        if let Some(started) = self.started_at {
            out.push(("total", span(started, self.finished_at)));
        }
        out
    }
}

/// The bucket a duration falls in: the first bound it does not exceed, or the last bucket (`+Inf`).
pub fn bucket_of(ms: i64) -> usize {
    STAGE_BOUNDS_SECS
        .iter()
        .position(|bound| ms as f64 <= bound * 1000.0)
        .unwrap_or(STAGE_BOUNDS_SECS.len())
}

/// Counts a run's end under its outcome (`passed`, `failed`, `error`), inside the transaction that records it.
pub(super) async fn count_outcome(tx: &mut Transaction<'static, Any>, outcome: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO run_outcomes (outcome, runs) VALUES ($1, 1)
         ON CONFLICT (outcome) DO UPDATE SET runs = run_outcomes.runs + 1",
    )
    .bind(outcome)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Adds a finished run's stage durations to the histograms, inside the transaction that records its end.
pub(super) async fn record(tx: &mut Transaction<'static, Any>, times: &StageTimes) -> Result<()> {
    for (stage, ms) in times.durations() {
        sqlx::query(
            "INSERT INTO stage_buckets (stage, bucket, runs) VALUES ($1, $2, 1)
             ON CONFLICT (stage, bucket) DO UPDATE SET runs = stage_buckets.runs + 1",
        )
        .bind(stage)
        .bind(bucket_of(ms) as i64)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO stage_totals (stage, runs, total_ms) VALUES ($1, 1, $2)
             ON CONFLICT (stage) DO UPDATE SET runs = stage_totals.runs + 1,
                                               total_ms = stage_totals.total_ms + excluded.total_ms",
        )
        .bind(stage)
        .bind(ms)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// One stage's histogram: runs per bucket (not cumulative; one more than there are bounds), their count and
/// total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageHistogram {
    pub stage: &'static str,
    pub buckets: Vec<u64>,
    pub runs: u64,
    pub total_ms: i64,
}

/// The grading figures at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct GradingSnapshot {
    /// Runs waiting for a worker.
    pub queued: i64,
    /// How long the oldest of them has waited, in ms (0 when none waits).
    pub oldest_queued_ms: i64,
    /// Runs being graded, per live state (`building`, `starting`, `checking`), every state listed.
    pub in_progress: Vec<(&'static str, i64)>,
    /// Runs ended by a worker or given up on, per outcome (`passed`, `failed`, `error`), every outcome listed;
    /// counted as they end, so the figures only grow.
    pub finished: Vec<(&'static str, i64)>,
    /// Each worker holding a run, and how long ago its last heartbeat was, in ms.
    pub heartbeats: Vec<(String, i64)>,
    /// Every stage's histogram, in [`STAGES`] order.
    pub stages: Vec<StageHistogram>,
}

const LIVE: [&str; 3] = ["building", "starting", "checking"];
const OUTCOMES: [&str; 3] = ["passed", "failed", "error"];

impl Store {
    /// Reads the grading figures: counts over the queue's index and the small tables kept as runs end.
    pub async fn grading_snapshot(&self) -> Result<GradingSnapshot> {
        let now = self.now();
        let (queued, oldest): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM runs WHERE state = 'queued'")
                .fetch_one(self.pool())
                .await?;
        let live: Vec<(String, i64)> = sqlx::query_as(
            "SELECT state, COUNT(*) FROM runs WHERE state IN ('building', 'starting', 'checking')
             GROUP BY state",
        )
        .fetch_all(self.pool())
        .await?;
        let outcomes: Vec<(String, i64)> = sqlx::query_as("SELECT outcome, runs FROM run_outcomes")
            .fetch_all(self.pool())
            .await?;
        let count = |rows: &[(String, i64)], key: &str| {
            rows.iter().find(|(s, _)| s == key).map_or(0, |(_, n)| *n)
        };
        let heartbeats: Vec<(String, i64)> = sqlx::query_as(
            "SELECT worker_id, MAX(heartbeat_at) FROM runs
             WHERE worker_id IS NOT NULL AND heartbeat_at IS NOT NULL
               AND state IN ('building', 'starting', 'checking', 'queued')
             GROUP BY worker_id ORDER BY worker_id",
        )
        .fetch_all(self.pool())
        .await?;
        let buckets: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT stage, bucket, runs FROM stage_buckets")
                .fetch_all(self.pool())
                .await?;
        let totals: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT stage, runs, total_ms FROM stage_totals")
                .fetch_all(self.pool())
                .await?;
        let stages = STAGES
            .iter()
            .map(|&stage| {
                let mut counts = vec![0u64; STAGE_BOUNDS_SECS.len() + 1];
                for (s, bucket, runs) in &buckets {
                    if s == stage {
                        if let Some(slot) = usize::try_from(*bucket)
                            .ok()
                            .and_then(|b| counts.get_mut(b))
                        {
                            *slot = u64::try_from(*runs).unwrap_or(0);
                        }
                    }
                }
                let (runs, total_ms) = totals
                    .iter()
                    .find(|(s, _, _)| s == stage)
                    .map_or((0, 0), |(_, r, t)| (u64::try_from(*r).unwrap_or(0), *t));
                StageHistogram {
                    stage,
                    buckets: counts,
                    runs,
                    total_ms,
                }
            })
            .collect();
        Ok(GradingSnapshot {
            queued,
            oldest_queued_ms: oldest.map_or(0, |at| (now - at).max(0)),
            in_progress: LIVE.iter().map(|s| (*s, count(&live, s))).collect(),
            finished: OUTCOMES.iter().map(|s| (*s, count(&outcomes, s))).collect(),
            heartbeats: heartbeats
                .into_iter()
                .map(|(worker, at)| (worker, (now - at).max(0)))
                .collect(),
            stages,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_that_reached_the_checks_has_every_stage() {
        let t = StageTimes {
            created_at: 0,
            started_at: Some(400),
            building_at: Some(500),
            starting_at: Some(3_500),
            checking_at: Some(4_000),
            finished_at: 10_000,
        };
        assert_eq!(
            t.durations(),
            vec![
                ("wait", 400),
                ("build", 3_000),
                ("start", 500),
                ("checks", 6_000),
                ("total", 9_600)
            ]
        );
    }

    #[test]
    fn a_run_that_failed_its_build_has_no_start_or_checks() {
        let t = StageTimes {
            created_at: 0,
            started_at: Some(100),
            building_at: Some(100),
            finished_at: 2_100,
            ..StageTimes::default()
        };
        assert_eq!(
            t.durations(),
            vec![("wait", 100), ("build", 2_000), ("total", 2_000)]
        );
    }

    #[test]
    fn a_run_never_claimed_measures_nothing_and_skewed_clocks_count_as_zero() {
        let never = StageTimes {
            created_at: 0,
            finished_at: 50,
            ..StageTimes::default()
        };
        assert!(never.durations().is_empty());
        let skewed = StageTimes {
            created_at: 1_000,
            started_at: Some(900),
            finished_at: 800,
            ..StageTimes::default()
        };
        assert_eq!(skewed.durations(), vec![("wait", 0), ("total", 0)]);
    }

    #[test]
    fn durations_fall_in_the_first_bucket_they_do_not_exceed() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(500), 0);
        assert_eq!(bucket_of(501), 1);
        assert_eq!(bucket_of(1_800_000), STAGE_BOUNDS_SECS.len() - 1);
        assert_eq!(bucket_of(1_800_001), STAGE_BOUNDS_SECS.len());
    }
}
