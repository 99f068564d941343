//! The grader's hold on a running service, for checks that restart it (persistence across a restart), start
//! more instances of it (lifecycle, zero-downtime swap) or read the image it runs (`image`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::instance::{start_error, DockerInstance};
use crate::checks::image::{BaseImage, ExportStream, HistoryEntry, ImageFacts};
use crate::checks::{
    BoxFuture, CounterpartInfo, GraderExecution, GraderRequest, Instance, InstanceData,
    InstanceError, InstanceSpec, RestartMode, ServiceControl, SubmittedFile,
};
use crate::sandbox::{base_url, DataVolume, ImageRecord, Launch, Running, Sandbox};

/// How long a service gets to exit on SIGTERM when a check restarts it; data written before is expected to
/// survive even the kill that follows.
const RESTART_GRACE: Duration = Duration::from_secs(3);

/// Restarts one run's container through the sandbox, and starts instances beside it.
pub struct DockerControl {
    sandbox: Sandbox,
    running: tokio::sync::Mutex<Running>,
    health: String,
    start_timeout: Duration,
    current: Mutex<Option<url::Url>>,
    /// Numbers instances, so a role may be launched again under a new container name.
    launched: AtomicU32,
    /// The unpacked submission, for checks that read a file of it; `None` where there is none.
    project: Option<std::path::PathBuf>,
    /// The lab's counterparts, started before the service; checks find and pause them by name.
    counterparts: Vec<super::counterparts::Started>,
    /// The lab's own grader, when its checks name one; run once, by the first grader check.
    grader: Option<super::grader::PreparedGrader>,
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
            launched: AtomicU32::new(0),
            project: None,
            counterparts: Vec::new(),
            grader: None,
        }
    }

    /// Lets grader checks run the lab's grader (see [`super::grader::prepare`]).
    pub fn with_grader(mut self, grader: Option<super::grader::PreparedGrader>) -> Self {
        self.grader = grader;
        self
    }

    /// Lets checks reach (and pause) the run's counterparts.
    pub fn with_counterparts(mut self, counterparts: Vec<super::counterparts::Started>) -> Self {
        self.counterparts = counterparts;
        self
    }

    /// Lets checks read files of the unpacked submission at `dir` (kept until the run is cleaned up).
    pub fn with_project(mut self, dir: std::path::PathBuf) -> Self {
        self.project = Some(dir);
        self
    }
}

impl ServiceControl for DockerControl {
    fn restart(&self, mode: RestartMode) -> BoxFuture<'_, Result<url::Url, String>> {
        Box::pin(async move {
            let mut running = self.running.lock().await;
            let restarted = match mode {
                RestartMode::Graceful => self
                    .sandbox
                    .restart(&mut running, RESTART_GRACE)
                    .await
                    .map(|_| ()),
                RestartMode::Kill => self.sandbox.kill_and_start(&mut running).await,
            };
            restarted.map_err(|e| format!("the container could not be restarted: {e}"))?;
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

    fn launch(
        &self,
        spec: InstanceSpec,
    ) -> BoxFuture<'_, Result<Arc<dyn Instance>, InstanceError>> {
        Box::pin(async move {
            let role_ok = (1..=24).contains(&spec.role.len())
                && spec
                    .role
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !role_ok {
                return Err(InstanceError::Platform(format!(
                    "`{}` is not a valid instance role (1 to 24 of a-z, 0-9, `-`)",
                    spec.role
                )));
            }
            let n = self.launched.fetch_add(1, Ordering::SeqCst) + 1;
            let service = self.running.lock().await.clone();
            let launch = Launch {
                suffix: format!("{}-{n}", spec.role.trim_start_matches('-')),
                port: spec.port.unwrap_or(service.port),
                env: spec.env.into_iter().collect(),
                data: match spec.data {
                    InstanceData::Shared => DataVolume::Run,
                    InstanceData::Fresh => DataVolume::Fresh,
                },
            };
            let running = self
                .sandbox
                .launch(&service, &launch)
                .await
                .map_err(start_error)?;
            let own_volume = match launch.data {
                DataVolume::Fresh => running.volume.clone(),
                DataVolume::Run => None,
            };
            Ok(Arc::new(DockerInstance::new(
                self.sandbox.clone(),
                running,
                own_volume,
            )) as Arc<dyn Instance>)
        })
    }

    fn image_facts(&self) -> BoxFuture<'_, Result<ImageFacts, String>> {
        Box::pin(async move {
            let image = self.image().await?;
            let record = self
                .sandbox
                .read_image(&image)
                .await
                .map_err(|e| e.to_string())?;
            Ok(facts(record))
        })
    }

    fn export_image(&self) -> BoxFuture<'_, Result<ExportStream, String>> {
        Box::pin(async move {
            let image = self.image().await?;
            Ok(Box::pin(self.sandbox.export_image(&image)) as ExportStream)
        })
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

    fn counterpart(&self, name: &str) -> Option<CounterpartInfo> {
        self.counterparts
            .iter()
            .find(|c| c.spec.name == name)
            .map(super::counterparts::Started::info)
    }

    fn run_grader(&self, request: GraderRequest) -> BoxFuture<'_, Arc<GraderExecution>> {
        Box::pin(self.grader_execution(request))
    }

    fn pause_counterpart(&self, name: &str, paused: bool) -> BoxFuture<'_, Result<(), String>> {
        let found = self
            .counterparts
            .iter()
            .find(|c| c.spec.name == name)
            .map(|c| c.running.clone());
        let name = name.to_string();
        Box::pin(async move {
            let Some(running) = found else {
                return Err(format!("the lab has no counterpart `{name}`"));
            };
            self.sandbox
                .pause_counterpart(&running, paused)
                .await
                .map_err(|e| format!("counterpart `{name}`: {e}"))
        })
    }
}

impl DockerControl {
    async fn grader_execution(&self, request: GraderRequest) -> Arc<GraderExecution> {
        let Some(grader) = &self.grader else {
            return GraderExecution::platform(
                "the lab's checks name a grader, but this run prepared none (labs/<id>/grader/)",
            );
        };
        let service = self.running.lock().await.clone();
        grader
            .execution(
                &self.sandbox,
                &service,
                self.base_url(),
                self.project.clone(),
                request,
            )
            .await
    }

    /// The image the run's container was created from (the one its checks grade).
    async fn image(&self) -> Result<String, String> {
        let running = self.running.lock().await;
        self.sandbox
            .image_of(&running)
            .await
            .map_err(|e| e.to_string())
    }
}

/// The engine's record of an image as the check engine reads it.
fn facts(r: ImageRecord) -> ImageFacts {
    ImageFacts {
        id: r.id,
        user: r.user,
        entrypoint: r.entrypoint,
        cmd: r.cmd,
        env: r.env,
        size: r.size,
        layers: r.layers,
        history: r
            .history
            .into_iter()
            .map(|h| HistoryEntry {
                created_by: h.created_by,
                size: h.size,
                empty_layer: h.empty_layer,
            })
            .collect(),
        base: r.base.map(|b| BaseImage {
            name: b.name,
            layers: b.layers,
            history: b.history,
            size: b.size,
            env: b.env,
        }),
    }
}
