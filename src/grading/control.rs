//! The grader's hold on a running service, for checks that restart it (persistence across a restart).

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use crate::checks::{ServiceControl, SubmittedFile};
use crate::sandbox::{base_url, Running, Sandbox};

/// How long a service gets to exit on SIGTERM when a check restarts it; data written before is expected to
/// survive even the kill that follows.
const RESTART_GRACE: Duration = Duration::from_secs(3);

/// Restarts one run's container through the sandbox.
pub struct DockerControl {
    sandbox: Sandbox,
    running: tokio::sync::Mutex<Running>,
    health: String,
    start_timeout: Duration,
    current: Mutex<Option<url::Url>>,
    /// The unpacked submission, for checks that read a file of it; `None` where there is none.
    project: Option<std::path::PathBuf>,
}

impl DockerControl {
    pub fn new(
        sandbox: Sandbox,
        running: Running,
        health: String,
        start_timeout: Duration,
        url: url::Url,
    ) -> Self {
        DockerControl {
            sandbox,
            running: tokio::sync::Mutex::new(running),
            health,
            start_timeout,
            current: Mutex::new(Some(url)),
            project: None,
        }
    }

    /// Lets checks read files of the unpacked submission at `dir` (kept until the run is cleaned up).
    pub fn with_project(mut self, dir: std::path::PathBuf) -> Self {
        self.project = Some(dir);
        self
    }
}

impl ServiceControl for DockerControl {
    fn restart(&self) -> Pin<Box<dyn Future<Output = Result<url::Url, String>> + Send + '_>> {
        Box::pin(async move {
            let mut running = self.running.lock().await;
            self.sandbox
                .restart(&mut running, RESTART_GRACE)
                .await
                .map_err(|e| format!("the container could not be restarted: {e}"))?;
            let address = self
                .sandbox
                .wait_healthy(&running, &self.health, self.start_timeout)
                .await
                .map_err(|e| e.to_string())?;
            let url = url::Url::parse(&base_url(address)).map_err(|e| e.to_string())?;
            if let Ok(mut current) = self.current.lock() {
                *current = Some(url.clone());
            }
            Ok(url)
        })
    }

    fn base_url(&self) -> Option<url::Url> {
        self.current.lock().ok().and_then(|c| c.clone())
    }

    fn submitted_file(&self, path: String, max: usize) -> SubmittedFile<'_> {
        Box::pin(async move {
            let Some(root) = self.project.clone() else {
                return Err("the submitted project is not at hand".to_string());
            };
            let rel = path.clone();
            tokio::task::spawn_blocking(move || super::submitted::read(&root, &rel, max))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("reading the submitted file {path}: {e}"))
        })
    }
}
