//! From the TOML of a `[check.load]` table to a checked [`LoadCheck`], every problem with its line.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{Limits, LoadCheck, LoadStop, MixEntry, OpenLoop};
use crate::checks::http::parse::{self as http_parse, RawStep};
use crate::checks::http::{HttpScenario, METHODS};
use crate::checks::load::Source;
use crate::diagnostics::Diagnostic;

/// More connections than this is a typo, not a lab: the grader and the learner's container share a machine.
const MAX_CONNECTIONS: i64 = 256;
/// Connections when the check does not say.
const DEFAULT_CONNECTIONS: usize = 8;
const MAX_REQUESTS: i64 = 10_000_000;
const MAX_WARMUP_MS: i64 = 60_000;
/// Open loop: connections (the bound on requests outstanding) when the check does not say.
const DEFAULT_OPEN_CONNECTIONS: usize = 16;
/// Open loop: the arrival rates a check may ask for, requests/s.
const RATES: std::ops::RangeInclusive<f64> = 0.1..=10_000.0;
/// Open loop: how long due and in-flight requests may take after the window; part of the check's time.
pub(super) const DRAIN_MS: i64 = 1_000;
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::checks) struct RawLoad {
    path: Option<Spanned<String>>,
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
    /// Open loop: requests due per second.
    rate: Option<Spanned<f64>>,
    /// Requests cycled through instead of `path`.
    #[serde(default)]
    mix: Vec<Spanned<RawMix>>,
    /// Open loop: the counter whose growth over the load must equal the requests answered.
    count_metric: Option<Spanned<String>>,
    metrics_path: Option<String>,
    ignore_routes: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::checks) struct RawMix {
    method: Option<String>,
    path: String,
    json: Option<toml::Value>,
    body: Option<String>,
    weight: Option<u32>,
}

/// Reads the `[check.load]` table of the check starting at byte `start`, whose whole deadline is
/// `timeout_secs`; `None` when any problem was found.
pub(in crate::checks) fn check(
    src: &Source,
    start: usize,
    raw: Option<Spanned<RawLoad>>,
    steps: Vec<Spanned<RawStep>>,
    timeout_secs: i64,
    problems: &mut Vec<Diagnostic>,
) -> Option<LoadCheck> {
    let before = problems.len();
    // Steps are the set-up sent before the load (a note to read); their captures feed the mix's paths.
    let setup = if steps.is_empty() {
        Some(HttpScenario { steps: Vec::new() })
    } else {
        http_parse::scenario(src, start, steps, problems)
    };
    let Some(raw) = raw else {
        problems.push(src.at(start, "a load check needs a [check.load] table"));
        return None;
    };
    let table_at = raw.span().start;
    let raw = raw.into_inner();
    let mut p = |at: usize, msg: String| problems.push(src.at(at, msg));

    let path = match (&raw.path, raw.mix.is_empty()) {
        (Some(x), true) => {
            let path = x.get_ref().trim().to_string();
            if !path.starts_with('/') {
                p(x.span().start, format!("path `{path}` must start with `/`"));
            }
            path
        }
        (Some(x), false) => {
            p(x.span().start, "give path or mix, not both".to_string());
            String::new()
        }
        (None, true) => {
            p(table_at, "a load check needs a path or a mix".to_string());
            String::new()
        }
        (None, false) => String::new(),
    };
    let mix = mix_entries(&raw.mix, &mut p);
    let open = raw.rate.as_ref().map(|r| *r.get_ref());
    if let Some(r) = &raw.rate {
        if !RATES.contains(r.get_ref()) {
            p(
                r.span().start,
                format!(
                    "rate must be between {} and {} requests/s",
                    RATES.start(),
                    RATES.end()
                ),
            );
        }
        if raw.duration_ms.is_none() {
            p(
                r.span().start,
                "an open-loop check (rate) needs duration_ms".to_string(),
            );
        }
    }
    if let (Some(c), None) = (&raw.count_metric, &raw.rate) {
        p(
            c.span().start,
            "count_metric needs the open loop (rate)".to_string(),
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
    let default_connections = if open.is_some() {
        DEFAULT_OPEN_CONNECTIONS
    } else {
        DEFAULT_CONNECTIONS
    };
    let connections = match &raw.connections {
        None => default_connections,
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
    let budget_ms = timeout_secs.saturating_mul(1000) - if open.is_some() { DRAIN_MS } else { 0 };
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
                    "warmup_ms + duration_ms ({} ms) must stay under the check's timeout_secs ({budget_ms} ms{})",
                    warmup_ms + d.get_ref(),
                    if open.is_some() { " once the open loop's 1 s drain is taken" } else { "" }
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
        || raw.max_error_rate.is_some()
        || raw.count_metric.is_some();
    if !any_limit {
        p(
            table_at,
            "a load check needs at least one limit: max_p50_ms, max_p95_ms, max_p99_ms, min_rps, max_error_rate or count_metric"
                .to_string(),
        );
    }
    if problems.len() != before {
        return None;
    }
    Some(LoadCheck {
        path,
        mix,
        setup: setup?,
        open: open.map(|rate| OpenLoop {
            rate,
            count_metric: raw.count_metric.map(|c| c.into_inner()),
            metrics_path: raw.metrics_path.unwrap_or_else(|| "/metrics".to_string()),
            ignore_routes: raw
                .ignore_routes
                .unwrap_or_else(|| vec!["/metrics".to_string(), "/healthz".to_string()]),
        }),
        method,
        headers: raw.headers.into_iter().collect(),
        body: raw.body,
        connections,
        stop: stop?,
        warmup: Duration::from_millis(warmup_ms.unsigned_abs()),
        limits,
    })
}

/// The mix's requests, each checked; a JSON body is kept as JSON so its strings may hold `{{variables}}`.
fn mix_entries(raw: &[Spanned<RawMix>], p: &mut impl FnMut(usize, String)) -> Vec<MixEntry> {
    let mut out = Vec::new();
    for m in raw {
        let at = m.span().start;
        let x = m.get_ref();
        let method = x
            .method
            .as_deref()
            .unwrap_or("GET")
            .trim()
            .to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            p(
                at,
                format!("unknown method `{method}` (known: {})", METHODS.join(" ")),
            );
        }
        if !x.path.starts_with('/') {
            p(at, format!("mix path `{}` must start with `/`", x.path));
        }
        if x.json.is_some() && x.body.is_some() {
            p(at, "give json or body, not both".to_string());
        }
        if x.weight == Some(0) {
            p(at, "weight must be at least 1".to_string());
        }
        let json = x.json.as_ref().and_then(|j| serde_json::to_value(j).ok());
        out.push(MixEntry {
            method,
            path: x.path.clone(),
            json,
            body: x.body.clone(),
            weight: x.weight.unwrap_or(1),
        });
    }
    out
}
