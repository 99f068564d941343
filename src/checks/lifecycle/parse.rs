//! From the TOML of a `[check.lifecycle]` table to a checked [`LifecycleCheck`], every problem with its line.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{Expect, LifecycleCheck, READY_DELAY_VAR};
use crate::checks::load::Source;
use crate::diagnostics::Diagnostic;

/// Defaults: the w05 README's contract (readiness at `/readyz`, `/work?ms=N` up to 5 s, 10 s of grace).
const DEFAULT_READY_WITHIN_MS: i64 = 20_000;
const DEFAULT_SLOW_REQUESTS: i64 = 3;
const DEFAULT_SLOW_MS: i64 = 2_000;
const DEFAULT_GRACE_MS: i64 = 10_000;
const MAX_SLOW_REQUESTS: i64 = 32;
const MAX_SLOW_MS: i64 = 5_000;
const MAX_MS: i64 = 120_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::checks) struct RawLifecycle {
    expect: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    env: BTreeMap<String, Spanned<String>>,
    ready_delay_ms: Option<Spanned<i64>>,
    ready_within_ms: Option<Spanned<i64>>,
    ready_path: Option<Spanned<String>>,
    slow_path: Option<Spanned<String>>,
    slow_requests: Option<Spanned<i64>>,
    slow_ms: Option<Spanned<i64>>,
    grace_ms: Option<Spanned<i64>>,
}

/// Reads the `[check.lifecycle]` table of the check starting at byte `start`, whose whole deadline is
/// `timeout_secs`; `None` when any problem was found.
pub(in crate::checks) fn check(
    src: &Source,
    start: usize,
    raw: Option<Spanned<RawLifecycle>>,
    has_steps: bool,
    timeout_secs: i64,
    problems: &mut Vec<Diagnostic>,
) -> Option<LifecycleCheck> {
    let before = problems.len();
    if has_steps {
        problems.push(src.at(
            start,
            "a lifecycle check has no [[check.step]]; describe it in [check.lifecycle]",
        ));
    }
    let Some(raw) = raw else {
        problems.push(src.at(start, "a lifecycle check needs a [check.lifecycle] table"));
        return None;
    };
    let table_at = raw.span().start;
    let raw = raw.into_inner();
    let mut p = |at: usize, msg: String| problems.push(src.at(at, msg));

    let mut expect = Vec::new();
    for e in raw.expect.get_ref() {
        match Expect::ALL.iter().find(|x| x.name() == e.get_ref().trim()) {
            Some(x) if expect.contains(x) => {
                p(e.span().start, format!("`{}` is listed twice", x.name()))
            }
            Some(x) => expect.push(*x),
            None => p(
                e.span().start,
                format!(
                    "unknown expectation `{}` (known: {})",
                    e.get_ref(),
                    Expect::ALL.map(Expect::name).join(", ")
                ),
            ),
        }
    }
    expect.sort();
    if raw.expect.get_ref().is_empty() {
        p(
            raw.expect.span().start,
            "expect lists what the check grades; it cannot be empty".into(),
        );
    }
    let mut ms = |v: &Option<Spanned<i64>>, name: &str, default: i64, range: (i64, i64)| -> i64 {
        match v {
            None => default,
            Some(v) if (range.0..=range.1).contains(v.get_ref()) => *v.get_ref(),
            Some(v) => {
                p(
                    v.span().start,
                    format!("{name} must be between {} and {}", range.0, range.1),
                );
                default
            }
        }
    };
    let ready_within = ms(
        &raw.ready_within_ms,
        "ready_within_ms",
        DEFAULT_READY_WITHIN_MS,
        (100, MAX_MS),
    );
    let slow_requests = ms(
        &raw.slow_requests,
        "slow_requests",
        DEFAULT_SLOW_REQUESTS,
        (1, MAX_SLOW_REQUESTS),
    );
    let slow_ms = ms(&raw.slow_ms, "slow_ms", DEFAULT_SLOW_MS, (0, MAX_SLOW_MS));
    let grace = ms(&raw.grace_ms, "grace_ms", DEFAULT_GRACE_MS, (100, MAX_MS));
    let delay = raw
        .ready_delay_ms
        .as_ref()
        .map(|d| (d.span().start, *d.get_ref()));
    let ready_delay = match delay {
        None => None,
        Some((at, d)) if !(1..=MAX_MS).contains(&d) => {
            p(at, format!("ready_delay_ms must be between 1 and {MAX_MS}"));
            None
        }
        Some((at, d)) if d >= ready_within => {
            p(
                at,
                format!(
                    "ready_delay_ms ({d}) must be shorter than ready_within_ms ({ready_within})"
                ),
            );
            None
        }
        Some((_, d)) => Some(d),
    };
    if expect.contains(&Expect::NotReadyWhileStarting) && delay.is_none() {
        p(
            table_at,
            "`not-ready-while-starting` needs ready_delay_ms: the start-up delay the service is asked for".into(),
        );
    }
    let mut path = |v: &Option<Spanned<String>>, default: &str| -> String {
        match v {
            None => default.to_string(),
            Some(v) => {
                let s = v.get_ref().trim();
                if !s.starts_with('/') || s.contains(['?', '#', ' ']) {
                    p(
                        v.span().start,
                        format!("`{s}` must be a path starting with `/`, without a query"),
                    );
                }
                s.to_string()
            }
        }
    };
    let ready_path = path(&raw.ready_path, "/readyz");
    let slow_path = path(&raw.slow_path, "/work");
    for (name, value) in &raw.env {
        let bad_name = name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || name.starts_with(|c: char| c.is_ascii_digit());
        if bad_name {
            problems.push(src.at(
                value.span().start,
                format!("`{name}` is not an environment variable name"),
            ));
        } else if name == "PORT" || name == READY_DELAY_VAR {
            problems.push(src.at(
                value.span().start,
                format!("{name} is set by the check itself (the drawn port, ready_delay_ms)"),
            ));
        }
    }
    // The scenario's worst case: start-up, then the slow requests and a full grace period, then the kill.
    let needs_term = expect.iter().any(|e| e.needs_sigterm());
    let worst = ready_within
        + if needs_term {
            slow_ms.max(grace) + 15_000
        } else {
            5_000
        };
    if worst > timeout_secs.saturating_mul(1000) {
        problems.push(src.at(
            table_at,
            format!(
                "this scenario may take {} s (ready_within_ms{}): raise the check's timeout_secs to at least that",
                (worst + 999) / 1000,
                if needs_term { " + grace_ms and slow_ms + 15 s" } else { " + 5 s" }
            ),
        ));
    }
    if problems.len() != before {
        return None;
    }
    let millis = |v: i64| Duration::from_millis(v.unsigned_abs());
    Some(LifecycleCheck {
        expect,
        env: raw
            .env
            .into_iter()
            .map(|(k, v)| (k, v.into_inner()))
            .collect(),
        ready_delay: ready_delay.map(millis),
        ready_within: millis(ready_within),
        ready_path,
        slow_path,
        slow_requests: slow_requests.unsigned_abs() as usize,
        slow_ms: slow_ms.unsigned_abs(),
        grace: millis(grace),
    })
}
