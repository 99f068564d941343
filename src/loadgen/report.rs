//! What one connection counted, and the merged report of a run.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::LoadSpec;

/// Slowest latency the histogram resolves (longer ones are recorded as this): one minute, in microseconds.
const MAX_MICROS: u64 = 60_000_000;

/// One connection's counts; merged once at the end so that connections share nothing while running.
pub(super) struct Tally {
    latency: Histogram<u64>,
    /// Answers received, whatever their status.
    pub answered: u64,
    pub non_2xx: u64,
    /// Answers with a 5xx status; included in `non_2xx`.
    pub server_errors: u64,
    pub connect_errors: u64,
    pub transport_errors: u64,
    /// Open loop: sent and still unanswered when the drain ended.
    pub timeouts: u64,
    /// Open loop: due within the window but never sent, the connection being held by slower answers.
    pub dropped: u64,
    /// Open loop: answers to warm-up requests, and warm-up requests that got none (not in the figures, but the
    /// service saw them: a metrics check compares its counters with everything sent).
    pub warm_answered: u64,
    pub warm_unanswered: u64,
}

impl Tally {
    pub fn new() -> Tally {
        Tally {
            // 3 significant figures: 0.1% resolution, the precision wrk reports; bounds are constants that
            // hdrhistogram accepts (low ≥ 1, high ≥ 2 × low), so this cannot fail.
            latency: Histogram::new_with_bounds(1, MAX_MICROS, 3)
                .unwrap_or_else(|_| unreachable!("constant histogram bounds are valid")),
            answered: 0,
            non_2xx: 0,
            server_errors: 0,
            connect_errors: 0,
            transport_errors: 0,
            timeouts: 0,
            dropped: 0,
            warm_answered: 0,
            warm_unanswered: 0,
        }
    }

    pub fn answer(&mut self, status: u16, took: Duration) {
        self.answered += 1;
        if !(200..300).contains(&status) {
            self.non_2xx += 1;
        }
        if status >= 500 {
            self.server_errors += 1;
        }
        self.wait(took);
    }

    /// Records a latency without an answer: a request that timed out or was never sent, from when it was due.
    pub fn wait(&mut self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(MAX_MICROS);
        self.latency.saturating_record(micros.max(1));
    }

    pub fn merge(&mut self, other: &Tally) {
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        self.answered += other.answered;
        self.non_2xx += other.non_2xx;
        self.server_errors += other.server_errors;
        self.connect_errors += other.connect_errors;
        self.transport_errors += other.transport_errors;
        self.timeouts += other.timeouts;
        self.dropped += other.dropped;
        self.warm_answered += other.warm_answered;
        self.warm_unanswered += other.warm_unanswered;
    }
}

/// Latency in milliseconds: closed loop, of answered requests, from sending the request to the last byte of
/// the body; open loop, from the moment each request was due to the last byte of its answer (or to the end of
/// the drain, for one that timed out or was never sent).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

/// The figures of one run, counting only what started after the warm-up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadReport {
    pub url: String,
    pub method: String,
    /// `closed` or `open`.
    pub mode: &'static str,
    /// Open loop: the arrival rate asked for, requests/s.
    pub rate: Option<f64>,
    pub connections: usize,
    /// Requests answered (any status).
    pub requests: u64,
    /// Answers whose status was not 2xx; included in `requests`.
    pub non_2xx: u64,
    /// Answers with a 5xx status; included in `non_2xx`.
    pub server_errors: u64,
    /// Failed attempts to open a connection (refused, unreachable, handshake failed).
    pub connect_errors: u64,
    /// Requests sent on an open connection that got no complete answer (reset, closed mid-answer).
    pub transport_errors: u64,
    /// Open loop: requests sent that got no answer by the end of the drain.
    pub timeouts: u64,
    /// Open loop: requests due in the window that were never sent, their connection held by slow answers.
    pub dropped: u64,
    /// Open loop: answers to the warm-up's requests and warm-up requests unanswered (not in the figures).
    pub warmup_answered: u64,
    pub warmup_unanswered: u64,
    /// Failures over every counted attempt, 0 when nothing was attempted. Closed loop: non-2xx answers, connect
    /// and transport errors. Open loop: 5xx answers, connect and transport errors, timeouts and dropped requests
    /// (a 4xx there is an answer the mix may ask for, such as a read of a missing note).
    pub error_rate: f64,
    pub requests_per_sec: f64,
    /// The measured window: from the end of the warm-up to the last connection finishing.
    pub duration_ms: f64,
    pub warmup_ms: f64,
    pub latency: Latency,
}

impl LoadReport {
    pub(super) fn new(spec: &LoadSpec, t: &Tally, measured: Duration) -> LoadReport {
        let open = spec.rate.is_some();
        let unanswered = t.connect_errors + t.transport_errors + t.timeouts + t.dropped;
        let attempts = t.answered + unanswered;
        let failed = if open {
            t.server_errors + unanswered
        } else {
            t.non_2xx + unanswered
        };
        let secs = measured.as_secs_f64();
        let ms = |micros: u64| micros as f64 / 1000.0;
        let h = &t.latency;
        let empty = h.is_empty();
        let q = |quantile: f64| {
            if empty {
                0.0
            } else {
                ms(h.value_at_quantile(quantile))
            }
        };
        LoadReport {
            url: spec.url.to_string(),
            method: if spec.mix.is_empty() {
                spec.method.to_ascii_uppercase()
            } else {
                "MIX".to_string()
            },
            mode: if open { "open" } else { "closed" },
            rate: spec.rate,
            connections: spec.connections,
            requests: t.answered,
            non_2xx: t.non_2xx,
            server_errors: t.server_errors,
            timeouts: t.timeouts,
            dropped: t.dropped,
            warmup_answered: t.warm_answered,
            warmup_unanswered: t.warm_unanswered,
            connect_errors: t.connect_errors,
            transport_errors: t.transport_errors,
            error_rate: if attempts == 0 {
                0.0
            } else {
                failed as f64 / attempts as f64
            },
            requests_per_sec: if secs > 0.0 {
                t.answered as f64 / secs
            } else {
                0.0
            },
            duration_ms: secs * 1000.0,
            warmup_ms: spec.warmup.as_secs_f64() * 1000.0,
            latency: Latency {
                p50_ms: q(0.50),
                p90_ms: q(0.90),
                p95_ms: q(0.95),
                p99_ms: q(0.99),
                max_ms: if empty { 0.0 } else { ms(h.max()) },
                mean_ms: if empty { 0.0 } else { h.mean() / 1000.0 },
            },
        }
    }
}
