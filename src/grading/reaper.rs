//! Start-up clean-up: Docker objects of this installation's runs that no worker holds any more (a crash left
//! them). The attempt a live lease holds belongs to a worker elsewhere and is left alone.

use crate::sandbox::Sandbox;
use crate::store::Store;

/// Removes leftovers of this installation's finished or abandoned runs; returns how many objects went.
pub async fn reap_leftovers(store: &Store, sandbox: &Sandbox) -> anyhow::Result<usize> {
    let instance = store.instance_id().await?;
    let live: Vec<String> = store
        .live_runs()
        .await?
        .into_iter()
        .map(|(id, attempt)| run_label(&instance, id, attempt))
        .collect();
    Ok(sandbox.reap_except(&format!("{instance}-"), &live).await?)
}

/// The label value of one attempt's Docker objects: the installation's id, the run's, and the attempt. Each
/// attempt has its own, so that a worker that lost its lease, cleaning up, cannot touch the objects of the
/// attempt that took the run over.
pub fn run_label(instance: &str, run_id: i64, attempt: i64) -> String {
    format!("{instance}-{run_id}-a{attempt}")
}

/// The labels earlier attempts of a run used (and the one a run had before labels named attempts): what a
/// new attempt removes before it starts, in case a crash left them.
pub fn earlier_labels(instance: &str, run_id: i64, attempt: i64) -> Vec<String> {
    std::iter::once(format!("{instance}-{run_id}"))
        .chain((1..attempt).map(|a| run_label(instance, run_id, a)))
        .collect()
}
