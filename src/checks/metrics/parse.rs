//! From `[check.metrics]` (and the check's `[[check.step]]`s, the traffic) to a checked [`MetricsCheck`], every
//! problem with its line.

use serde::Deserialize;
use toml::Spanned;

use super::{MetricsCheck, Required, Rule};
use crate::checks::http::parse::{self as http_parse, RawStep};
use crate::checks::http::HttpScenario;
use crate::checks::load::Source;
use crate::diagnostics::Diagnostic;

const KINDS: [&str; 5] = ["counter", "gauge", "histogram", "summary", "untyped"];
/// Bucket bounds asked for at most: more than this is a typo.
const MAX_BUCKETS: i64 = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::checks) struct RawMetrics {
    path: Option<Spanned<String>>,
    #[serde(default)]
    routes: Vec<Spanned<String>>,
    unmatched: Option<String>,
    ignore_routes: Option<Vec<String>>,
    #[serde(default)]
    require: Vec<Spanned<RawRequired>>,
    counter: Option<Spanned<String>>,
    histogram: Option<Spanned<String>>,
    #[serde(default)]
    expect: Vec<Spanned<String>>,
    min_buckets: Option<Spanned<i64>>,
    bucket_range_ms: Option<Spanned<[f64; 2]>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::checks) struct RawRequired {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    labels: Vec<String>,
}

/// Reads the `[check.metrics]` table and the steps of the check starting at byte `start`; `None` when any
/// problem was found.
pub(in crate::checks) fn check(
    src: &Source,
    start: usize,
    raw: Option<Spanned<RawMetrics>>,
    steps: Vec<Spanned<RawStep>>,
    problems: &mut Vec<Diagnostic>,
) -> Option<MetricsCheck> {
    let before = problems.len();
    let Some(raw) = raw else {
        problems.push(src.at(start, "a metrics check needs a [check.metrics] table"));
        return None;
    };
    let table_at = raw.span().start;
    let raw = raw.into_inner();
    let has_steps = !steps.is_empty();
    let scenario = if has_steps {
        http_parse::scenario(src, start, steps, problems)
    } else {
        Some(HttpScenario { steps: Vec::new() })
    };
    let mut p = |at: usize, msg: String| problems.push(src.at(at, msg));
    let path = match &raw.path {
        None => "/metrics".to_string(),
        Some(x) if x.get_ref().starts_with('/') && !x.get_ref().starts_with("//") => {
            x.get_ref().clone()
        }
        Some(x) => {
            p(
                x.span().start,
                format!("path `{}` must start with a single `/`", x.get_ref()),
            );
            String::new()
        }
    };
    for r in &raw.routes {
        if !r.get_ref().starts_with('/') {
            p(
                r.span().start,
                format!("route `{}` must start with `/`", r.get_ref()),
            );
        }
    }
    let mut require = Vec::new();
    for r in &raw.require {
        let x = r.get_ref();
        if !KINDS.contains(&x.kind.as_str()) {
            p(
                r.span().start,
                format!(
                    "unknown metric type `{}` (known: {})",
                    x.kind,
                    KINDS.join(", ")
                ),
            );
        }
        if !valid_name(&x.name) {
            p(r.span().start, format!("`{}` is not a metric name", x.name));
        }
        require.push(Required {
            name: x.name.clone(),
            kind: x.kind.clone(),
            labels: x.labels.clone(),
        });
    }
    let mut expect = Vec::new();
    for e in &raw.expect {
        match Rule::ALL.iter().find(|(n, _)| n == e.get_ref()) {
            Some((_, rule)) if expect.contains(rule) => {
                p(e.span().start, format!("`{}` is listed twice", e.get_ref()));
            }
            Some((_, rule)) => expect.push(*rule),
            None => {
                let known: Vec<&str> = Rule::ALL.iter().map(|(n, _)| *n).collect();
                p(
                    e.span().start,
                    format!(
                        "unknown rule `{}` (known: {})",
                        e.get_ref(),
                        known.join(", ")
                    ),
                );
            }
        }
    }
    let at = |r: Rule| {
        raw.expect
            .iter()
            .find(|e| Rule::ALL.iter().any(|(n, x)| *x == r && n == e.get_ref()))
            .map_or(table_at, |e| e.span().start)
    };
    let counter = raw.counter.as_ref().map(|c| c.get_ref().clone());
    let histogram = raw.histogram.as_ref().map(|h| h.get_ref().clone());
    for name in raw.counter.iter().chain(raw.histogram.iter()) {
        if !valid_name(name.get_ref()) {
            p(
                name.span().start,
                format!("`{}` is not a metric name", name.get_ref()),
            );
        }
    }
    for rule in &expect {
        let needs_counter = matches!(rule, Rule::Counts | Rule::HistogramCount);
        let needs_histogram = matches!(rule, Rule::HistogramCount | Rule::Buckets);
        let needs_steps = !matches!(rule, Rule::Buckets);
        let name = Rule::ALL
            .iter()
            .find(|(_, x)| x == rule)
            .map_or("", |(n, _)| n);
        if needs_counter && counter.is_none() {
            p(at(*rule), format!("`{name}` needs `counter`"));
        }
        if needs_histogram && histogram.is_none() {
            p(at(*rule), format!("`{name}` needs `histogram`"));
        }
        if needs_steps && !has_steps {
            p(
                at(*rule),
                format!("`{name}` needs [[check.step]]s: the traffic it judges"),
            );
        }
        if *rule != Rule::Buckets && raw.routes.is_empty() {
            p(
                at(*rule),
                format!("`{name}` needs `routes`, the service's route templates"),
            );
        }
    }
    if require.is_empty() && expect.is_empty() {
        p(
            table_at,
            "a metrics check needs `require` or `expect` (counts, histogram-count, buckets, no-raw-ids)"
                .to_string(),
        );
    }
    let min_buckets = match &raw.min_buckets {
        None => 5,
        Some(m) if (1..=MAX_BUCKETS).contains(m.get_ref()) => m.get_ref().unsigned_abs() as usize,
        Some(m) => {
            p(
                m.span().start,
                format!("min_buckets must be between 1 and {MAX_BUCKETS}"),
            );
            5
        }
    };
    let bucket_range = match &raw.bucket_range_ms {
        None => (0.001, 1.0),
        Some(r) => {
            let [lo, hi] = *r.get_ref();
            if lo.is_finite() && hi.is_finite() && lo > 0.0 && lo < hi {
                (lo / 1000.0, hi / 1000.0)
            } else {
                p(
                    r.span().start,
                    "bucket_range_ms must be two positive milliseconds, the lower first"
                        .to_string(),
                );
                (0.001, 1.0)
            }
        }
    };
    if problems.len() != before {
        return None;
    }
    Some(MetricsCheck {
        path,
        steps: scenario?,
        routes: raw.routes.iter().map(|r| r.get_ref().clone()).collect(),
        unmatched: raw.unmatched.unwrap_or_else(|| "unmatched".to_string()),
        ignore_routes: raw
            .ignore_routes
            .unwrap_or_else(|| vec!["/metrics".to_string(), "/healthz".to_string()]),
        require,
        counter,
        histogram,
        expect,
        min_buckets,
        bucket_range,
    })
}

/// A Prometheus metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
fn valid_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}
