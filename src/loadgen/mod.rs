//! A closed-loop HTTP/1.1 load generator, used by `load` checks and `gauntlet load`.
//!
//! Closed loop: each of N keep-alive connections sends a request, waits for the whole answer, and sends the
//! next, so the offered load adapts to the service (like `wrk`). It is built on hyper's connection API rather
//! than a pooled client because the pool's bookkeeping cost a third of the throughput on a 2-core machine
//! (reqwest reached 0.54× `wrk`, this loop about 0.85×); see BENCHMARKS.md.
//!
//! - `plan.rs`: the checked spec, shared read-only by every connection (address, request template, stop rules);
//! - `exec.rs`: one single-threaded runtime per core, each running its share of the connections;
//! - `conn.rs`: one connection's loop: connect, send, drain, record, reconnect after errors;
//! - `report.rs`: per-connection tallies merged into the [`LoadReport`].

mod conn;
mod exec;
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
    let measured = plan.warm_end.elapsed();
    Ok(LoadReport::new(spec, &total, measured))
}
