//! The cohort gradebook: learners × labs, each cell the learner's best verdict and score for the lab, their
//! attempts and last activity, with pillar averages (`crate::progress`) and at-risk flags (`crate::risk`) per
//! learner. Built from the two statements of `store::gradebook`, so a page costs the same two queries for a
//! cohort of any size. Sorting and filtering are in `view.rs`, the exports in `export.rs`, the SVG geometry in
//! `charts.rs`, per-check analytics in `analytics.rs`.

pub mod analytics;
pub mod charts;
pub mod export;
pub mod view;

use std::collections::HashMap;

use crate::curriculum::Curriculum;
use crate::progress::{self, PillarProgress};
use crate::risk::{self, Flag, GradedRun};
use crate::store::{best_by_week, CohortRunRow, FailedCheckRow, LabProgressRow, QuizBestRow};

/// Where a learner stands on one lab: the best thing that happened, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellState {
    NotAttempted,
    /// Runs queued or being graded, none finished.
    Pending,
    /// Only platform errors so far.
    Errored,
    Failed,
    Passed,
}

impl CellState {
    /// The text label shown beside the colour (never colour alone).
    pub fn label(self) -> &'static str {
        match self {
            CellState::NotAttempted => "not attempted",
            CellState::Pending => "pending",
            CellState::Errored => "error",
            CellState::Failed => "failed",
            CellState::Passed => "passed",
        }
    }

    /// The CSS class that colours it.
    pub fn class(self) -> &'static str {
        match self {
            CellState::NotAttempted => "gb-none",
            CellState::Pending => "gb-pending",
            CellState::Errored => "gb-error",
            CellState::Failed => "gb-failed",
            CellState::Passed => "gb-passed",
        }
    }
}

/// A lab column, in the course's order (by week, then id).
#[derive(Debug, Clone, serde::Serialize)]
pub struct LabColumn {
    pub id: String,
    pub title: String,
    pub week: u8,
}

/// One learner × lab.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Cell {
    pub lab: String,
    pub state: CellState,
    /// The best score of a graded run, 0 to 1.
    pub best_score: Option<f64>,
    /// Runs submitted (every state).
    pub attempts: usize,
    pub last_activity: Option<i64>,
    /// The run with the best score (a pass first), and the latest run.
    pub best_run: Option<i64>,
    pub last_run: Option<i64>,
    pub flags: Vec<Flag>,
}

/// One run as the learner page draws it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunMark {
    pub id: i64,
    pub lab: String,
    pub state: String,
    pub score: Option<f64>,
    pub at: i64,
}

/// One learner's row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LearnerRow {
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub joined_at: i64,
    /// In the order of [`Gradebook::labs`].
    pub cells: Vec<Cell>,
    #[serde(skip)]
    pub pillars: Vec<PillarProgress>,
    pub last_activity: Option<i64>,
    /// Every run, oldest first (the learner page's timeline).
    #[serde(skip)]
    pub runs: Vec<RunMark>,
    /// The best score and attempts per week whose quiz the learner took.
    #[serde(skip)]
    pub quizzes: Vec<QuizBestRow>,
    /// The average best score over the course's quizzes (untaken ones count 0), 0 to 100; `None` when the
    /// course has no quiz.
    pub quiz_average: Option<u8>,
}

impl LearnerRow {
    pub fn at_risk(&self) -> bool {
        self.cells.iter().any(|c| !c.flags.is_empty())
    }

    /// Every flag with its reason in words.
    pub fn reasons(&self) -> Vec<String> {
        self.cells
            .iter()
            .flat_map(|c| c.flags.iter().map(|f| f.reason(&c.lab)))
            .collect()
    }
}

/// The whole matrix.
#[derive(Debug, Clone)]
pub struct Gradebook {
    pub labs: Vec<LabColumn>,
    /// (id, name) of each pillar, in the course's order.
    pub pillars: Vec<(String, String)>,
    pub learners: Vec<LearnerRow>,
}

/// The due date of each lab, by id; empty until the schedule exists.
pub type DueDates = HashMap<String, i64>;

/// A cohort's rows, as the store returns them.
pub struct Rows<'a> {
    pub runs: &'a [CohortRunRow],
    pub failed: &'a [FailedCheckRow],
    pub quizzes: &'a [QuizBestRow],
}

/// Builds the gradebook from a cohort's runs, their failed checks and the learners' best quiz scores.
pub fn build(curriculum: &Curriculum, rows: &Rows<'_>, due: &DueDates, now: i64) -> Gradebook {
    let Rows {
        runs,
        failed,
        quizzes,
    } = *rows;
    let mut labs: Vec<LabColumn> = curriculum
        .labs
        .values()
        .map(|l| LabColumn {
            id: l.id.as_str().to_string(),
            title: l.title.clone(),
            week: l.week.number(),
        })
        .collect();
    labs.sort_by(|a, b| (a.week, &a.id).cmp(&(b.week, &b.id)));
    let mut failed_by_run: HashMap<i64, Vec<String>> = HashMap::new();
    for f in failed {
        failed_by_run
            .entry(f.run_id)
            .or_default()
            .push(f.check_id.clone());
    }
    let mut learners: Vec<LearnerRow> = Vec::new();
    for row in runs {
        if learners.last().map(|l| l.user_id) != Some(row.user_id) {
            learners.push(LearnerRow {
                user_id: row.user_id,
                name: row.display_name.clone(),
                email: row.email.clone(),
                joined_at: row.joined_at,
                cells: Vec::new(),
                pillars: Vec::new(),
                last_activity: None,
                runs: Vec::new(),
                quizzes: quizzes
                    .iter()
                    .filter(|q| q.user_id == row.user_id)
                    .cloned()
                    .collect(),
                quiz_average: None,
            });
        }
        if let (Some(id), Some(lab), Some(state), Some(at), Some(learner)) = (
            row.run_id,
            &row.lab_id,
            &row.state,
            row.created_at,
            learners.last_mut(),
        ) {
            learner.runs.push(RunMark {
                id,
                lab: lab.clone(),
                state: state.clone(),
                score: row.score,
                at,
            });
        }
    }
    let empty = Vec::new();
    for learner in &mut learners {
        learner.cells = labs
            .iter()
            .map(|lab| {
                let runs: Vec<&RunMark> = learner.runs.iter().filter(|r| r.lab == lab.id).collect();
                cell(
                    &lab.id,
                    &runs,
                    &failed_by_run,
                    &empty,
                    due.get(&lab.id).copied(),
                    now,
                )
            })
            .collect();
        learner.last_activity = learner.runs.iter().map(|r| r.at).max();
        let progress: Vec<LabProgressRow> = learner
            .cells
            .iter()
            .filter_map(|c| {
                c.best_score.map(|s| LabProgressRow {
                    lab_id: c.lab.clone(),
                    best_score: s,
                    passed: i64::from(c.state == CellState::Passed),
                    attempts: c.attempts as i64,
                })
            })
            .collect();
        let best = best_by_week(&learner.quizzes);
        learner.pillars = progress::by_pillar(curriculum, &progress, &best);
        learner.quiz_average = quiz_average(curriculum, &best);
    }
    Gradebook {
        labs,
        pillars: curriculum
            .course
            .pillars
            .iter()
            .map(|p| (p.id.as_str().to_string(), p.name.clone()))
            .collect(),
        learners,
    }
}

/// The average of the best scores over every quiz of the course, untaken ones counting 0.
fn quiz_average(curriculum: &Curriculum, best: &progress::QuizBest) -> Option<u8> {
    let weeks: Vec<_> = curriculum
        .modules
        .iter()
        .filter(|m| m.quiz.is_some())
        .map(|m| m.week)
        .collect();
    if weeks.is_empty() {
        return None;
    }
    let sum: f64 = weeks.iter().filter_map(|w| best.get(w)).sum();
    Some((100.0 * sum / weeks.len() as f64).round().clamp(0.0, 100.0) as u8)
}

/// One cell from the learner's runs of the lab, oldest first.
fn cell(
    lab: &str,
    runs: &[&RunMark],
    failed_by_run: &HashMap<i64, Vec<String>>,
    empty: &Vec<String>,
    due: Option<i64>,
    now: i64,
) -> Cell {
    let graded: Vec<&&RunMark> = runs
        .iter()
        .filter(|r| r.state == "passed" || r.state == "failed")
        .collect();
    let state = if graded.iter().any(|r| r.state == "passed") {
        CellState::Passed
    } else if !graded.is_empty() {
        CellState::Failed
    } else if runs.iter().any(|r| r.state == "error") {
        CellState::Errored
    } else if !runs.is_empty() {
        CellState::Pending
    } else {
        CellState::NotAttempted
    };
    // The best run: a pass before a fail, then the higher score, then the later run.
    let best = graded.iter().max_by(|a, b| {
        let key = |r: &RunMark| (r.state == "passed", r.score.unwrap_or(0.0));
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0)
            .then(ka.1.total_cmp(&kb.1))
            .then(a.id.cmp(&b.id))
    });
    let history: Vec<GradedRun<'_>> = graded
        .iter()
        .map(|r| GradedRun {
            at: r.at,
            passed: r.state == "passed",
            failed_checks: failed_by_run.get(&r.id).unwrap_or(empty),
        })
        .collect();
    Cell {
        lab: lab.to_string(),
        state,
        best_score: best.map(|r| r.score.unwrap_or(0.0)),
        attempts: runs.len(),
        last_activity: runs.iter().map(|r| r.at).max(),
        best_run: best.map(|r| r.id),
        last_run: runs.last().map(|r| r.id),
        flags: risk::assess(&history, due, now),
    }
}
