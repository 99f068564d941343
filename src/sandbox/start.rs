//! Starts a learner's service: a private network with no route out, an optional data volume, and one
//! container with every limit set and no published port.
//!
//! The grader reaches the service at the container's address on that network, so nothing is exposed on the
//! host and the service cannot reach anything but its own network: `internal` stops forwarding, and the host
//! firewall rule on the run's bridge (`firewall.rs`) stops connections into the host itself. Whatever this function created is removed
//! again if a later step fails, so a failed start leaves nothing behind.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use bollard::models::{
    ContainerCreateBody, HostConfig, HostConfigLogConfig, Mount, MountType, ResourcesUlimits,
    RestartPolicy, RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::query_parameters::CreateContainerOptions;

use super::build::ImageId;
use super::error::{cannot_run, SandboxError, StartError};
use super::run::RunLabel;
use super::Sandbox;

/// How to run the service. `Default` gives the course's usual budget.
#[derive(Debug, Clone)]
pub struct StartSpec {
    /// The port the service must listen on; passed as `PORT` and used to reach it.
    pub port: u16,
    /// Extra environment (`KEY=value` pairs), after `PORT`.
    pub env: Vec<(String, String)>,
    /// Memory limit in bytes; swap is disabled so the limit is real.
    pub memory_bytes: i64,
    /// CPU limit in billionths of a CPU (1_000_000_000 = one core).
    pub nano_cpus: i64,
    /// Processes plus threads; what stops a fork bomb from taking the host.
    pub pids_limit: i64,
    /// Size of the writable tmpfs at `/tmp`, the only writable place unless `data_dir` is set.
    pub tmp_bytes: u64,
    /// Where a persistent, run-labelled volume is mounted (for labs that check data survives a restart); it is
    /// made writable by `user`.
    pub data_dir: Option<String>,
    /// `uid:gid` the service runs as; `None` keeps the image's own user (root in a `FROM scratch` image).
    pub user: Option<User>,
    /// Open files (soft and hard); bounds what one process can hold besides memory.
    pub nofile: u64,
}

/// A numeric user and group, what the engine needs when the image has no `/etc/passwd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
}

impl User {
    /// Who services run as unless a lab allows the image's user: no account of the host or of a base image
    /// (those start at 0 and rarely pass 1000 or 65534), so its files and processes are nobody else's.
    pub const DEFAULT: User = User {
        uid: 10001,
        gid: 10001,
    };
}

impl std::fmt::Display for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.uid, self.gid)
    }
}

/// The engine's own log of a container is capped here, whatever the daemon's default, so a service that
/// prints without end fills neither the engine's disk nor the grader's memory when the log is read.
pub const CONTAINER_LOG_MAX: &str = "1m";

impl Default for StartSpec {
    fn default() -> Self {
        Self {
            port: 8080,
            env: Vec::new(),
            memory_bytes: 256 << 20,
            nano_cpus: 1_000_000_000,
            pids_limit: 128,
            tmp_bytes: 64 << 20,
            data_dir: None,
            user: Some(User::DEFAULT),
            nofile: 4096,
        }
    }
}

/// A started service and everything needed to reach, inspect and remove it.
#[derive(Debug, Clone)]
pub struct Running {
    pub run: RunLabel,
    pub container_id: String,
    /// The container's name (`gauntlet-<run>` for the service, `gauntlet-<run>-<suffix>` for an instance).
    pub name: String,
    pub network: String,
    pub volume: Option<String>,
    /// The container's address on its private network, `None` when the service exited before the engine
    /// could be asked (the address goes with the process). It may change across `restart`; `wait_healthy`
    /// returns the address it reached.
    pub ip: Option<IpAddr>,
    pub port: u16,
    /// The image the container runs, so more instances of it can be started (`instance.rs`).
    pub image: ImageId,
    /// The settings it was started with, so instances are sandboxed exactly alike.
    pub spec: StartSpec,
}

impl Running {
    /// `http://ip:port`, the base URL checks call, once the address is known.
    pub fn base_url(&self) -> Option<String> {
        self.ip.map(|ip| base_url(SocketAddr::new(ip, self.port)))
    }
}

/// `http://ip:port` (brackets for IPv6).
pub fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

impl Sandbox {
    /// Creates the run's internal network (and volume), then creates and starts the container on it.
    pub async fn start(
        &self,
        run: &RunLabel,
        image: &ImageId,
        spec: &StartSpec,
    ) -> Result<Running, StartError> {
        self.create_run_network(run, super::Addressing::Dynamic)
            .await?;
        self.start_service(run, image, spec).await
    }

    /// Starts the service on the run's network (made by [`Sandbox::create_run_network`], with any counterparts
    /// already on it). On failure everything of the run is removed, counterparts included: the run is over.
    pub async fn start_service(
        &self,
        run: &RunLabel,
        image: &ImageId,
        spec: &StartSpec,
    ) -> Result<Running, StartError> {
        let name = run.object_name();
        // Undo in reverse order on failure; the run label finds whatever got created.
        match self.start_on_network(run, image, spec, &name).await {
            Ok(running) => Ok(running),
            Err(e) => {
                if let Err(cleanup) = self.remove_run(run).await {
                    tracing::warn!(run = %run, error = %cleanup, "clean-up after a failed start failed");
                }
                Err(e)
            }
        }
    }

    /// Starts the service on a run network its counterparts already run on. A failure removes nothing: the
    /// counterparts' logs are still to be read for the instructor, and the caller's clean-up removes the run.
    pub async fn start_service_beside_counterparts(
        &self,
        run: &RunLabel,
        image: &ImageId,
        spec: &StartSpec,
    ) -> Result<Running, StartError> {
        self.start_on_network(run, image, spec, &run.object_name())
            .await
    }

    async fn start_on_network(
        &self,
        run: &RunLabel,
        image: &ImageId,
        spec: &StartSpec,
        network: &str,
    ) -> Result<Running, StartError> {
        let volume = match &spec.data_dir {
            Some(dir) => {
                let volume = self.create_volume(run, &run.object_name()).await?;
                if let Some(user) = spec.user {
                    self.give_volume_to(run, image, &volume, dir, user).await?;
                }
                Some(volume)
            }
            None => None,
        };
        self.create_and_start(
            run,
            image,
            spec,
            network,
            volume,
            (&run.object_name(), "service"),
        )
        .await
    }

    /// Creates and starts one container of `image` on `network` with `spec`'s limits, named `name` and
    /// labelled with the run and `kind`: the run's service, or an instance of it.
    pub(super) async fn create_and_start(
        &self,
        run: &RunLabel,
        image: &ImageId,
        spec: &StartSpec,
        network: &str,
        volume: Option<String>,
        (name, kind): (&str, &str),
    ) -> Result<Running, StartError> {
        let declared = self.declared_volumes(image).await?;
        let mut config = container_config(run, image, spec, network, volume.as_deref());
        config.labels = Some(run.labels(kind));
        cover_declared_volumes(&mut config, &declared, spec);
        let options = CreateContainerOptions {
            name: Some(name.to_string()),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(Some(options), config)
            .await
            .map_err(SandboxError::docker("create the container"))?;
        let ip = match self.start_created(&created.id, network).await {
            Ok(ip) => ip,
            Err(e) => {
                let options = bollard::query_parameters::RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                };
                if let Err(cleanup) = self
                    .docker
                    .remove_container(&created.id, Some(options))
                    .await
                {
                    tracing::warn!(container = name, error = %cleanup, "removing a container that did not start failed");
                }
                return Err(e);
            }
        };
        Ok(Running {
            run: run.clone(),
            container_id: created.id,
            name: name.to_string(),
            network: network.to_string(),
            volume,
            ip,
            port: spec.port,
            image: image.clone(),
            spec: spec.clone(),
        })
    }

    /// Starts a created container and reads its address (`None` when the process already ended).
    async fn start_created(&self, id: &str, network: &str) -> Result<Option<IpAddr>, StartError> {
        self.docker
            .start_container(id, None)
            .await
            .map_err(|e| match cannot_run(&e) {
                Some(message) => StartError::CannotRun { message },
                None => SandboxError::docker("start the container")(e).into(),
            })?;
        match self.container_ip(id, network).await {
            Ok(ip) => Ok(Some(ip)),
            // Not a platform fault: the learner's process already ended; `wait_healthy` will say how.
            Err(SandboxError::NoAddress) if !self.is_running(id).await? => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A run-labelled volume named `<name>-data`.
    pub(super) async fn create_volume(
        &self,
        run: &RunLabel,
        name: &str,
    ) -> Result<String, SandboxError> {
        let volume = self
            .docker
            .create_volume(VolumeCreateRequest {
                name: Some(format!("{name}-data")),
                labels: Some(run.labels("volume")),
                ..Default::default()
            })
            .await
            .map_err(SandboxError::docker("create the run's volume"))?;
        Ok(volume.name)
    }

    /// The paths the image declares with `VOLUME`; the engine would give each an anonymous volume on the host's
    /// disk, writable past the read-only root and the capped `/tmp`, and labelled with nothing of the run's.
    async fn declared_volumes(&self, image: &ImageId) -> Result<Vec<String>, SandboxError> {
        let inspect = self
            .docker
            .inspect_image(&image.0)
            .await
            .map_err(SandboxError::docker("inspect the image"))?;
        Ok(inspect.config.and_then(|c| c.volumes).unwrap_or_default())
    }

    /// The container's address on `network`, read back from the engine (it assigns it at start).
    pub(crate) async fn container_ip(
        &self,
        container: &str,
        network: &str,
    ) -> Result<IpAddr, SandboxError> {
        let inspect = self
            .docker
            .inspect_container(container, None)
            .await
            .map_err(SandboxError::docker("inspect the container"))?;
        inspect
            .network_settings
            .and_then(|s| s.networks)
            .and_then(|mut n| n.remove(network))
            .and_then(|endpoint| endpoint.ip_address)
            .and_then(|ip| ip.parse().ok())
            .ok_or(SandboxError::NoAddress)
    }
}

/// Mounts a tmpfs of `/tmp`'s size over each path the image declares as a `VOLUME` (but the lab's own data
/// folder), so no anonymous volume is made: what the service writes there is in its memory, counted against
/// its memory limit, and gone with the container. Mode 1777 because the image's files there are not copied
/// in and the service's user may be any.
fn cover_declared_volumes(config: &mut ContainerCreateBody, declared: &[String], spec: &StartSpec) {
    let Some(host) = config.host_config.as_mut() else {
        return;
    };
    let tmpfs = host.tmpfs.get_or_insert_with(HashMap::new);
    for path in declared {
        let path = path.trim_end_matches('/');
        let path = if path.is_empty() { "/" } else { path };
        if spec.data_dir.as_deref().map(|d| d.trim_end_matches('/')) == Some(path) {
            continue;
        }
        tmpfs
            .entry(path.to_string())
            .or_insert_with(|| format!("rw,nosuid,nodev,size={},mode=1777", spec.tmp_bytes));
    }
}

fn container_config(
    run: &RunLabel,
    image: &ImageId,
    spec: &StartSpec,
    network: &str,
    volume: Option<&str>,
) -> ContainerCreateBody {
    // Gauntlet's user has no home in the image; `/tmp` is the one place it can write.
    let home = (spec.user.is_some() && !spec.env.iter().any(|(k, _)| k == "HOME"))
        .then(|| "HOME=/tmp".to_string());
    let env = std::iter::once(format!("PORT={}", spec.port))
        .chain(home)
        .chain(spec.env.iter().map(|(k, v)| format!("{k}={v}")))
        .collect();
    let mounts = match (volume, &spec.data_dir) {
        (Some(volume), Some(dir)) => Some(vec![Mount {
            target: Some(dir.clone()),
            source: Some(volume.to_string()),
            typ: Some(MountType::VOLUME),
            ..Default::default()
        }]),
        _ => None,
    };
    let mut host_config = sandboxed_host_config(spec, network);
    host_config.mounts = mounts;
    ContainerCreateBody {
        image: Some(image.0.clone()),
        user: spec.user.map(|u| u.to_string()),
        env: Some(env),
        labels: Some(run.labels("service")),
        host_config: Some(host_config),
        ..Default::default()
    }
}

/// The settings every container of a run gets, the service's, its instances' and its counterparts': memory with
/// no swap, CPU, processes, open files, a read-only root with a capped `/tmp`, no capabilities, no privilege
/// gain, the run's internal network only, no restarts, and a capped log.
pub(super) fn sandboxed_host_config(spec: &StartSpec, network: &str) -> HostConfig {
    HostConfig {
        log_config: Some(HostConfigLogConfig {
            typ: Some("json-file".to_string()),
            config: Some(HashMap::from([
                ("max-size".to_string(), CONTAINER_LOG_MAX.to_string()),
                ("max-file".to_string(), "1".to_string()),
            ])),
        }),
        ulimits: Some(vec![ResourcesUlimits {
            name: Some("nofile".to_string()),
            soft: i64::try_from(spec.nofile).ok(),
            hard: i64::try_from(spec.nofile).ok(),
        }]),
        memory: Some(spec.memory_bytes),
        memory_swap: Some(spec.memory_bytes),
        nano_cpus: Some(spec.nano_cpus),
        pids_limit: Some(spec.pids_limit),
        readonly_rootfs: Some(true),
        tmpfs: Some(HashMap::from([(
            "/tmp".to_string(),
            format!("rw,nosuid,nodev,size={}", spec.tmp_bytes),
        )])),
        cap_drop: Some(vec!["ALL".to_string()]),
        security_opt: Some(vec!["no-new-privileges".to_string()]),
        network_mode: Some(network.to_string()),
        restart_policy: Some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::NO),
            ..Default::default()
        }),
        ..Default::default()
    }
}
