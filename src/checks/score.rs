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
    // Folded from +0.0: `Iterator::sum` of no floats is -0.0, which a report would print as "-0".
    let won: f64 = judged
        .iter()
        .filter(|o| o.verdict == Verdict::Pass)
        .map(|o| o.weight)
        .fold(0.0, |a, w| a + w);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(verdict: Verdict, weight: f64) -> CheckOutcome {
        CheckOutcome {
            check_id: "c".into(),
            title: "c".into(),
            pillar: "language".into(),
            weight,
            required: true,
            verdict,
            message: String::new(),
            detail: String::new(),
            duration_ms: 0,
        }
    }

    #[test]
    fn nothing_passed_scores_a_plain_zero_never_minus_zero() {
        let s = score(&[outcome(Verdict::Fail, 1.0), outcome(Verdict::Skipped, 2.0)]);
        assert_eq!(s.score, 0.0);
        assert!(s.score.is_sign_positive(), "{}", s.score);
        assert_eq!(format!("{:.0}", s.score * 100.0), "0");
        assert!(!s.passed);
    }

    #[test]
    fn errors_leave_the_weight_and_a_pass_counts_its_share() {
        let s = score(&[
            outcome(Verdict::Pass, 1.0),
            outcome(Verdict::Fail, 3.0),
            outcome(Verdict::Error, 5.0),
        ]);
        assert_eq!(s.score, 0.25);
        assert!(!s.passed);
    }
}
