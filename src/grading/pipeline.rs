//! One grading run from archive to verdict, with no database: unpack, build, start, wait for health, run the
//! lab's checks, collect the logs, and remove every Docker object of the run whatever happened.
//!
//! Failures are split by whose they are. The learner's (a broken archive, a failing build, a service that never
//! answers, failed checks) end the run as `failed` with the stage and a reason they can act on. The platform's
//! (the Docker engine gone) end it as `error`, or ask for a retry when the engine cannot be reached at all, and
//! never count against the learner.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use super::counterparts::StartFailure;
use super::events::RunEvent;
use super::explain;
use super::service::{service_env, start_spec};
use super::test_stage;
use crate::archive::{self, ArchiveLimits};
use crate::checks::{self, CheckContext, CheckEvent, CheckOutcome, CheckSuite, Target, Verdict};
use crate::curriculum::Lab;
use crate::domain::RunState;
use crate::sandbox::{
    BuildError, BuildRequest, RunLabel, Running, Sandbox, SandboxError, StartError,
};

/// The build log kept with a run; the stream shows every line, the store keeps the last this many bytes.
pub const BUILD_LOG_CAP: usize = 256 * 1024;
/// The container's own output kept with a run (instructors only).
pub const CONTAINER_LOG_CAP: usize = 64 * 1024;
/// What a learner reads when the platform, not their service, failed.
const PLATFORM_FAULT: &str =
    "Grading failed because of a fault of the platform, not of your service; it does not count. Submit again later.";
/// The verdict of a lab that has no hidden checks yet: no score, and its progress is not counted.
const UNGRADED: &str = "This lab has no automatic checks yet: your image built and your service became healthy, which is all that was checked. The run is not scored and does not count toward your progress.";
/// How long a service gets to exit after SIGTERM when its run is over. The verdict is recorded before the stop,
/// so this delays only the worker's next run, never the learner's result.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// Everything one run needs.
pub struct Job {
    pub label: RunLabel,
    pub lab: Lab,
    pub suite: CheckSuite,
    pub archive: Vec<u8>,
    pub seed: u64,
    /// The key the run's secrets are derived under, with the seed.
    pub secrets: super::secrets::RunSecrets,
    pub limits: ArchiveLimits,
    /// A folder for the unpacked project; removed when the run ends.
    pub work_dir: PathBuf,
}

/// The stage a run ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Unpack,
    Build,
    Start,
    Checks,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Unpack => "upload",
            Stage::Build => "build",
            Stage::Start => "start",
            Stage::Checks => "checks",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Report {
    pub state: RunState,
    pub stage: Stage,
    /// For the learner.
    pub reason: String,
    /// For instructors only.
    pub detail: String,
    pub score: Option<f64>,
    pub checks: Vec<CheckOutcome>,
    pub build_log: String,
    pub container_log: String,
    /// The Docker engine could not be reached: nothing is known about the learner's work, so the run should be
    /// queued again rather than recorded.
    pub retry: bool,
    /// Whether the run counts toward progress: false for a lab without checks (and platform errors, whose state
    /// says so already).
    pub counts: bool,
}

impl Report {
    pub(super) fn new(state: RunState, stage: Stage, reason: impl Into<String>) -> Report {
        Report {
            state,
            stage,
            reason: reason.into(),
            detail: String::new(),
            score: None,
            checks: Vec::new(),
            build_log: String::new(),
            container_log: String::new(),
            retry: false,
            counts: true,
        }
    }

    pub(super) fn platform(stage: Stage, e: &SandboxError) -> Report {
        let mut r = Report::new(RunState::Error, stage, PLATFORM_FAULT);
        r.detail = format!("{e:#}");
        r.retry = matches!(e, SandboxError::Unreachable(_));
        r
    }
}

/// Runs the job and removes everything it created in Docker, whatever the outcome.
pub async fn execute(sandbox: &Sandbox, job: Job, events: &UnboundedSender<RunEvent>) -> Report {
    let mut running = None;
    let report = grade(sandbox, &job, events, &mut running).await;
    clean_up(sandbox, &job, running).await;
    report
}

/// Runs the job up to its verdict and leaves the container as it is, so that a caller can record the verdict
/// first and then [`clean_up`]: stopping and removing is not the learner's wait. `running` receives the
/// container once it exists.
pub async fn grade(
    sandbox: &Sandbox,
    job: &Job,
    events: &UnboundedSender<RunEvent>,
    running: &mut Option<Running>,
) -> Report {
    let mut tests = None;
    let mut counterparts = Vec::new();
    let mut report = stages(sandbox, job, events, running, &mut tests, &mut counterparts).await;
    // Instructors see what the broker (or any counterpart) said, after the service's own output.
    if !counterparts.is_empty() {
        let logs = super::counterparts::logs(sandbox, &counterparts).await;
        report.container_log.push_str(&logs);
    }
    // The learner's own tests passed in the test stage: the run's reason says how many, whatever came after.
    if let Some(tests) = tests.filter(|_| report.state != RunState::Error) {
        report.reason = format!("{} Your tests: {}.", report.reason, tests.summary());
    }
    // A lab without checks scores nothing, whatever stage its run ended in.
    if job.suite.checks.is_empty() {
        report.counts = false;
    }
    report
}

/// Stops the service (SIGTERM, then a kill after [`STOP_GRACE`]) and removes every Docker object and file of
/// the run. Safe to call more than once and after a failure at any stage.
pub async fn clean_up(sandbox: &Sandbox, job: &Job, running: Option<Running>) {
    if let Some(running) = running {
        if let Err(e) = sandbox.stop(&running, STOP_GRACE).await {
            tracing::warn!(run = %running.run, error = %e, "could not stop the container");
        }
    }
    if let Err(e) = sandbox.remove_run(&job.label).await {
        tracing::warn!(run = %job.label, error = %e, "could not remove the run's Docker objects; the reaper will");
    }
    let _ = std::fs::remove_dir_all(&job.work_dir);
}

pub(super) fn emit(events: &UnboundedSender<RunEvent>, event: RunEvent) {
    // The receiver only goes away when the run is being abandoned; nothing to do then.
    let _ = events.send(event);
}

async fn stages(
    sandbox: &Sandbox,
    job: &Job,
    events: &UnboundedSender<RunEvent>,
    slot: &mut Option<Running>,
    tests: &mut Option<super::junit::TestCounts>,
    counterparts: &mut Vec<super::counterparts::Started>,
) -> Report {
    let context = match build_context(job).await {
        Ok(c) => c,
        Err(report) => return *report,
    };

    emit(
        events,
        RunEvent::State {
            state: RunState::Building,
        },
    );
    let mut build_log = String::new();
    // One budget for the whole build, test stage included, as the lab's README promises.
    let budget = Duration::from_secs(job.lab.timeouts.build_secs);
    let started = tokio::time::Instant::now();
    let mut request = BuildRequest {
        limits: job.lab.build.limits.clone(),
        ..BuildRequest::default()
    };
    if let Some(stage) = &job.lab.build.test_stage {
        match test_stage::build(
            sandbox,
            job,
            stage,
            &context,
            budget,
            events,
            &mut build_log,
        )
        .await
        {
            Ok((tested, counts)) => {
                request.cache_from = Some(tested);
                *tests = counts;
            }
            Err(report) => return *report,
        }
    }
    let built = sandbox
        .build_with(
            &job.label,
            context,
            &request,
            budget.saturating_sub(started.elapsed()),
            BUILD_LOG_CAP,
            |line| {
                push_capped(&mut build_log, line, BUILD_LOG_CAP);
                emit(
                    events,
                    RunEvent::Log {
                        line: line.to_string(),
                    },
                );
            },
        )
        .await;
    let image = match built {
        Ok(image) => image,
        Err(BuildError::Platform(e)) => {
            let mut r = Report::platform(Stage::Build, &e);
            r.build_log = build_log;
            return r;
        }
        Err(e) => {
            let e = test_stage::whole_budget(e, budget);
            let mut r = Report::new(RunState::Failed, Stage::Build, format!("Build: {e}."));
            r.detail = e.log_tail().to_string();
            r.build_log = build_log;
            return r;
        }
    };

    emit(
        events,
        RunEvent::State {
            state: RunState::Starting,
        },
    );
    let spec = start_spec(&job.lab, &service_env(&job.lab, job.seed, &job.secrets));
    let started = super::counterparts::start_with_service(
        sandbox,
        &job.label,
        &job.lab,
        &image,
        &spec,
        super::counterparts::RunKeys {
            seed: job.seed,
            secrets: &job.secrets,
        },
        counterparts,
    )
    .await;
    let running = match started {
        Ok(r) => r,
        Err(StartFailure::Counterparts(e)) => {
            let mut r = Report::new(RunState::Error, Stage::Start, PLATFORM_FAULT);
            r.detail = e.detail();
            r.retry = e.retry();
            r.build_log = build_log;
            return r;
        }
        Err(StartFailure::Service(StartError::Platform(e))) => {
            let mut r = Report::platform(Stage::Start, &e);
            r.build_log = build_log;
            return r;
        }
        Err(StartFailure::Service(e)) => {
            let mut r = Report::new(RunState::Failed, Stage::Start, format!("Start: {e}."));
            r.build_log = build_log;
            return r;
        }
    };
    *slot = Some(running.clone());
    let healthy = sandbox
        .wait_healthy(
            &running,
            &job.lab.service.health,
            Duration::from_secs(job.lab.timeouts.start_secs),
        )
        .await;
    let address = match healthy {
        Ok(address) => address,
        Err(e) => {
            let log = container_log(sandbox, &running).await;
            let mut r = match &e {
                StartError::Platform(p) => Report::platform(Stage::Start, p),
                // The service's own output is no secret, and it is where the learner finds why it stopped.
                _ => Report::new(
                    RunState::Failed,
                    Stage::Start,
                    format!("Start: {e}.{}", explain::own_output(&log)),
                ),
            };
            r.build_log = build_log;
            r.container_log = log;
            return r;
        }
    };

    emit(
        events,
        RunEvent::State {
            state: RunState::Checking,
        },
    );
    if job.suite.checks.is_empty() {
        let mut report = Report::new(RunState::Passed, Stage::Checks, UNGRADED);
        report.build_log = build_log;
        report.container_log = container_log(sandbox, &running).await;
        return report;
    }
    let outcomes = run_checks(sandbox, job, &running, address, events, counterparts).await;
    let fault = match sandbox.fault(&running).await {
        Ok(fault) => fault,
        Err(e) => {
            tracing::warn!(run = %job.label, error = %e, "could not read how the service ended");
            None
        }
    };
    let container_log = container_log(sandbox, &running).await;
    let mut report = match outcomes {
        Some(outcomes) => verdict(outcomes),
        None => Report::new(
            RunState::Failed,
            Stage::Checks,
            format!(
                "Checks: they did not finish within {}s; the service may be too slow to answer.",
                job.lab.timeouts.checks_secs
            ),
        ),
    };
    if let Some(fault) =
        fault.filter(|f| report.state == RunState::Failed && explain::explains(f, &report))
    {
        // Checks that failed because the service was gone say "could not be reached"; this says why.
        report.reason = format!(
            "{}: {}",
            explain::capitalised(&fault.to_string()),
            report.reason
        );
    }
    report.build_log = build_log;
    report.container_log = container_log;
    report
}

/// Unpacks the upload (checking it again: the worker trusts nothing it reads back) and packs the build context,
/// honouring `.dockerignore`.
async fn build_context(job: &Job) -> Result<Vec<u8>, Box<Report>> {
    let archive_bytes = job.archive.clone();
    let limits = job.limits.clone();
    let dir = job.work_dir.join("project");
    let packed = tokio::task::spawn_blocking(move || {
        if let Some(parent) = dir.parent() {
            // A previous attempt of this run that died may have left its files here.
            let _ = std::fs::remove_dir_all(parent);
            std::fs::create_dir_all(parent).map_err(|source| archive::ArchiveError::Io {
                context: "create the work folder",
                source,
            })?;
        }
        archive::unpack(&archive_bytes, &dir, &limits)?;
        archive::pack(&dir, &limits)
    })
    .await;
    match packed {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) if e.is_learner_fault() => Err(Box::new(Report::new(
            RunState::Failed,
            Stage::Unpack,
            format!("Upload: {e}."),
        ))),
        Ok(Err(e)) => {
            let mut r = Report::new(RunState::Error, Stage::Unpack, PLATFORM_FAULT);
            r.detail = format!("{e:#}");
            Err(Box::new(r))
        }
        Err(e) => {
            let mut r = Report::new(
                RunState::Error,
                Stage::Unpack,
                "Grading failed because of a fault of the platform; it does not count.",
            );
            r.detail = e.to_string();
            Err(Box::new(r))
        }
    }
}

async fn run_checks(
    sandbox: &Sandbox,
    job: &Job,
    running: &Running,
    address: std::net::SocketAddr,
    events: &UnboundedSender<RunEvent>,
    counterparts: &[super::counterparts::Started],
) -> Option<Vec<CheckOutcome>> {
    let base = url::Url::parse(&crate::sandbox::base_url(address)).ok()?;
    // Before the checks' deadline: a first build of the lab's grader on this host is not the learner's time.
    let grader = super::grader::prepare(sandbox, &job.lab, &job.suite).await;
    let control = super::control::DockerControl::new(
        sandbox.clone(),
        running.clone(),
        job.lab.service.health.clone(),
        Duration::from_secs(job.lab.timeouts.start_secs),
        base.clone(),
    )
    .with_project(job.work_dir.join("project"))
    .with_counterparts(counterparts.to_vec())
    .with_grader(grader);
    let target = Target { base_url: base };
    let ctx = CheckContext {
        seed: job.seed,
        env: service_env(&job.lab, job.seed, &job.secrets),
        control: Some(std::sync::Arc::new(control)),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<CheckEvent>();
    let forward_to = events.clone();
    let forward = tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            let event = match e {
                CheckEvent::Started { check_id, title } => {
                    RunEvent::CheckStarted { check_id, title }
                }
                CheckEvent::Finished(outcome) => RunEvent::finished(&outcome),
            };
            let _ = forward_to.send(event);
        }
    });
    let limit = Duration::from_secs(job.lab.timeouts.checks_secs);
    let outcomes =
        tokio::time::timeout(limit, checks::run_suite(&job.suite, &target, &ctx, &tx)).await;
    drop(tx);
    let _ = forward.await;
    outcomes.ok()
}

/// The container's output so far (instructors only).
async fn container_log(sandbox: &Sandbox, running: &Running) -> String {
    sandbox
        .logs(running, CONTAINER_LOG_CAP)
        .await
        .unwrap_or_else(|e| format!("(the container's log could not be read: {e})"))
}

/// The run's state and reason from its checks' outcomes.
fn verdict(outcomes: Vec<CheckOutcome>) -> Report {
    let score = checks::score(&outcomes);
    let required_error = outcomes
        .iter()
        .any(|o| o.required && o.verdict == Verdict::Error);
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::Fail)
        .map(|o| o.title.as_str())
        .collect();
    let total = outcomes.len();
    // A required check that could not be judged makes the run an error even when every other check passed:
    // the score leaves errors out, so a service that made a hidden check err (a grader driven past its budget)
    // would otherwise pass without it.
    let (state, reason) = if required_error {
        (
            RunState::Error,
            "A check could not be run because of a fault of the platform; this run does not count."
                .to_string(),
        )
    } else if score.passed {
        (
            RunState::Passed,
            format!("All required checks passed ({total} checks run)."),
        )
    } else {
        (
            RunState::Failed,
            format!(
                "{} of {total} checks failed: {}.",
                failed.len(),
                failed.join("; ")
            ),
        )
    };
    let mut r = Report::new(state, Stage::Checks, reason);
    r.score = Some(score.score);
    r.checks = outcomes;
    r
}

/// Appends a line, keeping only the last `cap` bytes (at a character boundary).
pub(super) fn push_capped(log: &mut String, line: &str, cap: usize) {
    log.push_str(line);
    log.push('\n');
    if log.len() > cap {
        let mut cut = log.len() - cap;
        while !log.is_char_boundary(cut) {
            cut += 1;
        }
        log.drain(..cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(id: &str, verdict: Verdict) -> CheckOutcome {
        CheckOutcome {
            check_id: id.into(),
            title: id.into(),
            pillar: "language".into(),
            weight: 1.0,
            required: true,
            verdict,
            message: String::new(),
            detail: String::new(),
            duration_ms: 1,
        }
    }

    #[test]
    fn a_required_check_that_erred_makes_the_run_an_error_even_when_the_rest_passed() {
        let r = verdict(vec![
            outcome("a", Verdict::Pass),
            outcome("grader", Verdict::Error),
        ]);
        assert_eq!(r.state, RunState::Error, "{}", r.reason);
        let r = verdict(vec![
            outcome("a", Verdict::Pass),
            outcome("b", Verdict::Pass),
        ]);
        assert_eq!(r.state, RunState::Passed);
    }

    #[test]
    fn the_log_keeps_its_tail_within_the_cap() {
        let mut log = String::new();
        for i in 0..100 {
            push_capped(&mut log, &format!("line {i}"), 64);
        }
        assert!(log.len() <= 64);
        assert!(log.ends_with("line 99\n"));
    }
}
