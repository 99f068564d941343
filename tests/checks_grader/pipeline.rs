//! A grader in a whole grading run (`pipeline::execute`, what workers and `gauntlet grade` do): its image made
//! ready before the checks, the learner's unpacked project at `/submission`, and nothing of the run left after.

use gauntlet::archive::ArchiveLimits;
use gauntlet::checks::Verdict;
use gauntlet::domain::RunState;
use gauntlet::grading::pipeline::{execute, Job};
use gauntlet::grading::secrets::RunSecrets;

use super::common;
use super::fixture::{checks, lab, GraderImages, BASE};

/// Passes its three tests when the submission it reads is the project the learner uploaded.
const READS_THE_SUBMISSION: &str = r#"
if grep -q 'ENTRYPOINT \["/testsvc"\]' /submission/Dockerfile && [ -x /submission/testsvc ]; then s=pass; else s=fail; fi
echo "submission: $(ls /submission | tr '\n' ' ')"
cat > "$RESULTS_DIR/results.json" <<JSON
{"version":3,"status":"$s","tests":[
 {"name":"talks to the service","status":"$s","message":"the submission was not at hand"},
 {"name":"fails politely","status":"pass"},
 {"name":"errs","status":"pass"}]}
JSON
"#;

#[tokio::test]
async fn a_grading_run_gives_the_grader_the_unpacked_submission_and_leaves_nothing_behind() {
    common::starter::require_image(BASE, "scripts/ci-images");
    let root = tempfile::tempdir().expect("temp dir");
    let (lab, suite) = lab(root.path(), "pipeline", READS_THE_SUBMISSION, &checks(20));
    let _images = GraderImages(lab.id.to_string());
    let sandbox = common::builds::sandbox().await;
    let label = common::sandbox::run_id("t", "grader-pipeline");
    let project = common::project::Project::testsvc(&[]);
    let job = Job {
        label: label.clone(),
        lab,
        suite,
        archive: project.archive(),
        seed: 7,
        secrets: RunSecrets::ephemeral(),
        limits: ArchiveLimits::default(),
        work_dir: root.path().join("work"),
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let report = execute(&sandbox, job, &tx).await;
    let detail: Vec<String> = report
        .checks
        .iter()
        .map(|c| {
            format!(
                "{:?} {}: {}\n{}",
                c.verdict, c.check_id, c.message, c.detail
            )
        })
        .collect();
    assert_eq!(
        report.state,
        RunState::Passed,
        "{}\n{detail:#?}",
        report.reason
    );
    assert!(report.checks.iter().all(|c| c.verdict == Verdict::Pass));
    assert!(
        detail[0].contains("submission: Dockerfile testsvc"),
        "{}",
        detail[0]
    );
    common::grading::wait_no_docker_objects(label.as_str()).await;
}
