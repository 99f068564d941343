//! Spreading the connections over one single-threaded runtime per core.
//!
//! On the caller's multi-threaded runtime the generator reached only about 0.6× `wrk` on 2 cores: every
//! answer woke a task through the shared scheduler, with work stealing and cross-thread wake-ups. A
//! current-thread runtime per core keeps each connection, its I/O and its timer on one thread, as `wrk` does
//! with one event loop per thread. The threads stop when their connections are done, or when the caller drops
//! the run (the cancel channel closes), so a check's deadline still ends the load.

use std::sync::Arc;

use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

use super::conn;
use super::open;
use super::plan::Plan;
use super::report::Tally;
use super::LoadError;

/// Runs every connection of the plan and merges their tallies.
pub(super) async fn run_all(plan: &Arc<Plan>, connections: usize) -> Result<Tally, LoadError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(connections).max(1);
    // Never sent on: dropping it (with this future) is the signal to stop.
    let (_cancel, cancelled) = watch::channel(());
    let mut results = Vec::with_capacity(threads);
    let mut first = 0;
    for i in 0..threads {
        let share = connections / threads + usize::from(i < connections % threads);
        let ids = first..first + share;
        first += share;
        let (tx, rx) = oneshot::channel();
        let plan = Arc::clone(plan);
        let cancelled = cancelled.clone();
        std::thread::Builder::new()
            .name(format!("loadgen-{i}"))
            .spawn(move || {
                let _ = tx.send(thread_main(plan, ids, connections, cancelled));
            })
            .map_err(|e| LoadError::Task(format!("cannot start a thread: {e}")))?;
        results.push(rx);
    }
    let mut total = Tally::new();
    for rx in results {
        let tally = rx
            .await
            .map_err(|_| LoadError::Task("a load thread ended without a result".to_string()))??;
        total.merge(&tally);
    }
    Ok(total)
}

/// Runs connections `ids` of `of` on this thread's runtime: closed loops, or their share of the open schedule.
fn thread_main(
    plan: Arc<Plan>,
    ids: std::ops::Range<usize>,
    of: usize,
    mut cancelled: watch::Receiver<()>,
) -> Result<Tally, LoadError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| LoadError::Task(format!("cannot build a runtime: {e}")))?;
    rt.block_on(async move {
        let mut tasks = JoinSet::new();
        for id in ids {
            let plan = Arc::clone(&plan);
            if plan.rate.is_some() {
                tasks.spawn(open::drive(plan, id as u64, of as u64));
            } else {
                tasks.spawn(conn::drive(plan));
            }
        }
        let mut total = Tally::new();
        loop {
            tokio::select! {
                biased;
                _ = cancelled.changed() => {
                    return Err(LoadError::Task("cancelled".to_string()));
                }
                joined = tasks.join_next() => match joined {
                    Some(Ok(tally)) => total.merge(&tally),
                    Some(Err(e)) => return Err(LoadError::Task(e.to_string())),
                    None => return Ok(total),
                },
            }
        }
    })
}
