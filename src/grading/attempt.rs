//! One claimed attempt of a run: heartbeat, the pipeline, its events into the store, the result recorded once.
//!
//! The attempt holds a [`Lease`] (run, worker, attempt number); every write names it, so the store refuses a
//! worker that lost the run. Losing the lease (a heartbeat finds it taken or expired, or heartbeats fail for
//! longer than the lease, or the store refuses an event) cancels the pipeline at once; the attempt then removes
//! only its own Docker objects, which are named and labelled per attempt.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::events::RunEvent;
use super::pipeline::{self, Job, Report};
use super::reaper::{earlier_labels, run_label};
use super::worker::{lease_ms, AbortOnDrop, Held, Worker, WorkerSettings};
use crate::checks::{CheckOutcome, CheckSuite};
use crate::domain::{LabId, RunState};
use crate::sandbox::{RunLabel, Sandbox};
use crate::store::{CheckResultRow, FinalResult, Lease, RunRow, Store, StoreError};

/// How an attempt ended before its report was recorded.
enum Ending {
    Report(Report),
    /// The lease is gone: another worker has (or may take) the run.
    Lost,
    /// The server is shutting down and the grace is over.
    Abandoned,
}

pub(super) struct Attempt<'a> {
    worker: &'a Worker,
    sandbox: Sandbox,
    run: RunRow,
    lease: Lease,
}

impl<'a> Attempt<'a> {
    pub fn new(worker: &'a Worker, sandbox: Sandbox, run: RunRow) -> Attempt<'a> {
        let lease = Lease::of(&run, &worker.id);
        Attempt {
            worker,
            sandbox,
            run,
            lease,
        }
    }

    fn store(&self) -> &Store {
        &self.worker.store
    }

    pub async fn grade(self) -> Result<(), StoreError> {
        let run = &self.run;
        let span = tracing::info_span!("run", run = run.id, attempt = run.attempts, lab = %run.lab_id, worker = %self.worker.id);
        self.grade_in_span().instrument(span).await
    }

    async fn grade_in_span(self) -> Result<(), StoreError> {
        let run = &self.run;
        let instance = &self.worker.instance;
        let label = match RunLabel::parse(&run_label(instance, run.id, run.attempts)) {
            Ok(l) => l,
            Err(e) => return self.fail_setup(format!("invalid run label: {e}")).await,
        };
        if let Ok(mut held) = self.worker.held.lock() {
            *held = Some(Held {
                lease: self.lease.clone(),
                label: label.clone(),
                sandbox: self.sandbox.clone(),
            });
        }
        if let Some(hook) = &self.worker.settings.on_claim {
            (hook.0)(run);
        }
        // Earlier attempts of this run may have died leaving their objects behind; a worker still running one
        // has lost its lease, and its writes are refused.
        for earlier in earlier_labels(instance, run.id, run.attempts) {
            if let Ok(l) = RunLabel::parse(&earlier) {
                let _ = self.sandbox.remove_run(&l).await;
            }
        }
        let job = match self.job(label).await? {
            Ok(job) => job,
            Err(detail) => return self.fail_setup(detail).await,
        };
        let hints: Vec<(String, String)> = job
            .suite
            .checks
            .iter()
            .map(|c| (c.id.clone(), c.hint.clone()))
            .collect();

        let settings = &self.worker.settings;
        let lost = CancellationToken::new();
        let (tx, rx) = mpsc::unbounded_channel::<RunEvent>();
        let writer = tokio::spawn(super::journal::write_events(
            self.store().clone(),
            self.lease.clone(),
            rx,
            lost.clone(),
            settings.events.clone(),
        ));
        let heartbeat = AbortOnDrop(tokio::spawn(heartbeat(
            self.store().clone(),
            self.lease.clone(),
            settings.clone(),
            lost.clone(),
        )));
        let mut abandon = self.worker.abandon.clone();
        let mut running = None;
        let ending = tokio::select! {
            report = pipeline::grade(&self.sandbox, &job, &tx, &mut running) => Ending::Report(report),
            _ = lost.cancelled() => Ending::Lost,
            _ = told(&mut abandon) => Ending::Abandoned,
        };
        drop(tx);
        let _ = writer.await;
        // A run that goes back to the queue is cleaned up first, while this attempt still holds it: its next
        // attempt may reuse this attempt's number (an uncounted requeue) and so its Docker names.
        let requeues = matches!(
            &ending,
            Ending::Abandoned | Ending::Report(Report { retry: true, .. })
        );
        if requeues {
            pipeline::clean_up(&self.sandbox, &job, running.take()).await;
        }
        let outcome = self.record(ending, &hints, &lost).await;
        drop(heartbeat);
        if !requeues {
            pipeline::clean_up(&self.sandbox, &job, running).await;
        }
        outcome
    }

    /// Writes how the attempt ended, if the lease still allows it.
    async fn record(
        &self,
        ending: Ending,
        hints: &[(String, String)],
        lost: &CancellationToken,
    ) -> Result<(), StoreError> {
        let ending = match ending {
            // The writer may have found the lease gone while the pipeline was finishing.
            Ending::Report(_) if lost.is_cancelled() => Ending::Lost,
            other => other,
        };
        match ending {
            Ending::Lost => {
                tracing::warn!("lost the lease; abandoning the run to the worker that holds it");
                Ok(())
            }
            Ending::Abandoned => {
                tracing::info!("shutting down; the run goes back to the queue");
                let why = "the grader is restarting";
                self.store()
                    .requeue_uncounted(&self.lease, why)
                    .await
                    .map(|_| ())
            }
            Ending::Report(report) if report.retry => {
                tracing::warn!(reason = %report.detail, "the Docker engine went away; the run goes back to the queue");
                let why = "the Docker engine could not be reached";
                // Counted: a run whose own build or service makes the engine time out (bollard reads that as
                // unreachable) must end after MAX_ATTEMPTS rather than loop. It still never counts against the
                // learner: the run ends as a platform error.
                self.store().requeue(&self.lease, why).await.map(|_| ())
            }
            Ending::Report(report) => {
                // The verdict first: stopping and removing the container is not the learner's wait.
                let recorded = self
                    .store()
                    .finish_run(&self.lease, &final_result(report, hints))
                    .await;
                if let Ok(false) = recorded {
                    tracing::warn!(
                        "the run was taken by another worker before its result could be recorded"
                    );
                }
                recorded.map(|_| ())
            }
        }
    }

    /// The job, or why the run cannot even start grading (a platform error).
    async fn job(&self, label: RunLabel) -> Result<Result<Job, String>, StoreError> {
        let run = &self.run;
        let curriculum = crate::curriculum::current(&self.worker.curriculum);
        let Some(lab) = LabId::parse(&run.lab_id)
            .ok()
            .and_then(|id| curriculum.lab(&id).cloned())
        else {
            return Ok(Err(format!(
                "lab `{}` is no longer in the curriculum",
                run.lab_id
            )));
        };
        let suite = match CheckSuite::load(&lab.dir, &curriculum.pillar_ids()) {
            Ok(s) => s,
            Err(problems) => {
                let detail = problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("\n");
                return Ok(Err(format!("the lab's checks do not load:\n{detail}")));
            }
        };
        let Some(archive) = self.store().submission_archive(run.submission_id).await? else {
            return Ok(Err(
                "the submission's archive was removed by the retention policy".to_string(),
            ));
        };
        let settings = &self.worker.settings;
        Ok(Ok(Job {
            work_dir: settings.work_dir.join(label.as_str()),
            label,
            lab,
            suite,
            archive,
            seed: run.seed as u64,
            secrets: settings.secrets.clone(),
            limits: settings.limits.clone(),
        }))
    }

    /// Ends a run that cannot even start grading as a platform error.
    async fn fail_setup(&self, detail: String) -> Result<(), StoreError> {
        tracing::error!(run = self.run.id, %detail, "cannot grade");
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
        self.store().finish_run(&self.lease, &result).await?;
        Ok(())
    }
}

/// Resolves when the flag is set; never when its sender is gone without setting it (the pool was dropped, not
/// shut down: its workers keep going).
pub(super) async fn told(flag: &mut tokio::sync::watch::Receiver<bool>) {
    if flag.wait_for(|set| *set).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Renews the lease every `settings.heartbeat`. The lease is lost when a renewal is refused (taken or expired)
/// or when renewals have failed for as long as the lease lasts: by then another worker may hold the run.
async fn heartbeat(store: Store, lease: Lease, settings: WorkerSettings, lost: CancellationToken) {
    let mut tick = tokio::time::interval(settings.heartbeat);
    tick.tick().await;
    let mut renewed = tokio::time::Instant::now();
    loop {
        tick.tick().await;
        match store.heartbeat(&lease, lease_ms(&settings)).await {
            Ok(true) => renewed = tokio::time::Instant::now(),
            Ok(false) => {
                tracing::warn!(run = lease.run_id, "the lease was taken or expired");
                lost.cancel();
                return;
            }
            Err(e) if renewed.elapsed() >= settings.lease => {
                tracing::warn!(run = lease.run_id, error = %e, "heartbeats failed for longer than the lease");
                lost.cancel();
                return;
            }
            Err(e) => tracing::warn!(run = lease.run_id, error = %e, "heartbeat failed"),
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::DatabaseUrl;
    use crate::domain::{DisplayName, Email, Role};

    /// A store with one run claimed by worker `w`, and that lease.
    async fn claimed() -> (Store, Lease, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&DatabaseUrl::sqlite_in(dir.path()))
            .await
            .unwrap();
        let email = Email::parse("ada@example.org").unwrap();
        let name = DisplayName::parse("Ada").unwrap();
        let user = store
            .create_user(&email, &name, "h", Role::Learner, None)
            .await
            .unwrap();
        store.submit(user, "w01-hello", b"a", 7).await.unwrap();
        let run = store.claim_run("w", 60_000).await.unwrap().unwrap();
        (store, Lease::of(&run, "w"), dir)
    }

    fn settings(lease_ms: u64) -> WorkerSettings {
        let mut s = WorkerSettings::new(std::env::temp_dir());
        s.lease = Duration::from_millis(lease_ms);
        s.heartbeat = Duration::from_millis(50);
        s
    }

    #[tokio::test]
    async fn heartbeats_failing_for_longer_than_the_lease_lose_it() {
        let (store, lease, _dir) = claimed().await;
        let lost = CancellationToken::new();
        let beat = tokio::spawn(heartbeat(store.clone(), lease, settings(400), lost.clone()));
        // The database goes away: every renewal fails from now on.
        store.close().await;
        let started = tokio::time::Instant::now();
        tokio::time::timeout(Duration::from_secs(5), lost.cancelled())
            .await
            .expect("the lease is given up");
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "not before the lease could have run out"
        );
        beat.await.unwrap();
    }

    #[tokio::test]
    async fn heartbeats_that_succeed_keep_the_lease() {
        let (store, lease, _dir) = claimed().await;
        let lost = CancellationToken::new();
        let beat = tokio::spawn(heartbeat(store, lease, settings(400), lost.clone()));
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        assert!(!lost.is_cancelled());
        beat.abort();
    }
}
