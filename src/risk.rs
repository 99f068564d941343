//! At-risk flags: the signs that a learner is stuck on a lab, computed from their graded runs alone so the rule
//! lives in one place and is tested on its own. The gradebook and the learner page both show them, with the
//! reason in words.
//!
//! Two rules: the same check failed in the learner's last three (or more) runs of a lab with no pass since
//! (they keep trying the same thing), and no passing run by the lab's due date. Due dates come from the cohort's
//! schedule; until one is wired in, callers pass `None` and only the first rule fires.

use std::collections::BTreeSet;

/// Failing the same check this many runs in a row, with no pass between, flags the lab.
pub const REPEATED_FAILURES: usize = 3;

/// One graded run of one lab (passed or failed; platform errors say nothing about the learner and are left out).
#[derive(Debug, Clone)]
pub struct GradedRun<'a> {
    /// When it was submitted (Unix ms).
    pub at: i64,
    pub passed: bool,
    /// The checks it failed.
    pub failed_checks: &'a [String],
}

/// Why a learner's lab is flagged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Flag {
    /// `check` failed in each of the learner's last `runs` runs of the lab, with no pass since.
    RepeatedFailure { check: String, runs: usize },
    /// No passing run by the due date (Unix ms).
    MissedDue { due: i64 },
}

impl Flag {
    /// The reason in words, for the pages and the exports.
    pub fn reason(&self, lab: &str) -> String {
        match self {
            Flag::RepeatedFailure { check, runs } => {
                format!("{lab}: check `{check}` failed in the last {runs} runs, no pass since")
            }
            Flag::MissedDue { due } => format!(
                "{lab}: no passing run by the due date ({})",
                crate::web::runs::format_time(*due)
            ),
        }
    }
}

/// The flags of one learner on one lab, from their graded runs of it in submission order (oldest first), the
/// lab's due date if it has one, and the time now.
pub fn assess(runs: &[GradedRun<'_>], due: Option<i64>, now: i64) -> Vec<Flag> {
    let mut flags = repeated_failures(runs);
    if let Some(due) = due {
        let passed_in_time = runs.iter().any(|r| r.passed && r.at <= due);
        if now > due && !passed_in_time {
            flags.push(Flag::MissedDue { due });
        }
    }
    flags
}

/// The checks failed in every one of the last [`REPEATED_FAILURES`] or more runs since the last pass, each with
/// the length of its streak.
fn repeated_failures(runs: &[GradedRun<'_>]) -> Vec<Flag> {
    let since_pass = match runs.iter().rposition(|r| r.passed) {
        Some(last_pass) => &runs[last_pass + 1..],
        None => runs,
    };
    if since_pass.len() < REPEATED_FAILURES {
        return Vec::new();
    }
    let latest: BTreeSet<&String> = since_pass
        .last()
        .map(|r| r.failed_checks.iter().collect())
        .unwrap_or_default();
    let mut flags = Vec::new();
    for check in latest {
        let streak = since_pass
            .iter()
            .rev()
            .take_while(|r| r.failed_checks.contains(check))
            .count();
        if streak >= REPEATED_FAILURES {
            flags.push(Flag::RepeatedFailure {
                check: check.clone(),
                runs: streak,
            });
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn checks(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    fn run(at: i64, passed: bool, failed: &[String]) -> GradedRun<'_> {
        GradedRun {
            at,
            passed,
            failed_checks: failed,
        }
    }

    #[test]
    fn three_failures_of_the_same_check_in_a_row_flag_the_lab() {
        let f = checks(&["create", "list"]);
        let g = checks(&["create"]);
        let runs = [run(1, false, &f), run(2, false, &g), run(3, false, &f)];
        assert_eq!(
            assess(&runs, None, 10),
            vec![Flag::RepeatedFailure {
                check: "create".into(),
                runs: 3
            }]
        );
    }

    #[test]
    fn two_failures_are_not_yet_a_pattern() {
        let f = checks(&["create"]);
        let runs = [run(1, false, &f), run(2, false, &f)];
        assert!(assess(&runs, None, 10).is_empty());
    }

    #[test]
    fn different_checks_failing_each_time_do_not_flag() {
        let (a, b, c) = (checks(&["a"]), checks(&["b"]), checks(&["c"]));
        let runs = [run(1, false, &a), run(2, false, &b), run(3, false, &c)];
        assert!(assess(&runs, None, 10).is_empty());
    }

    #[test]
    fn a_pass_in_between_restarts_the_count() {
        let f = checks(&["create"]);
        let none = checks(&[]);
        let runs = [
            run(1, false, &f),
            run(2, false, &f),
            run(3, true, &none),
            run(4, false, &f),
            run(5, false, &f),
        ];
        assert!(assess(&runs, None, 10).is_empty());
    }

    #[test]
    fn the_streak_counts_every_run_since_the_check_last_passed() {
        let f = checks(&["create"]);
        let runs = [
            run(1, false, &f),
            run(2, false, &f),
            run(3, false, &f),
            run(4, false, &f),
        ];
        assert_eq!(
            assess(&runs, None, 10),
            vec![Flag::RepeatedFailure {
                check: "create".into(),
                runs: 4
            }]
        );
    }

    #[test]
    fn no_pass_by_the_due_date_flags_the_lab_once_the_date_is_past() {
        let f = checks(&["create"]);
        let runs = [run(DAY, false, &f)];
        let due = 2 * DAY;
        assert!(assess(&runs, Some(due), due - 1).is_empty(), "not due yet");
        assert_eq!(
            assess(&runs, Some(due), due + 1),
            vec![Flag::MissedDue { due }]
        );
        assert_eq!(
            assess(&[], Some(due), due + 1),
            vec![Flag::MissedDue { due }],
            "never attempted"
        );
    }

    #[test]
    fn a_pass_before_the_due_date_clears_it_and_a_late_pass_does_not() {
        let none = checks(&[]);
        let due = 2 * DAY;
        assert!(assess(&[run(DAY, true, &none)], Some(due), 3 * DAY).is_empty());
        assert_eq!(
            assess(&[run(due + 1, true, &none)], Some(due), 3 * DAY),
            vec![Flag::MissedDue { due }]
        );
    }

    #[test]
    fn the_reason_names_the_lab_the_check_and_the_date() {
        let r = Flag::RepeatedFailure {
            check: "create".into(),
            runs: 3,
        }
        .reason("w02-crud");
        assert_eq!(
            r,
            "w02-crud: check `create` failed in the last 3 runs, no pass since"
        );
        let r = Flag::MissedDue { due: 0 }.reason("w02-crud");
        assert!(r.contains("1970-01-01"), "{r}");
    }
}
