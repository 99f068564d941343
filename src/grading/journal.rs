//! A run's live events into the store, in batches: a build that prints thousands of lines costs a few dozen
//! writes, not one each, and a run keeps at most [`EventLimits::max_log_lines`] log lines (then one line saying
//! the rest was cut; the run keeps its log's tail in `build_log` anyway). Every batch is written only while the
//! attempt holds its lease; once it is lost nothing more is written.

use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

use super::events::RunEvent;
use crate::store::{Lease, Store};

/// How events are batched and capped.
#[derive(Debug, Clone)]
pub struct EventLimits {
    /// Events written in one statement at most.
    pub batch: usize,
    /// How long an event may wait for its batch to fill.
    pub flush: Duration,
    /// Build-log lines stored per run; the live page and the CLI show these.
    pub max_log_lines: usize,
}

impl Default for EventLimits {
    fn default() -> Self {
        EventLimits {
            batch: 64,
            flush: Duration::from_millis(100),
            max_log_lines: 5_000,
        }
    }
}

/// The line stored in place of the build log lines past the cap.
pub fn truncated_line(cap: usize) -> String {
    format!("… the build printed more than {cap} lines; the rest is not shown live (the run keeps the end of its log).")
}

/// Stores the attempt's events in order until the sender is dropped. A state change or a batch the store
/// refuses means the lease is gone: `lost` is cancelled and the rest is read and dropped, so the pipeline
/// never blocks on a full channel.
pub async fn write_events(
    store: Store,
    lease: Lease,
    mut rx: UnboundedReceiver<RunEvent>,
    lost: CancellationToken,
    limits: EventLimits,
) {
    let mut pending: Vec<(&'static str, String)> = Vec::new();
    let mut deadline = tokio::time::Instant::now();
    let mut log_lines = 0usize;
    loop {
        let next = if pending.is_empty() {
            rx.recv().await
        } else {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(next) => next,
                Err(_) => {
                    flush(&store, &lease, &mut pending, &lost).await;
                    continue;
                }
            }
        };
        let Some(event) = next else { break };
        if lost.is_cancelled() {
            continue;
        }
        match event {
            RunEvent::State { state } => {
                // In order: what came before the state change is written before it.
                flush(&store, &lease, &mut pending, &lost).await;
                match store.advance(&lease, state).await {
                    Ok(true) => {}
                    Ok(false) => lost.cancel(),
                    Err(e) => {
                        tracing::warn!(run = lease.run_id, error = %e, "could not store a state change")
                    }
                }
                continue;
            }
            RunEvent::Log { .. } if log_lines > limits.max_log_lines => continue,
            RunEvent::Log { .. } if log_lines == limits.max_log_lines => {
                log_lines += 1;
                let cut = RunEvent::Log {
                    line: truncated_line(limits.max_log_lines),
                };
                pending.push((cut.kind(), cut.payload()));
            }
            other => {
                if matches!(other, RunEvent::Log { .. }) {
                    log_lines += 1;
                }
                pending.push((other.kind(), other.payload()));
            }
        }
        if pending.len() == 1 {
            deadline = tokio::time::Instant::now() + limits.flush;
        }
        if pending.len() >= limits.batch.max(1) {
            flush(&store, &lease, &mut pending, &lost).await;
        }
    }
    if !lost.is_cancelled() {
        flush(&store, &lease, &mut pending, &lost).await;
    }
}

async fn flush(
    store: &Store,
    lease: &Lease,
    pending: &mut Vec<(&'static str, String)>,
    lost: &CancellationToken,
) {
    if pending.is_empty() || lost.is_cancelled() {
        pending.clear();
        return;
    }
    match store.append_events(lease, pending).await {
        Ok(true) => {}
        Ok(false) => lost.cancel(),
        Err(e) => tracing::warn!(run = lease.run_id, error = %e, "could not store run events"),
    }
    pending.clear();
}
