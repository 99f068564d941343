//! Services that go wrong, graded end to end: each verdict names its cause, as the learner reads it.

use crate::common::grading::{assert_no_docker_leftovers, graded, Graded};
use crate::common::project::Project;

#[tokio::test]
async fn a_service_that_exits_at_start_shows_the_learner_its_own_last_lines() {
    let Graded { app, row, .. } =
        graded(&Project::testsvc(&[("TESTSVC_EXIT_AT_START", "3")])).await;
    assert_eq!(row.state, "failed");
    assert_eq!(row.stage.as_deref(), Some("start"));
    let reason = row.reason.unwrap_or_default();
    assert!(reason.contains("exited with code 3"), "{reason}");
    assert!(
        reason.contains("The last lines your service printed:\ntestsvc: exiting at start as asked"),
        "{reason}"
    );
    assert_no_docker_leftovers(&app).await;
}

#[tokio::test]
async fn a_command_naming_a_missing_file_is_the_learners_failure_not_the_platforms() {
    let project = Project::with_dockerfile(
        "FROM scratch\nCOPY testsvc /testsvc\nENTRYPOINT [\"/no-such-binary\"]\n",
    );
    let Graded { app, row, .. } = graded(&project).await;
    assert_eq!(row.state, "failed", "{:?}", row.reason);
    assert_eq!(row.stage.as_deref(), Some("start"));
    let reason = row.reason.unwrap_or_default();
    assert!(
        reason.contains("could not be started") && reason.contains("/no-such-binary"),
        "{reason}"
    );
    assert!(!reason.contains("container_linux.go"), "{reason}");
    assert_no_docker_leftovers(&app).await;
}

#[tokio::test]
async fn a_service_killed_for_memory_after_it_was_healthy_is_told_so() {
    let project = Project::testsvc(&[("TESTSVC_AFTER_HEALTHY", "eat-memory")]);
    let Graded { app, row, .. } = graded(&project).await;
    assert_eq!(row.state, "failed", "{:?}", row.reason);
    assert_eq!(row.stage.as_deref(), Some("checks"));
    let reason = row.reason.unwrap_or_default();
    // Killed by the kernel, or still stalling at the limit when the checks gave up: either way, memory.
    assert!(
        reason.starts_with("Your service was killed for using more memory than its limit (64 MiB)")
            || reason.starts_with("Your service filled its memory limit (64 MiB)"),
        "{reason}"
    );
    assert_no_docker_leftovers(&app).await;
}

#[tokio::test]
async fn a_service_that_hits_its_process_limit_after_it_was_healthy_is_told_so() {
    let project = Project::testsvc(&[("TESTSVC_AFTER_HEALTHY", "fork-bomb")]);
    let Graded { app, row, .. } = graded(&project).await;
    assert_eq!(row.state, "failed", "{:?}", row.reason);
    assert_eq!(row.stage.as_deref(), Some("checks"));
    let reason = row.reason.unwrap_or_default();
    assert!(
        reason.starts_with("Your service reached its limit of 64 processes and threads"),
        "{reason}"
    );
    assert_no_docker_leftovers(&app).await;
}

#[tokio::test]
async fn a_base_image_whose_registry_cannot_be_reached_is_the_platforms_fault_and_shows_no_address()
{
    // A registry on this machine's loopback that nothing listens on: the engine's pull is refused there, and
    // no packet leaves the machine.
    let project = Project::with_dockerfile("FROM 127.0.0.1:1/nothing:latest\nCMD [\"/x\"]\n");
    let Graded { app, run, row, .. } = graded(&project).await;
    assert_eq!(row.state, "error", "{:?}", row.reason);
    assert_eq!(row.stage.as_deref(), Some("build"));
    let reason = row.reason.unwrap_or_default();
    assert!(reason.contains("fault of the platform"), "{reason}");
    let (_, page) = app.get_text(&format!("/runs/{run}")).await;
    assert!(
        !page.contains("dial tcp"),
        "the engine's words reach the learner"
    );
    assert_no_docker_leftovers(&app).await;
}
