//! A lab's test stage (`[build] test_stage` in lab.toml): the learner's Dockerfile must declare it, it is built
//! on its own before the final image, and its failing tests end the run at the build with their output in the
//! build log. The final image then reuses its layers, within one build budget for both.
//!
//! With `[build] test_report`, a stage that merely builds is not enough: it must leave a JUnit XML report at
//! that path in its image, read back through the engine after the build, with at least one test case and none
//! failed. A stage that runs no tests, or whose test command's exit status is swallowed, fails there.

use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use super::events::RunEvent;
use super::junit::{self, TestCounts};
use super::pipeline::{emit, push_capped, Job, Report, Stage, BUILD_LOG_CAP};
use crate::curriculum::ReportPath;
use crate::domain::RunState;
use crate::sandbox::dockerfile::{self, StageName};
use crate::sandbox::{
    BuildError, BuildRequest, ImageFileError, ImageId, RunLabel, Sandbox, SandboxError,
};

/// The largest report read: far above what thousands of test cases with their output take, and a bound on what
/// a hostile report costs.
pub(super) const REPORT_CAP: usize = 4 << 20;

/// Why the test stage's report does not show passing tests.
#[derive(Debug)]
pub(super) enum ReportProblem {
    /// The learner's to fix; the text is for them.
    Learner(String),
    /// The engine failed.
    Platform(SandboxError),
}

/// Reads the report the test stage left at `path` in its image and judges it: the counts when at least one test
/// ran and none failed or erred.
pub(super) async fn judge_report(
    sandbox: &Sandbox,
    label: &RunLabel,
    image: &ImageId,
    path: &ReportPath,
) -> Result<TestCounts, ReportProblem> {
    let bytes = match sandbox
        .read_image_file(label, image, path.as_str(), REPORT_CAP)
        .await
    {
        Ok(b) => b,
        Err(ImageFileError::Platform(e)) => return Err(ReportProblem::Platform(e)),
        Err(ImageFileError::Missing { .. }) => {
            return Err(ReportProblem::Learner(format!(
                "the test stage wrote no JUnit XML report at `{path}`; make your test command write its report there (see the lab's README)"
            )))
        }
        Err(e) => {
            return Err(ReportProblem::Learner(format!(
                "the test report could not be read: {e}"
            )))
        }
    };
    let counts = junit::parse(&bytes).map_err(|e| {
        ReportProblem::Learner(format!(
            "the test report at `{path}` could not be used: {e}"
        ))
    })?;
    if counts.tests == 0 {
        return Err(ReportProblem::Learner(format!(
            "the test report at `{path}` has no test cases: the test stage must run your tests"
        )));
    }
    if counts.failures + counts.errors > 0 {
        return Err(ReportProblem::Learner(format!(
            "your tests did not pass ({}), according to the report at `{path}`",
            counts.summary()
        )));
    }
    Ok(counts)
}

/// Builds the lab's test stage on its own, before the final image: the learner's tests run there, and a
/// failing test (or a missing stage) fails the run at the build stage with nothing graded. Its image is what
/// the final build may take cached layers from, so the tests are not run a second time. With a report path, the
/// tests' counts come back too.
pub(super) async fn build(
    sandbox: &Sandbox,
    job: &Job,
    stage: &StageName,
    context: &[u8],
    budget: Duration,
    events: &UnboundedSender<RunEvent>,
    build_log: &mut String,
) -> Result<(ImageId, Option<TestCounts>), Box<Report>> {
    let dockerfile = job.work_dir.join("project").join("Dockerfile");
    let text = tokio::fs::read_to_string(&dockerfile)
        .await
        .unwrap_or_default();
    if !dockerfile::has_stage(&text, stage) {
        return Err(Box::new(Report::new(
            RunState::Failed,
            Stage::Build,
            format!(
                "Build: your Dockerfile has no stage named `{stage}`; this lab builds it first to run your tests (declare it with `FROM <image> AS {stage}`)."
            ),
        )));
    }
    let mut log = |line: &str| {
        push_capped(build_log, line, BUILD_LOG_CAP);
        emit(
            events,
            RunEvent::Log {
                line: line.to_string(),
            },
        );
    };
    log(&format!("── building the `{stage}` stage (your tests) ──"));
    let request = BuildRequest {
        target: Some(stage.clone()),
        limits: job.lab.build.limits.clone(),
        ..Default::default()
    };
    let built = sandbox
        .build_with(
            &job.label,
            context.to_vec(),
            &request,
            budget,
            BUILD_LOG_CAP,
            &mut log,
        )
        .await;
    match built {
        Ok(tested) => {
            let counts = match &job.lab.build.test_report {
                Some(path) => {
                    Some(read_counts(sandbox, job, &tested, path, events, build_log).await?)
                }
                None => None,
            };
            log_line(
                build_log,
                events,
                format!("── the `{stage}` stage passed; building the final image ──"),
            );
            Ok((tested, counts))
        }
        Err(BuildError::Platform(e)) => {
            let mut r = Report::platform(Stage::Build, &e);
            r.build_log = std::mem::take(build_log);
            Err(Box::new(r))
        }
        // Refused before any step ran (the build policy, a size): not a test that failed.
        Err(e @ BuildError::Refused { .. }) => Err(Box::new(Report::new(
            RunState::Failed,
            Stage::Build,
            format!("Build: {e}."),
        ))),
        Err(e) => {
            let mut r = Report::new(
                RunState::Failed,
                Stage::Build,
                format!("Build: the `{stage}` stage failed, so your tests did not pass (see the build log): {e}."),
            );
            r.detail = e.log_tail().to_string();
            r.build_log = std::mem::take(build_log);
            Err(Box::new(r))
        }
    }
}

/// The test counts of the stage's report, shown in the build log; a report that shows no passing tests ends
/// the run at the build.
async fn read_counts(
    sandbox: &Sandbox,
    job: &Job,
    tested: &ImageId,
    path: &ReportPath,
    events: &UnboundedSender<RunEvent>,
    build_log: &mut String,
) -> Result<TestCounts, Box<Report>> {
    let failed = match judge_report(sandbox, &job.label, tested, path).await {
        Ok(counts) => {
            log_line(
                build_log,
                events,
                format!("── your tests: {} ──", counts.summary()),
            );
            return Ok(counts);
        }
        Err(ReportProblem::Platform(e)) => Report::platform(Stage::Build, &e),
        Err(ReportProblem::Learner(why)) => {
            log_line(build_log, events, format!("── {why} ──"));
            Report::new(RunState::Failed, Stage::Build, format!("Build: {why}."))
        }
    };
    Err(Box::new(Report {
        build_log: std::mem::take(build_log),
        ..failed
    }))
}

/// A line of the build log, kept and shown live.
fn log_line(build_log: &mut String, events: &UnboundedSender<RunEvent>, line: String) {
    push_capped(build_log, &line, BUILD_LOG_CAP);
    emit(events, RunEvent::Log { line });
}

/// A timeout of the final build, which got only what the test stage left of the budget, reported against the
/// whole budget: that is the limit the learner knows.
pub(super) fn whole_budget(e: BuildError, budget: Duration) -> BuildError {
    match e {
        BuildError::Timeout { log_tail, .. } => BuildError::Timeout {
            after: budget,
            log_tail,
        },
        other => other,
    }
}
