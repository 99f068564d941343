//! Every failing generated request of a check, kept rather than ending the run at the first, and reported
//! grouped: the learner sees how many requests failed and the first few distinct problems (each names an
//! operation and a kind of request, never an input); the transcript lists them all by operation.

use std::collections::BTreeMap;

/// How many distinct problems the learner's message names.
const SHOWN: usize = 3;

/// One failing case.
#[derive(Debug, Clone)]
pub struct CaseFailure {
    /// 1-based, as the transcript numbers the requests.
    pub n: usize,
    /// The operation, as messages name it.
    pub label: String,
    /// The learner-safe sentence; equal sentences are one distinct problem.
    pub learner: String,
    /// What exactly was wrong, for the transcript.
    pub detail: String,
}

/// The learner's message for `failures` out of `sent` requests; `None` when nothing failed.
pub fn message(failures: &[CaseFailure], sent: usize) -> Option<String> {
    if failures.is_empty() {
        return None;
    }
    let mut distinct: Vec<&str> = Vec::new();
    for f in failures {
        if !distinct.contains(&f.learner.as_str()) {
            distinct.push(&f.learner);
        }
    }
    let shown: Vec<&str> = distinct.iter().take(SHOWN).copied().collect();
    let more = match distinct.len().saturating_sub(SHOWN) {
        0 => String::new(),
        n => format!(" (and {n} more)"),
    };
    let (count, problems) = (failures.len(), distinct.len());
    let noun = if problems == 1 { "problem" } else { "problems" };
    Some(format!(
        "failed: {count} of {sent} generated requests got answers the document does not allow \
         ({problems} distinct {noun}): {}{more}",
        shown.join("; ")
    ))
}

/// Every failure for the transcript, grouped by operation, then by problem, with the cases of each.
pub fn grouped(failures: &[CaseFailure]) -> String {
    let mut by_op: BTreeMap<&str, BTreeMap<&str, Vec<&CaseFailure>>> = BTreeMap::new();
    for f in failures {
        by_op
            .entry(&f.label)
            .or_default()
            .entry(&f.learner)
            .or_default()
            .push(f);
    }
    let mut out = format!(
        "══ {} failing generated requests, by operation\n",
        failures.len()
    );
    for (op, problems) in by_op {
        let count: usize = problems.values().map(Vec::len).sum();
        out.push_str(&format!("── {op}: {count}\n"));
        for (learner, cases) in problems {
            let ns: Vec<String> = cases.iter().map(|c| c.n.to_string()).collect();
            out.push_str(&format!("  {learner} (cases {})\n", ns.join(", ")));
            for c in cases {
                out.push_str(&format!("    case {}: {}\n", c.n, c.detail));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(n: usize, label: &str, learner: &str) -> CaseFailure {
        CaseFailure {
            n,
            label: label.into(),
            learner: learner.into(),
            detail: format!("detail {n}"),
        }
    }

    #[test]
    fn counts_every_failure_and_names_the_first_distinct_problems() {
        let fs = [
            f(2, "b", "b crashed"),
            f(3, "a", "a accepted"),
            f(5, "b", "b crashed"),
            f(6, "a", "a drifted"),
            f(7, "c", "c crashed"),
            f(9, "c", "c drifted"),
        ];
        assert_eq!(
            message(&fs, 10).expect("a message"),
            "failed: 6 of 10 generated requests got answers the document does not allow (5 distinct \
             problems): b crashed; a accepted; a drifted (and 2 more)"
        );
        assert_eq!(message(&[], 10), None);
        let g = grouped(&fs);
        assert!(
            g.contains(
                "── b: 2\n  b crashed (cases 2, 5)\n    case 2: detail 2\n    case 5: detail 5\n"
            ),
            "{g}"
        );
        assert!(
            g.find("── a: 2").expect("a") < g.find("── b: 2").expect("b"),
            "{g}"
        );
    }
}
