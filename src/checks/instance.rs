//! Instances: more copies of the learner's service that a check starts, signals and stops itself, beside the
//! run's service (through [`super::ServiceControl::launch`]).
//!
//! The check engine knows them only through the [`Instance`] trait, as it knows the service through
//! `ServiceControl`; the grader implements both over the sandbox (`grading/instance.rs`), so each instance is
//! sandboxed exactly like the service (same image, user, limits, read-only root, internal network with no
//! route out) and removed with the run even if a check forgets it.
//!
//! A typical use (the lifecycle kind):
//! ```text
//! let inst = control.launch(InstanceSpec::new("life").port(18231).env("READY_DELAY_MS", "1500")).await?;
//! // poll inst.url() + "/readyz" while it starts (connection refused counts as "not ready")
//! let url = inst.wait_listening(Duration::from_secs(10)).await?;
//! inst.signal(Signal::Term).await?;
//! let exit = inst.wait_exit(Duration::from_secs(5)).await?;   // None: still running after 5 s
//! inst.remove().await?;
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// The futures of [`Instance`] and [`super::ServiceControl`]: boxed, so both stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Which data an instance sees at the lab's data folder (`data_dir`); for a lab without one, both mean none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InstanceData {
    /// The run's data volume, shared with the service and every other instance given it (blue and green
    /// versions of a release reading one store).
    Shared,
    /// A new, empty volume of its own, removed with the instance.
    #[default]
    Fresh,
}

/// How to start an instance: built with [`InstanceSpec::new`] and its setters.
#[derive(Debug, Clone)]
pub struct InstanceSpec {
    /// A short name for the instance, part of its container name and of transcripts (`life`, `blue`): 1 to 24
    /// of `a-z 0-9 -`. The grader appends a counter, so the same role may be launched again.
    pub role: String,
    /// The port it must listen on (passed as `PORT`); `None` keeps the service's.
    pub port: Option<u16>,
    /// Set on top of the run's environment (what the service got: `GAUNTLET_SEED`, secrets, `DATA_DIR`,
    /// the lab's settings); a name here replaces the run's value. `PORT` is ignored here: use `port`.
    pub env: BTreeMap<String, String>,
    pub data: InstanceData,
}

impl InstanceSpec {
    /// An instance of `role` on the service's port, with the run's environment and a fresh volume.
    pub fn new(role: &str) -> Self {
        InstanceSpec {
            role: role.to_string(),
            port: None,
            env: BTreeMap::new(),
            data: InstanceData::default(),
        }
    }

    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_string(), value.to_string());
        self
    }

    pub fn data(mut self, data: InstanceData) -> Self {
        self.data = data;
        self
    }
}

/// A signal a check sends to an instance's main process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// What a platform sends to stop a service: it should drain and exit 0.
    Term,
    /// No grace: the process dies at once, as in a crash or a node failure.
    Kill,
}

impl Signal {
    /// The name the engine takes.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Term => "SIGTERM",
            Signal::Kill => "SIGKILL",
        }
    }
}

/// How an instance's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// The exit status (137 after SIGKILL, 143 for a process that died of SIGTERM without handling it).
    pub code: i64,
    /// The kernel killed it for using more memory than its limit.
    pub oom: bool,
}

/// Why an instance operation failed, split by who is at fault.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InstanceError {
    /// The learner's service: it could not be run, exited before it listened, or never listened. The text is
    /// safe for the learner.
    #[error("{0}")]
    Service(String),
    /// The grader or the engine failed; the text is for instructors (the check reports a platform error).
    #[error("{0}")]
    Platform(String),
}

/// One running (or stopped) instance. Every method may be called from any task; the instance is removed by
/// [`Instance::remove`], and otherwise when dropped (in the background) and in any case with the run.
pub trait Instance: Send + Sync {
    /// Its name in transcripts and in the engine (`gauntlet-<run>-<role>-<n>`).
    fn name(&self) -> String;

    /// Where it answers, as soon as the engine gave it an address, before it listens: a check may poll it
    /// during start-up (a refused connection meaning "not up yet"). `None` when its process ended before it
    /// got an address. It may change across [`Instance::kill_and_start`].
    fn url(&self) -> Option<url::Url>;

    /// Waits until its port accepts connections (nothing is sent: no health route is required) and returns its
    /// base URL. Fails with [`InstanceError::Service`] when the process exits first or `timeout` passes.
    fn wait_listening(&self, timeout: Duration) -> BoxFuture<'_, Result<url::Url, InstanceError>>;

    /// Sends `signal` to its main process; one that already exited is not an error.
    fn signal(&self, signal: Signal) -> BoxFuture<'_, Result<(), InstanceError>>;

    /// Waits up to `timeout` for its process to exit; `Ok(None)` if it is still running then.
    fn wait_exit(&self, timeout: Duration) -> BoxFuture<'_, Result<Option<Exit>, InstanceError>>;

    /// SIGKILL (no grace), then starts the same container again with the same volume; resolves once it is
    /// started, not once it listens (call [`Instance::wait_listening`]).
    fn kill_and_start(&self) -> BoxFuture<'_, Result<(), InstanceError>>;

    /// Its stdout and stderr as written, the last `cap` bytes (instructors only: the learner's process wrote
    /// it).
    fn logs(&self, cap: usize) -> BoxFuture<'_, Result<String, InstanceError>>;

    /// Removes its container (and its volume when it had a fresh one); calling it again does nothing.
    fn remove(&self) -> BoxFuture<'_, Result<(), InstanceError>>;
}

impl std::fmt::Debug for dyn Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Instance({})", self.name())
    }
}

/// How a check restarts the run's service ([`super::ServiceControl::restart`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestartMode {
    /// SIGTERM, a grace period, then SIGKILL: a deploy or a planned restart.
    #[default]
    Graceful,
    /// SIGKILL only: a crash. Only data written before is expected to survive.
    Kill,
}
