//! The score of a run: the share of weight passed, and whether every required check passed.
//!
//! `Error` outcomes are platform faults and leave both numbers alone: they are taken out of the weight and out
//! of the required set. A run in which nothing could be judged scores 0 and does not pass, so a broken grader
//! never hands out credit.

use super::{CheckOutcome, Verdict};

/// The result of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// 0 to 1: passed weight over the weight of the checks that are not `Error`.
    pub score: f64,
    /// Every required check (that is not `Error`) passed, and at least one check was judged.
    pub passed: bool,
}

/// Scores a run's outcomes.
pub fn score(outcomes: &[CheckOutcome]) -> Score {
    let judged: Vec<&CheckOutcome> = outcomes
        .iter()
        .filter(|o| o.verdict != Verdict::Error)
        .collect();
    let total: f64 = judged.iter().map(|o| o.weight).sum();
    let won: f64 = judged
        .iter()
        .filter(|o| o.verdict == Verdict::Pass)
        .map(|o| o.weight)
        .sum();
    if judged.is_empty() || total <= 0.0 {
        return Score {
            score: 0.0,
            passed: false,
        };
    }
    Score {
        score: (won / total).clamp(0.0, 1.0),
        passed: judged
            .iter()
            .all(|o| !o.required || o.verdict == Verdict::Pass),
    }
}
