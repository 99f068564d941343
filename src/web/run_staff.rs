//! What the run page shows staff beyond the learner's view: whose run it is, how it was graded (seed, attempt,
//! worker, timings) and the other gradings of the same submission (the learner's own run and its re-grades).

use super::runs::format_time;
use super::{AppState, WebError};
use crate::store::RunRow;

/// Another grading of the same submission.
pub struct Sibling {
    pub id: i64,
    pub state: String,
    pub created: String,
    /// The learner's own run (the first grading); the rest are re-grades.
    pub original: bool,
}

/// The staff's facts about one run.
pub struct StaffFacts {
    pub learner: String,
    pub cohort: String,
    pub seed: i64,
    pub attempts: i64,
    pub worker: String,
    /// `started …, finished … (N s)`, or what is known so far.
    pub timing: String,
    /// Whether this run is a re-grade (not the first grading of its submission).
    pub regrade: bool,
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
        let first = all.first().map(|r| r.id);
        let siblings = all
            .iter()
            .filter(|r| r.id != run.id)
            .map(|r| Sibling {
                id: r.id,
                state: r.state.clone(),
                created: format_time(r.created_at),
                original: Some(r.id) == first,
            })
            .collect();
        Ok(StaffFacts {
            learner: learner.map_or_else(|| format!("account {}", run.user_id), |u| u.email),
            cohort,
            seed: run.seed,
            attempts: run.attempts,
            worker: run.worker_id.clone().unwrap_or_default(),
            timing: timing(run),
            regrade: first.is_some_and(|f| f != run.id),
            siblings,
        })
    }
}

fn timing(run: &RunRow) -> String {
    match (run.started_at, run.finished_at) {
        (Some(s), Some(f)) => format!(
            "started {}, finished {} ({} s)",
            format_time(s),
            format_time(f),
            (f - s).max(0) / 1000
        ),
        (Some(s), None) => format!("started {}", format_time(s)),
        (None, Some(f)) => format!("finished {}", format_time(f)),
        (None, None) => "not started".to_string(),
    }
}
