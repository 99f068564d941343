//! Instances of a run's service that checks start themselves (`checks::Instance`), over the sandbox.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::checks::{BoxFuture, Exit, Instance, InstanceError, Signal};
use crate::sandbox::{base_url, Running, Sandbox, SandboxError, StartError};

/// One instance container; removed by `remove`, else in the background when dropped, else with the run.
pub struct DockerInstance {
    sandbox: Sandbox,
    /// Cloned out for each call, so a wait for the exit does not hold up a signal; replaced after a restart.
    running: Mutex<Running>,
    /// Where it answers: known at start, replaced after a restart.
    url: Mutex<Option<url::Url>>,
    /// Its own data volume, removed with it (`None` when it shares the run's or the lab has none).
    own_volume: Option<String>,
    removed: AtomicBool,
}

impl DockerInstance {
    pub fn new(sandbox: Sandbox, running: Running, own_volume: Option<String>) -> Self {
        let url = url_of(&running);
        DockerInstance {
            sandbox,
            running: Mutex::new(running),
            url: Mutex::new(url),
            own_volume,
            removed: AtomicBool::new(false),
        }
    }

    fn running(&self) -> Result<Running, InstanceError> {
        self.running
            .lock()
            .map(|r| r.clone())
            .map_err(|_| InstanceError::Platform("the instance's state was poisoned".into()))
    }

    fn set_url(&self, url: Option<url::Url>) {
        if let Ok(mut slot) = self.url.lock() {
            *slot = url;
        }
    }
}

fn url_of(running: &Running) -> Option<url::Url> {
    running.base_url().and_then(|u| url::Url::parse(&u).ok())
}

/// A platform fault with its causes, for the instructor's detail.
pub(super) fn platform(e: &SandboxError) -> InstanceError {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    InstanceError::Platform(text)
}

/// The learner's fault in the learner's words; the platform's with its causes.
pub(super) fn start_error(e: StartError) -> InstanceError {
    match e {
        StartError::Platform(p) => platform(&p),
        other => InstanceError::Service(other.to_string()),
    }
}

impl Instance for DockerInstance {
    fn name(&self) -> String {
        self.running
            .lock()
            .map(|r| r.name.clone())
            .unwrap_or_default()
    }

    fn url(&self) -> Option<url::Url> {
        self.url.lock().ok().and_then(|u| u.clone())
    }

    fn wait_listening(&self, timeout: Duration) -> BoxFuture<'_, Result<url::Url, InstanceError>> {
        Box::pin(async move {
            let running = self.running()?;
            let address = self
                .sandbox
                .wait_listening(&running, timeout)
                .await
                .map_err(start_error)?;
            let url = url::Url::parse(&base_url(address))
                .map_err(|e| InstanceError::Platform(e.to_string()))?;
            self.set_url(Some(url.clone()));
            Ok(url)
        })
    }

    fn signal(&self, signal: Signal) -> BoxFuture<'_, Result<(), InstanceError>> {
        Box::pin(async move {
            let running = self.running()?;
            self.sandbox
                .send_signal(&running, signal.name())
                .await
                .map_err(|e| platform(&e))
        })
    }

    fn wait_exit(&self, timeout: Duration) -> BoxFuture<'_, Result<Option<Exit>, InstanceError>> {
        Box::pin(async move {
            let running = self.running()?;
            let exited = self
                .sandbox
                .wait_exited(&running, timeout)
                .await
                .map_err(|e| platform(&e))?;
            Ok(exited.map(|e| Exit {
                code: e.code,
                oom: e.oom,
            }))
        })
    }

    fn kill_and_start(&self) -> BoxFuture<'_, Result<(), InstanceError>> {
        Box::pin(async move {
            let mut running = self.running()?;
            self.sandbox
                .kill_and_start(&mut running)
                .await
                .map_err(|e| platform(&e))?;
            self.set_url(url_of(&running));
            if let Ok(mut slot) = self.running.lock() {
                *slot = running;
            }
            Ok(())
        })
    }

    fn logs(&self, cap: usize) -> BoxFuture<'_, Result<String, InstanceError>> {
        Box::pin(async move {
            let running = self.running()?;
            self.sandbox
                .logs(&running, cap)
                .await
                .map_err(|e| platform(&e))
        })
    }

    fn remove(&self) -> BoxFuture<'_, Result<(), InstanceError>> {
        Box::pin(async move {
            if self.removed.swap(true, Ordering::SeqCst) {
                return Ok(());
            }
            let running = self.running()?;
            let removed = self
                .sandbox
                .remove_container(&running, self.own_volume.as_deref())
                .await;
            if removed.is_err() {
                // Let a later call (or the drop) try again.
                self.removed.store(false, Ordering::SeqCst);
            }
            removed.map_err(|e| platform(&e))
        })
    }
}

impl Drop for DockerInstance {
    /// A check that returns early (a failed step, its deadline) still frees the instance's memory and CPU
    /// before the run ends; the run's clean-up removes it anyway if this cannot run.
    fn drop(&mut self) {
        if self.removed.load(Ordering::SeqCst) {
            return;
        }
        let (Ok(handle), Ok(running)) = (tokio::runtime::Handle::try_current(), self.running())
        else {
            return;
        };
        let sandbox = self.sandbox.clone();
        let volume = self.own_volume.clone();
        handle.spawn(async move {
            if let Err(e) = sandbox.remove_container(&running, volume.as_deref()).await {
                tracing::warn!(error = %e, "removing a dropped instance failed; the run's clean-up will");
            }
        });
    }
}
