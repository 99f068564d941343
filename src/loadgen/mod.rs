//! An HTTP/1.1 load generator, used by `load` checks and `gauntlet load`, closed-loop or open-loop.
//!
//! Closed loop: each of N keep-alive connections sends a request, waits for the whole answer, and sends the
//! next, so the offered load adapts to the service (like `wrk`). A slow service is then offered less load,
//! and its stall shows as one slow sample per connection: the "coordinated omission" that hides tail latency.
//! Open loop (`rate`): requests are due at a constant arrival rate whatever the service does, and each one's
//! latency is measured from the moment it was due, not from when it could be sent (as `wrk2` corrects for
//! coordinated omission); a request that a stalled connection could not send in time still counts its wait.
//! It is built on hyper's connection API rather
//! than a pooled client because the pool's bookkeeping cost a third of the throughput on a 2-core machine
//! (reqwest reached 0.54× `wrk`, this loop about 0.85×); see BENCHMARKS.md.
//!
//! - `plan.rs`: the checked spec, shared read-only by every connection (address, request template, stop rules);
//! - `exec.rs`: one single-threaded runtime per core, each running its share of the connections;
//! - `conn.rs`: one connection's closed loop: connect, send, drain, record, reconnect after errors;
//! - `open.rs`: one connection's share of an open-loop schedule;
//! - `report.rs`: per-connection tallies merged into the [`LoadReport`].

mod conn;
mod exec;
mod open;
mod plan;
mod report;

use std::sync::Arc;
use std::time::Duration;

pub use report::{Latency, LoadReport};

/// Upper bound on connections, so that a typo in a check file cannot exhaust the grader's file descriptors.
pub const MAX_CONNECTIONS: usize = 1024;

/// What to send, how hard and for how long.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// `http://host:port/path?query`; TLS is not supported (graded services are reached on a private network).
    pub url: url::Url,
    /// Upper-case HTTP method; `GET` by default.
    pub method: String,
    /// Extra request headers (`Host` is always set from the URL).
    pub headers: Vec<(String, String)>,
    /// Request body, sent with every request when present.
    pub body: Option<Vec<u8>>,
    /// Concurrent keep-alive connections, each with at most one request in flight.
    pub connections: usize,
    /// Measured time after the warm-up; with `requests` too, whichever comes first ends the run.
    pub duration: Option<Duration>,
    /// Requests to count after the warm-up (answered or failed); with `duration` too, whichever comes first.
    pub requests: Option<u64>,
    /// Load sent but not counted, so that connection set-up and a cold service do not skew the figures.
    pub warmup: Duration,
    /// Open loop: requests due per second over all connections (which then bound the requests outstanding);
    /// `None` is the closed loop. Needs `duration`.
    pub rate: Option<f64>,
    /// Requests to cycle through instead of `method`/`url`/`body` (each `weight` times per round, in order);
    /// empty sends the one request.
    pub mix: Vec<MixRequest>,
    /// Open loop: after the window, how long requests still due or in flight may take before they count as
    /// timed out (in flight) or dropped (never sent).
    pub drain: Duration,
}

/// One request of a mix, to the spec's host.
#[derive(Debug, Clone)]
pub struct MixRequest {
    pub method: String,
    /// Origin form: `/path?query`.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// How many of each round of the cycle are this request; at least 1.
    pub weight: u32,
}

impl LoadSpec {
    /// A `GET url` spec with no warm-up; set a stop rule (`duration` or `requests`) before running it.
    pub fn get(url: url::Url, connections: usize) -> LoadSpec {
        LoadSpec {
            url,
            method: "GET".to_string(),
            headers: Vec::new(),
            body: None,
            connections,
            duration: None,
            requests: None,
            warmup: Duration::ZERO,
            rate: None,
            mix: Vec::new(),
            drain: Duration::from_secs(1),
        }
    }
}

/// Why a load run could not start; failures of the target during the run are counted in the report instead.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("only http:// URLs are supported, not `{0}`")]
    UnsupportedScheme(String),
    #[error("the URL has no host")]
    NoHost,
    #[error("cannot resolve `{host}`: {reason}")]
    Resolve { host: String, reason: String },
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("connections must be between 1 and {MAX_CONNECTIONS}, not {0}")]
    Connections(usize),
    #[error("give a duration or a number of requests to stop after")]
    NoStop,
    #[error("an open-loop run needs a duration and a rate between 0.1 and 100000 requests/s")]
    OpenLoop,
    #[error("a connection task failed: {0}")]
    Task(String),
}

/// Runs the load and reports what was measured after the warm-up.
///
/// Connection refused, resets and non-2xx answers are counted, not returned as errors: they are what a load
/// check judges. Dropping the returned future stops every connection.
pub async fn run(spec: &LoadSpec) -> Result<LoadReport, LoadError> {
    let plan = Arc::new(plan::Plan::new(spec).await?);
    let total = exec::run_all(&plan, spec.connections).await?;
    // The open loop's window is its schedule; the drain after it is not load offered.
    let measured = match spec.rate {
        Some(_) => spec.duration.unwrap_or_default(),
        None => plan.warm_end.elapsed(),
    };
    Ok(LoadReport::new(spec, &total, measured))
}
