//! One grader check's verdict: its test in the run's one grader execution.
//!
//! The learner reads the test's `message` (Exercism's: what the student is shown); staff read its `output`,
//! `test_code` and `task_id`, any test the lab did not declare, and the grader's log. A grader fault is a
//! platform error with the grader's whole log.

use std::fmt::Write as _;

use super::results::{Results, Status, TestResult};
use super::{GraderCheck, GraderEnd, GraderExecution, GraderRequest, RESULTS_CAP, RESULTS_FILE};
use crate::checks::judged::Judged;
use crate::checks::{CheckContext, CheckDef, Verdict};

/// The most of a test's message the learner reads; a grader's message is a sentence, not a transcript.
const MESSAGE_CAP: usize = 1000;
/// The end of the grader's log kept with a check that the grader judged (all of it goes with a fault).
const LOG_TAIL: usize = 4 * 1024;

/// Runs (or reads the run's one execution of) the lab's grader and judges `check`'s test.
pub(in crate::checks) async fn run(
    def: &CheckDef,
    check: &GraderCheck,
    ctx: &CheckContext,
) -> Judged {
    let Some(control) = ctx.control.as_deref() else {
        return Judged::broken("this grader cannot run a lab's grader".to_string());
    };
    let request = GraderRequest {
        seed: ctx.seed,
        budget: def.timeout,
    };
    let execution = control.run_grader(request).await;
    judge(def, check, &execution)
}

/// The verdict of `check` from a finished execution.
pub(in crate::checks) fn judge(
    def: &CheckDef,
    check: &GraderCheck,
    execution: &GraderExecution,
) -> Judged {
    let fault = |why: String| {
        Judged::broken(format!(
            "{why}\n--- grader log ---\n{}",
            or_none(&execution.log)
        ))
    };
    let bytes = match &execution.ended {
        GraderEnd::Results(bytes) => bytes,
        GraderEnd::NoResults => {
            return fault(format!(
                "the grader exited 0 but left no {RESULTS_FILE} in its results folder"
            ))
        }
        GraderEnd::Unreadable(why) => {
            return fault(format!(
                "the grader's {RESULTS_FILE} could not be read ({why}; at most {RESULTS_CAP} bytes are read)"
            ))
        }
        GraderEnd::Crashed { code, oom } => {
            let oom = if *oom {
                " (killed for memory: it went past its memory limit)"
            } else {
                ""
            };
            return fault(format!(
                "the grader exited with code {code}{oom}; a grader exits 0 whatever its tests found"
            ));
        }
        GraderEnd::TimedOut { after } => {
            return fault(format!(
                "the grader was still running after {} s (the check's timeout_secs) and was stopped",
                after.as_secs()
            ))
        }
        GraderEnd::Platform(why) => return fault(format!("the grader could not be run: {why}")),
    };
    let results = match Results::parse(bytes) {
        Ok(r) => r,
        Err(e) => return fault(e.to_string()),
    };
    let mut detail = String::new();
    let undeclared = results.undeclared(&check.declared);
    if !undeclared.is_empty() {
        let _ = writeln!(
            detail,
            "{RESULTS_FILE} also reports tests no check of the lab declares (ignored): {}",
            undeclared.join(", ")
        );
    }
    let Some(test) = results.test(&check.test) else {
        if results.status == Status::Error && results.tests.is_empty() {
            // Exercism's "nothing could be tested" (the submission does not compile, say): the learner's.
            let why = results
                .message
                .as_deref()
                .map_or_else(|| "the grader could not test your work".to_string(), cap);
            let _ = writeln!(
                detail,
                "the grader's whole run ended in `error`: {}",
                results.message.as_deref().unwrap_or("(no message)")
            );
            return judged(Verdict::Fail, format!("failed: {why}"), detail, execution);
        }
        return fault(format!(
            "{detail}{RESULTS_FILE} has no test named `{}` (it has: {})",
            check.test,
            results
                .tests
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    describe(&mut detail, def, test);
    let (verdict, message) = match test.status {
        Status::Pass => (Verdict::Pass, "passed".to_string()),
        Status::Fail => (
            Verdict::Fail,
            format!("failed: {}", test_message(test, "the test failed")),
        ),
        Status::Error => (
            Verdict::Fail,
            format!(
                "failed with an error: {}",
                test_message(test, "the test errored")
            ),
        ),
    };
    judged(verdict, message, detail, execution)
}

fn judged(verdict: Verdict, message: String, mut detail: String, e: &GraderExecution) -> Judged {
    let log = tail(&e.log, LOG_TAIL);
    let _ = write!(detail, "--- grader log (end) ---\n{}", or_none(log));
    Judged {
        verdict,
        message,
        detail,
    }
}

/// The test as staff read it: status, both texts, code and task, and where its weight or pillar disagrees with
/// the lab's.
fn describe(detail: &mut String, def: &CheckDef, test: &TestResult) {
    let _ = writeln!(
        detail,
        "grader test `{}`: {}",
        test.name,
        test.status.as_str()
    );
    if let Some(m) = &test.message {
        let _ = writeln!(detail, "message: {m}");
    }
    if let Some(o) = &test.output {
        let _ = writeln!(detail, "output:\n{o}");
    }
    if let Some(c) = &test.test_code {
        let _ = writeln!(detail, "test_code:\n{c}");
    }
    if let Some(t) = test.task_id {
        let _ = writeln!(detail, "task_id: {t}");
    }
    if let Some(w) = test
        .weight
        .filter(|w| (w - def.weight).abs() > f64::EPSILON)
    {
        let _ = writeln!(
            detail,
            "results.json gives weight {w}; the lab's {} counts",
            def.weight
        );
    }
    if let Some(p) = test.pillar.as_deref().filter(|p| *p != def.pillar) {
        let _ = writeln!(
            detail,
            "results.json gives pillar `{p}`; the lab's `{}` counts",
            def.pillar
        );
    }
}

fn test_message(test: &TestResult, fallback: &str) -> String {
    match test.message.as_deref().map(str::trim) {
        Some(m) if !m.is_empty() => cap(m),
        _ => fallback.to_string(),
    }
}

/// At most [`MESSAGE_CAP`] bytes, cut at a character boundary.
fn cap(text: &str) -> String {
    if text.len() <= MESSAGE_CAP {
        return text.to_string();
    }
    let mut end = MESSAGE_CAP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

fn or_none(log: &str) -> &str {
    if log.trim().is_empty() {
        "(the grader printed nothing)"
    } else {
        log
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::checks::CheckKind;

    fn def(test: &str) -> (CheckDef, GraderCheck) {
        let check = GraderCheck {
            test: test.to_string(),
            declared: Arc::new(vec!["a".into(), "b".into(), "c".into()]),
        };
        let def = CheckDef {
            id: test.to_string(),
            title: "T".into(),
            hint: String::new(),
            pillar: "language".into(),
            weight: 1.0,
            required: true,
            depends_on: Vec::new(),
            timeout: Duration::from_secs(5),
            kind: CheckKind::Grader(check.clone()),
        };
        (def, check)
    }

    fn results(json: &str) -> GraderExecution {
        GraderExecution {
            ended: GraderEnd::Results(json.as_bytes().to_vec()),
            log: "grader said hello".into(),
        }
    }

    const FILE: &str = r#"{"version":3,"status":"fail","tests":[
        {"name":"a","status":"pass"},
        {"name":"b","status":"fail","message":"two writers won","output":"PUT /notes/1 -> 200 twice","weight":3},
        {"name":"c","status":"error","message":"connection reset"},
        {"name":"z","status":"pass"}]}"#;

    #[test]
    fn statuses_map_to_verdicts_with_message_for_the_learner_and_output_for_staff() {
        let e = results(FILE);
        let (d, c) = def("a");
        assert_eq!(judge(&d, &c, &e).verdict, Verdict::Pass);
        let (d, c) = def("b");
        let j = judge(&d, &c, &e);
        assert_eq!(j.verdict, Verdict::Fail);
        assert_eq!(j.message, "failed: two writers won");
        assert!(!j.message.contains("PUT /notes"));
        assert!(
            j.detail.contains("PUT /notes/1 -> 200 twice"),
            "{}",
            j.detail
        );
        assert!(j.detail.contains("weight 3"), "{}", j.detail);
        assert!(j.detail.contains("declares (ignored): z"), "{}", j.detail);
        assert!(j.detail.contains("grader said hello"));
        let (d, c) = def("c");
        let j = judge(&d, &c, &e);
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(j.message.contains("connection reset"));
    }

    #[test]
    fn a_declared_test_missing_from_the_results_is_a_platform_error() {
        let (d, c) = def("missing");
        let j = judge(&d, &c, &results(FILE));
        assert_eq!(j.verdict, Verdict::Error);
        assert!(j.detail.contains("no test named `missing`"), "{}", j.detail);
    }

    #[test]
    fn a_whole_run_in_error_without_tests_fails_every_check_with_its_message() {
        let (d, c) = def("a");
        let j = judge(
            &d,
            &c,
            &results(r#"{"version":3,"status":"error","message":"main.go does not compile"}"#),
        );
        assert_eq!(j.verdict, Verdict::Fail);
        assert_eq!(j.message, "failed: main.go does not compile");
    }

    #[test]
    fn grader_faults_are_platform_errors_with_the_log() {
        let (d, c) = def("a");
        for ended in [
            GraderEnd::NoResults,
            GraderEnd::Unreadable("too large".into()),
            GraderEnd::Crashed {
                code: 2,
                oom: false,
            },
            GraderEnd::TimedOut {
                after: Duration::from_secs(5),
            },
            GraderEnd::Results(b"{".to_vec()),
        ] {
            let e = GraderExecution {
                ended,
                log: "the grader's own words".into(),
            };
            let j = judge(&d, &c, &e);
            assert_eq!(j.verdict, Verdict::Error);
            assert!(j.detail.contains("the grader's own words"), "{}", j.detail);
        }
    }
}
