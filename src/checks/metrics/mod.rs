//! The `metrics` kind: scrape the learner's `/metrics`, send a known sequence of requests (the http kind's
//! steps), scrape again, and judge what the exposition says happened against what the check saw happen:
//! required families with their types and labels, counter deltas per (method, route template, status), the
//! histogram's `_count` moving with the counter, the histogram's bucket resolution, and no raw id as a label
//! value.
//!
//! The statuses judged are the ones the service actually answered (the steps' own `expect` may pin them), so
//! a wrong status is the business of the http checks and a wrong *label* is this kind's.
//!
//! - `parse.rs`: from `[check.metrics]` and the steps to a [`MetricsCheck`], with diagnostics;
//! - `scrape.rs`: fetching and reading an exposition (Prometheus text or OpenMetrics);
//! - `traffic.rs`: which route template each request sent belongs to, and the counts expected from them;
//! - `judge.rs`: the rules, each with a learner-safe message and the instructor's detail;
//! - `ids.rs`: the `no-raw-ids` rule.

mod ids;
mod judge;
pub(super) mod parse;
pub(crate) mod scrape;
pub(crate) mod traffic;

use tokio::time::Instant;

use super::http::{self, HttpScenario, StepError};
use super::template::Vars;
use super::{ServiceControl, Target};

/// One metrics check, as written under `[check.metrics]` with its `[[check.step]]`s.
#[derive(Debug, Clone)]
pub struct MetricsCheck {
    /// Where the exposition is served; default `/metrics`.
    pub path: String,
    /// The traffic whose counts are judged; may be empty for checks of the exposition alone.
    pub steps: HttpScenario,
    /// Route templates of the service (`/v1/notes/{id}`); a path matching none is counted as `unmatched`.
    pub routes: Vec<String>,
    /// The `route` label value of requests that match no route; default `unmatched`.
    pub unmatched: String,
    /// Routes whose counts are not judged (the README lets scrapes and health checks be counted or not).
    pub ignore_routes: Vec<String>,
    /// Families that must exist, with their type and labels.
    pub require: Vec<Required>,
    /// The request counter (`http_requests_total`), labelled by method, route and status.
    pub counter: Option<String>,
    /// The latency histogram (`http_request_duration_seconds`), labelled by method and route.
    pub histogram: Option<String>,
    /// The rules judged beyond `require`, in this order.
    pub expect: Vec<Rule>,
    /// For [`Rule::Buckets`]: at least this many bucket bounds within `bucket_range` (seconds, inclusive).
    pub min_buckets: usize,
    pub bucket_range: (f64, f64),
}

/// A rule of `expect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The counter's deltas equal the requests the steps sent, per (method, route template, status).
    Counts,
    /// The histogram's `_count` deltas equal the counter's, per (method, route).
    HistogramCount,
    /// The histogram has `min_buckets` bounds within `bucket_range`.
    Buckets,
    /// No label value of the HTTP families is an id the steps used in a path, nor a route with a number or a
    /// UUID for a segment.
    NoRawIds,
}

impl Rule {
    pub const ALL: [(&'static str, Rule); 4] = [
        ("counts", Rule::Counts),
        ("histogram-count", Rule::HistogramCount),
        ("buckets", Rule::Buckets),
        ("no-raw-ids", Rule::NoRawIds),
    ];
}

/// A family the exposition must have.
#[derive(Debug, Clone, PartialEq)]
pub struct Required {
    pub name: String,
    /// `counter`, `gauge`, `histogram`, `summary` or `untyped`.
    pub kind: String,
    /// Label names every sample of the family must carry (`le` of buckets aside).
    pub labels: Vec<String>,
}

pub(super) use super::done::{Done, Outcome};

/// Runs the check: the first scrape (when deltas are judged), the steps, the second scrape, the rules.
pub(super) async fn run(
    check: &MetricsCheck,
    client: &reqwest::Client,
    target: &Target,
    control: Option<&dyn ServiceControl>,
    vars: &mut Vars,
    deadline: Instant,
) -> Done {
    let mut t = String::new();
    let note = |t: &mut String, line: &str| {
        t.push_str(line);
        t.push('\n');
    };
    let judges_deltas = check
        .expect
        .iter()
        .any(|r| matches!(r, Rule::Counts | Rule::HistogramCount));
    let before = if judges_deltas {
        match scrape::fetch(client, &target.base_url, &check.path, deadline).await {
            Ok((s, line)) => {
                note(&mut t, &format!("scrape before the traffic: {line}"));
                Some(s)
            }
            Err(e) => return failed(t, e.to_string()),
        }
    } else {
        None
    };
    let mut seen = traffic::Seen::new(check);
    if !check.steps.steps.is_empty() {
        let done = http::run_observed(
            &check.steps,
            client,
            target,
            control,
            vars,
            deadline,
            &mut seen,
        )
        .await;
        t.push_str(&done.transcript);
        match done.result {
            Ok(()) => {}
            Err((n, StepError::Failed(f))) => {
                let why = format!("failed at step {n} of {}: {f}", done.steps);
                return Done {
                    result: Err(Outcome::Failed(why)),
                    transcript: t,
                };
            }
            Err((_, StepError::Broken(_))) => {
                return Done {
                    result: Err(Outcome::Broken),
                    transcript: t,
                }
            }
        }
    }
    let after = match scrape::fetch(client, &target.base_url, &check.path, deadline).await {
        Ok((s, line)) => {
            note(&mut t, &format!("scrape after the traffic: {line}"));
            s
        }
        Err(e) => return failed(t, e.to_string()),
    };
    for w in &after.warnings {
        note(&mut t, &format!("parser note: {w}"));
    }
    note(&mut t, &seen.summary());
    match judge::judge(check, before.as_ref(), &after, &seen) {
        Ok(lines) => {
            for l in lines {
                note(&mut t, &l);
            }
            note(&mut t, "passed");
            Done {
                result: Ok(()),
                transcript: t,
            }
        }
        Err(miss) => {
            note(&mut t, &format!("FAILED: {}", miss.detail));
            Done {
                result: Err(Outcome::Failed(format!("failed: {}", miss.said))),
                transcript: t,
            }
        }
    }
}

fn failed(mut t: String, why: String) -> Done {
    t.push_str(&format!("FAILED: {why}\n"));
    Done {
        result: Err(Outcome::Failed(format!("failed: {why}"))),
        transcript: t,
    }
}
