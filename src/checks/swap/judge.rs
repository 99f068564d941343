//! What a swap must show, and the two texts of its outcome: a one-line summary for the learner (requests,
//! errors, when green took over, how blue exited, and which requirement failed), and for the instructor the
//! timeline and the first failed requests in full.
//!
//! The requirements: no request without a whole answer (no connection error, no answer cut, none left
//! unanswered), no answer with an error status, `/version` naming the version that served it and moving from
//! blue to green (never back), blue exiting with status 0 within its grace period, and, when asked, a note
//! written to blue before green started read back from green.

use std::fmt::Write;
use std::time::Duration;

use super::timeline::{self, BlueExit, Milestones};
use super::traffic::{Outcome, Sample};
use super::{Judged, SwapCheck};
use crate::checks::Verdict;

/// Failed requests shown in full in the detail; the rest are counted.
const SHOWN: usize = 20;

/// Everything a swap produced.
pub(super) struct Record<'a> {
    pub samples: &'a [Sample],
    /// Lanes whose last request was still unanswered when the traffic was stopped.
    pub unanswered: usize,
    pub milestones: &'a Milestones,
    /// The note written to blue before green started, read back from green: `Err` with a learner-safe reason.
    pub carried: Option<Result<(), String>>,
    /// Why the swap stopped before its end (green never ready, an instance that exited): learner-safe.
    pub stopped: Option<String>,
    /// Notes of the swap's steps for the detail (requests the swap itself sent, their answers).
    pub notes: &'a str,
}

pub(super) fn judge(check: &SwapCheck, r: &Record) -> Judged {
    let (blue, green) = (check.blue.as_str(), check.green.as_str());
    let mut misses: Vec<String> = Vec::new();
    let cut: Vec<&Sample> = r
        .samples
        .iter()
        .filter(|s| s.is_connection_error())
        .collect();
    if !cut.is_empty() || r.unanswered > 0 {
        let mut said = format!(
            "{} got no complete answer",
            requests(cut.len() + r.unanswered)
        );
        if let Some(first) = cut.first() {
            let _ = write!(
                said,
                " (the first: a {} request{} sent at {})",
                first.kind.as_str(),
                first
                    .backend()
                    .map_or(String::new(), |b| format!(" to {b}")),
                secs(first.sent)
            );
        }
        misses.push(said);
    }
    let failed: Vec<&Sample> = r.samples.iter().filter(|s| s.is_failed_answer()).collect();
    if let Some(first) = failed.first() {
        let status = match &first.outcome {
            Outcome::Answered { status, .. } => *status,
            _ => 0,
        };
        misses.push(format!(
            "{} answered with an error status (the first: {status} to a {} request{} at {})",
            requests_were(failed.len()),
            first.kind.as_str(),
            first
                .backend()
                .map_or(String::new(), |b| format!(" on {b}")),
            secs(first.sent)
        ));
    }
    misses.extend(versions(r.samples, blue, green));
    match (r.milestones.sigterm, r.milestones.blue_exit) {
        (Some(_), Some(BlueExit::Exited { code: 0, .. })) => {}
        (Some(_), Some(BlueExit::Exited { code, .. })) => misses.push(format!(
            "{blue} exited with status {code} after SIGTERM, not 0"
        )),
        (Some(_), Some(BlueExit::StillRunning { grace })) => misses.push(format!(
            "{blue} was still running {} after SIGTERM (its grace period)",
            secs(grace)
        )),
        // The swap stopped before SIGTERM (green never became ready): that failure is already said.
        _ => {}
    }
    if let Some(why) = &r.stopped {
        let never_moved = r.milestones.switched.is_none();
        misses.push(if never_moved {
            format!("{why}, so traffic never moved")
        } else {
            why.clone()
        });
    }
    if let Some(Err(why)) = &r.carried {
        misses.push(why.clone());
    }
    let summary = summary(r, blue, green, cut.len() + r.unanswered, failed.len());
    let verdict = if misses.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    let message = if misses.is_empty() {
        format!("passed: {summary}")
    } else {
        format!("failed: {} ({summary})", misses.join("; "))
    };
    let mut detail = format!("{}\n\n", check.describe());
    if !misses.is_empty() {
        let _ = writeln!(detail, "requirements missed:");
        for m in &misses {
            let _ = writeln!(detail, "  - {m}");
        }
        detail.push('\n');
    }
    let _ = writeln!(detail, "summary: {summary}");
    if !r.notes.is_empty() {
        let _ = writeln!(detail, "\n{}", r.notes.trim_end());
    }
    let shown: Vec<&Sample> = r
        .samples
        .iter()
        .filter(|s| s.is_connection_error() || s.is_failed_answer())
        .take(SHOWN)
        .collect();
    if !shown.is_empty() {
        let _ = writeln!(detail, "\nfailed requests (first {}):", shown.len());
        for s in shown {
            let _ = writeln!(detail, "  {}", transcript(s));
        }
    }
    let _ = write!(
        detail,
        "\n{}",
        timeline::render(r.samples, r.milestones, blue, green)
    );
    Judged {
        verdict,
        message,
        detail,
    }
}

/// `/version` names the backend that served it, and moves from blue to green only, with an answer of each.
fn versions(samples: &[Sample], blue: &str, green: &str) -> Vec<String> {
    let mut misses = Vec::new();
    let answers: Vec<(&str, Option<&str>)> = samples
        .iter()
        .filter_map(|s| match &s.outcome {
            Outcome::Answered {
                status,
                backend: Some(b),
                version,
                ..
            } if (200..300).contains(status) && s.is_version => {
                Some((b.as_str(), version.as_deref()))
            }
            _ => None,
        })
        .collect();
    if let Some((b, said)) = answers.iter().find(|(b, v)| Some(*b) != *v) {
        misses.push(match said {
            Some(v) => format!("/version on {b} answered “{}”, not “{b}”", short(v)),
            None => format!("/version on {b} did not answer JSON with a `version` string"),
        });
        return misses;
    }
    // Samples are in the order they were sent.
    let first_green = answers.iter().position(|(b, _)| *b == green);
    if let Some(i) = first_green {
        if answers[i..].iter().any(|(b, _)| *b == blue) {
            misses.push(format!("/version went back from {green} to {blue}"));
        }
    }
    if !answers.iter().any(|(b, _)| *b == blue) {
        misses.push(format!("/version never answered from {blue}"));
    }
    if first_green.is_none() {
        misses.push(format!("/version never answered from {green}"));
    }
    misses
}

/// "1 request", "2 requests".
fn requests(n: usize) -> String {
    if n == 1 {
        "1 request".to_string()
    } else {
        format!("{n} requests")
    }
}

/// "1 request was", "2 requests were".
fn requests_were(n: usize) -> String {
    if n == 1 {
        "1 request was".to_string()
    } else {
        format!("{n} requests were")
    }
}

/// A value the service chose, cut for the learner's one line.
fn short(v: &str) -> String {
    match v.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &v[..at]),
        None => v.to_string(),
    }
}

fn summary(r: &Record, blue: &str, green: &str, cut: usize, failed: usize) -> String {
    let m = r.milestones;
    let mut out = format!(
        "{} requests, {failed} error answers, {cut} without a complete answer",
        r.samples.len() + r.unanswered
    );
    match m.switched {
        Some(at) => {
            let since = m.green_started.map_or(String::new(), |g| {
                format!(", {} after it started", secs(at.saturating_sub(g)))
            });
            let _ = write!(out, "; {green} took over at {}{since}", secs(at));
        }
        None => {
            let _ = write!(out, "; {green} never took over");
        }
    }
    match m.blue_exit {
        Some(BlueExit::Exited { code, after }) => {
            let _ = write!(
                out,
                "; {blue} exited with status {code} {} after SIGTERM",
                secs(after)
            );
        }
        Some(BlueExit::StillRunning { grace }) => {
            let _ = write!(out, "; {blue} did not exit within {}", secs(grace));
        }
        None => {}
    }
    out
}

/// One failed request for the detail.
fn transcript(s: &Sample) -> String {
    let head = format!(
        "{:>7} {} {} ({} ms)",
        secs(s.sent),
        s.kind.as_str(),
        s.path,
        s.took.as_millis()
    );
    match &s.outcome {
        Outcome::Answered {
            status,
            backend,
            excerpt,
            ..
        } => format!(
            "{head}: {status} from {}: {}",
            backend.as_deref().unwrap_or("?"),
            excerpt.as_deref().unwrap_or("")
        ),
        Outcome::Unreachable { backend, how, why } => format!(
            "{head}: router could not get an answer from {} ({how}): {why}",
            backend.as_deref().unwrap_or("?")
        ),
        Outcome::Cut(why) => format!("{head}: {why}"),
    }
}

pub(super) fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::checks::swap::parse;
    use crate::checks::swap::traffic::Kind;

    fn check() -> SwapCheck {
        parse::tests_default()
    }

    fn version(sent_ms: u64, backend: &str, said: &str) -> Sample {
        Sample {
            kind: Kind::Read,
            path: Arc::from("/version"),
            is_version: true,
            sent: Duration::from_millis(sent_ms),
            took: Duration::from_millis(2),
            outcome: Outcome::Answered {
                status: 200,
                backend: Some(backend.into()),
                version: Some(said.into()),
                excerpt: None,
            },
        }
    }

    fn swapped() -> Milestones {
        Milestones {
            blue_ready: Some(Duration::ZERO),
            green_started: Some(Duration::from_millis(1500)),
            switched: Some(Duration::from_millis(2300)),
            sigterm: Some(Duration::from_millis(2301)),
            in_flight_at_sigterm: 2,
            blue_exit: Some(BlueExit::Exited {
                code: 0,
                after: Duration::from_millis(700),
            }),
            traffic_stopped: Some(Duration::from_millis(4000)),
        }
    }

    fn judged(samples: &[Sample], m: &Milestones, carried: Option<Result<(), String>>) -> Judged {
        judge(
            &check(),
            &Record {
                samples,
                unanswered: 0,
                milestones: m,
                carried,
                stopped: None,
                notes: "",
            },
        )
    }

    #[test]
    fn a_clean_swap_passes_with_a_one_line_summary() {
        let samples = [
            version(100, "blue", "blue"),
            version(2400, "green", "green"),
        ];
        let j = judged(&samples, &swapped(), Some(Ok(())));
        assert_eq!(j.verdict, Verdict::Pass, "{}", j.message);
        assert_eq!(
            j.message,
            "passed: 2 requests, 0 error answers, 0 without a complete answer; green took over at 2.30 s, \
             0.80 s after it started; blue exited with status 0 0.70 s after SIGTERM"
        );
        assert!(j.detail.contains("timeline"), "{}", j.detail);
    }

    #[test]
    fn version_must_name_the_backend_and_never_go_back() {
        let m = swapped();
        let wrong = [version(100, "blue", "dev"), version(2400, "green", "dev")];
        let j = judged(&wrong, &m, None);
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(
            j.message.contains("/version on blue answered “dev”"),
            "{}",
            j.message
        );

        let back = [
            version(100, "blue", "blue"),
            version(2400, "green", "green"),
            version(2500, "blue", "blue"),
        ];
        let j = judged(&back, &m, None);
        assert!(
            j.message.contains("went back from green to blue"),
            "{}",
            j.message
        );

        // What the service says is cut in the learner's line.
        let long = "x".repeat(100_000);
        let j = judged(&[version(100, "blue", &long)], &m, None);
        assert!(j.message.len() < 400, "{}", j.message.len());

        let never = [version(100, "blue", "blue")];
        let j = judged(&never, &m, None);
        assert!(
            j.message.contains("never answered from green"),
            "{}",
            j.message
        );
    }

    #[test]
    fn cut_requests_error_answers_and_blue_exits_are_each_named() {
        let mut cut = version(2200, "blue", "blue");
        cut.kind = Kind::Slow;
        cut.outcome = Outcome::Unreachable {
            backend: Some("blue".into()),
            how: "closed".into(),
            why: "connection reset".into(),
        };
        let mut refused = version(2400, "green", "green");
        refused.kind = Kind::Write;
        refused.outcome = Outcome::Answered {
            status: 503,
            backend: Some("green".into()),
            version: None,
            excerpt: Some("store not open".into()),
        };
        let samples = [
            version(100, "blue", "blue"),
            cut,
            refused,
            version(2600, "green", "green"),
        ];
        let mut m = swapped();
        m.blue_exit = Some(BlueExit::Exited {
            code: 1,
            after: Duration::from_millis(10),
        });
        let j = judged(&samples, &m, Some(Err("a note was lost".into())));
        assert_eq!(j.verdict, Verdict::Fail);
        for said in [
            "1 request got no complete answer (the first: a slow request to blue sent at 2.20 s)",
            "1 request was answered with an error status (the first: 503 to a write request on green at 2.40 s)",
            "blue exited with status 1 after SIGTERM, not 0",
            "a note was lost",
        ] {
            assert!(j.message.contains(said), "{said} not in {}", j.message);
        }
        // The learner never sees bodies; the instructor does.
        assert!(!j.message.contains("store not open"));
        assert!(j.detail.contains("store not open") && j.detail.contains("connection reset"));

        m.blue_exit = Some(BlueExit::StillRunning {
            grace: Duration::from_secs(10),
        });
        let j = judged(&samples[..1], &m, None);
        assert!(
            j.message
                .contains("blue was still running 10.00 s after SIGTERM"),
            "{}",
            j.message
        );
    }
}
