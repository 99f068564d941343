//! A lab's own grader (`labs/<id>/grader/`, the `grader` check kind): its image, built once per content of its
//! folder and kept on this host, and one run of it beside a learner's service.
//!
//! The image is built from the lab's folder only, never from a learner's files, by the same builder and under
//! the same limits as learners' builds, and tagged `gauntlet-grader/<lab>:<hash>`: a tag that exists is reused,
//! and a changed folder gets a new hash and so a new build. The grader's Dockerfile may read images that exist
//! only on this engine (its Go or Rust builder, passed as a build argument): it is the course's code, not a
//! learner's; Gauntlet's own repositories stay out of reach as for any build.
//!
//! A run of it is sandboxed as a counterpart is (`sandboxed_host_config`: the run's internal network and its
//! firewall rule, no capabilities, a read-only root, memory, CPU, processes and files capped, a non-root user),
//! with two volumes of the run: `/results`, writable, from which `results.json` is read after it exits, and
//! `/submission`, the learner's project, mounted read-only. Both are filled and handed over through a
//! container that is created and never started (as `volume.rs` does for a data folder). The grader runs to
//! completion within its budget, or is killed; then its log and results are read and everything of it is
//! removed. Everything is labelled with the run, so a crash in between leaves nothing the run's clean-up or
//! the reaper cannot find.

use std::collections::BTreeMap;
use std::time::Duration;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptions, RemoveContainerOptions, RemoveImageOptions, TagImageOptions,
};

use super::build::{BuildRequest, ImageId};
use super::error::{BuildError, SandboxError};
use super::grader_volumes::volume_mount;
use super::image_file::ImageFileError;
use super::limits::BuildLimits;
use super::policy::BuildPolicy;
use super::run::RunLabel;
use super::start::{sandboxed_host_config, StartSpec, User};
use super::Sandbox;

/// The repository graders' images are tagged in, `gauntlet-grader/<lab>:<hash>`.
pub const GRADER_REPO: &str = "gauntlet-grader";

/// How to run a lab's grader once.
#[derive(Debug, Clone)]
pub struct GraderLaunch {
    pub image: ImageId,
    /// Its environment (`SERVICE_URL`, the seed, the lab's variables).
    pub env: Vec<(String, String)>,
    /// The learner's unpacked project, copied read-only to `submission_dir`; `None` leaves that folder empty.
    pub project: Option<std::path::PathBuf>,
    /// Where the project is mounted, read-only.
    pub submission_dir: String,
    /// The grader's writable results folder.
    pub results_dir: String,
    /// The file read from `results_dir` after the grader exits.
    pub results_file: String,
    /// The most of the results file read.
    pub results_cap: usize,
    /// From start to exit; then it is killed.
    pub budget: Duration,
    pub memory_bytes: i64,
    pub nano_cpus: i64,
    pub pids_limit: i64,
    /// The end of its output kept.
    pub log_cap: usize,
}

/// How a grader's run ended.
#[derive(Debug)]
pub enum GraderRun {
    /// It exited; `results` is the results file when the code was 0.
    Exited {
        code: i64,
        oom: bool,
        results: Option<Result<Vec<u8>, ImageFileError>>,
        log: String,
    },
    /// It was still running at its budget and was killed.
    TimedOut { log: String },
}

impl Sandbox {
    /// The grader image of `lab` for a folder whose content (and build arguments) hash to `hash`: the one on
    /// this host when it exists, else built from `context_tar` (the folder, packed) with `args` and tagged.
    /// `on_line` receives the build's log.
    pub async fn grader_image(
        &self,
        lab: &str,
        hash: &str,
        context_tar: Vec<u8>,
        args: &BTreeMap<String, String>,
        timeout: Duration,
        on_line: impl FnMut(&str),
    ) -> Result<ImageId, BuildError> {
        let tag = format!("{GRADER_REPO}/{lab}:{hash}");
        if let Ok(found) = self.docker.inspect_image(&tag).await {
            if let Some(id) = found.id {
                return Ok(ImageId(id));
            }
        }
        // A run of its own for the build's layers, removed after the image is tagged; a random part, because two
        // workers of this host may build the same grader at once.
        let short = hash.get(..12).unwrap_or(hash);
        let build_run = RunLabel::parse(&format!(
            "grader-{short}-{}",
            hex::encode(rand::random::<[u8; 4]>())
        ))?;
        let builder = self.clone().with_build_policy(grader_policy(&self.policy)?);
        let request = BuildRequest {
            args: args.clone(),
            limits: BuildLimits::default(),
            ..BuildRequest::default()
        };
        let built = builder
            .build_with(
                &build_run,
                context_tar,
                &request,
                timeout,
                64 * 1024,
                on_line,
            )
            .await;
        let tagged = match built {
            Ok(image) => {
                let (repo, tag) = (format!("{GRADER_REPO}/{lab}"), hash.to_string());
                let options = TagImageOptions {
                    repo: Some(repo),
                    tag: Some(tag),
                };
                self.docker
                    .tag_image(&image.0, Some(options))
                    .await
                    .map(|()| image)
                    .map_err(|e| {
                        BuildError::Platform(SandboxError::docker("tag a grader's image")(e))
                    })
            }
            Err(e) => Err(e),
        };
        // The image keeps its grader tag; the build's run tags (and the builder stages' layers) go.
        if let Err(e) = self.remove_images(build_run.as_str()).await {
            tracing::warn!(run = %build_run, error = %e, "a grader build's layers are left for the reaper");
        }
        if tagged.is_ok() {
            self.untag_older_graders(lab, hash).await;
        }
        tagged
    }

    /// Removes the tags of `lab`'s earlier grader images (its folder has changed since), so a host keeps one
    /// per lab. Not forced: an image a container still uses keeps its tag until the next build.
    async fn untag_older_graders(&self, lab: &str, keep: &str) {
        let repo = format!("{GRADER_REPO}/{lab}");
        let Ok(images) = self.list_images(Some(&repo), false).await else {
            return;
        };
        let (prefix, current) = (format!("{repo}:"), format!("{repo}:{keep}"));
        for tag in images.iter().flat_map(|i| i.repo_tags.iter()) {
            if tag.starts_with(&prefix) && *tag != current {
                let removed = self
                    .docker
                    .remove_image(tag, None::<RemoveImageOptions>, None)
                    .await;
                if let Err(e) = removed {
                    tracing::debug!(tag, error = %e, "an earlier grader image is kept");
                }
            }
        }
    }

    /// Runs the grader of `launch` on `run`'s network (the service is already on it) to completion or its
    /// budget, and removes its container and volumes again.
    pub async fn run_grader(
        &self,
        run: &RunLabel,
        launch: &GraderLaunch,
    ) -> Result<GraderRun, SandboxError> {
        // A `.`, which no counterpart's or instance's name holds, so a counterpart named `grader` cannot clash.
        let name = format!("{}.grader", run.object_name());
        let results = self.create_volume(run, &format!("{name}-results")).await?;
        let submission = match self.create_volume(run, &format!("{name}-submission")).await {
            Ok(v) => v,
            Err(e) => {
                self.remove_grader_volumes(&[&results]).await;
                return Err(e);
            }
        };
        let ran = self
            .fill_and_run(run, launch, &name, &results, &submission)
            .await;
        self.remove_grader_volumes(&[&results, &submission]).await;
        ran
    }

    async fn fill_and_run(
        &self,
        run: &RunLabel,
        launch: &GraderLaunch,
        name: &str,
        results: &str,
        submission: &str,
    ) -> Result<GraderRun, SandboxError> {
        let mounts = |read_only_submission: bool| {
            vec![
                volume_mount(&launch.results_dir, results, false),
                volume_mount(&launch.submission_dir, submission, read_only_submission),
            ]
        };
        self.fill_grader_volumes(run, launch, name, mounts(false))
            .await?;
        let network = run.object_name();
        let limits = StartSpec {
            memory_bytes: launch.memory_bytes,
            nano_cpus: launch.nano_cpus,
            pids_limit: launch.pids_limit,
            ..StartSpec::default()
        };
        let mut host = sandboxed_host_config(&limits, &network);
        host.mounts = Some(mounts(true));
        let config = ContainerCreateBody {
            image: Some(launch.image.0.clone()),
            env: Some(
                std::iter::once("HOME=/tmp".to_string())
                    .chain(launch.env.iter().map(|(k, v)| format!("{k}={v}")))
                    .collect(),
            ),
            user: Some(User::DEFAULT.to_string()),
            labels: Some(run.labels("grader")),
            host_config: Some(host),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: Some(name.to_string()),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(Some(options), config)
            .await
            .map_err(SandboxError::docker("create the grader's container"))?;
        let ran = self.start_and_wait(&created.id, launch).await;
        let removed = self
            .docker
            .remove_container(
                &created.id,
                Some(RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                }),
            )
            .await;
        if let Err(e) = removed {
            tracing::warn!(run = %run, error = %e, "the grader's container is left for the run's clean-up");
        }
        ran
    }

    async fn start_and_wait(
        &self,
        id: &str,
        launch: &GraderLaunch,
    ) -> Result<GraderRun, SandboxError> {
        self.docker
            .start_container(id, None)
            .await
            .map_err(SandboxError::docker("start the grader's container"))?;
        let finished = tokio::time::timeout(launch.budget, self.wait_exit(id)).await;
        if finished.is_err() {
            self.signal(id, "SIGKILL").await?;
            self.wait_exit(id).await;
            let log = self.grader_log(id, launch.log_cap).await;
            return Ok(GraderRun::TimedOut { log });
        }
        let inspect = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(SandboxError::docker("inspect the grader's container"))?;
        let state = inspect.state.unwrap_or_default();
        let code = state.exit_code.unwrap_or(-1);
        let oom = self.killed_for_memory(id, &state).await?;
        let log = self.grader_log(id, launch.log_cap).await;
        let results = if code == 0 {
            let path = format!(
                "{}/{}",
                launch.results_dir.trim_end_matches('/'),
                launch.results_file
            );
            Some(self.download(id, &path, launch.results_cap).await)
        } else {
            None
        };
        Ok(GraderRun::Exited {
            code,
            oom,
            results,
            log,
        })
    }

    async fn grader_log(&self, id: &str, cap: usize) -> String {
        self.container_logs(id, cap)
            .await
            .unwrap_or_else(|e| format!("(the grader's log could not be read: {e})"))
    }
}

/// The operator's build policy with images local to this engine allowed (a grader's builder is the operator's
/// own image, such as `gauntlet-ci/golang:bookworm`): a grader is the course's code. An operator's allow-list
/// stays as it is.
fn grader_policy(policy: &BuildPolicy) -> Result<BuildPolicy, SandboxError> {
    if policy.allowed_bases().is_some() {
        return Ok(policy.clone());
    }
    policy
        .clone()
        .with_allowed_bases(&["*".to_string()])
        .map_err(|e| SandboxError::Archive {
            source: std::io::Error::other(e.to_string()),
        })
}
