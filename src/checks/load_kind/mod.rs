//! The `load` kind: drive the learner's service with the load generator for a while and judge the measured
//! throughput, latency percentiles and error rate against the check's limits.
//!
//! The learner sees the measured figures and which metric missed ("p95 latency too high: 412 ms"), never the
//! limit itself, so that a hidden check stays a target to reach rather than a number to tune against; the
//! hidden detail holds the limits, the spec and the whole report.
//!
//! With `rate`, the load is open-loop (constant arrival rate, latency from each request's due time): the
//! lab's latency objective is an SLO the README publishes, so the learner sees the measured p50, p99 and error
//! rate beside the objective; with `count_metric` the check also scrapes the service's `/metrics` before and
//! after the load and holds the counter's growth to the answers the generator received (in between the
//! requests that got none, which the service may or may not have counted).
//!
//! - `parse.rs`: from the `[check.load]` table to a [`LoadCheck`], with diagnostics;
//! - `open.rs`: the open-loop run: set-up steps, the mix rendered, the scrapes around the load;
//! - `judge.rs`: comparing a report with the limits, and the two texts of the outcome.

mod judge;
mod open;
pub(super) mod parse;

use std::time::Duration;

use super::http::HttpScenario;
use super::{CheckContext, Target};
use crate::loadgen::{self, LoadSpec};

/// One load check, as written under `[check.load]`.
#[derive(Debug, Clone)]
pub struct LoadCheck {
    /// Starts with `/`; joined to the target's base URL. Empty when `mix` is given.
    pub path: String,
    /// Requests cycled through instead of `path`; paths and JSON bodies may hold `{{variables}}`.
    pub mix: Vec<MixEntry>,
    /// Steps sent before the load (the http kind's), whose captures the mix may use.
    pub setup: HttpScenario,
    /// Open loop at a constant arrival rate, when given.
    pub open: Option<OpenLoop>,
    /// An upper-case method from the http kind's list.
    pub method: String,
    pub headers: Vec<(String, String)>,
    /// Sent verbatim with every request.
    pub body: Option<String>,
    pub connections: usize,
    pub stop: LoadStop,
    /// Load sent first and not counted.
    pub warmup: Duration,
    pub limits: Limits,
}

/// One request of a load mix.
#[derive(Debug, Clone)]
pub struct MixEntry {
    pub method: String,
    pub path: String,
    pub json: Option<serde_json::Value>,
    pub body: Option<String>,
    pub weight: u32,
}

/// The open loop's settings.
#[derive(Debug, Clone)]
pub struct OpenLoop {
    /// Requests due per second.
    pub rate: f64,
    /// The counter that must have grown by the answers received (`http_requests_total`).
    pub count_metric: Option<String>,
    pub metrics_path: String,
    /// Routes whose series are left out of the count (the scrapes themselves, health checks).
    pub ignore_routes: Vec<String>,
}

/// When the measured part of a load check ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadStop {
    Duration(Duration),
    Requests(u64),
}

impl LoadStop {
    /// The spec's base for `check` at `url`: its request, stop and warm-up; the open-loop mode adds its rate.
    fn spec(check: &LoadCheck, url: url::Url) -> LoadSpec {
        let (duration, requests) = match check.stop {
            LoadStop::Duration(d) => (Some(d), None),
            LoadStop::Requests(n) => (None, Some(n)),
        };
        LoadSpec {
            method: check.method.clone(),
            headers: check.headers.clone(),
            body: check.body.clone().map(String::into_bytes),
            duration,
            requests,
            warmup: check.warmup,
            ..LoadSpec::get(url, check.connections)
        }
    }
}

/// The limits a run must hold; every one given must hold, and at least one is given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    pub max_p50_ms: Option<f64>,
    pub max_p95_ms: Option<f64>,
    pub max_p99_ms: Option<f64>,
    pub min_rps: Option<f64>,
    /// Failed attempts and non-2xx answers over all attempts, between 0 and 1.
    pub max_error_rate: Option<f64>,
}

/// What a load check concluded: measured figures and the names of the metrics that missed; for the instructor
/// the spec, limits and every figure.
pub(super) use super::judged::Judged;

/// Runs the load against the target and judges it.
pub(super) async fn run(
    check: &LoadCheck,
    target: &Target,
    ctx: &CheckContext,
    rand: String,
    deadline: tokio::time::Instant,
) -> Judged {
    if check.open.is_some() || !check.setup.steps.is_empty() || !check.mix.is_empty() {
        return open::run(check, target, ctx, rand, deadline).await;
    }
    let url = match target.base_url.join(&check.path) {
        Ok(u) => u,
        Err(e) => return judge::fault(check, &format!("cannot build the URL: {e}")),
    };
    let spec = LoadStop::spec(check, url);
    match loadgen::run(&spec).await {
        Ok(report) => judge::judge(check, &report, None),
        Err(e) => judge::fault(check, &format!("the load generator could not start: {e}")),
    }
}
