//! From the TOML of a `[check.load]` table to a checked [`LoadCheck`], every problem with its line.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{Limits, LoadCheck, LoadStop};
use crate::checks::http::METHODS;
use crate::checks::load::Source;
use crate::diagnostics::Diagnostic;

/// More connections than this is a typo, not a lab: the grader and the learner's container share a machine.
const MAX_CONNECTIONS: i64 = 256;
/// Connections when the check does not say.
const DEFAULT_CONNECTIONS: usize = 8;
const MAX_REQUESTS: i64 = 10_000_000;
const MAX_WARMUP_MS: i64 = 60_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::checks) struct RawLoad {
    path: Spanned<String>,
    method: Option<Spanned<String>>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    connections: Option<Spanned<i64>>,
    duration_ms: Option<Spanned<i64>>,
    requests: Option<Spanned<i64>>,
    warmup_ms: Option<Spanned<i64>>,
    max_p50_ms: Option<Spanned<f64>>,
    max_p95_ms: Option<Spanned<f64>>,
    max_p99_ms: Option<Spanned<f64>>,
    min_rps: Option<Spanned<f64>>,
    max_error_rate: Option<Spanned<f64>>,
}

/// Reads the `[check.load]` table of the check starting at byte `start`, whose whole deadline is
/// `timeout_secs`; `None` when any problem was found.
pub(in crate::checks) fn check(
    src: &Source,
    start: usize,
    raw: Option<Spanned<RawLoad>>,
    has_steps: bool,
    timeout_secs: i64,
    problems: &mut Vec<Diagnostic>,
) -> Option<LoadCheck> {
    let before = problems.len();
    if has_steps {
        problems.push(src.at(
            start,
            "a load check has no [[check.step]]; put its request in [check.load]",
        ));
    }
    let Some(raw) = raw else {
        problems.push(src.at(start, "a load check needs a [check.load] table"));
        return None;
    };
    let table_at = raw.span().start;
    let raw = raw.into_inner();
    let mut p = |at: usize, msg: String| problems.push(src.at(at, msg));

    let path = raw.path.get_ref().trim().to_string();
    if !path.starts_with('/') {
        p(
            raw.path.span().start,
            format!("path `{path}` must start with `/`"),
        );
    }
    let method = match &raw.method {
        None => "GET".to_string(),
        Some(m) => {
            let up = m.get_ref().trim().to_ascii_uppercase();
            if !METHODS.contains(&up.as_str()) {
                p(
                    m.span().start,
                    format!("unknown method `{up}` (known: {})", METHODS.join(" ")),
                );
            }
            up
        }
    };
    let connections = match &raw.connections {
        None => DEFAULT_CONNECTIONS,
        Some(c) if (1..=MAX_CONNECTIONS).contains(c.get_ref()) => {
            c.get_ref().unsigned_abs() as usize
        }
        Some(c) => {
            p(
                c.span().start,
                format!("connections must be between 1 and {MAX_CONNECTIONS}"),
            );
            DEFAULT_CONNECTIONS
        }
    };
    let warmup_ms = match &raw.warmup_ms {
        None => 0,
        Some(w) if (0..=MAX_WARMUP_MS).contains(w.get_ref()) => *w.get_ref(),
        Some(w) => {
            p(
                w.span().start,
                format!("warmup_ms must be between 0 and {MAX_WARMUP_MS}"),
            );
            0
        }
    };
    let budget_ms = timeout_secs.saturating_mul(1000);
    let stop = match (&raw.duration_ms, &raw.requests) {
        (Some(d), Some(_)) => {
            p(
                d.span().start,
                "give duration_ms or requests, not both".to_string(),
            );
            None
        }
        (None, None) => {
            p(
                table_at,
                "a load check needs duration_ms or requests".to_string(),
            );
            None
        }
        (Some(d), None) if *d.get_ref() < 1 => {
            p(d.span().start, "duration_ms must be positive".to_string());
            None
        }
        (Some(d), None) if warmup_ms + d.get_ref() >= budget_ms => {
            p(
                d.span().start,
                format!(
                    "warmup_ms + duration_ms ({} ms) must stay under the check's timeout_secs ({budget_ms} ms)",
                    warmup_ms + d.get_ref()
                ),
            );
            None
        }
        (Some(d), None) => Some(LoadStop::Duration(Duration::from_millis(
            d.get_ref().unsigned_abs(),
        ))),
        (None, Some(n)) if (1..=MAX_REQUESTS).contains(n.get_ref()) => {
            Some(LoadStop::Requests(n.get_ref().unsigned_abs()))
        }
        (None, Some(n)) => {
            p(
                n.span().start,
                format!("requests must be between 1 and {MAX_REQUESTS}"),
            );
            None
        }
    };
    let mut positive = |v: &Option<Spanned<f64>>, name: &str| -> Option<f64> {
        let v = v.as_ref()?;
        let x = *v.get_ref();
        if x.is_finite() && x > 0.0 {
            Some(x)
        } else {
            p(v.span().start, format!("{name} must be a positive number"));
            None
        }
    };
    let mut limits = Limits {
        max_p50_ms: positive(&raw.max_p50_ms, "max_p50_ms"),
        max_p95_ms: positive(&raw.max_p95_ms, "max_p95_ms"),
        max_p99_ms: positive(&raw.max_p99_ms, "max_p99_ms"),
        min_rps: positive(&raw.min_rps, "min_rps"),
        max_error_rate: None,
    };
    if let Some(e) = &raw.max_error_rate {
        let x = *e.get_ref();
        if (0.0..=1.0).contains(&x) {
            limits.max_error_rate = Some(x);
        } else {
            p(
                e.span().start,
                "max_error_rate must be between 0 and 1".to_string(),
            );
        }
    }
    let any_limit = raw.max_p50_ms.is_some()
        || raw.max_p95_ms.is_some()
        || raw.max_p99_ms.is_some()
        || raw.min_rps.is_some()
        || raw.max_error_rate.is_some();
    if !any_limit {
        p(
            table_at,
            "a load check needs at least one limit: max_p50_ms, max_p95_ms, max_p99_ms, min_rps or max_error_rate"
                .to_string(),
        );
    }
    if problems.len() != before {
        return None;
    }
    Some(LoadCheck {
        path,
        method,
        headers: raw.headers.into_iter().collect(),
        body: raw.body,
        connections,
        stop: stop?,
        warmup: Duration::from_millis(warmup_ms.unsigned_abs()),
        limits,
    })
}
