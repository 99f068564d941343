//! What went wrong with a service after it became healthy, read from the engine when its checks are over.
//!
//! A service the kernel killed for memory, or one whose threads sit at the process limit, looks from the
//! outside like one that stopped answering: every check after that moment reports that the service could not
//! be reached or took too long. The engine knows better (inspect's `OOMKilled`, the stats' process count), and
//! the learner is told that instead.

use std::collections::HashMap;
use std::time::Duration;

use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;

use super::error::SandboxError;
use super::health::pids_of;
use super::start::Running;
use super::Sandbox;

/// A resource limit the service ran into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The kernel killed the process for using more memory than its limit.
    OutOfMemory { limit_bytes: i64 },
    /// Still alive, but its own memory (not the page cache) fills the limit: the kernel is reclaiming what it
    /// can and the process stalls on every allocation, which is how a leak looks before the kill comes.
    AtMemoryLimit { limit_bytes: u64 },
    /// Processes plus threads sat at the limit, so the service could not start the threads it needed.
    ProcessLimit { limit: u64 },
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::OutOfMemory { limit_bytes } => write!(
                f,
                "your service was killed for using more memory than its limit ({} MiB) while the checks ran, \
                 so the checks after that could not reach it",
                limit_bytes >> 20
            ),
            Fault::AtMemoryLimit { limit_bytes } => write!(
                f,
                "your service filled its memory limit ({} MiB) while the checks ran and stopped answering \
                 in time (a leak, or a cache without bound?)",
                limit_bytes >> 20
            ),
            Fault::ProcessLimit { limit } => write!(
                f,
                "your service reached its limit of {limit} processes and threads while the checks ran and \
                 stopped answering (a thread per request without bound, or a fork bomb?)"
            ),
        }
    }
}

/// How long a service whose memory peaked at its limit is given to finish dying: the kernel's kill and the
/// engine's record of it arrive a moment after the checks saw the service stop answering.
const SETTLE: Duration = Duration::from_secs(3);

impl Sandbox {
    /// The limit the service ran into, if any, judged from the engine's state now.
    pub async fn fault(&self, running: &Running) -> Result<Option<Fault>, SandboxError> {
        let id = &running.container_id;
        if let Some(fault) = self.oom_killed(id).await? {
            return Ok(Some(fault));
        }
        if !self.is_running(id).await? {
            return Ok(None);
        }
        let Some(stats) = self.stats_once(id).await? else {
            return Ok(None);
        };
        if let Some((current, limit)) = pids_of(&stats) {
            if limit > 0 && current >= limit {
                return Ok(Some(Fault::ProcessLimit { limit }));
            }
        }
        let Some(memory) = stats.memory_stats else {
            return Ok(None);
        };
        let limit = memory.limit.unwrap_or(0);
        let near = |bytes: u64| limit > 0 && bytes.saturating_mul(10) >= limit.saturating_mul(9);
        let own = memory
            .stats
            .as_ref()
            .and_then(|s| s.get("rss").or_else(|| s.get("anon")).copied());
        if own.is_some_and(near) {
            return Ok(Some(Fault::AtMemoryLimit { limit_bytes: limit }));
        }
        if memory.max_usage.is_some_and(near) {
            // It peaked at the limit and no longer holds the memory: most likely being killed right now.
            let _ = tokio::time::timeout(SETTLE, self.wait_exit(id)).await;
            return self.oom_killed(id).await;
        }
        Ok(None)
    }

    /// `OutOfMemory` when the kernel killed the service for memory (see `killed_for_memory`).
    async fn oom_killed(&self, id: &str) -> Result<Option<Fault>, SandboxError> {
        let inspect = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(SandboxError::docker("inspect the container"))?;
        let state = inspect.state.unwrap_or_default();
        let limit_bytes = inspect
            .host_config
            .and_then(|h| h.memory)
            .unwrap_or_default();
        let killed = self.killed_for_memory(id, &state).await?;
        Ok(killed.then_some(Fault::OutOfMemory { limit_bytes }))
    }

    /// Whether the engine's recent events hold an `oom` of this container (they are kept in memory, so a
    /// query bounded by `until` returns at once).
    pub(crate) async fn had_oom_event(&self, id: &str) -> Result<bool, SandboxError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() + 1)
            .unwrap_or(0);
        let options = EventsOptions {
            since: Some("0".to_string()),
            until: Some(now.to_string()),
            filters: Some(HashMap::from([
                ("container".to_string(), vec![id.to_string()]),
                ("event".to_string(), vec!["oom".to_string()]),
            ])),
        };
        let mut events = self.docker.events(Some(options));
        match events.next().await {
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) => Err(SandboxError::docker("read the engine's events")(e)),
            None => Ok(false),
        }
    }
}
