//! The bundled suites of labs w01-health and w02-crud load, pass against the correct `testsvc`, and each
//! defect fails the check written to catch it, week 1's checks that w02 re-runs included.

use std::path::PathBuf;

use gauntlet::checks::{score, CheckOutcome, Verdict};

use crate::support::{load_lab, run, Service};

fn lab(id: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("labs")
        .join(id)
}

fn verdict(outcomes: &[CheckOutcome], id: &str) -> Verdict {
    outcomes
        .iter()
        .find(|o| o.check_id == id)
        .unwrap_or_else(|| panic!("no check `{id}`"))
        .verdict
}

fn report(outcomes: &[CheckOutcome]) -> String {
    outcomes
        .iter()
        .map(|o| {
            format!(
                "{:?} {}: {}\n{}",
                o.verdict, o.check_id, o.message, o.detail
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn all_pass(id: &str) {
    let suite = load_lab(&lab(id));
    assert!(suite.checks.len() >= 4, "{id} has its checks");
    let outcomes = run(&suite, &Service::start().target).await;
    assert!(
        outcomes.iter().all(|o| o.verdict == Verdict::Pass),
        "{}",
        report(&outcomes)
    );
    let s = score(&outcomes);
    assert_eq!((s.score, s.passed), (1.0, true));
}

async fn defect_fails(id: &str, defect: &str, check: &str) {
    let suite = load_lab(&lab(id));
    let outcomes = run(
        &suite,
        &Service::with_env(&[("TESTSVC_DEFECT", defect)]).target,
    )
    .await;
    assert_eq!(
        verdict(&outcomes, check),
        Verdict::Fail,
        "{defect} should fail {check}:\n{}",
        report(&outcomes)
    );
    assert!(!score(&outcomes).passed);
}

#[tokio::test]
async fn w01_passes_against_the_correct_service() {
    all_pass("w01-health").await;
}

#[tokio::test]
async fn w01_catches_each_defect() {
    defect_fails("w01-health", "health-500", "health-json").await;
    defect_fails("w01-health", "no-json-404", "unknown-route-json-404").await;
}

#[tokio::test]
async fn w01_skips_checks_that_need_a_healthy_service() {
    let suite = load_lab(&lab("w01-health"));
    let outcomes = run(
        &suite,
        &Service::with_env(&[("TESTSVC_DEFECT", "health-500")]).target,
    )
    .await;
    assert_eq!(
        verdict(&outcomes, "health-survives-bad-input"),
        Verdict::Skipped
    );
}

#[tokio::test]
async fn w02_passes_against_the_correct_service() {
    all_pass("w02-crud").await;
}

#[tokio::test]
async fn w02_catches_each_defect() {
    for (defect, check) in [
        ("health-500", "health-json"),
        ("no-json-404", "get-missing-404"),
        ("create-200", "create-note"),
        ("no-location", "create-note"),
        ("no-validation", "validation-422"),
        ("put-bumps-always", "update-note"),
        ("delete-noop", "delete-note"),
        ("ignore-limit", "list-pagination"),
        ("ignore-cursor", "cursor-walk"),
        ("unnamed-422", "validation-422"),
        ("no-405", "w01-health/wrong-method-json-405"),
    ] {
        defect_fails("w02-crud", defect, check).await;
    }
}

#[tokio::test]
async fn bundled_suites_never_show_hidden_values_to_learners() {
    let suite = load_lab(&lab("w02-crud"));
    let outcomes = run(
        &suite,
        &Service::with_env(&[("TESTSVC_DEFECT", "create-200,no-validation,no-405")]).target,
    )
    .await;
    // A check included from week 1 fails with the same two texts as in its own lab: the step in general terms for
    // the learner (beside its title, which the message does not repeat), the transcript for the instructor.
    let included = outcomes
        .iter()
        .find(|o| o.check_id == "w01-health/wrong-method-json-405")
        .expect("w02 re-runs week 1's 405 check");
    assert_eq!(included.verdict, Verdict::Fail);
    assert_eq!(
        included.title,
        "A wrong method on the health path answers 405 with a JSON error body"
    );
    assert!(
        included.message.starts_with("failed at step 1"),
        "{}",
        included.message
    );
    assert!(included.detail.contains("DELETE"), "{}", included.detail);
    assert!(!included.message.contains("DELETE"), "{}", included.message);
    for o in &outcomes {
        for hidden in [
            "validation_failed",
            "Buy milk",
            "application/json",
            "/notes/",
        ] {
            assert!(!o.message.contains(hidden), "`{hidden}` in: {}", o.message);
        }
    }
}
