//! What the run page shows staff beyond the learner's view: whose run it is, which of the learner's attempts at
//! the lab it graded, how it was graded (seed, claims, worker, timings), who re-graded it and why, and the other
//! gradings of the same submission (the learner's own run and its re-grades), linked both ways.

use super::runs::format_time;
use super::{AppState, WebError};
use crate::store::{RegradeRow, RunRow};

/// Another grading of the same submission.
pub struct Sibling {
    pub id: i64,
    pub state: String,
    pub created: String,
    /// The learner's own run (the first grading); the rest are re-grades.
    pub original: bool,
    /// `by … from run N: reason`, for a re-grade.
    pub why: String,
}

/// How a re-grade was started.
pub struct RegradeFacts {
    pub from_run: i64,
    pub requester: String,
    pub reason: String,
    pub at: String,
}

/// The staff's facts about one run.
pub struct StaffFacts {
    pub learner: String,
    pub cohort: String,
    pub seed: i64,
    /// Which of the learner's submissions of this lab the run graded (1 = their first), and how many there are.
    pub attempt: i64,
    pub attempts_total: i64,
    /// How many times a worker claimed the run (more than 1 after an interruption).
    pub claims: i64,
    pub worker: String,
    /// `queued …, started … (waited N s), finished … (N s)`, or what is known so far.
    pub timing: String,
    /// Whether this run is a re-grade (not the first grading of its submission).
    pub regrade: bool,
    /// Who started this re-grade, from which run and why (re-grades recorded since they carry a reason).
    pub regrade_of: Option<RegradeFacts>,
    pub siblings: Vec<Sibling>,
}

impl StaffFacts {
    pub async fn of(state: &AppState, run: &RunRow) -> Result<StaffFacts, WebError> {
        let learner = state.store.user_by_id(run.user_id).await?;
        let cohort = match learner.as_ref().and_then(|u| u.cohort_id) {
            Some(id) => state
                .store
                .cohort(id)
                .await?
                .map_or_else(String::new, |c| c.name),
            None => String::new(),
        };
        let all = state.store.runs_of_submission(run.submission_id).await?;
        let regrades = state
            .store
            .regrades_of_submission(run.submission_id)
            .await?;
        let (attempt, attempts_total) = state
            .store
            .submission_number(run.user_id, &run.lab_id, run.submission_id)
            .await?;
        let first = all.first().map(|r| r.id);
        let record = |id: i64| regrades.iter().find(|g| g.run_id == id);
        let siblings = all
            .iter()
            .filter(|r| r.id != run.id)
            .map(|r| Sibling {
                id: r.id,
                state: r.state.clone(),
                created: format_time(r.created_at),
                original: Some(r.id) == first,
                why: record(r.id).map_or_else(String::new, |g| {
                    format!(
                        "by {} from run {}: {}",
                        g.requester, g.original_run_id, g.reason
                    )
                }),
            })
            .collect();
        Ok(StaffFacts {
            learner: learner.map_or_else(|| format!("account {}", run.user_id), |u| u.email),
            cohort,
            seed: run.seed,
            attempt,
            attempts_total,
            claims: run.attempts,
            worker: run.worker_id.clone().unwrap_or_default(),
            timing: timing(run),
            regrade: first.is_some_and(|f| f != run.id),
            regrade_of: record(run.id).map(facts),
            siblings,
        })
    }
}

fn facts(g: &RegradeRow) -> RegradeFacts {
    RegradeFacts {
        from_run: g.original_run_id,
        requester: g.requester.clone(),
        reason: g.reason.clone(),
        at: format_time(g.created_at),
    }
}

fn timing(run: &RunRow) -> String {
    let queued = format!("queued {}", format_time(run.created_at));
    match (run.started_at, run.finished_at) {
        (Some(s), Some(f)) => format!(
            "{queued}, started {} (waited {} s), finished {} (took {} s)",
            format_time(s),
            (s - run.created_at).max(0) / 1000,
            format_time(f),
            (f - s).max(0) / 1000
        ),
        (Some(s), None) => format!(
            "{queued}, started {} (waited {} s)",
            format_time(s),
            (s - run.created_at).max(0) / 1000
        ),
        (None, Some(f)) => format!("{queued}, finished {}", format_time(f)),
        (None, None) => format!("{queued}, not started"),
    }
}
