//! The queue side of grading: a pool of workers, each claiming one run at a time with a lease, renewing it by
//! heartbeat, feeding the pipeline's events into the store, and recording the result exactly once.
//!
//! A worker that loses its lease (it stalled, or another worker took the run after expiry) stops at once and
//! removes its containers; the store refuses its writes anyway. When the Docker engine cannot be reached, workers
//! claim nothing: runs stay queued and proceed when it comes back.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

use super::events::RunEvent;
use super::pipeline::{self, Job, Report};
use crate::archive::ArchiveLimits;
use crate::checks::{CheckOutcome, CheckSuite};
use crate::curriculum::SharedCurriculum;
use crate::domain::{LabId, RunState};
use crate::sandbox::{RunLabel, Sandbox};
use crate::store::{CheckResultRow, FinalResult, RunRow, Store};

/// How workers behave; the defaults suit one machine.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Concurrent runs in this process.
    pub workers: usize,
    /// How long a claim lasts without a heartbeat.
    pub lease: Duration,
    pub heartbeat: Duration,
    /// How often an idle worker looks at the queue (a submission in this process wakes it sooner).
    pub poll: Duration,
    /// Where projects are unpacked while they are graded.
    pub work_dir: PathBuf,
    pub limits: ArchiveLimits,
    /// What learners' builds may read and how large their context may be.
    pub build_policy: crate::sandbox::BuildPolicy,
    /// Names this process's workers in leases and logs.
    pub name: String,
    /// How run networks are kept off the grading host.
    pub firewall: crate::sandbox::FirewallMode,
    /// The key of per-run secrets; the server's own (from its data folder) when started by `startup`.
    pub secrets: super::secrets::RunSecrets,
}

impl WorkerSettings {
    pub fn new(work_dir: PathBuf) -> WorkerSettings {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "gauntlet".to_string());
        WorkerSettings {
            workers: 2,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(5),
            poll: Duration::from_millis(500),
            work_dir,
            limits: ArchiveLimits::default(),
            build_policy: crate::sandbox::BuildPolicy::default(),
            name: format!("{host}-{}", std::process::id()),
            firewall: crate::sandbox::FirewallMode::default(),
            secrets: super::secrets::RunSecrets::ephemeral(),
        }
    }
}

/// Running workers; dropping the pool does not stop them, [`WorkerPool::shutdown`] does.
pub struct WorkerPool {
    handles: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    wake: Arc<Notify>,
}

struct Worker {
    id: String,
    store: Store,
    curriculum: SharedCurriculum,
    settings: WorkerSettings,
    instance: String,
    stop: watch::Receiver<bool>,
    wake: Arc<Notify>,
}

impl WorkerPool {
    /// Starts `settings.workers` workers.
    pub fn spawn(
        store: Store,
        curriculum: SharedCurriculum,
        instance: String,
        settings: WorkerSettings,
    ) -> WorkerPool {
        let (stop, stop_rx) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let handles = (0..settings.workers)
            .map(|n| {
                let worker = Worker {
                    id: format!("{}-{n}", settings.name),
                    store: store.clone(),
                    curriculum: curriculum.clone(),
                    settings: settings.clone(),
                    instance: instance.clone(),
                    stop: stop_rx.clone(),
                    wake: wake.clone(),
                };
                tokio::spawn(worker.run())
            })
            .collect();
        WorkerPool {
            handles,
            stop,
            wake,
        }
    }

    /// Wakes an idle worker (a run was just queued).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// A handle to wake workers from elsewhere (the web handlers).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Asks every worker to stop after its current run and waits for them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.wake.notify_waiters();
        for h in self.handles {
            let _ = h.await;
        }
    }
}

impl Worker {
    async fn run(mut self) {
        let mut sandbox: Option<Sandbox> = None;
        while !*self.stop.borrow() {
            let Some(docker) = self.docker(&mut sandbox).await else {
                self.idle().await;
                continue;
            };
            match self
                .store
                .claim_run(&self.id, lease_ms(&self.settings))
                .await
            {
                Ok(Some(run)) => {
                    let id = run.id;
                    if let Err(e) = self.grade(&docker, run).await {
                        tracing::error!(run = id, worker = %self.id, error = %e, "grading failed");
                    }
                }
                Ok(None) => self.idle().await,
                Err(e) => {
                    tracing::warn!(worker = %self.id, error = %e, "cannot read the queue");
                    self.idle().await;
                }
            }
        }
    }

    /// The Docker connection, made or checked before each claim so that no run is claimed without an engine.
    async fn docker(&self, cached: &mut Option<Sandbox>) -> Option<Sandbox> {
        if let Some(s) = cached.as_ref() {
            if s.ping().await.is_ok() {
                return Some(s.clone());
            }
        }
        let connected = Sandbox::connect()
            .await
            .map(|s| s.with_build_policy(self.settings.build_policy.clone()));
        match connected {
            Ok(s) if s.ping().await.is_ok() => {
                let s = s.with_firewall(self.settings.firewall);
                *cached = Some(s.clone());
                Some(s)
            }
            _ => {
                *cached = None;
                tracing::debug!(worker = %self.id, "the Docker engine cannot be reached; runs stay queued");
                None
            }
        }
    }

    async fn idle(&mut self) {
        tokio::select! {
            _ = tokio::time::sleep(self.settings.poll) => {}
            _ = self.wake.notified() => {}
            _ = self.stop.changed() => {}
        }
    }

    async fn grade(&self, sandbox: &Sandbox, run: RunRow) -> Result<(), crate::store::StoreError> {
        let span = tracing::info_span!("run", run = run.id, lab = %run.lab_id, worker = %self.id);
        let _enter = span.enter();
        let label = match RunLabel::parse(&super::reaper::run_label(&self.instance, run.id)) {
            Ok(l) => l,
            Err(e) => {
                return self
                    .fail_setup(&run, format!("invalid run label: {e}"))
                    .await
            }
        };
        // A previous attempt of this run may have died leaving its objects behind.
        let _ = sandbox.remove_run(&label).await;
        let curriculum = crate::curriculum::current(&self.curriculum);
        let Some(lab) = LabId::parse(&run.lab_id)
            .ok()
            .and_then(|id| curriculum.lab(&id).cloned())
        else {
            return self
                .fail_setup(
                    &run,
                    format!("lab `{}` is no longer in the curriculum", run.lab_id),
                )
                .await;
        };
        let suite = match CheckSuite::load(&lab.dir, &curriculum.pillar_ids()) {
            Ok(s) => s,
            Err(problems) => {
                let detail = problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("\n");
                return self
                    .fail_setup(&run, format!("the lab's checks do not load:\n{detail}"))
                    .await;
            }
        };
        let hints: Vec<(String, String)> = suite
            .checks
            .iter()
            .map(|c| (c.id.clone(), c.hint.clone()))
            .collect();
        let archive = self.store.submission_archive(run.submission_id).await?;
        let job = Job {
            label: label.clone(),
            lab,
            suite,
            archive,
            seed: run.seed as u64,
            secrets: self.settings.secrets.clone(),
            limits: self.settings.limits.clone(),
            work_dir: self.settings.work_dir.join(label.as_str()),
        };

        let (tx, rx) = mpsc::unbounded_channel::<RunEvent>();
        let lost = Arc::new(Notify::new());
        let writer = tokio::spawn(write_events(
            self.store.clone(),
            run.id,
            self.id.clone(),
            rx,
            lost.clone(),
        ));
        let heartbeat = tokio::spawn(heartbeat(
            self.store.clone(),
            run.id,
            self.id.clone(),
            self.settings.clone(),
            lost.clone(),
        ));
        let mut running = None;
        let report = tokio::select! {
            report = pipeline::grade(sandbox, &job, &tx, &mut running) => Some(report),
            _ = lost.notified() => None,
        };
        drop(tx);
        let _ = writer.await;
        let outcome = match report {
            None => {
                tracing::warn!("lost the lease; abandoning the run to the worker that holds it");
                Ok(())
            }
            Some(report) if report.retry => {
                tracing::warn!(reason = %report.detail, "the Docker engine went away; the run goes back to the queue");
                self.store
                    .requeue(run.id, &self.id, "the Docker engine could not be reached")
                    .await
                    .map(|_| ())
            }
            Some(report) => {
                // The verdict first: stopping and removing the container is not the learner's wait.
                let recorded = self
                    .store
                    .finish_run(run.id, &self.id, &final_result(report, &hints))
                    .await;
                if let Ok(false) = recorded {
                    tracing::warn!(
                        "the run was taken by another worker before its result could be recorded"
                    );
                }
                recorded.map(|_| ())
            }
        };
        heartbeat.abort();
        pipeline::clean_up(sandbox, &job, running).await;
        outcome
    }

    /// Ends a run that cannot even start grading as a platform error.
    async fn fail_setup(
        &self,
        run: &RunRow,
        detail: String,
    ) -> Result<(), crate::store::StoreError> {
        tracing::error!(run = run.id, %detail, "cannot grade");
        let result = FinalResult {
            state: RunState::Error,
            stage: "setup".to_string(),
            reason: "This lab cannot be graded right now because of a fault of the platform; it does not count. Your instructor has been told.".to_string(),
            detail,
            score: None,
            build_log: String::new(),
            container_log: String::new(),
            checks: Vec::new(),
            counts: false,
        };
        self.store.finish_run(run.id, &self.id, &result).await?;
        Ok(())
    }
}

fn lease_ms(settings: &WorkerSettings) -> i64 {
    i64::try_from(settings.lease.as_millis()).unwrap_or(i64::MAX)
}

/// Stores each event; a state change the store refuses means the lease is gone.
async fn write_events(
    store: Store,
    run_id: i64,
    worker: String,
    mut rx: mpsc::UnboundedReceiver<RunEvent>,
    lost: Arc<Notify>,
) {
    while let Some(event) = rx.recv().await {
        let written = match &event {
            RunEvent::State { state } => store.advance(run_id, &worker, *state).await,
            other => store
                .append_event(run_id, other.kind(), &other.payload())
                .await
                .map(|_| true),
        };
        match written {
            Ok(true) => {}
            Ok(false) => lost.notify_one(),
            Err(e) => tracing::warn!(run = run_id, error = %e, "could not store a run event"),
        }
    }
}

async fn heartbeat(
    store: Store,
    run_id: i64,
    worker: String,
    settings: WorkerSettings,
    lost: Arc<Notify>,
) {
    let mut tick = tokio::time::interval(settings.heartbeat);
    tick.tick().await;
    loop {
        tick.tick().await;
        match store.heartbeat(run_id, &worker, lease_ms(&settings)).await {
            Ok(true) => {}
            Ok(false) => {
                lost.notify_one();
                return;
            }
            Err(e) => tracing::warn!(run = run_id, error = %e, "heartbeat failed"),
        }
    }
}

fn final_result(report: Report, hints: &[(String, String)]) -> FinalResult {
    let checks = report
        .checks
        .iter()
        .enumerate()
        .map(|(i, c)| result_row(i, c, hints))
        .collect();
    FinalResult {
        state: report.state,
        stage: report.stage.as_str().to_string(),
        reason: report.reason,
        detail: report.detail,
        score: report.score,
        build_log: report.build_log,
        container_log: report.container_log,
        checks,
        counts: report.counts,
    }
}

fn result_row(position: usize, c: &CheckOutcome, hints: &[(String, String)]) -> CheckResultRow {
    CheckResultRow {
        position: position as i64,
        check_id: c.check_id.clone(),
        title: c.title.clone(),
        hint: hints
            .iter()
            .find(|(id, _)| id == &c.check_id)
            .map(|(_, h)| h.clone())
            .unwrap_or_default(),
        pillar: c.pillar.clone(),
        weight: c.weight,
        required: i64::from(c.required),
        verdict: serde_json::to_value(c.verdict)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "error".to_string()),
        message: c.message.clone(),
        detail: c.detail.clone(),
        duration_ms: c.duration_ms as i64,
    }
}
