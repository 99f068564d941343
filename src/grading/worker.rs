//! The queue side of grading: a pool of workers, each claiming one run at a time with a lease and grading it
//! (see `attempt.rs`), each watched by a supervisor that restarts it if it panics.
//!
//! Shutdown is bounded: workers stop claiming at once, in-flight runs get [`WorkerSettings::shutdown_grace`]
//! to finish, and what is still running then is abandoned to the queue: cleaned up and put back without the
//! attempt counting, so another worker (or this server after its restart) grades it from the start. When the
//! Docker engine cannot be reached, workers claim nothing: runs stay queued and proceed when it comes back.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::attempt::Attempt;
use super::journal::EventLimits;
use crate::archive::ArchiveLimits;
use crate::curriculum::SharedCurriculum;
use crate::sandbox::{RunLabel, Sandbox};
use crate::store::{Lease, RunRow, Store};

/// A hook called with each claimed run before it is graded: tests use it to make a worker panic. Production
/// passes none.
#[derive(Clone)]
pub struct ClaimHook(pub Arc<dyn Fn(&RunRow) + Send + Sync>);

impl std::fmt::Debug for ClaimHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClaimHook")
    }
}

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
    /// How long in-flight runs may go on after shutdown is asked before they are put back in the queue.
    pub shutdown_grace: Duration,
    /// How a run's live events are written.
    pub events: EventLimits,
    pub on_claim: Option<ClaimHook>,
    /// How run networks are kept off the grading host.
    pub firewall: crate::sandbox::FirewallMode,
    /// The broker image labs' `kafka` counterparts run.
    pub kafka_image: String,
    /// Build arguments of labs' grader images (`grader_build_args`).
    pub grader_build_args: std::collections::BTreeMap<String, String>,
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
            // The process id alone is not unique where workers run as pid 1 of containers sharing the host's
            // name (compose replicas with host networking): a random suffix keeps their leases apart.
            name: format!(
                "{host}-{}-{:04x}",
                std::process::id(),
                rand::random::<u16>()
            ),
            shutdown_grace: Duration::from_secs(10),
            events: EventLimits::default(),
            on_claim: None,
            firewall: crate::sandbox::FirewallMode::default(),
            kafka_image: crate::sandbox::DEFAULT_KAFKA_IMAGE.to_string(),
            grader_build_args: Default::default(),
            secrets: super::secrets::RunSecrets::ephemeral(),
        }
    }
}

/// After the grace, abandoned runs need this long to stop their container and remove their objects; a worker
/// still busy past it is aborted (its lease then expires and the run is taken again).
const ABANDON_BOUND: Duration = Duration::from_secs(15);

/// The run a worker holds, for its supervisor to put back if the worker panics.
pub(super) struct Held {
    pub lease: Lease,
    pub label: RunLabel,
    pub sandbox: Sandbox,
}

pub(super) type HeldSlot = Arc<Mutex<Option<Held>>>;

/// Running workers; dropping the pool does not stop them, [`WorkerPool::shutdown`] does.
pub struct WorkerPool {
    handles: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    abandon: watch::Sender<bool>,
    wake: Arc<Notify>,
    grace: Duration,
}

/// One worker slot; cloned to restart it after a panic.
#[derive(Clone)]
pub(super) struct Worker {
    pub id: String,
    pub store: Store,
    pub curriculum: SharedCurriculum,
    pub settings: WorkerSettings,
    pub instance: String,
    /// Set when the pool shuts down: claim nothing more.
    pub stop: watch::Receiver<bool>,
    /// Set when the shutdown grace is over: put the run in hand back in the queue.
    pub abandon: watch::Receiver<bool>,
    pub wake: Arc<Notify>,
    pub held: HeldSlot,
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
        let (abandon, abandon_rx) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let grace = settings.shutdown_grace;
        let handles = (0..settings.workers)
            .map(|n| {
                let worker = Worker {
                    id: format!("{}-{n}", settings.name),
                    store: store.clone(),
                    curriculum: curriculum.clone(),
                    settings: settings.clone(),
                    instance: instance.clone(),
                    stop: stop_rx.clone(),
                    abandon: abandon_rx.clone(),
                    wake: wake.clone(),
                    held: Arc::new(Mutex::new(None)),
                };
                tokio::spawn(supervise(worker))
            })
            .collect();
        WorkerPool {
            handles,
            stop,
            abandon,
            wake,
            grace,
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

    /// Stops claiming, lets in-flight runs finish within the grace, then puts the rest back in the queue and
    /// waits (boundedly) for their clean-up. Returns within the grace plus [`ABANDON_BOUND`].
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.wake.notify_waiters();
        let mut handles = self.handles;
        if !wait_all(&mut handles, self.grace).await {
            tracing::info!("shutdown grace over; runs in progress go back to the queue");
            let _ = self.abandon.send(true);
            if !wait_all(&mut handles, ABANDON_BOUND).await {
                tracing::warn!("workers did not stop in time; their runs return to the queue when their leases expire");
                for h in &handles {
                    h.abort();
                }
            }
        }
    }
}

/// Waits for every handle until `limit`; whether they all finished (finished ones are removed).
async fn wait_all(handles: &mut Vec<JoinHandle<()>>, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while let Some(h) = handles.last_mut() {
        match tokio::time::timeout_at(deadline, h).await {
            Ok(_) => {
                handles.pop();
            }
            Err(_) => return false,
        }
    }
    true
}

/// Aborts a task when dropped: a supervisor aborted at the end of shutdown takes its worker with it, and an
/// attempt that unwinds takes its heartbeat with it.
pub(super) struct AbortOnDrop<T>(pub JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs a worker, restarting it after a panic; the run it held goes back to the queue (the attempt counts, so
/// a run that panics every worker ends as a platform error after [`crate::store::MAX_ATTEMPTS`]).
async fn supervise(worker: Worker) {
    loop {
        let mut task = AbortOnDrop(tokio::spawn(worker.clone().run()));
        let joined = (&mut task.0).await;
        match joined {
            Ok(()) => return,
            Err(e) if e.is_panic() => {
                let held = worker.held.lock().ok().and_then(|mut h| h.take());
                tracing::error!(worker = %worker.id, run = held.as_ref().map(|h| h.lease.run_id), "a worker panicked; it restarts and its run goes back to the queue");
                if let Some(held) = held {
                    if let Err(e) = held.sandbox.remove_run(&held.label).await {
                        tracing::warn!(run = %held.label, error = %e, "could not remove the run's Docker objects; the reaper will");
                    }
                    let why = "the grader stopped unexpectedly";
                    if let Err(e) = worker.store.requeue(&held.lease, why).await {
                        tracing::warn!(run = held.lease.run_id, error = %e, "could not requeue; it returns when its lease expires");
                    }
                }
                if *worker.stop.borrow() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

impl Worker {
    async fn run(mut self) {
        let mut sandbox: Option<Sandbox> = None;
        let mut told = std::collections::HashSet::new();
        while !*self.stop.borrow() {
            let Some(docker) = self.docker(&mut sandbox).await else {
                self.idle().await;
                continue;
            };
            // Read at every claim: the course may have been reloaded since.
            let versions = crate::curriculum::current(&self.curriculum).version_keys();
            match self
                .store
                .claim_run_matching(&self.id, lease_ms(&self.settings), Some(&versions))
                .await
            {
                Ok(Some(run)) => {
                    let id = run.id;
                    if let Err(e) = Attempt::new(&self, docker, run).grade().await {
                        tracing::error!(run = id, worker = %self.id, error = %e, "grading failed");
                    }
                    if let Ok(mut held) = self.held.lock() {
                        *held = None;
                    }
                }
                Ok(None) => {
                    self.tell_of_other_versions(&versions, &mut told).await;
                    self.idle().await
                }
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
        let connected = Sandbox::connect().await.map(|s| {
            s.with_build_policy(self.settings.build_policy.clone())
                .with_firewall(self.settings.firewall)
                .with_kafka_image(&self.settings.kafka_image)
                .with_grader_build_args(self.settings.grader_build_args.clone())
        });
        match connected {
            Ok(s) if s.ping().await.is_ok() => {
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

    /// Logs, once per run, each waiting run this worker leaves alone because it was submitted under another
    /// version of its lab's files than this worker holds (a course change deployed to some hosts only).
    async fn tell_of_other_versions(
        &self,
        versions: &[String],
        told: &mut std::collections::HashSet<i64>,
    ) {
        let Ok(others) = self.store.waiting_for_other_versions(versions).await else {
            return;
        };
        told.retain(|id| others.iter().any(|(run, _, _)| run == id));
        for (run, lab, version) in others {
            if told.insert(run) {
                let ours = versions
                    .iter()
                    .find_map(|k| k.strip_prefix(&format!("{lab}:")))
                    .unwrap_or("none");
                tracing::warn!(
                    run,
                    lab = %lab,
                    submitted_under = %version,
                    this_worker_has = %ours,
                    worker = %self.id,
                    "left in the queue: the run was submitted under another version of its lab's files than \
                     this worker holds; a worker with that version grades it"
                );
            }
        }
    }

    async fn idle(&mut self) {
        tokio::select! {
            _ = tokio::time::sleep(self.settings.poll) => {}
            _ = self.wake.notified() => {}
            _ = super::attempt::told(&mut self.stop) => {}
        }
    }
}

pub(super) fn lease_ms(settings: &WorkerSettings) -> i64 {
    i64::try_from(settings.lease.as_millis()).unwrap_or(i64::MAX)
}
