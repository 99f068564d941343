//! What the grader does to a running service after it is healthy: read its logs, stop it (and learn whether
//! it shut down gracefully), restart it (after SIGTERM, or after SIGKILL only).

use std::time::{Duration, Instant};

use bollard::container::LogOutput;
use bollard::query_parameters::{KillContainerOptions, LogsOptions, WaitContainerOptions};
use futures_util::StreamExt;

use super::error::SandboxError;
use super::start::Running;
use super::tail::LogTail;
use super::Sandbox;

/// How a `stop` went; `graceful` is what a graceful-shutdown check grades.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// The process exited on SIGTERM within the grace period (false if it had to be killed, or was already
    /// stopped before `stop` was called).
    pub graceful: bool,
    /// The exit code the engine recorded.
    pub exit_code: Option<i64>,
    /// From SIGTERM to exit.
    pub elapsed: Duration,
}

/// After SIGKILL the engine needs a moment to reap; past this the stop is reported as a platform fault.
const KILL_WAIT: Duration = Duration::from_secs(10);

impl Sandbox {
    /// The service's stdout and stderr, interleaved as written, keeping the last `cap` bytes.
    pub async fn logs(&self, running: &Running, cap: usize) -> Result<String, SandboxError> {
        self.container_logs(&running.container_id, cap).await
    }

    /// One container's stdout and stderr, interleaved as written, keeping the last `cap` bytes.
    pub(super) async fn container_logs(
        &self,
        id: &str,
        cap: usize,
    ) -> Result<String, SandboxError> {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let mut stream = self.docker.logs(id, Some(options));
        let mut tail = LogTail::new(cap);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(SandboxError::docker("read the container's logs"))?;
            if let LogOutput::StdOut { message } | LogOutput::StdErr { message } = chunk {
                tail.push(&String::from_utf8_lossy(&message));
            }
        }
        Ok(tail.finish())
    }

    /// Sends SIGTERM, waits up to `grace` for the process to exit, then SIGKILLs it.
    pub async fn stop(&self, running: &Running, grace: Duration) -> Result<Stopped, SandboxError> {
        let id = &running.container_id;
        if !self.is_running(id).await? {
            return Ok(Stopped {
                graceful: false,
                exit_code: self.exit_code(id).await?,
                elapsed: Duration::ZERO,
            });
        }
        let started = Instant::now();
        self.signal(id, "SIGTERM").await?;
        let graceful = tokio::time::timeout(grace, self.wait_exit(id))
            .await
            .is_ok();
        if !graceful {
            self.signal(id, "SIGKILL").await?;
            tokio::time::timeout(KILL_WAIT, self.wait_exit(id))
                .await
                .map_err(|_| SandboxError::Docker {
                    action: "stop the container",
                    source: bollard::errors::Error::RequestTimeoutError,
                })?;
        }
        Ok(Stopped {
            graceful,
            exit_code: self.exit_code(id).await?,
            elapsed: started.elapsed(),
        })
    }

    /// Stops the container (as `stop`) and starts the same one again: same image, same volume, so data
    /// written to `data_dir` survives. The address may change and is read back into `running`.
    pub async fn restart(
        &self,
        running: &mut Running,
        grace: Duration,
    ) -> Result<Stopped, SandboxError> {
        let stopped = self.stop(running, grace).await?;
        self.docker
            .start_container(&running.container_id, None)
            .await
            .map_err(SandboxError::docker("start the container again"))?;
        running.ip = self
            .container_ip(&running.container_id, &running.network)
            .await
            .ok();
        Ok(stopped)
    }

    /// Kills the container with SIGKILL only, no grace, and starts the same one again: what a crash or a
    /// node failure does. Only what the service wrote to its data folder before the kill survives; a service
    /// that saves on shutdown loses it. The address may change and is read back into `running`.
    pub async fn kill_and_start(&self, running: &mut Running) -> Result<(), SandboxError> {
        let id = &running.container_id;
        self.signal(id, "SIGKILL").await?;
        tokio::time::timeout(KILL_WAIT, self.wait_exit(id))
            .await
            .map_err(|_| SandboxError::Docker {
                action: "kill the container",
                source: bollard::errors::Error::RequestTimeoutError,
            })?;
        self.docker
            .start_container(id, None)
            .await
            .map_err(SandboxError::docker("start the container again"))?;
        running.ip = self.container_ip(id, &running.network).await.ok();
        Ok(())
    }

    pub(super) async fn signal(&self, id: &str, signal: &str) -> Result<(), SandboxError> {
        let options = KillContainerOptions {
            signal: signal.to_string(),
        };
        match self.docker.kill_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            // 409: it exited between our check and the signal, which is what we wanted.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => Ok(()),
            Err(e) => Err(SandboxError::docker("signal the container")(e)),
        }
    }

    /// Resolves once the container is not running. A non-zero exit arrives as an error from bollard; either
    /// way it has stopped.
    pub(crate) async fn wait_exit(&self, id: &str) {
        let options = WaitContainerOptions {
            condition: "not-running".to_string(),
        };
        let mut waiting = self.docker.wait_container(id, Some(options));
        let _ = waiting.next().await;
    }

    pub(crate) async fn is_running(&self, id: &str) -> Result<bool, SandboxError> {
        let inspect = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(SandboxError::docker("inspect the container"))?;
        Ok(inspect.state.and_then(|s| s.running).unwrap_or(false))
    }

    pub(crate) async fn exit_code(&self, id: &str) -> Result<Option<i64>, SandboxError> {
        let inspect = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(SandboxError::docker("inspect the container"))?;
        Ok(inspect.state.and_then(|s| s.exit_code))
    }
}
