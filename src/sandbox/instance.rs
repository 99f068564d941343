//! More containers of a run's image beside its service: what lifecycle and zero-downtime checks need (a second
//! copy on another port, a blue and a green version sharing the data).
//!
//! An instance is started from the service's own [`Running`]: the same image, the same [`StartSpec`] (user,
//! read-only root, memory, CPU, processes, open files, dropped capabilities, the `/tmp` size), on the same
//! internal network (so the same firewall rule and no route out), labelled with the run (so `remove_run` and
//! the reaper find it) and named `gauntlet-<run>-<suffix>`. Only the port, environment overrides and the
//! data volume differ. No health wait is forced on it: [`Sandbox::wait_listening`] only waits for the port to
//! accept connections, because a lifecycle check must see the service while it is still starting.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bollard::query_parameters::{RemoveContainerOptions, RemoveVolumeOptions};

use super::error::{SandboxError, StartError};
use super::start::Running;
use super::Sandbox;

/// Which data an instance sees at the lab's data folder; labs without a data folder mount nothing either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataVolume {
    /// The run's data volume, shared with the service (and any other instance given it): two versions of a
    /// service reading and writing the same store.
    Run,
    /// A new volume of its own, handed to the service's user and removed with the instance.
    Fresh,
}

/// How to start one instance.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Appended to the run's object name (`gauntlet-<run>-<suffix>`); 1 to 32 of `a-z 0-9 -`, unique in the
    /// run (the engine refuses a second container of one name).
    pub suffix: String,
    /// The port it must listen on, passed as `PORT`.
    pub port: u16,
    /// Set on top of the service's environment (a value here replaces the service's); `PORT` is `port`'s.
    pub env: Vec<(String, String)>,
    pub data: DataVolume,
}

/// How an instance's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exited {
    /// The exit code the engine recorded (137 after SIGKILL, 143 for a default SIGTERM death).
    pub code: i64,
    /// The kernel killed it for memory.
    pub oom: bool,
}

/// Pause between connection attempts while waiting for a port to open.
const LISTEN_POLL: Duration = Duration::from_millis(25);
/// Bound on one connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

impl Sandbox {
    /// Starts another container of `service`'s image on its network, as [`Launch`] says. Whatever it created
    /// is removed again if a step fails.
    pub async fn launch(&self, service: &Running, launch: &Launch) -> Result<Running, StartError> {
        let name = instance_name(service, &launch.suffix)?;
        let mut spec = service.spec.clone();
        spec.port = launch.port;
        for (key, value) in &launch.env {
            if key == "PORT" {
                continue;
            }
            match spec.env.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value.clone(),
                None => spec.env.push((key.clone(), value.clone())),
            }
        }
        let (volume, fresh) = match (&spec.data_dir, launch.data) {
            (None, _) => (None, false),
            (Some(_), DataVolume::Run) => (service.volume.clone(), false),
            (Some(dir), DataVolume::Fresh) => {
                let volume = self.create_volume(&service.run, &name).await?;
                if let Some(user) = spec.user {
                    if let Err(e) = self
                        .give_volume_to(&service.run, &service.image, &volume, dir, user)
                        .await
                    {
                        self.remove_volume_quietly(&volume).await;
                        return Err(e);
                    }
                }
                (Some(volume), true)
            }
        };
        let started = self
            .create_and_start(
                &service.run,
                &service.image,
                &spec,
                &service.network,
                volume.clone(),
                (&name, "instance"),
            )
            .await;
        // `create_and_start` removed a container it created and could not start; the volume is left.
        if let (Err(_), true, Some(volume)) = (&started, fresh, &volume) {
            self.remove_volume_quietly(volume).await;
        }
        started
    }

    /// Waits until the instance accepts a TCP connection on its port (nothing is sent), and returns that
    /// address. A process that exits first is reported at once, with its code.
    pub async fn wait_listening(
        &self,
        running: &Running,
        timeout: Duration,
    ) -> Result<SocketAddr, StartError> {
        let started = Instant::now();
        let mut ip = running.ip;
        loop {
            if ip.is_none() {
                ip = self
                    .container_ip(&running.container_id, &running.network)
                    .await
                    .ok();
            }
            let last = match ip {
                Some(ip) => {
                    let addr = SocketAddr::new(ip, running.port);
                    match tokio::time::timeout(
                        CONNECT_TIMEOUT,
                        tokio::net::TcpStream::connect(addr),
                    )
                    .await
                    {
                        Ok(Ok(_)) => return Ok(addr),
                        Ok(Err(e)) => format!("could not connect: {}", e.kind()),
                        Err(_) => "the connection was not accepted in time".to_string(),
                    }
                }
                None => "the container has no address yet".to_string(),
            };
            self.fail_if_exited(&running.container_id).await?;
            if started.elapsed() >= timeout {
                return Err(StartError::NotListening {
                    after: timeout,
                    port: running.port,
                    last,
                });
            }
            tokio::time::sleep(LISTEN_POLL).await;
        }
    }

    /// Sends `signal` (`SIGTERM`, `SIGKILL`, …) to the container's main process; a process that already
    /// exited is not an error.
    pub async fn send_signal(&self, running: &Running, signal: &str) -> Result<(), SandboxError> {
        self.signal(&running.container_id, signal).await
    }

    /// Waits up to `timeout` for the process to exit: `None` if it is still running then.
    pub async fn wait_exited(
        &self,
        running: &Running,
        timeout: Duration,
    ) -> Result<Option<Exited>, SandboxError> {
        let id = &running.container_id;
        if tokio::time::timeout(timeout, self.wait_exit(id))
            .await
            .is_err()
        {
            return Ok(None);
        }
        let inspect = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(SandboxError::docker("inspect the container"))?;
        let state = inspect.state.unwrap_or_default();
        if state.running == Some(true) {
            return Ok(None);
        }
        let oom = self.killed_for_memory(id, &state).await?;
        Ok(Some(Exited {
            code: state.exit_code.unwrap_or(-1),
            oom,
        }))
    }

    /// Removes one container (running or not) and, when `volume` is given, that volume after it: an instance
    /// with a fresh volume. Gone already is not an error.
    pub async fn remove_container(
        &self,
        running: &Running,
        volume: Option<&str>,
    ) -> Result<(), SandboxError> {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        match self
            .docker
            .remove_container(&running.container_id, Some(options))
            .await
        {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => return Err(SandboxError::docker("remove the container")(e)),
        }
        if let Some(volume) = volume {
            match self
                .docker
                .remove_volume(volume, Some(RemoveVolumeOptions { force: true }))
                .await
            {
                Ok(())
                | Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => {}
                Err(e) => return Err(SandboxError::docker("remove the volume")(e)),
            }
        }
        Ok(())
    }

    async fn remove_volume_quietly(&self, volume: &str) {
        let _ = self
            .docker
            .remove_volume(volume, Some(RemoveVolumeOptions { force: true }))
            .await;
    }
}

/// `gauntlet-<run>-<suffix>`, once the suffix is known to be safe in a Docker name.
fn instance_name(service: &Running, suffix: &str) -> Result<String, SandboxError> {
    let valid = (1..=32).contains(&suffix.len())
        && suffix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !suffix.starts_with('-');
    if !valid {
        return Err(SandboxError::InvalidInstanceName(suffix.to_string()));
    }
    Ok(format!("{}-{suffix}", service.run.object_name()))
}
