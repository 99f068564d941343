//! Waits for a started service to answer its health route, and names why it never did.
//!
//! Between probes the container's state is read, so a service that crashed is reported at once with its exit
//! code (and whether the kernel killed it for memory) instead of after the full timeout; and its process
//! count is read from the stats, because a fork bomb does not exit: it pins the count at the pids limit and
//! simply stops answering, which only the stats reveal.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bollard::models::{ContainerState, ContainerStatsResponse};
use bollard::query_parameters::StatsOptions;
use futures_util::StreamExt;
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use super::error::{SandboxError, StartError};
use super::start::Running;
use super::Sandbox;

/// Pause between probes: short, since the time to first answer is a reported figure.
const PROBE_INTERVAL: Duration = Duration::from_millis(100);
/// Bound on one probe, so a service that accepts and never answers cannot stall the loop.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the stats are read; each read costs the engine a cgroup walk.
const STATS_INTERVAL: Duration = Duration::from_secs(1);
/// Consecutive stats reads at the pids limit before it is called a fork bomb (one could be a burst).
const PINNED_READS: u32 = 2;

impl Sandbox {
    /// Polls `GET http://ip:port{path}` until it answers 2xx, the container exits, or `timeout` passes.
    /// Returns the address that answered, which is where the checks should go.
    pub async fn wait_healthy(
        &self,
        running: &Running,
        path: &str,
        timeout: Duration,
    ) -> Result<SocketAddr, StartError> {
        let started = Instant::now();
        let mut next_stats = started;
        let mut pinned = 0;
        let mut ip = running.ip;
        loop {
            if ip.is_none() {
                ip = self
                    .container_ip(&running.container_id, &running.network)
                    .await
                    .ok();
            }
            let last = match ip {
                Some(ip) => match probe(SocketAddr::new(ip, running.port), path).await {
                    Ok(status) if (200..300).contains(&status) => {
                        return Ok(SocketAddr::new(ip, running.port))
                    }
                    Ok(status) => format!("HTTP {status}"),
                    Err(reason) => reason,
                },
                None => "the container has no address yet".to_string(),
            };
            self.fail_if_exited(&running.container_id).await?;
            if Instant::now() >= next_stats {
                next_stats = Instant::now() + STATS_INTERVAL;
                match self.pids(&running.container_id).await? {
                    Some((current, limit)) if limit > 0 && current >= limit => pinned += 1,
                    _ => pinned = 0,
                }
                if pinned >= PINNED_READS {
                    return Err(StartError::ForkBomb {
                        pids: self.pids(&running.container_id).await?.map_or(0, |p| p.0),
                    });
                }
            }
            if started.elapsed() >= timeout {
                return Err(StartError::Timeout {
                    after: timeout,
                    path: path.to_string(),
                    last,
                });
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
    }

    pub(super) async fn fail_if_exited(&self, container: &str) -> Result<(), StartError> {
        let inspect = self
            .docker
            .inspect_container(container, None)
            .await
            .map_err(SandboxError::docker("inspect the container"))?;
        let state = inspect.state.unwrap_or_default();
        if state.running == Some(true) {
            return Ok(());
        }
        let oom = self.killed_for_memory(container, &state).await?;
        Err(StartError::Exited {
            code: state.exit_code.unwrap_or(-1),
            oom,
        })
    }

    /// Current and maximum process count from a one-shot stats read; `None` when the engine has none.
    pub async fn pids(&self, container: &str) -> Result<Option<(u64, u64)>, SandboxError> {
        Ok(self.stats_once(container).await?.and_then(|s| pids_of(&s)))
    }

    /// One read of the container's stats (`None` when the engine sends none).
    pub(crate) async fn stats_once(
        &self,
        container: &str,
    ) -> Result<Option<ContainerStatsResponse>, SandboxError> {
        let options = StatsOptions {
            stream: false,
            one_shot: true,
        };
        match self.docker.stats(container, Some(options)).next().await {
            Some(Ok(stats)) => Ok(Some(stats)),
            Some(Err(e)) => Err(SandboxError::docker("read the container's stats")(e)),
            None => Ok(None),
        }
    }

    /// Whether the kernel killed the container's process for memory. The engine's `OOMKilled` can miss a
    /// kill whose exit it processed first, and may still show the container running a moment after the kill;
    /// the `oom` event it sent does not, so without the flag the events are asked (they are in the engine's
    /// memory: one short request).
    pub(crate) async fn killed_for_memory(
        &self,
        container: &str,
        state: &ContainerState,
    ) -> Result<bool, SandboxError> {
        if state.oom_killed == Some(true) {
            return Ok(true);
        }
        self.had_oom_event(container).await
    }
}

/// Current and maximum process count in a stats read (a missing maximum reads as 0, no limit).
pub(crate) fn pids_of(stats: &ContainerStatsResponse) -> Option<(u64, u64)> {
    let p = stats.pids_stats.as_ref()?;
    Some((p.current?, p.limit.unwrap_or(0)))
}

/// One `GET`; the status code, or why there was none, in words for the learner.
async fn probe(addr: SocketAddr, path: &str) -> Result<u16, String> {
    let attempt = async {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("could not connect to port {}: {}", addr.port(), e.kind()))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake failed: {e}"))?;
        let connection = tokio::spawn(connection);
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, addr.to_string())
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("bad health path {path:?}: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("no HTTP response: {e}"));
        connection.abort();
        Ok(response?.status().as_u16())
    };
    tokio::time::timeout(PROBE_TIMEOUT, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {}s", PROBE_TIMEOUT.as_secs())))
}
