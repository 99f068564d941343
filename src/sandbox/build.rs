//! Builds a learner's image from a tar of the build context, with the classic builder.
//!
//! The classic builder needs no BuildKit session and is enough for the `FROM scratch` and local-base images
//! the course uses. It reports a failing step inside its (successful) HTTP response, so the outcome is read
//! from the stream: an error there is the learner's; a transport error is ours.
//!
//! Before anything is sent, `admit.rs` checks the context's and the Dockerfile's sizes and every image the
//! Dockerfile names against the build policy; the build's steps then run under the request's `BuildLimits`,
//! and the output forwarded to the caller stops at the policy's cap (the build goes on; the kept tail too).
//!
//! Each layer the build commits is tagged in the run's repository the moment the log names it (see
//! `images.rs` for why, and for what keeps a forged log line harmless).

use std::time::Duration;

use bollard::query_parameters::{BuildImageOptions, RemoveContainerOptions};
use futures_util::StreamExt;

use super::admit::read_dockerfile;
use super::build_cgroup::{with_cgroup_parent, BuildCgroup};
use super::build_log::Progress;
use super::error::{BuildError, SandboxError};
use super::limits::BuildLimits;
use super::run::RunLabel;
use super::Sandbox;

/// What to build beyond the context: a stage other than the last, and build arguments.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// Build up to this stage only (`docker build --target`); the image is then that stage's.
    pub target: Option<super::dockerfile::StageName>,
    /// `--build-arg`s, e.g. for `gauntlet prove` to switch a defect on in a reference's test stage.
    pub args: std::collections::BTreeMap<String, String>,
    /// An image of the same run whose layers this build may reuse, and no other: the final image after its
    /// test stage, so the learner's tests run once, not twice.
    pub cache_from: Option<ImageId>,
    /// Memory, swap, CPU and network of the build's steps.
    pub limits: BuildLimits,
}

/// A built image's id (`sha256:…`), what `start` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageId(pub String);

impl Sandbox {
    /// Builds `context_tar` (a tar or tar.gz with a `Dockerfile` at its root) into an image tagged in the
    /// run's repository, streaming each log line to `on_line` and keeping the last `log_cap` bytes for the error.
    ///
    /// Dropping the request on timeout makes the engine cancel the build.
    pub async fn build(
        &self,
        run: &RunLabel,
        context_tar: Vec<u8>,
        timeout: Duration,
        log_cap: usize,
        on_line: impl FnMut(&str),
    ) -> Result<ImageId, BuildError> {
        let request = BuildRequest::default();
        self.build_with(run, context_tar, &request, timeout, log_cap, on_line)
            .await
    }

    /// [`Sandbox::build`] of a chosen stage and with build arguments; a stage's image is tagged with the
    /// stage's name, so it and the final image of the same run can coexist until the run is removed.
    pub async fn build_with(
        &self,
        run: &RunLabel,
        context_tar: Vec<u8>,
        request: &BuildRequest,
        timeout: Duration,
        log_cap: usize,
        mut on_line: impl FnMut(&str),
    ) -> Result<ImageId, BuildError> {
        let dockerfile = read_dockerfile(&context_tar, &self.policy)?;
        self.admit(&dockerfile, &request.args).await?;
        let tag = request.target.as_ref().map_or("latest", |t| t.as_str());
        let mut options = BuildImageOptions {
            t: Some(format!("{}:{tag}", run.image_repo())),
            target: request
                .target
                .as_ref()
                .map(|t| t.to_string())
                .unwrap_or_default(),
            buildargs: (!request.args.is_empty())
                .then(|| request.args.clone().into_iter().collect()),
            // No labels: the classic builder turns each into a build step of its own (up to a second on a
            // busy engine); clean-up finds the run's images by their repository instead.
            rm: true,
            forcerm: true,
            // Cached layers would be shared between runs, and removing one run's image can then delete a
            // layer that a parallel build just chose as its cache ("failed to get digest"). Without the
            // cache each run owns its whole layer chain, and `remove_run` removes exactly that. With
            // `cache_from` the classic builder matches against that image's chain only, which is this run's.
            nocache: request.cache_from.is_none(),
            cachefrom: request.cache_from.as_ref().map(|id| vec![id.0.clone()]),
            ..Default::default()
        };
        request.limits.apply(&mut options);
        if request.limits.network == super::limits::BuildNetwork::Default {
            self.ensure_build_network().await?;
        }
        let cgroup = self.build_cgroup(run, &request.limits).await;
        let docker = match &cgroup {
            Some(c) => {
                let parent = c.parent();
                self.docker.clone().with_request_modifier(move |mut req| {
                    if req.uri().path().ends_with("/build") {
                        let uri = with_cgroup_parent(&req.uri().to_string(), &parent);
                        if let Ok(uri) = uri.parse() {
                            *req.uri_mut() = uri;
                        }
                    }
                    req
                })
            }
            None => self.docker.clone(),
        };
        let stream =
            docker.build_image(options, None, Some(bollard::body_full(context_tar.into())));
        let mut progress = Progress::new(log_cap, self.policy.max_output_bytes);
        let outcome = tokio::time::timeout(timeout, async {
            futures_util::pin_mut!(stream);
            while let Some(item) = stream.next().await {
                match item {
                    Ok(info) => progress.read(info, &mut on_line),
                    Err(e) => return Err(e),
                }
                for layer in progress.committed.drain(..) {
                    self.tag_layer(run, &layer).await;
                }
            }
            Ok(())
        })
        .await;
        progress.flush(&mut on_line);
        let hit_pids = cgroup.as_ref().is_some_and(BuildCgroup::hit_limit);
        if hit_pids {
            // Said in the log too, for a build that went on (or ran out of time) after a step was refused.
            let note = format!(
                "── the build's steps reached their limit of {} processes and threads ──",
                request.limits.pids
            );
            on_line(&note);
            progress.log.push(&note);
            progress.log.push("\n");
        }

        let failure = match outcome {
            Ok(Ok(())) => match progress.image.take() {
                Some(id) => {
                    if let Some(c) = cgroup {
                        c.remove().await;
                    }
                    return Ok(ImageId(id));
                }
                None => BuildError::Failed {
                    message: "the build ended without producing an image".to_string(),
                    log_tail: progress.log.snapshot(),
                },
            },
            Ok(Err(e)) if super::error::registry_unreachable(&e) => {
                BuildError::Platform(SandboxError::RegistryUnreachable(e))
            }
            Ok(Err(e)) if !is_learners(&e) => {
                BuildError::Platform(SandboxError::docker("build the image")(e))
            }
            Ok(Err(e)) => BuildError::Failed {
                message: explain(learner_message(e), &request.limits, hit_pids),
                log_tail: progress.log.snapshot(),
            },
            Err(_) => BuildError::Timeout {
                after: timeout,
                log_tail: progress.log.snapshot(),
            },
        };
        self.remove_partial_build(run, &progress).await;
        if let Some(c) = cgroup {
            c.remove().await;
        }
        Err(failure)
    }

    /// The build's pids-limited cgroup, when the policy has a cgroup root and the engine puts containers in
    /// cgroupfs v1 hierarchies there; otherwise the build runs without a process limit (logged).
    async fn build_cgroup(&self, run: &RunLabel, limits: &BuildLimits) -> Option<BuildCgroup> {
        let root = self.policy.pids_cgroup.as_ref()?;
        use bollard::models::{
            SystemInfoCgroupDriverEnum as Driver, SystemInfoCgroupVersionEnum as Version,
        };
        let usable = self.docker.info().await.is_ok_and(|info| {
            info.cgroup_driver == Some(Driver::CGROUPFS) && info.cgroup_version == Some(Version::_1)
        });
        if !usable {
            tracing::warn!(run = %run, "the engine does not use cgroupfs v1: this build has no process limit");
            return None;
        }
        match BuildCgroup::create(root, run, limits.pids) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(run = %run, error = %e, "no cgroup for the build: it has no process limit");
                None
            }
        }
    }

    /// After a failed build: the step's container, which after a timeout may still be running (the engine
    /// cancels asynchronously) and holds its layer, then every image of the run. A failed build ends the run,
    /// so the run's other images (a test stage) are of no further use.
    async fn remove_partial_build(&self, run: &RunLabel, progress: &Progress) {
        if let Some(container) = &progress.step_container {
            let options = RemoveContainerOptions {
                force: true,
                ..Default::default()
            };
            if let Err(e) = self.docker.remove_container(container, Some(options)).await {
                tracing::debug!(container, error = %e, "build step container already gone");
            }
        }
        if let Err(e) = self.remove_images(run.as_str()).await {
            tracing::warn!(run = %run, error = %e, "layers of a failed build left for the run's clean-up");
        }
    }
}

/// Whether the engine rejected the project itself: a failing step arrives inside the stream, a Dockerfile
/// it cannot parse as a 4xx/500 answer to the request. Anything else (transport, decoding) is ours.
fn is_learners(e: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as E;
    matches!(
        e,
        E::DockerStreamError { .. } | E::DockerResponseServerError { .. }
    )
}

/// The message an engine error carries, without bollard's prefix.
fn learner_message(e: bollard::errors::Error) -> String {
    use bollard::errors::Error as E;
    match e {
        E::DockerStreamError { error } => error.trim().to_string(),
        E::DockerResponseServerError { message, .. } => message.trim().to_string(),
        other => other.to_string(),
    }
}

/// What a failed step's bare exit code meant: the process limit when the build's cgroup says it was hit;
/// otherwise SIGKILL (137) is, in practice, the kernel's OOM killer at the build's memory limit.
fn explain(message: String, limits: &BuildLimits, hit_pids: bool) -> String {
    if hit_pids {
        format!(
            "{message} (the build's steps reached their limit of {} processes and threads)",
            limits.pids
        )
    } else if message.ends_with("non-zero code: 137") {
        format!(
            "{message} (the step was killed: it most likely used more than the build's memory limit of {} MiB)",
            limits.memory_mib()
        )
    } else {
        message
    }
}
