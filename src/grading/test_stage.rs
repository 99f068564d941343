//! A lab's test stage (`[build] test_stage` in lab.toml): the learner's Dockerfile must declare it, it is built
//! on its own before the final image, and its failing tests end the run at the build with their output in the
//! build log. The final image then reuses its layers, within one build budget for both.

use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use super::events::RunEvent;
use super::pipeline::{emit, push_capped, Job, Report, Stage, BUILD_LOG_CAP};
use crate::domain::RunState;
use crate::sandbox::dockerfile::{self, StageName};
use crate::sandbox::{BuildError, BuildRequest, ImageId, Sandbox};

/// Builds the lab's test stage on its own, before the final image: the learner's tests run there, and a
/// failing test (or a missing stage) fails the run at the build stage with nothing graded. Its image is what
/// the final build may take cached layers from, so the tests are not run a second time.
pub(super) async fn build(
    sandbox: &Sandbox,
    job: &Job,
    stage: &StageName,
    context: &[u8],
    budget: Duration,
    events: &UnboundedSender<RunEvent>,
    build_log: &mut String,
) -> Result<ImageId, Box<Report>> {
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
            log(&format!(
                "── the `{stage}` stage passed; building the final image ──"
            ));
            Ok(tested)
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
