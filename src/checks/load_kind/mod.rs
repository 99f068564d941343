//! The `load` kind: drive the learner's service with the load generator for a while and judge the measured
//! throughput, latency percentiles and error rate against the check's limits.
//!
//! The learner sees the measured figures and which metric missed ("p95 latency too high: 412 ms"), never the
//! limit itself, so that a hidden check stays a target to reach rather than a number to tune against; the
//! hidden detail holds the limits, the spec and the whole report.
//!
//! - `parse.rs`: from the `[check.load]` table to a [`LoadCheck`], with diagnostics;
//! - `judge.rs`: comparing a report with the limits, and the two texts of the outcome.

mod judge;
pub(super) mod parse;

use std::time::Duration;

use super::Target;
use crate::loadgen::{self, LoadSpec};

/// One load check, as written under `[check.load]`.
#[derive(Debug, Clone)]
pub struct LoadCheck {
    /// Starts with `/`; joined to the target's base URL.
    pub path: String,
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

/// When the measured part of a load check ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadStop {
    Duration(Duration),
    Requests(u64),
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
pub(super) async fn run(check: &LoadCheck, target: &Target) -> Judged {
    let url = match target.base_url.join(&check.path) {
        Ok(u) => u,
        Err(e) => return judge::fault(check, &format!("cannot build the URL: {e}")),
    };
    let spec = LoadSpec {
        method: check.method.clone(),
        headers: check.headers.clone(),
        body: check.body.clone().map(String::into_bytes),
        duration: match check.stop {
            LoadStop::Duration(d) => Some(d),
            LoadStop::Requests(_) => None,
        },
        requests: match check.stop {
            LoadStop::Requests(n) => Some(n),
            LoadStop::Duration(_) => None,
        },
        warmup: check.warmup,
        ..LoadSpec::get(url, check.connections)
    };
    match loadgen::run(&spec).await {
        Ok(report) => judge::judge(check, &report),
        Err(e) => judge::fault(check, &format!("the load generator could not start: {e}")),
    }
}
