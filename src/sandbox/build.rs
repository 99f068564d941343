//! Builds a learner's image from a tar of the build context, with the classic builder.
//!
//! The classic builder needs no BuildKit session and is enough for the `FROM scratch` and local-base images
//! the course uses. It reports a failing step inside its (successful) HTTP response, so the outcome is read
//! from the stream: an error there is the learner's; a transport error is ours.

use std::time::Duration;

use bollard::models::BuildInfo;
use bollard::query_parameters::{BuildImageOptions, RemoveContainerOptions, RemoveImageOptions};
use futures_util::StreamExt;

use super::error::{BuildError, SandboxError};
use super::run::RunLabel;
use super::tail::LogTail;
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
}

/// A built image's id (`sha256:…`), what `start` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageId(pub String);

impl Sandbox {
    /// Builds `context_tar` (a tar or tar.gz with a `Dockerfile` at its root) into an image labelled with
    /// the run, streaming each log line to `on_line` and keeping the last `log_cap` bytes for the error.
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
        let tag = request.target.as_ref().map_or("latest", |t| t.as_str());
        let options = BuildImageOptions {
            t: Some(format!("gauntlet-run/{run}:{tag}")),
            target: request
                .target
                .as_ref()
                .map(|t| t.to_string())
                .unwrap_or_default(),
            buildargs: (!request.args.is_empty())
                .then(|| request.args.clone().into_iter().collect()),
            // Only the run label: the classic builder turns each label into a build step of its own (about
            // half a second each), and the run label is what clean-up finds images by.
            labels: Some(run.run_label_only()),
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
        let stream =
            self.docker
                .build_image(options, None, Some(bollard::body_full(context_tar.into())));
        let mut progress = Progress::new(log_cap);
        let outcome = tokio::time::timeout(timeout, async {
            futures_util::pin_mut!(stream);
            while let Some(item) = stream.next().await {
                match item {
                    Ok(info) => progress.read(info, &mut on_line),
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
        .await;
        progress.flush(&mut on_line);

        let failure = match outcome {
            Ok(Ok(())) => match progress.image.take() {
                Some(id) => return Ok(ImageId(id)),
                None => BuildError::Failed {
                    message: "the build ended without producing an image".to_string(),
                    log_tail: progress.log.snapshot(),
                },
            },
            Ok(Err(e)) if !is_learners(&e) => {
                BuildError::Platform(SandboxError::docker("build the image")(e))
            }
            Ok(Err(e)) => BuildError::Failed {
                message: learner_message(e),
                log_tail: progress.log.snapshot(),
            },
            Err(_) => BuildError::Timeout {
                after: timeout,
                log_tail: progress.log.snapshot(),
            },
        };
        self.remove_partial_build(&progress).await;
        Err(failure)
    }

    /// The classic builder keeps the layers of a failed build as untagged images without our label; removing
    /// the last one removes its untagged parents too. Best effort: should a layer have another child, the
    /// engine refuses and it stays, as it should.
    ///
    /// Only an untagged image is touched: after a failing first step the last ` ---> ` id is the base image
    /// named in `FROM`, which must survive.
    ///
    /// After a timeout the step's container may still be running (the engine cancels asynchronously) and
    /// holds its base layer, so it is removed first.
    async fn remove_partial_build(&self, progress: &Progress) {
        if let Some(container) = &progress.step_container {
            let options = RemoveContainerOptions {
                force: true,
                ..Default::default()
            };
            if let Err(e) = self.docker.remove_container(container, Some(options)).await {
                tracing::debug!(container, error = %e, "build step container already gone");
            }
        }
        let Some(layer) = progress.last_layer.as_deref() else {
            return;
        };
        match self.docker.inspect_image(layer).await {
            Ok(image) if image.repo_tags.as_ref().is_none_or(|tags| tags.is_empty()) => {}
            _ => return,
        }
        let removed = self
            .docker
            .remove_image(layer, None::<RemoveImageOptions>, None)
            .await;
        if let Err(e) = removed {
            tracing::debug!(layer, error = %e, "partial build layer left in place");
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

/// What the build stream has told us so far.
struct Progress {
    log: LogTail,
    /// Text after the last newline: the engine may split a line across messages.
    partial: String,
    image: Option<String>,
    /// The id after the latest ` ---> `, i.e. the newest layer committed.
    last_layer: Option<String>,
    /// The container of the step in progress (` ---> Running in <id>`).
    step_container: Option<String>,
}

impl Progress {
    fn new(log_cap: usize) -> Self {
        Self {
            log: LogTail::new(log_cap),
            partial: String::new(),
            image: None,
            last_layer: None,
            step_container: None,
        }
    }

    fn read(&mut self, info: BuildInfo, on_line: &mut impl FnMut(&str)) {
        if let Some(id) = info.aux.and_then(|aux| aux.id) {
            self.image = Some(id);
        }
        for text in [info.stream, info.status].into_iter().flatten() {
            self.partial.push_str(&text);
            while let Some(end) = self.partial.find('\n') {
                let line: String = self.partial.drain(..=end).collect();
                self.line(line.trim_end(), on_line);
            }
        }
    }

    fn flush(&mut self, on_line: &mut impl FnMut(&str)) {
        let rest = std::mem::take(&mut self.partial);
        if !rest.trim().is_empty() {
            self.line(rest.trim_end(), on_line);
        }
    }

    fn line(&mut self, line: &str, on_line: &mut impl FnMut(&str)) {
        if let Some(id) = line.strip_prefix(" ---> Running in ") {
            self.step_container = Some(id.trim().to_string());
        } else if let Some(id) = line.strip_prefix(" ---> ") {
            if !id.contains(' ') {
                self.last_layer = Some(id.to_string());
            }
        }
        on_line(line);
        self.log.push(line);
        self.log.push("\n");
    }
}
