//! What a learner reads about why their service failed, beyond the checks' own messages: the limit it ran
//! into (named only when it explains the failed checks), and the last lines it printed when it did not start.

use super::pipeline::Report;
use crate::checks::Verdict;
use crate::sandbox::Fault;

/// Whether `fault` is why the checks failed. A kill for memory always is; a service merely near its memory
/// limit or at its process limit (a JVM's heap, a blocking pool) is named only when some check failed for want
/// of an answer, or the checks ran out of time.
pub(super) fn explains(fault: &Fault, report: &Report) -> bool {
    matches!(fault, Fault::OutOfMemory { .. })
        || report.checks.is_empty()
        || report.checks.iter().any(|o| {
            o.verdict == Verdict::Fail && crate::checks::http::reports_no_answer(&o.message)
        })
}

/// Lines a learner sees of their service's own output when it did not start: the last few, enough to show
/// a stack trace's message or a "cannot listen" line.
const OWN_OUTPUT_LINES: usize = 20;
const OWN_OUTPUT_BYTES: usize = 2048;

/// The end of the service's output, introduced, or nothing when it printed nothing.
pub(super) fn own_output(log: &str) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let mut tail = lines[lines.len().saturating_sub(OWN_OUTPUT_LINES)..].join("\n");
    if tail.len() > OWN_OUTPUT_BYTES {
        let mut cut = tail.len() - OWN_OUTPUT_BYTES;
        while !tail.is_char_boundary(cut) {
            cut += 1;
        }
        tail.drain(..cut);
    }
    format!("\nThe last lines your service printed:\n{tail}")
}

pub(super) fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::pipeline::Stage;
    use super::*;
    use crate::checks::CheckOutcome;
    use crate::domain::RunState;

    #[test]
    fn a_learner_sees_the_last_lines_of_their_own_output() {
        let log: String = (1..=30).map(|i| format!("line {i}\n")).collect();
        let shown = own_output(&log);
        assert!(shown.starts_with("\nThe last lines your service printed:\n"));
        assert!(shown.contains("line 11\n") && shown.ends_with("line 30"));
        assert!(!shown.contains("line 10\n"));
        assert_eq!(own_output("\n  \n"), "");
        assert!(own_output(&"x".repeat(10_000)).len() < OWN_OUTPUT_BYTES + 64);
    }

    fn failed_with(message: &str) -> Report {
        let mut report = Report::new(RunState::Failed, Stage::Checks, "1 of 1 checks failed");
        report.checks = vec![CheckOutcome {
            check_id: "c".into(),
            title: "C".into(),
            pillar: "language".into(),
            weight: 1.0,
            required: true,
            verdict: Verdict::Fail,
            message: message.into(),
            detail: String::new(),
            duration_ms: 1,
        }];
        report
    }

    #[test]
    fn a_limit_is_named_only_when_it_explains_the_failed_checks() {
        let near = Fault::AtMemoryLimit {
            limit_bytes: 256 << 20,
        };
        let killed = Fault::OutOfMemory {
            limit_bytes: 256 << 20,
        };
        let wrong_status = failed_with("Expected status 201 but got 200.");
        let no_answer = failed_with("the service could not be reached");
        assert!(!explains(&near, &wrong_status));
        assert!(explains(&near, &no_answer));
        assert!(explains(&killed, &wrong_status));
        assert!(explains(
            &Fault::ProcessLimit { limit: 128 },
            &failed_with("no answer within the time limit")
        ));
    }
}
