//! Comparing a load report with a check's limits, and writing the learner's message and the hidden detail.

use std::fmt::Write;

use super::{Judged, LoadCheck, LoadStop};
use crate::checks::Verdict;
use crate::loadgen::LoadReport;

/// What the service's own counter said about the load (`count_metric`).
pub(super) struct Counted {
    pub name: String,
    /// The counter's growth from just before the load to just after it, ignored routes left out.
    pub grew: f64,
}

/// One limit that did not hold.
struct Miss {
    /// Learner-safe: the metric and its measured value.
    said: String,
    /// Hidden: the same with the limit.
    limit: String,
}

pub(super) fn judge(check: &LoadCheck, r: &LoadReport, counted: Option<&Counted>) -> Judged {
    let l = &check.limits;
    let mut misses = Vec::new();
    if let Some(c) = counted {
        // Every answer was counted by the service; a request sent that got no answer may or may not have been.
        let answered = (r.requests + r.warmup_answered) as f64;
        let maybe = (r.transport_errors + r.timeouts + r.warmup_unanswered) as f64;
        if c.grew < answered || c.grew > answered + maybe {
            misses.push(Miss {
                said: format!(
                    "{} grew by {} while the load got {} answers{}",
                    c.name,
                    figure(c.grew),
                    answered,
                    if maybe > 0.0 {
                        format!(" (and {maybe} requests went unanswered)")
                    } else {
                        String::new()
                    }
                ),
                limit: format!(
                    "{} grew by {} ∉ [{answered}, {}]",
                    c.name,
                    c.grew,
                    answered + maybe
                ),
            });
        }
    }
    if r.requests == 0 {
        misses.push(Miss {
            said: "the service answered no request".to_string(),
            limit: "no request was answered".to_string(),
        });
    }
    let mut over = |name: &str, measured: f64, max: Option<f64>| {
        if let Some(max) = max.filter(|m| measured > *m) {
            misses.push(Miss {
                said: format!("{name} latency too high: {} ms", figure(measured)),
                limit: format!("{name} {} ms > max {} ms", figure(measured), figure(max)),
            });
        }
    };
    if r.requests > 0 {
        over("p50", r.latency.p50_ms, l.max_p50_ms);
        over("p95", r.latency.p95_ms, l.max_p95_ms);
        over("p99", r.latency.p99_ms, l.max_p99_ms);
    }
    if let Some(min) = l.min_rps.filter(|m| r.requests_per_sec < *m) {
        misses.push(Miss {
            said: format!(
                "throughput too low: {} requests/s",
                figure(r.requests_per_sec)
            ),
            limit: format!(
                "{} requests/s < min {} requests/s",
                figure(r.requests_per_sec),
                figure(min)
            ),
        });
    }
    if let Some(max) = l.max_error_rate.filter(|m| r.error_rate > *m) {
        misses.push(Miss {
            said: format!("too many errors: {}", percent(r.error_rate)),
            limit: format!(
                "error rate {} > max {}",
                percent(r.error_rate),
                percent(max)
            ),
        });
    }
    let measured = match &check.open {
        Some(_) => objective(check, r),
        None => measured(r),
    };
    let verdict = if misses.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    let message = if misses.is_empty() {
        format!("passed ({measured})")
    } else {
        let said: Vec<&str> = misses.iter().map(|m| m.said.as_str()).collect();
        format!("failed: {} ({measured})", said.join("; "))
    };
    let mut detail = spec_text(check);
    let _ = writeln!(detail, "limits: {}", limits_text(check));
    for m in &misses {
        let _ = writeln!(detail, "missed: {}", m.limit);
    }
    let _ = writeln!(
        detail,
        "measured: {} requests in {} ms ({} non-2xx of which {} 5xx, {} connect errors, {} transport errors, {} timed out, {} dropped; warm-up: {} answered, {} unanswered)",
        r.requests,
        figure(r.duration_ms),
        r.non_2xx,
        r.server_errors,
        r.connect_errors,
        r.transport_errors,
        r.timeouts,
        r.dropped,
        r.warmup_answered,
        r.warmup_unanswered
    );
    if let Some(c) = counted {
        let _ = writeln!(detail, "{} grew by {} over the load", c.name, c.grew);
    }
    let _ = writeln!(detail, "{measured}");
    let _ = writeln!(
        detail,
        "report: {}",
        serde_json::to_string(r).unwrap_or_default()
    );
    Judged {
        verdict,
        message,
        detail,
    }
}

/// A platform fault: the load could not be sent at all, which says nothing about the learner's service.
pub(super) fn fault(check: &LoadCheck, why: &str) -> Judged {
    Judged {
        verdict: Verdict::Error,
        message: String::new(),
        detail: format!("{}{why}\n", spec_text(check)),
    }
}

/// The figures a learner may see.
fn measured(r: &LoadReport) -> String {
    format!(
        "measured: {} requests/s; latency p50 {} ms, p95 {} ms, p99 {} ms; {} errors",
        figure(r.requests_per_sec),
        figure(r.latency.p50_ms),
        figure(r.latency.p95_ms),
        figure(r.latency.p99_ms),
        percent(r.error_rate)
    )
}

/// The open loop's figures beside the objective, which the lab's README publishes as its SLO.
fn objective(c: &LoadCheck, r: &LoadReport) -> String {
    let l = &c.limits;
    let beside = |v: f64, max: Option<f64>| match max {
        Some(m) => format!("{} ms (objective ≤ {} ms)", figure(v), figure(m)),
        None => format!("{} ms", figure(v)),
    };
    let errors = match l.max_error_rate {
        Some(m) => format!("{} (objective ≤ {})", percent(r.error_rate), percent(m)),
        None => percent(r.error_rate),
    };
    format!(
        "open loop at {} requests/s: p50 {}, p99 {}, errors {errors}; {} answered",
        figure(r.rate.unwrap_or_default()),
        beside(r.latency.p50_ms, l.max_p50_ms),
        beside(r.latency.p99_ms, l.max_p99_ms),
        r.requests
    )
}

fn spec_text(c: &LoadCheck) -> String {
    let stop = match c.stop {
        LoadStop::Duration(d) => format!("for {} ms", d.as_millis()),
        LoadStop::Requests(n) => format!("for {n} requests"),
    };
    let what = if c.mix.is_empty() {
        format!("{} {}", c.method, c.path)
    } else {
        let parts: Vec<String> = c
            .mix
            .iter()
            .map(|m| format!("{}×{} {}", m.weight, m.method, m.path))
            .collect();
        format!("mix [{}]", parts.join(", "))
    };
    let mode = match &c.open {
        Some(o) => format!("open loop at {} requests/s, at most", o.rate),
        None => "closed loop,".to_string(),
    };
    format!(
        "load: {what} ({mode} {} connection(s)) {stop} after {} ms of warm-up\n",
        c.connections,
        c.warmup.as_millis()
    )
}

fn limits_text(c: &LoadCheck) -> String {
    let l = &c.limits;
    let all = [
        ("max_p50_ms", l.max_p50_ms),
        ("max_p95_ms", l.max_p95_ms),
        ("max_p99_ms", l.max_p99_ms),
        ("min_rps", l.min_rps),
        ("max_error_rate", l.max_error_rate),
        ("rate", c.open.as_ref().map(|o| o.rate)),
    ];
    let given: Vec<String> = all
        .iter()
        .filter_map(|(n, v)| v.map(|v| format!("{n} = {v}")))
        .collect();
    given.join(", ")
}

/// Milliseconds and rates to a precision people read: 3 significant figures, no trailing noise.
fn figure(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}
