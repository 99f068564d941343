//! From what a lifecycle scenario saw to a verdict: the first expectation of the check that does not hold
//! names the learner's message (the property, with measured times); the detail is the whole timeline.

use std::fmt::Write as _;

use super::probe::Answer;
use super::scenario::Seen;
use super::{Expect, Judged, LifecycleCheck, READY_DELAY_VAR};
use crate::checks::Verdict;

/// A check that could not run at all (a platform fault): no verdict on the learner.
pub(super) fn broken(why: &str) -> Judged {
    Judged {
        verdict: Verdict::Error,
        message: String::new(),
        detail: format!("platform fault: {why}"),
    }
}

pub(super) fn judge(check: &LifecycleCheck, port: u16, seen: &Seen) -> Judged {
    let detail = transcript(check, port, seen);
    if let Some(why) = &seen.fault {
        return Judged {
            verdict: Verdict::Error,
            message: String::new(),
            detail: format!("{detail}\nplatform fault: {why}"),
        };
    }
    let failure = check
        .expect
        .iter()
        .find_map(|e| failure(check, port, seen, *e));
    match failure {
        None => Judged {
            verdict: Verdict::Pass,
            message: "passed".to_string(),
            detail: format!("{detail}\nverdict: every expectation held"),
        },
        Some(why) => Judged {
            verdict: Verdict::Fail,
            message: format!("failed: {why}"),
            detail: format!("{detail}\nverdict: {why}"),
        },
    }
}

/// Why `expect` does not hold, in the learner's words; `None` when it holds.
fn failure(check: &LifecycleCheck, port: u16, seen: &Seen, expect: Expect) -> Option<String> {
    if let Some(why) = &seen.not_started {
        return Some(format!("the service could not be started: {why}"));
    }
    let s = &seen.start;
    let secs = check.ready_within.as_secs_f64();
    let path = &check.ready_path;
    if s.listened_ms.is_none() {
        return Some(match (s.exited, s.on_default_port) {
            (Some(exit), _) => format!(
                "the service exited with status {} before it listened on the port given in PORT",
                exit.code
            ),
            (None, true) => format!(
                "the service did not listen on the port given in PORT ({port}) but on 8080, the default: \
                 read the port from PORT"
            ),
            (None, false) => format!(
                "the service did not accept connections on the port given in PORT ({port}) within {secs:.0} s"
            ),
        });
    }
    if expect == Expect::Listens {
        return None;
    }
    let Some(ready_ms) = s.first_ready_ms else {
        let last = s.probes.last().map(|(_, a)| a.label()).unwrap_or_default();
        return Some(match s.exited {
            Some(exit) => format!(
                "the service exited with status {} before {path} answered 200",
                exit.code
            ),
            None => format!(
                "{path} never answered 200 within {secs:.0} s of the start (last answer: {last})"
            ),
        });
    };
    match expect {
        Expect::Listens | Expect::Ready => None,
        Expect::NotReadyWhileStarting => not_ready_while_starting(check, seen, ready_ms),
        Expect::NotReadyAfterSigterm | Expect::InFlightAnswered | Expect::ExitsZero => {
            let Some(term) = &seen.term else {
                return Some("the shutdown could not be tested: the service was not ready".into());
            };
            match expect {
                Expect::NotReadyAfterSigterm => term
                    .readiness
                    .iter()
                    .find(|(_, a)| a.is_ready())
                    .map(|(at, a)| {
                        format!(
                            "{path} answered {} {at} ms after SIGTERM, while requests were still in flight: \
                             report not ready (503) from the moment SIGTERM arrives",
                            a.label()
                        )
                    }),
                Expect::InFlightAnswered => in_flight(check, &term.slow),
                _ => exit_zero(check, term),
            }
        }
    }
}

fn not_ready_while_starting(check: &LifecycleCheck, seen: &Seen, ready_ms: u64) -> Option<String> {
    let path = &check.ready_path;
    let delay = check.ready_delay.map_or(0, |d| d.as_millis() as u64);
    let early = ready_ms < delay;
    let never_503 = seen
        .start
        .first_not_ready_ms
        .is_none_or(|not_ready| not_ready > ready_ms);
    if early || never_503 {
        Some(format!(
            "{path} answered 200 {ready_ms} ms after the container started, but {READY_DELAY_VAR}={delay} asked \
             for {delay} ms of start-up: answer 503 until start-up is over"
        ))
    } else {
        None
    }
}

fn in_flight(check: &LifecycleCheck, slow: &[(u64, Answer)]) -> Option<String> {
    let bad: Vec<&Answer> = slow
        .iter()
        .map(|(_, a)| a)
        .filter(|a| !matches!(a, Answer::Full { status: 200, .. }))
        .collect();
    if bad.is_empty() {
        return None;
    }
    let mut kinds: Vec<String> = bad.iter().map(|a| a.label()).collect();
    kinds.dedup();
    Some(format!(
        "{} of {} requests in flight when SIGTERM arrived (GET {}?ms={}) were not answered 200 in full: {}",
        bad.len(),
        slow.len(),
        check.slow_path,
        check.slow_ms,
        kinds.join("; ")
    ))
}

fn exit_zero(check: &LifecycleCheck, term: &super::scenario::Term) -> Option<String> {
    let grace = check.grace.as_secs_f64();
    match (term.exit, term.killed) {
        (Some((_, exit)), _) if exit.code == 0 => None,
        (Some((at, exit)), _) => Some(format!(
            "the process exited with status {} {at} ms after SIGTERM; a clean shutdown exits 0",
            exit.code
        )),
        (None, _) => Some(format!(
            "the process was still running {grace:.0} s after SIGTERM and had to be killed: handle SIGTERM, \
             and let it reach your server (an exec-form ENTRYPOINT)"
        )),
    }
}

fn transcript(check: &LifecycleCheck, port: u16, seen: &Seen) -> String {
    let mut t = String::new();
    let names: Vec<&str> = check.expect.iter().map(|e| e.name()).collect();
    let _ = writeln!(t, "expectations: {}", names.join(", "));
    let _ = write!(t, "instance {} with PORT={port}", seen.instance);
    for (k, v) in &check.env {
        let _ = write!(t, " {k}={v}");
    }
    if let Some(d) = check.ready_delay {
        let _ = write!(t, " {READY_DELAY_VAR}={}", d.as_millis());
    }
    t.push('\n');
    if let Some(why) = &seen.not_started {
        let _ = writeln!(t, "not started: {why}");
    }
    let s = &seen.start;
    let _ = writeln!(
        t,
        "start (ms from just before the container started), GET {}:",
        check.ready_path
    );
    timeline(&mut t, &s.probes);
    let _ = writeln!(
        t,
        "listening at {:?} ms, first not ready {:?} ms, first ready {:?} ms, exited {:?}, answers on 8080: {}",
        s.listened_ms, s.first_not_ready_ms, s.first_ready_ms, s.exited, s.on_default_port
    );
    if let Some(term) = &seen.term {
        let _ = writeln!(
            t,
            "SIGTERM with {} × GET {}?ms={} in flight ({} not yet written); ms from SIGTERM:",
            check.slow_requests, check.slow_path, check.slow_ms, term.unwritten
        );
        let _ = writeln!(t, "readiness:");
        timeline(&mut t, &term.readiness);
        let _ = writeln!(t, "slow requests:");
        for (at, answer) in &term.slow {
            let _ = writeln!(t, "  +{at:>6}  {}", answer.label());
        }
        match (term.exit, term.killed) {
            (Some((at, exit)), _) => {
                let _ = writeln!(
                    t,
                    "exit: status {} at +{at} ms (oom: {})",
                    exit.code, exit.oom
                );
            }
            (None, killed) => {
                let _ = writeln!(
                    t,
                    "exit: none within the {} ms grace; SIGKILL, then {:?}",
                    check.grace.as_millis(),
                    killed
                );
            }
        }
    }
    if !seen.log.is_empty() {
        let _ = write!(
            t,
            "--- the instance's log (last 8 KiB) ---\n{}\n---",
            seen.log.trim_end()
        );
    }
    t
}

/// Probes as runs of the same answer: `  +   98 ..  1467  HTTP 503 ×27`.
fn timeline(t: &mut String, probes: &[(u64, Answer)]) {
    let mut i = 0;
    while i < probes.len() {
        let label = probes[i].1.label();
        let mut j = i;
        while j + 1 < probes.len() && probes[j + 1].1.label() == label {
            j += 1;
        }
        let (from, to) = (probes[i].0, probes[j].0);
        let _ = if i == j {
            writeln!(t, "  +{from:>6}          {label}")
        } else {
            writeln!(t, "  +{from:>6} ..{to:>6}  {label} ×{}", j - i + 1)
        };
        i = j + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::lifecycle::scenario::{Start, Term};
    use crate::checks::Exit;
    use std::time::Duration;

    fn check(expect: &[Expect]) -> LifecycleCheck {
        LifecycleCheck {
            expect: expect.to_vec(),
            env: Default::default(),
            ready_delay: Some(Duration::from_millis(1000)),
            ready_within: Duration::from_secs(10),
            ready_path: "/readyz".into(),
            slow_path: "/work".into(),
            slow_requests: 2,
            slow_ms: 1500,
            grace: Duration::from_secs(5),
        }
    }

    fn full(status: u16) -> Answer {
        Answer::Full {
            status,
            body: "{}".into(),
        }
    }

    fn started(first_not_ready: Option<u64>, ready: u64) -> Seen {
        Seen {
            instance: "gauntlet-t-life-1".into(),
            start: Start {
                probes: vec![(40, Answer::Refused), (90, full(503)), (ready, full(200))],
                listened_ms: Some(90),
                first_not_ready_ms: first_not_ready,
                first_ready_ms: Some(ready),
                ..Start::default()
            },
            ..Seen::default()
        }
    }

    #[test]
    fn readiness_after_the_delay_passes_and_an_early_or_unbroken_200_fails() {
        let c = check(&[Expect::NotReadyWhileStarting]);
        assert_eq!(
            judge(&c, 23456, &started(Some(90), 1050)).verdict,
            Verdict::Pass
        );
        let early = judge(&c, 23456, &started(Some(90), 600));
        assert_eq!(early.verdict, Verdict::Fail);
        assert!(
            early.message.contains("READY_DELAY_MS=1000"),
            "{}",
            early.message
        );
        assert_eq!(
            judge(&c, 23456, &started(None, 1050)).verdict,
            Verdict::Fail,
            "never 503 before ready"
        );
    }

    #[test]
    fn a_service_on_the_default_port_is_told_to_read_port() {
        let c = check(&[Expect::Listens]);
        let mut seen = started(None, 0);
        seen.start = Start {
            probes: vec![(40, Answer::Refused)],
            on_default_port: true,
            ..Start::default()
        };
        let j = judge(&c, 23456, &seen);
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(
            j.message.contains("8080") && j.message.contains("PORT"),
            "{}",
            j.message
        );
    }

    fn drained(readiness: Vec<(u64, Answer)>, slow: Vec<(u64, Answer)>, exit: Option<i64>) -> Seen {
        let mut seen = started(Some(90), 1050);
        seen.term = Some(Term {
            unwritten: 0,
            readiness,
            slow,
            exit: exit.map(|code| (1520, Exit { code, oom: false })),
            killed: exit.is_none().then_some(Exit {
                code: 137,
                oom: false,
            }),
        });
        seen
    }

    #[test]
    fn each_shutdown_property_fails_on_its_own_defect_and_holds_otherwise() {
        let all = check(&[
            Expect::NotReadyAfterSigterm,
            Expect::InFlightAnswered,
            Expect::ExitsZero,
        ]);
        let good = drained(
            vec![(3, full(503)), (104, Answer::Refused)],
            vec![(1500, full(200)), (1502, full(200))],
            Some(0),
        );
        assert_eq!(judge(&all, 1, &good).verdict, Verdict::Pass);

        let still_ready = drained(vec![(3, full(200))], vec![(1500, full(200))], Some(0));
        let j = judge(&check(&[Expect::NotReadyAfterSigterm]), 1, &still_ready);
        assert!(j.message.contains("after SIGTERM"), "{}", j.message);
        assert_eq!(
            judge(&check(&[Expect::InFlightAnswered]), 1, &still_ready).verdict,
            Verdict::Pass
        );

        let dropped = drained(
            vec![(3, Answer::Refused)],
            vec![
                (
                    2,
                    Answer::Broken("the connection was closed before an answer".into()),
                ),
                (1500, full(200)),
            ],
            Some(0),
        );
        let j = judge(&check(&[Expect::InFlightAnswered]), 1, &dropped);
        assert!(j.message.contains("1 of 2"), "{}", j.message);
        assert_eq!(
            judge(&check(&[Expect::ExitsZero]), 1, &dropped).verdict,
            Verdict::Pass
        );

        let nonzero = drained(vec![(3, full(503))], vec![(1500, full(200))], Some(1));
        let j = judge(&check(&[Expect::ExitsZero]), 1, &nonzero);
        assert!(j.message.contains("status 1"), "{}", j.message);
        let ignored = drained(vec![(3, full(200))], vec![(1500, full(200))], None);
        let j = judge(&check(&[Expect::ExitsZero]), 1, &ignored);
        assert!(j.message.contains("killed"), "{}", j.message);
    }

    #[test]
    fn timelines_fold_repeated_answers() {
        let mut t = String::new();
        timeline(
            &mut t,
            &[
                (0, Answer::Refused),
                (50, full(503)),
                (100, full(503)),
                (150, full(200)),
            ],
        );
        assert_eq!(t.lines().count(), 3, "{t}");
        assert!(t.contains("HTTP 503 ×2"), "{t}");
    }
}
