//! Start-up clean-up: Docker objects of this installation's runs that no worker holds any more (a crash left
//! them). Runs still under a live lease belong to a worker elsewhere and are left alone.

use crate::sandbox::Sandbox;
use crate::store::Store;

/// Removes leftovers of this installation's finished or abandoned runs; returns how many objects went.
pub async fn reap_leftovers(store: &Store, sandbox: &Sandbox) -> anyhow::Result<usize> {
    let instance = store.instance_id().await?;
    let live: Vec<String> = store
        .live_run_ids()
        .await?
        .into_iter()
        .map(|id| run_label(&instance, id))
        .collect();
    Ok(sandbox.reap_except(&format!("{instance}-"), &live).await?)
}

/// The label value of a run's Docker objects: the installation's id and the run's.
pub fn run_label(instance: &str, run_id: i64) -> String {
    format!("{instance}-{run_id}")
}
