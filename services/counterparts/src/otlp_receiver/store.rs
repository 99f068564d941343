//! The spans kept for the grader, bounded in count and bytes: a service that floods the receiver (a span per
//! loop iteration, a load test with tracing on) must not exhaust the counterpart's memory. What does not fit is
//! counted, not kept, and the exporter is told through OTLP's partial success.

use std::sync::Mutex;

use serde::Serialize;

use super::flatten::FlatSpan;

/// Most spans kept at once: far more than a tracing check sends requests for.
pub const MAX_SPANS: usize = 20_000;
/// Most bytes (by [`FlatSpan::weight`], about their JSON size) kept at once: with the maps' overhead and a
/// snapshot being written, still well inside the 128 MiB that lab w11 gives the receiver.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

/// What was received since the last clear.
#[derive(Default)]
pub struct Store {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    spans: Vec<FlatSpan>,
    bytes: usize,
    ledger: Ledger,
}

/// The receiver's account of what it was sent, for the instructor's detail.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Ledger {
    /// Export requests accepted, by encoding.
    pub protobuf_requests: u64,
    pub json_requests: u64,
    /// Of those, gzipped.
    pub gzip_requests: u64,
    /// Export requests refused (bad media type, undecodable body).
    pub refused_requests: u64,
    /// Spans received but not kept because the store was full.
    pub dropped_spans: u64,
    /// The last refusal's reason.
    pub last_refusal: Option<String>,
}

/// What `GET /_gauntlet/spans` answers.
#[derive(Debug, Serialize)]
pub struct Snapshot {
    pub spans: Vec<FlatSpan>,
    pub ledger: Ledger,
}

impl Store {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps what fits of `spans`; returns how many were dropped.
    pub fn add(&self, spans: Vec<FlatSpan>, protobuf: bool, gzip: bool) -> usize {
        let mut inner = self.lock();
        if protobuf {
            inner.ledger.protobuf_requests += 1;
        } else {
            inner.ledger.json_requests += 1;
        }
        if gzip {
            inner.ledger.gzip_requests += 1;
        }
        let mut dropped = 0;
        for span in spans {
            let weight = span.weight();
            if inner.spans.len() >= MAX_SPANS || inner.bytes + weight > MAX_BYTES {
                dropped += 1;
                continue;
            }
            inner.bytes += weight;
            inner.spans.push(span);
        }
        inner.ledger.dropped_spans += dropped as u64;
        dropped
    }

    pub fn refused(&self, why: String) {
        let mut inner = self.lock();
        inner.ledger.refused_requests += 1;
        inner.ledger.last_refusal = Some(why);
    }

    /// The spans that started at or after `since` (Unix nanoseconds; 0 for all), in arrival order.
    pub fn snapshot(&self, since: u64) -> Snapshot {
        let inner = self.lock();
        Snapshot {
            spans: inner
                .spans
                .iter()
                .filter(|s| s.start_time_unix_nano >= since)
                .cloned()
                .collect(),
            ledger: inner.ledger.clone(),
        }
    }

    /// Forgets every span and the ledger.
    pub fn clear(&self) {
        *self.lock() = Inner::default();
    }
}
