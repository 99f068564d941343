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

use bollard::models::BuildInfo;
use bollard::query_parameters::{BuildImageOptions, RemoveContainerOptions};
use futures_util::StreamExt;

use super::admit::read_dockerfile;
use super::error::{BuildError, SandboxError};
use super::limits::BuildLimits;
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
    /// Memory, swap, CPU and network of the build's steps.
    pub limits: BuildLimits,
}

/// The longest line passed on; a step printing without line ends is cut into lines of this size, so that
/// what is held in memory stays bounded.
const MAX_LINE: usize = 16 * 1024;

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
        let stream =
            self.docker
                .build_image(options, None, Some(bollard::body_full(context_tar.into())));
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
                message: explain_kill(learner_message(e), &request.limits),
                log_tail: progress.log.snapshot(),
            },
            Err(_) => BuildError::Timeout {
                after: timeout,
                log_tail: progress.log.snapshot(),
            },
        };
        self.remove_partial_build(run, &progress).await;
        Err(failure)
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

/// A step killed by SIGKILL (exit code 137) in a build is, in practice, the kernel's OOM killer at the
/// build's memory limit: the classic builder reports only the code, so the learner is told what it means.
fn explain_kill(message: String, limits: &BuildLimits) -> String {
    if message.ends_with("non-zero code: 137") {
        format!(
            "{message} (the step was killed: it most likely used more than the build's memory limit of {} MiB)",
            limits.memory_mib()
        )
    } else {
        message
    }
}

/// What the build stream has told us so far.
struct Progress {
    log: LogTail,
    /// Text after the last newline: the engine may split a line across messages.
    partial: String,
    image: Option<String>,
    /// Layers committed since the caller last drained them, to be tagged.
    committed: Vec<String>,
    /// The last step was a `FROM`: the next ` ---> <id>` is the base image, which is not the run's to tag.
    after_from: bool,
    /// The container of the step in progress (` ---> Running in <id>`).
    step_container: Option<String>,
    /// Bytes passed to the caller so far, and the cap after which lines are read and dropped.
    forwarded: usize,
    max_forwarded: usize,
}

impl Progress {
    fn new(log_cap: usize, max_forwarded: usize) -> Self {
        Self {
            log: LogTail::new(log_cap),
            partial: String::new(),
            image: None,
            committed: Vec::new(),
            after_from: false,
            step_container: None,
            forwarded: 0,
            max_forwarded,
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
            while self.partial.len() > MAX_LINE {
                let mut cut = MAX_LINE;
                while !self.partial.is_char_boundary(cut) {
                    cut -= 1;
                }
                let line: String = self.partial.drain(..cut).collect();
                self.line(&line, on_line);
            }
        }
    }

    fn flush(&mut self, on_line: &mut impl FnMut(&str)) {
        let rest = std::mem::take(&mut self.partial);
        if !rest.trim().is_empty() {
            self.line(rest.trim_end(), on_line);
        }
    }

    /// Reads one line of the log, without its line end. The learner's `RUN` output is in the same log, so
    /// what it recognises may be forged; `images.rs` makes a forged id harmless.
    fn line(&mut self, line: &str, on_line: &mut impl FnMut(&str)) {
        if let Some(step) = line.strip_prefix("Step ") {
            // `Step 3/7 : FROM base AS name`, the instruction in any case and followed by any blank.
            self.after_from = step
                .split_once(" : ")
                .and_then(|(_, instruction)| instruction.split_whitespace().next())
                .is_some_and(|word| word.eq_ignore_ascii_case("FROM"));
        } else if let Some(id) = line.strip_prefix(" ---> Running in ") {
            // Only an id: a forged line naming a container (`postgres`) must not get it removed on failure.
            self.step_container = is_short_id(id).then(|| id.to_string());
            // A `FROM` that runs a container (the base's `ONBUILD` triggers) commits a layer of this run.
            self.after_from = false;
        } else if line == " --->" {
            // What `FROM scratch` prints: no base image.
            self.after_from = false;
        } else if let Some(id) = line.strip_prefix(" ---> ").filter(|id| is_short_id(id)) {
            // ` ---> Using cache` comes before the id and is not one.
            if !std::mem::take(&mut self.after_from) {
                self.committed.push(id.to_string());
            }
        }
        self.forward(line, on_line);
        self.log.push(line);
        self.log.push("\n");
    }

    /// Passes the line on until the cap, then says once that the rest is dropped.
    fn forward(&mut self, line: &str, on_line: &mut impl FnMut(&str)) {
        if self.forwarded > self.max_forwarded {
            return;
        }
        self.forwarded += line.len() + 1;
        if self.forwarded <= self.max_forwarded {
            on_line(line);
        } else {
            on_line(&format!(
                "── build output truncated: more than {} KiB; the rest is not shown (the build goes on, and the \
                 end of its log is kept with the run) ──",
                self.max_forwarded / 1024
            ));
        }
    }
}

/// The engine's short image id: twelve lower-case hexadecimal digits.
fn is_short_id(s: &str) -> bool {
    s.len() == 12
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `log` as the engine sends it: a step's title and its line end in separate messages.
    fn committed(log: &str) -> Vec<String> {
        let mut progress = Progress::new(1024, 1 << 20);
        for line in log.split_inclusive('\n') {
            for chunk in [line.trim_end_matches('\n'), "\n"] {
                let info = BuildInfo {
                    stream: Some(chunk.to_string()),
                    ..Default::default()
                };
                progress.read(info, &mut |_| {});
            }
        }
        progress.committed
    }

    #[test]
    fn every_committed_layer_is_taken_but_no_base_image() {
        let log = "Step 1/6 : FROM python:3.12-slim AS build\n ---> 75bb615acb26\n\
                   Step 2/6 : COPY . /app\n ---> 890e855d8359\n\
                   Step 3/6 : RUN make\n ---> Running in 96ea621e74c1\nok\n\
                   Removing intermediate container 96ea621e74c1\n ---> 1d81abcaf808\n\
                   Step 4/6 : from scratch\n ---> \n\
                   Step 5/6 : COPY --from=build /app/bin /bin\n ---> Using cache\n ---> 301af1c9cff5\n\
                   Step 6/6 : FROM build\n ---> 1d81abcaf808\n";
        assert_eq!(
            committed(log),
            ["890e855d8359", "1d81abcaf808", "301af1c9cff5"]
        );
    }

    #[test]
    fn the_layer_of_a_from_with_onbuild_triggers_is_taken() {
        let log = "Step 1/2 : FROM base-with-onbuild\n# Executing 1 build trigger\n \
                   ---> Running in 96ea621e74c1\nRemoving intermediate container 96ea621e74c1\n \
                   ---> 1d81abcaf808\nStep 2/2 : CMD [\"/app\"]\n ---> 301af1c9cff5\n";
        assert_eq!(committed(log), ["1d81abcaf808", "301af1c9cff5"]);
    }

    #[test]
    fn a_step_named_like_from_is_not_a_from() {
        let log = "Step 1/2 : FROM scratch\n ---> \nStep 2/2 : ENV FROM=1\n ---> 841b5b82ebd7\n";
        assert_eq!(committed(log), ["841b5b82ebd7"]);
    }

    #[test]
    fn from_followed_by_a_tab_is_a_from() {
        let log = "Step 1/2 : from\tpython:3.12\n ---> 75bb615acb26\nStep 2/2 : CMD x\n ---> 841b5b82ebd7\n";
        assert_eq!(committed(log), ["841b5b82ebd7"]);
    }

    #[test]
    fn only_an_id_is_taken_for_the_step_container() {
        let mut progress = Progress::new(1024, 1 << 20);
        progress.line(" ---> Running in 96ea621e74c1", &mut |_| {});
        assert_eq!(progress.step_container.as_deref(), Some("96ea621e74c1"));
        progress.line(" ---> Running in postgres", &mut |_| {});
        assert_eq!(progress.step_container, None);
    }

    #[test]
    fn only_short_ids_are_layers() {
        let log = concat!(
            "Step 1/2 : FROM scratch\n ---> \n",
            "Step 2/2 : RUN [\"/t\"]\n ---> Running in 96ea621e74c1\n",
            " ---> sha256:1d81abcaf808\n ---> 1D81ABCAF808\n ---> not-an-id\n ---> 1d81abcaf80\n",
            " ---> 301af1c9cff5\n",
        );
        assert_eq!(committed(log), ["301af1c9cff5"]);
    }
}

#[cfg(test)]
mod output_cap_tests {
    use super::*;

    fn feed(progress: &mut Progress, text: &str) -> Vec<String> {
        let mut seen = Vec::new();
        progress.read(
            BuildInfo {
                stream: Some(text.to_string()),
                ..Default::default()
            },
            &mut |l: &str| seen.push(l.to_string()),
        );
        seen
    }

    #[test]
    fn output_past_the_cap_is_dropped_after_one_notice_but_layers_are_still_read() {
        let mut progress = Progress::new(256, 100);
        let mut seen = feed(&mut progress, &"0123456789\n".repeat(9));
        assert_eq!(seen.len(), 9);
        seen = feed(&mut progress, &"0123456789\n".repeat(50));
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(seen[0].contains("build output truncated"), "{seen:?}");
        assert!(feed(&mut progress, "more\n").is_empty());
        feed(&mut progress, "Step 2/2 : CMD x\n ---> 841b5b82ebd7\n");
        assert_eq!(progress.committed, ["841b5b82ebd7"]);
        assert!(progress.log.snapshot().ends_with(" ---> 841b5b82ebd7\n"));
    }

    #[test]
    fn a_line_without_end_is_cut_so_memory_stays_bounded() {
        let mut progress = Progress::new(1024, usize::MAX / 2);
        let seen = feed(&mut progress, &"x".repeat(MAX_LINE * 3 + 5));
        assert_eq!(seen.len(), 3);
        assert!(progress.partial.len() <= MAX_LINE);
    }
}
