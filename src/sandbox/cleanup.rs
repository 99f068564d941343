//! Removing what a run created: at the end of every run, and at start-up for runs a crash left behind.
//!
//! Containers, networks and volumes are found by their `gauntlet.run` label, images by their repository
//! (`gauntlet-run/<run>`), never by a name the learner chose, so nothing the sandbox did not create is touched,
//! and anything it did create is found even if the process died before recording it.

use std::collections::{BTreeSet, HashMap};

use bollard::query_parameters::{
    ListContainersOptions, ListNetworksOptions, ListVolumesOptions, RemoveContainerOptions,
    RemoveVolumeOptions,
};

use super::error::SandboxError;
use super::run::{RunLabel, IMAGE_REPO, LABEL_RUN};
use super::Sandbox;

/// How many objects of each kind a clean-up removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub containers: usize,
    pub networks: usize,
    pub volumes: usize,
    pub images: usize,
}

impl Removed {
    pub fn total(&self) -> usize {
        self.containers + self.networks + self.volumes + self.images
    }

    fn add(&mut self, other: Removed) {
        self.containers += other.containers;
        self.networks += other.networks;
        self.volumes += other.volumes;
        self.images += other.images;
    }
}

impl Sandbox {
    /// Removes every container, network and volume labelled with `run` and every image in its repository,
    /// in the order that lets each go (containers hold networks, volumes and images).
    pub async fn remove_run(&self, run: &RunLabel) -> Result<Removed, SandboxError> {
        let removed = self.remove_run_objects(run.as_str()).await;
        // A build interrupted by a crash leaves its (empty) cgroups behind.
        if let Some(root) = &self.policy.pids_cgroup {
            super::build_cgroup::remove_leftovers(root, run);
        }
        removed
    }

    /// Removes every object whose run label starts with `prefix` (`""` for all): the start-up reaper.
    /// Returns how many objects went.
    pub async fn reap(&self, prefix: &str) -> Result<usize, SandboxError> {
        self.reap_except(prefix, &[]).await
    }

    /// Like [`Sandbox::reap`], but leaves the runs in `keep` alone: at start-up a server must not remove
    /// what another worker sharing the engine is grading right now.
    ///
    /// A run whose objects cannot all be removed is logged and skipped, so it does not keep every later run
    /// from being reaped; an unreachable engine stops the sweep.
    pub async fn reap_except(&self, prefix: &str, keep: &[String]) -> Result<usize, SandboxError> {
        let mut removed = Removed::default();
        for run in self.runs_with_prefix(prefix).await? {
            if keep.contains(&run) {
                continue;
            }
            match self.remove_run_objects(&run).await {
                Ok(r) => removed.add(r),
                Err(e @ SandboxError::Unreachable(_)) => return Err(e),
                Err(e) => {
                    tracing::warn!(run, error = %e, "could not reap a run; left for the next start")
                }
            }
        }
        Ok(removed.total())
    }

    /// The distinct run ids on any labelled object or image repository; filters match whole values, so the
    /// prefix is applied here.
    pub async fn runs_with_prefix(&self, prefix: &str) -> Result<BTreeSet<String>, SandboxError> {
        let any = HashMap::from([("label".to_string(), vec![LABEL_RUN.to_string()])]);
        let mut runs: Vec<Option<String>> = Vec::new();
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(any.clone()),
                ..Default::default()
            }))
            .await
            .map_err(SandboxError::docker("list containers"))?;
        runs.extend(
            containers
                .into_iter()
                .map(|c| c.labels.and_then(|mut l| l.remove(LABEL_RUN))),
        );
        let networks = self
            .docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(any.clone()),
            }))
            .await
            .map_err(SandboxError::docker("list networks"))?;
        runs.extend(
            networks
                .into_iter()
                .map(|n| n.labels.and_then(|mut l| l.remove(LABEL_RUN))),
        );
        let volumes = self
            .docker
            .list_volumes(Some(ListVolumesOptions {
                filters: Some(any.clone()),
            }))
            .await
            .map_err(SandboxError::docker("list volumes"))?;
        runs.extend(
            volumes
                .volumes
                .unwrap_or_default()
                .into_iter()
                .map(|mut v| v.labels.remove(LABEL_RUN)),
        );
        let repo_prefix = format!("{IMAGE_REPO}/");
        for image in self
            .list_images(Some(&format!("{IMAGE_REPO}/*")), false)
            .await?
        {
            runs.extend(image.repo_tags.iter().map(|tag| {
                tag.strip_prefix(&repo_prefix)
                    .and_then(|rest| rest.split_once(':'))
                    .map(|(run, _)| run.to_string())
            }));
        }
        Ok(runs
            .into_iter()
            .flatten()
            .filter(|run| run.starts_with(prefix))
            .collect())
    }

    async fn remove_run_objects(&self, run: &str) -> Result<Removed, SandboxError> {
        let filter = HashMap::from([("label".to_string(), vec![format!("{LABEL_RUN}={run}")])]);
        let mut removed = Removed::default();
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filter.clone()),
                ..Default::default()
            }))
            .await
            .map_err(SandboxError::docker("list containers"))?;
        for id in containers.into_iter().filter_map(|c| c.id) {
            let options = RemoveContainerOptions {
                force: true,
                // With the anonymous volumes an image's `VOLUME` made, which carry no label of the run.
                v: true,
                ..Default::default()
            };
            ignore_missing(self.docker.remove_container(&id, Some(options)).await)
                .map_err(SandboxError::docker("remove a container"))?;
            removed.containers += 1;
        }
        let networks = self
            .docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(filter.clone()),
            }))
            .await
            .map_err(SandboxError::docker("list networks"))?;
        for id in networks.into_iter().filter_map(|n| n.id) {
            ignore_missing(self.docker.remove_network(&id).await)
                .map_err(SandboxError::docker("remove a network"))?;
            removed.networks += 1;
        }
        let volumes = self
            .docker
            .list_volumes(Some(ListVolumesOptions {
                filters: Some(filter.clone()),
            }))
            .await
            .map_err(SandboxError::docker("list volumes"))?;
        for volume in volumes.volumes.unwrap_or_default() {
            let options = RemoveVolumeOptions { force: true };
            ignore_missing(self.docker.remove_volume(&volume.name, Some(options)).await)
                .map_err(SandboxError::docker("remove a volume"))?;
            removed.volumes += 1;
        }
        removed.images = self.remove_images(run).await?;
        Ok(removed)
    }
}

/// Another clean-up (a parallel reaper, the engine's own auto-removal) may have got there first.
fn ignore_missing<T>(
    result: Result<T, bollard::errors::Error>,
) -> Result<(), bollard::errors::Error> {
    match result {
        Ok(_)
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(e),
    }
}
