//! Everything that talks to Docker: building a learner's image, running it in a locked-down container on a
//! private network, watching it, stopping it, and removing every trace of the run.
//!
//! Each container, network and volume carries the `gauntlet.run` label and each image is tagged in the run's
//! repository `gauntlet-run/<run>`, so a run's clean-up (`remove_run`) and the start-up reaper (`reap`) find
//! everything, even objects created just before a crash.
//!
//! - `run.rs`: `RunLabel`, the validated run id, and the label keys.
//! - `build.rs`: image build from a context tar (a chosen stage, build arguments), with streamed and capped
//!   logs and a timeout.
//! - `admit.rs`: what is checked before a build runs: context and Dockerfile sizes, the images it reads.
//! - `policy.rs`: `BuildPolicy`, the operator's allow-list of base images and the build's size caps.
//! - `reference.rs`: image names normalised as the engine does (`debian` is `docker.io/library/debian`).
//! - `limits.rs`: `BuildLimits`, the memory, CPU and network of a build's steps.
//! - `build_cgroup.rs`: the pids-limited cgroup parent of a build's steps.
//! - `build_log.rs`: reading the build's log: lines passed on up to a cap, the image id, committed layers.
//! - `dockerfile/`: the stages a Dockerfile declares and the images it makes the build read.
//! - `firewall.rs`: the host firewall rule that keeps run networks from reaching the grading host.
//! - `network.rs`: the run's internal network, its subnet pinned when counterparts need fixed addresses.
//! - `start.rs`: internal network, optional volume, container with limits; `StartSpec` and `Running`.
//! - `volume.rs`: handing a run's data volume to the user the service runs as.
//! - `image_file.rs`: reading one file out of a built image (a test stage's JUnit report), size-capped.
//! - `health.rs`: waiting for the health route, naming exits, OOM kills and fork bombs.
//! - `fault.rs`: the limit a service ran into after it became healthy (memory, processes).
//! - `control.rs`: logs, stop with a grace period, restart (graceful, or SIGKILL only).
//! - `instance.rs`: more containers of a run's image on its network, sandboxed alike (lifecycle, swap checks).
//! - `image_read.rs`: an image's configuration, history and base, and its export as a stream, for `image` checks.
//! - `images.rs`: the run's image repository: tagging each committed layer, removing them children first.
//! - `counterpart.rs`: containers a lab runs beside the service on its network (a broker), sandboxed alike:
//!   start, wait for their port, pause, logs.
//! - `broker.rs`: how a `kafka` counterpart's image (tansu, or Apache Kafka's) is run.
//! - `grader.rs`: a lab's own grader: its image, built once per content of its folder and kept on the host, and
//!   one run of it beside the service, sandboxed as a counterpart, with its results read back;
//!   `grader_volumes.rs`: its results folder and the submission, filled through a never-started container.
//! - `cleanup.rs`: `remove_run` and `reap`.
//! - `error.rs`: `SandboxError` (platform), `BuildError` and `StartError` (learner or platform).

mod admit;
mod broker;
mod build;
mod build_cgroup;
mod build_log;
mod build_network;
mod cleanup;
mod control;
mod counterpart;
pub mod dockerfile;
mod error;
mod fault;
mod firewall;
mod grader;
mod grader_volumes;
mod health;
mod image_file;
mod image_read;
mod images;
mod instance;
mod limits;
mod network;
mod policy;
mod reference;
mod run;
mod start;
mod tail;
mod volume;

use std::sync::Arc;

use bollard::Docker;

pub use broker::{broker_run, missing_broker_hint, BrokerRun, BROKER_PORT, DEFAULT_KAFKA_IMAGE};
pub use build::{BuildRequest, ImageId};
pub use cleanup::Removed;
pub use control::Stopped;
pub use counterpart::{
    valid_counterpart_name, CounterpartError, CounterpartLaunch, RunningCounterpart,
};
pub use error::{BuildError, SandboxError, StartError};
pub use fault::Fault;
pub use firewall::{FirewallError, FirewallMode, BRIDGE_PREFIX};
pub use grader::{GraderLaunch, GraderRun, GRADER_REPO};
pub use image_file::ImageFileError;
pub use image_read::{BaseRecord, HistoryStep, ImageRecord};
pub use instance::{DataVolume, Exited, Launch};
pub use limits::{BuildLimits, BuildNetwork};
pub use network::{Addressing, RunNetwork};
pub use policy::{BadPattern, BuildPolicy};
pub use run::{RunLabel, IMAGE_REPO, LABEL_KIND, LABEL_RUN};
pub use start::{base_url, Running, StartSpec, User, CONTAINER_LOG_MAX};

/// A connection to the Docker engine; cheap to clone, safe to share between tasks.
#[derive(Debug, Clone)]
pub struct Sandbox {
    docker: Docker,
    /// What builds may read and how large their inputs and output may be; the same for every build.
    policy: Arc<BuildPolicy>,
    firewall: FirewallMode,
    /// The image a lab's `kafka` counterpart runs (the operator's `kafka_image` setting).
    kafka_image: Arc<str>,
    /// Build arguments of every lab's grader image (the operator's `grader_build_args`, e.g. a local Go image).
    grader_build_args: Arc<std::collections::BTreeMap<String, String>>,
}

impl Sandbox {
    /// Connects as the docker CLI would (`DOCKER_HOST`, else the local socket) and settles on the API
    /// version the engine speaks, so older engines (API 1.41) work.
    pub async fn connect() -> Result<Self, SandboxError> {
        let docker = Docker::connect_with_defaults().map_err(SandboxError::Unreachable)?;
        let docker = docker
            .negotiate_version()
            .await
            .map_err(SandboxError::Unreachable)?;
        Ok(Self::from_docker(docker))
    }

    /// The same engine with another way of keeping run networks off the host (default: `iptables`).
    pub fn with_firewall(mut self, firewall: FirewallMode) -> Self {
        self.firewall = firewall;
        self
    }

    /// Wraps a client made elsewhere (another socket, a test's unreachable one); no version negotiation.
    pub fn from_docker(docker: Docker) -> Self {
        Self {
            docker,
            policy: Arc::new(BuildPolicy::default()),
            firewall: FirewallMode::default(),
            kafka_image: Arc::from(DEFAULT_KAFKA_IMAGE),
            grader_build_args: Arc::default(),
        }
    }

    /// The same engine running `image` for labs' `kafka` counterparts.
    pub fn with_kafka_image(mut self, image: &str) -> Self {
        self.kafka_image = Arc::from(image);
        self
    }

    /// The image a `kafka` counterpart runs.
    pub fn kafka_image(&self) -> &str {
        &self.kafka_image
    }

    /// The same engine building labs' graders with `args` as build arguments.
    pub fn with_grader_build_args(
        mut self,
        args: std::collections::BTreeMap<String, String>,
    ) -> Self {
        self.grader_build_args = Arc::new(args);
        self
    }

    /// The build arguments of labs' grader images.
    pub fn grader_build_args(&self) -> &std::collections::BTreeMap<String, String> {
        &self.grader_build_args
    }

    /// The same connection with the operator's build policy.
    pub fn with_build_policy(mut self, policy: BuildPolicy) -> Self {
        self.policy = Arc::new(policy);
        self
    }

    pub fn build_policy(&self) -> &BuildPolicy {
        &self.policy
    }

    /// Whether the engine answers; for readiness checks.
    pub async fn ping(&self) -> Result<(), SandboxError> {
        self.docker
            .ping()
            .await
            .map(|_| ())
            .map_err(SandboxError::Unreachable)
    }

    /// Logs a warning when the engine is older than 26.0 (25.0.5, 23.0.11 on their branches): those forward DNS
    /// queries of internal networks through the host when its resolver is on loopback (CVE-2024-29018).
    pub async fn warn_if_engine_is_old(&self) {
        let Ok(version) = self.docker.version().await else {
            return;
        };
        let text = version.version.unwrap_or_default();
        let mut parts = text
            .split(|c: char| !c.is_ascii_digit())
            .map(|p| p.parse::<u32>().ok());
        let (major, minor, patch) = (
            parts.next().flatten().unwrap_or(0),
            parts.next().flatten().unwrap_or(0),
            parts.next().flatten().unwrap_or(0),
        );
        let patched = major >= 26
            || (major == 25 && (minor, patch) >= (0, 5))
            || (major == 23 && (minor, patch) >= (0, 11));
        if !patched {
            tracing::warn!(
                engine = %text,
                "this Docker engine may leak DNS queries out of internal networks (CVE-2024-29018); \
                 upgrade to 26.0 or newer (docs/operations.md)"
            );
        }
    }

    /// The underlying client, for the few callers (tests, diagnostics) that need an API this module lacks.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }
}
