//! Counterparts: containers a lab runs beside the learner's service on the run's network (a Kafka-protocol
//! broker, later any image a lab names), started before the service so it finds them when it starts.
//!
//! A counterpart is sandboxed as the service is: the same internal network (so the same host firewall rule and no
//! route out), no capabilities, no privilege gain, a read-only root with `/tmp` and `/data` in memory (counted in
//! its memory limit), memory without swap, CPU, processes and open files capped, a capped log, a non-root user,
//! no published port. It is named `gauntlet-<run>-<name>`, reachable on the network as `<name>` (an alias) and
//! labelled with the run and `gauntlet.kind=counterpart`, so `remove_run` and the reaper remove it with the run.
//! The engine is never asked to pull: an image missing here is a platform error that says how to provide it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, NetworkingConfig,
};
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions};

use super::error::SandboxError;
use super::run::RunLabel;
use super::start::{sandboxed_host_config, StartSpec, User};
use super::Sandbox;

/// How to start one counterpart.
#[derive(Debug, Clone)]
pub struct CounterpartLaunch {
    /// Its name in `lab.toml`: its host name on the run network and the end of its container's name.
    pub name: String,
    pub image: String,
    /// Arguments to the image's entrypoint; empty keeps the image's own `CMD`.
    pub command: Vec<String>,
    /// Its own environment (not the service's).
    pub env: Vec<(String, String)>,
    /// The port it listens on; readiness is a TCP connection accepted there.
    pub port: u16,
    /// The working folder, when the image's is not the one it must run in.
    pub working_dir: Option<String>,
    /// A fixed address on the run network (see `network.rs`: a broker advertises it), or the next free one.
    pub ip: Option<IpAddr>,
    pub memory_bytes: i64,
    pub nano_cpus: i64,
    pub pids_limit: i64,
    /// What to tell the operator when the image is not on this machine (how to build or load it).
    pub missing_hint: String,
}

/// A started counterpart.
#[derive(Debug, Clone)]
pub struct RunningCounterpart {
    pub name: String,
    pub container_id: String,
    /// `gauntlet-<run>-<name>`.
    pub container_name: String,
    pub network: String,
    /// Its address on the run network once the engine gave it one.
    pub ip: Option<IpAddr>,
    pub port: u16,
}

impl RunningCounterpart {
    /// Where the grader reaches it, once its address is known.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.ip.map(|ip| SocketAddr::new(ip, self.port))
    }
}

/// Why a counterpart could not be had: never the learner's doing.
#[derive(Debug, thiserror::Error)]
pub enum CounterpartError {
    #[error("the image `{image}` of counterpart `{name}` is not on this machine (Gauntlet never pulls): {hint}")]
    MissingImage {
        name: String,
        image: String,
        hint: String,
    },
    #[error("counterpart `{name}` is not a valid name (1 to 20 of a-z, 0-9, `-`, starting with a letter)")]
    InvalidName { name: String },
    #[error("counterpart `{name}` exited with code {code} before it accepted connections on port {port}")]
    Exited {
        name: String,
        port: u16,
        code: i64,
        log: String,
    },
    #[error("counterpart `{name}` did not accept connections on port {port} within {}s ({last})", .after.as_secs())]
    NotReady {
        name: String,
        port: u16,
        after: Duration,
        last: String,
        log: String,
    },
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
}

impl CounterpartError {
    /// The counterpart's own output, when it was read (instructors only).
    pub fn log(&self) -> &str {
        match self {
            Self::Exited { log, .. } | Self::NotReady { log, .. } => log,
            _ => "",
        }
    }
}

/// Pause between connection attempts while waiting for a counterpart's port.
const READY_POLL: Duration = Duration::from_millis(50);
/// Bound on one connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// The end of a counterpart's log kept in a readiness error.
const LOG_TAIL: usize = 8 * 1024;
/// `/tmp` of a counterpart; `/data` may use up to its memory limit, which the engine counts it against.
const TMP_BYTES: u64 = 16 << 20;
/// Open files of a counterpart: a broker holds a socket per client and a few files per partition.
const NOFILE: u64 = 4096;

impl Sandbox {
    /// Creates and starts `launch` on the run's network (see [`Sandbox::create_run_network`]). A container it
    /// created and could not start is removed again; the run's clean-up removes the rest.
    pub async fn start_counterpart(
        &self,
        run: &RunLabel,
        launch: &CounterpartLaunch,
    ) -> Result<RunningCounterpart, CounterpartError> {
        if !valid_counterpart_name(&launch.name) {
            return Err(CounterpartError::InvalidName {
                name: launch.name.clone(),
            });
        }
        match self.docker.inspect_image(&launch.image).await {
            Ok(_) => {}
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {
                return Err(CounterpartError::MissingImage {
                    name: launch.name.clone(),
                    image: launch.image.clone(),
                    hint: launch.missing_hint.clone(),
                })
            }
            Err(e) => return Err(SandboxError::docker("inspect a counterpart's image")(e).into()),
        }
        let network = run.object_name();
        let container_name = format!("{network}-{}", launch.name);
        let created = self
            .docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(container_name.clone()),
                    ..Default::default()
                }),
                counterpart_config(run, launch, &network),
            )
            .await
            .map_err(SandboxError::docker("create a counterpart's container"))?;
        if let Err(e) = self.docker.start_container(&created.id, None).await {
            let options = RemoveContainerOptions {
                force: true,
                v: true,
                ..Default::default()
            };
            let _ = self
                .docker
                .remove_container(&created.id, Some(options))
                .await;
            return Err(SandboxError::docker("start a counterpart's container")(e).into());
        }
        let ip = self.container_ip(&created.id, &network).await.ok();
        Ok(RunningCounterpart {
            name: launch.name.clone(),
            container_id: created.id,
            container_name,
            network,
            ip,
            port: launch.port,
        })
    }

    /// Waits until the counterpart accepts a TCP connection on its port and returns that address; a process
    /// that exits first, or a port still closed at `timeout`, is an error carrying the end of its log.
    pub async fn wait_counterpart(
        &self,
        counterpart: &mut RunningCounterpart,
        timeout: Duration,
    ) -> Result<SocketAddr, CounterpartError> {
        let started = Instant::now();
        loop {
            if counterpart.ip.is_none() {
                counterpart.ip = self
                    .container_ip(&counterpart.container_id, &counterpart.network)
                    .await
                    .ok();
            }
            let last = match counterpart.addr() {
                Some(addr) => {
                    match tokio::time::timeout(
                        CONNECT_TIMEOUT,
                        tokio::net::TcpStream::connect(addr),
                    )
                    .await
                    {
                        Ok(Ok(_)) => return Ok(addr),
                        Ok(Err(e)) => format!("last attempt: {}", e.kind()),
                        Err(_) => "last attempt: no answer in time".to_string(),
                    }
                }
                None => "it has no address on the run network".to_string(),
            };
            if !self.is_running(&counterpart.container_id).await? {
                let code = self
                    .exit_code(&counterpart.container_id)
                    .await?
                    .unwrap_or(-1);
                return Err(CounterpartError::Exited {
                    name: counterpart.name.clone(),
                    port: counterpart.port,
                    code,
                    log: self.counterpart_logs(counterpart, LOG_TAIL).await,
                });
            }
            if started.elapsed() >= timeout {
                return Err(CounterpartError::NotReady {
                    name: counterpart.name.clone(),
                    port: counterpart.port,
                    after: timeout,
                    last,
                    log: self.counterpart_logs(counterpart, LOG_TAIL).await,
                });
            }
            tokio::time::sleep(READY_POLL).await;
        }
    }

    /// Freezes (`paused`) or thaws the counterpart's processes: its connections stay open and unanswered, as
    /// in a partition or a stalled broker. Asking for the state it is already in is not an error.
    pub async fn pause_counterpart(
        &self,
        counterpart: &RunningCounterpart,
        paused: bool,
    ) -> Result<(), SandboxError> {
        let id = &counterpart.container_id;
        let result = if paused {
            self.docker.pause_container(id).await
        } else {
            self.docker.unpause_container(id).await
        };
        match result {
            Ok(())
            // 409: already in that state.
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => Ok(()),
            Err(e) => Err(SandboxError::docker(if paused {
                "pause a counterpart"
            } else {
                "unpause a counterpart"
            })(e)),
        }
    }

    /// The counterpart's output, its last `cap` bytes; a log that cannot be read says so instead.
    pub async fn counterpart_logs(&self, counterpart: &RunningCounterpart, cap: usize) -> String {
        self.container_logs(&counterpart.container_id, cap)
            .await
            .unwrap_or_else(|e| format!("(the counterpart's log could not be read: {e})"))
    }
}

/// `[a-z][a-z0-9-]{0,19}`: a host name on the run network and the end of a container's name.
pub fn valid_counterpart_name(name: &str) -> bool {
    (1..=20).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn counterpart_config(
    run: &RunLabel,
    launch: &CounterpartLaunch,
    network: &str,
) -> ContainerCreateBody {
    let limits = StartSpec {
        port: launch.port,
        memory_bytes: launch.memory_bytes,
        nano_cpus: launch.nano_cpus,
        pids_limit: launch.pids_limit,
        tmp_bytes: TMP_BYTES,
        nofile: NOFILE,
        ..StartSpec::default()
    };
    let mut host = sandboxed_host_config(&limits, network);
    let data_bytes = u64::try_from(launch.memory_bytes).unwrap_or(TMP_BYTES);
    host.tmpfs.get_or_insert_with(HashMap::new).insert(
        "/data".to_string(),
        format!("rw,nosuid,nodev,size={data_bytes},mode=1777"),
    );
    ContainerCreateBody {
        image: Some(launch.image.clone()),
        cmd: (!launch.command.is_empty()).then(|| launch.command.clone()),
        env: Some(
            std::iter::once("HOME=/tmp".to_string())
                .chain(launch.env.iter().map(|(k, v)| format!("{k}={v}")))
                .collect(),
        ),
        working_dir: launch.working_dir.clone(),
        user: Some(User::DEFAULT.to_string()),
        labels: Some(run.labels("counterpart")),
        host_config: Some(host),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network.to_string(),
                EndpointSettings {
                    aliases: Some(vec![launch.name.clone()]),
                    ipam_config: launch.ip.map(|ip| EndpointIpamConfig {
                        ipv4_address: Some(ip.to_string()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )])),
        }),
        ..Default::default()
    }
}
