//! Check analytics for one lab: for each of its hidden checks, the share of learners whose latest graded run of
//! the lab failed it, and the message those learners read most often: the instructor's view of where the lab is
//! hard.

use std::collections::{BTreeMap, HashMap};

use crate::store::LatestCheckRow;

/// One check's line.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CheckStats {
    pub check_id: String,
    pub title: String,
    /// Learners whose latest run has a result for this check.
    pub learners: usize,
    pub failed: usize,
    /// 0 to 100.
    pub failed_percent: u8,
    /// The most common message among the failures, with how many learners read it.
    pub common_message: Option<(String, usize)>,
}

/// Stats for each check of the lab: the checks as defined (`defined`: id and title, in the lab's order), then any
/// check found only in results (renamed or removed since).
pub fn per_check(defined: &[(String, String)], rows: &[LatestCheckRow]) -> Vec<CheckStats> {
    let mut order: Vec<(String, String)> = defined.to_vec();
    for r in rows {
        if !order.iter().any(|(id, _)| id == &r.check_id) {
            order.push((r.check_id.clone(), r.title.clone()));
        }
    }
    order
        .into_iter()
        .map(|(id, title)| {
            let results: Vec<&LatestCheckRow> = rows.iter().filter(|r| r.check_id == id).collect();
            let failures: Vec<&&LatestCheckRow> =
                results.iter().filter(|r| r.verdict == "fail").collect();
            let mut messages: HashMap<&str, usize> = HashMap::new();
            for f in &failures {
                *messages.entry(f.message.as_str()).or_default() += 1;
            }
            // Most frequent first; ties go to the alphabetically first message, so the page is stable.
            let sorted: BTreeMap<(std::cmp::Reverse<usize>, &str), ()> = messages
                .into_iter()
                .map(|(m, n)| ((std::cmp::Reverse(n), m), ()))
                .collect();
            let common_message = sorted.keys().next().map(|(n, m)| (m.to_string(), n.0));
            let percent = if results.is_empty() {
                0
            } else {
                (100.0 * failures.len() as f64 / results.len() as f64).round() as u8
            };
            CheckStats {
                check_id: id,
                title,
                learners: results.len(),
                failed: failures.len(),
                failed_percent: percent,
                common_message,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(user: i64, check: &str, verdict: &str, message: &str) -> LatestCheckRow {
        LatestCheckRow {
            user_id: user,
            email: format!("u{user}@example.org"),
            lab_id: "w02-crud".into(),
            run_id: user,
            check_id: check.into(),
            title: format!("Title {check}"),
            verdict: verdict.into(),
            message: message.into(),
        }
    }

    #[test]
    fn share_failing_and_the_most_common_message() {
        let rows = [
            row(1, "create", "fail", "expected 201, got 200"),
            row(2, "create", "fail", "expected 201, got 200"),
            row(3, "create", "fail", "timed out"),
            row(4, "create", "pass", ""),
            row(1, "list", "pass", ""),
            row(9, "gone", "fail", "old"),
        ];
        let defined = [
            ("list".to_string(), "List".to_string()),
            ("create".to_string(), "Create".to_string()),
            ("never".to_string(), "Never run".to_string()),
        ];
        let stats = per_check(&defined, &rows);
        let ids: Vec<&str> = stats.iter().map(|s| s.check_id.as_str()).collect();
        assert_eq!(ids, ["list", "create", "never", "gone"]);
        assert_eq!(stats[1].failed_percent, 75);
        assert_eq!(
            stats[1].common_message,
            Some(("expected 201, got 200".to_string(), 2))
        );
        assert_eq!(stats[0].failed_percent, 0);
        assert_eq!(stats[0].common_message, None);
        assert_eq!(stats[2].learners, 0);
    }
}
