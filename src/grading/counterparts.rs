//! A lab's counterparts in a run: the run network is made (its subnet pinned, for fixed addresses), each
//! `[[counterpart]]` is started on it and waited for, a broker gets the lab's topics, and only then the service
//! starts, so it finds everything it was promised. Shared by grading and `gauntlet prove`.
//!
//! Nothing here is the learner's doing: a counterpart that does not come up is a platform error, with its log for
//! instructors. After the run each counterpart's log is appended to the instructor's container log.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::secrets::RunSecrets;
use crate::checks::{CounterpartInfo, CounterpartKind};
use crate::curriculum::{CounterpartSpec, Lab, CONTROL_TOKEN};
use crate::kafka::{AdminError, KafkaTarget};
use crate::sandbox::{
    broker_run, missing_broker_hint, Addressing, CounterpartError, CounterpartLaunch, ImageId,
    RunLabel, Running, RunningCounterpart, Sandbox, SandboxError, StartError, StartSpec,
};

/// Each counterpart's log kept with the run (instructors only).
const COUNTERPART_LOG_CAP: usize = 32 * 1024;

/// One started counterpart.
#[derive(Debug, Clone)]
pub struct Started {
    pub spec: CounterpartSpec,
    pub running: RunningCounterpart,
    /// Where the grader reaches it (its fixed address on the run network when it has one).
    pub addr: SocketAddr,
    /// Its `GAUNTLET_CONTROL_TOKEN` (`container` counterparts only).
    pub control_token: Option<String>,
}

/// The run's seed and the key its secrets are derived under: a counterpart gets the secrets it names and a control
/// token of its own, both of this run.
#[derive(Clone, Copy)]
pub struct RunKeys<'a> {
    pub seed: u64,
    pub secrets: &'a RunSecrets,
}

impl RunKeys<'_> {
    /// The control token of counterpart `name` in this run: derived, so a re-grade with the same seed on the same
    /// server gets the same one, and nobody without the server's key can compute it.
    fn control_token(&self, name: &str) -> String {
        self.secrets
            .derive(self.seed, &format!("{CONTROL_TOKEN} of counterpart {name}"))
    }
}

impl Started {
    /// The counterpart as checks see it.
    pub fn info(&self) -> CounterpartInfo {
        CounterpartInfo {
            name: self.spec.name.clone(),
            kind: self.spec.kind,
            port: self.spec.port,
            addr: self.addr,
            control_token: self.control_token.clone(),
        }
    }
}

/// Why the counterparts could not be made ready: the platform's fault, never the learner's.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error(transparent)]
    Counterpart(#[from] CounterpartError),
    #[error("counterpart `{name}` did not become a working broker: {source}")]
    Kafka {
        name: String,
        #[source]
        source: AdminError,
        log: String,
    },
}

impl PrepareError {
    /// The failing counterpart's log, when it was read.
    pub fn log(&self) -> &str {
        match self {
            Self::Counterpart(e) => e.log(),
            Self::Kafka { log, .. } => log,
            Self::Sandbox(_) => "",
        }
    }

    /// The engine could not be reached at all: the run should be queued again.
    pub fn retry(&self) -> bool {
        matches!(
            self,
            Self::Sandbox(SandboxError::Unreachable(_))
                | Self::Counterpart(CounterpartError::Sandbox(SandboxError::Unreachable(_)))
        )
    }

    /// What instructors read: the error and the counterpart's log.
    pub fn detail(&self) -> String {
        match self.log() {
            "" => format!("{self:#}"),
            log => format!("{self:#}\n--- counterpart log ---\n{log}"),
        }
    }
}

/// Why the run could not start: its counterparts (the platform), or the service (see [`StartError`]).
#[derive(Debug)]
pub enum StartFailure {
    Counterparts(PrepareError),
    Service(StartError),
}

/// Creates the run network, starts the lab's counterparts and then the service on it. `slot` receives the
/// counterparts as soon as they run, so a failure later still gets their logs. Whatever was created is left to the
/// run's clean-up (`remove_run` finds it all by the run label), even after a failed service start, so that the
/// counterparts' logs can be read first. Without counterparts, a failed start removes the run itself.
pub async fn start_with_service(
    sandbox: &Sandbox,
    run: &RunLabel,
    lab: &Lab,
    image: &ImageId,
    spec: &StartSpec,
    keys: RunKeys<'_>,
    slot: &mut Vec<Started>,
) -> Result<Running, StartFailure> {
    if lab.counterparts.is_empty() {
        return sandbox
            .start(run, image, spec)
            .await
            .map_err(StartFailure::Service);
    }
    start_counterparts(sandbox, run, lab, keys, slot)
        .await
        .map_err(StartFailure::Counterparts)?;
    sandbox
        .start_service_beside_counterparts(run, image, spec)
        .await
        .map_err(StartFailure::Service)
}

/// The run network (pinned) and every counterpart on it, ready, within the lab's start deadline.
async fn start_counterparts(
    sandbox: &Sandbox,
    run: &RunLabel,
    lab: &Lab,
    keys: RunKeys<'_>,
    slot: &mut Vec<Started>,
) -> Result<(), PrepareError> {
    let network = sandbox.create_run_network(run, Addressing::Pinned).await?;
    let deadline = Duration::from_secs(lab.timeouts.start_secs.max(1));
    let started = Instant::now();
    for (index, spec) in lab.counterparts.iter().enumerate() {
        let ip = network.fixed_address(index).ok_or(SandboxError::NoSubnet)?;
        let control_token =
            (spec.kind == CounterpartKind::Container).then(|| keys.control_token(&spec.name));
        let launch = launch(sandbox, spec, ip, keys, control_token.as_deref());
        let mut running = sandbox.start_counterpart(run, &launch).await?;
        let left = deadline.saturating_sub(started.elapsed());
        let addr = sandbox.wait_counterpart(&mut running, left).await;
        let addr = match addr {
            Ok(addr) => addr,
            Err(e) => {
                slot.push(Started {
                    spec: spec.clone(),
                    addr: std::net::SocketAddr::new(ip, spec.port),
                    running,
                    control_token,
                });
                return Err(e.into());
            }
        };
        slot.push(Started {
            spec: spec.clone(),
            running: running.clone(),
            addr,
            control_token,
        });
        if spec.kind == CounterpartKind::Kafka {
            let left = deadline.saturating_sub(started.elapsed());
            if let Err(source) = prepare_broker(spec, addr, left).await {
                return Err(PrepareError::Kafka {
                    name: spec.name.clone(),
                    source,
                    log: sandbox
                        .counterpart_logs(&running, COUNTERPART_LOG_CAP)
                        .await,
                });
            }
        }
    }
    Ok(())
}

/// A broker answers metadata and has the lab's topics.
async fn prepare_broker(
    spec: &CounterpartSpec,
    addr: SocketAddr,
    left: Duration,
) -> Result<(), AdminError> {
    let target = KafkaTarget::new(addr);
    let started = Instant::now();
    // A broker may accept connections a moment before it answers requests.
    let ready_within = left.max(Duration::from_secs(5));
    crate::kafka::wait_ready(&target, ready_within).await?;
    let topics_within = ready_within
        .saturating_sub(started.elapsed())
        .max(Duration::from_secs(5));
    crate::kafka::create_topics(&target, &spec.topics, topics_within).await
}

/// How the sandbox starts `spec` at `ip`: a broker from the operator's image, advertising `ip`; any other
/// container as the lab says, with the run's secrets it names and its control token.
fn launch(
    sandbox: &Sandbox,
    spec: &CounterpartSpec,
    ip: std::net::IpAddr,
    keys: RunKeys<'_>,
    control_token: Option<&str>,
) -> CounterpartLaunch {
    let (image, command, env, working_dir, missing_hint) = match spec.kind {
        CounterpartKind::Kafka => {
            let image = sandbox.kafka_image().to_string();
            let run = broker_run(&image, &ip.to_string());
            let hint = missing_broker_hint(&image);
            (image, run.command, run.env, run.working_dir, hint)
        }
        CounterpartKind::Container => (
            spec.image.clone().unwrap_or_default(),
            spec.command.clone(),
            spec.env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .chain(
                    spec.secrets
                        .iter()
                        .map(|name| (name.clone(), keys.secrets.derive(keys.seed, name))),
                )
                .chain(control_token.map(|t| (CONTROL_TOKEN.to_string(), t.to_string())))
                .collect(),
            None,
            missing_container_hint(spec.image.as_deref().unwrap_or_default()),
        ),
    };
    CounterpartLaunch {
        name: spec.name.clone(),
        image,
        command,
        env,
        port: spec.port,
        working_dir,
        ip: Some(ip),
        memory_bytes: i64::try_from(spec.memory_mb.saturating_mul(1 << 20)).unwrap_or(i64::MAX),
        nano_cpus: (spec.cpus * 1e9) as i64,
        pids_limit: spec.pids,
        missing_hint,
    }
}

/// What to tell the operator when a `container` counterpart's image is not on this machine: Gauntlet's own are
/// built from this repository.
fn missing_container_hint(image: &str) -> String {
    if image.starts_with("gauntlet/counterparts:") {
        "run scripts/build-counterparts on this grading host (docs/operations.md); Gauntlet never pulls images"
            .to_string()
    } else {
        "build or load it into this Docker engine; Gauntlet never pulls images".to_string()
    }
}

/// Every counterpart's log under a header of its own, to append to the instructor's container log.
pub async fn logs(sandbox: &Sandbox, started: &[Started]) -> String {
    let mut out = String::new();
    for c in started {
        let log = sandbox
            .counterpart_logs(&c.running, COUNTERPART_LOG_CAP)
            .await;
        out.push_str(&format!("\n--- counterpart {} ---\n{log}", c.spec.name));
    }
    out
}
