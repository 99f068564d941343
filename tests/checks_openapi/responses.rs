//! The scenario part: every answer has a documented status and matches its documented schema.

use gauntlet::checks::Verdict;

use crate::fixture::{assert_says, judge};

#[tokio::test]
async fn a_service_true_to_its_document_passes() {
    let o = judge("openapi-responses", "", Verdict::Pass).await;
    assert!(
        o.detail.contains("document: matches createNote 201"),
        "{}",
        o.detail
    );
    assert!(
        o.detail.contains("document: matches createNote 422"),
        "{}",
        o.detail
    );
    assert!(
        o.detail.contains("document: matches getNote 404"),
        "{}",
        o.detail
    );
}

#[tokio::test]
async fn schema_drift_is_caught_and_named_by_operation_and_status() {
    let o = judge("openapi-responses", "version-as-string", Verdict::Fail).await;
    assert_eq!(
        o.message,
        "failed at step 1 of 7: a response to createNote did \
         not match the documented schema for 201"
    );
    assert!(o.detail.contains("at `/version`"), "{}", o.detail);
    assert!(!o.message.contains("version"), "{}", o.message);
}

#[tokio::test]
async fn an_undocumented_status_is_caught() {
    let o = judge("openapi-responses", "missing-410", Verdict::Fail).await;
    assert_says(
        &o,
        "failed at step 7 of 7: a response to getNote had status 410, which the document does not describe",
    );
}

#[tokio::test]
async fn the_existing_create_200_defect_is_an_undocumented_status_too() {
    // No status expected by the step: only the document says that create answers 201.
    let toml = r#"
[[check]]
id = "create"
kind = "openapi"
title = "Create"
pillar = "api"
[check.openapi]
[[check.step]]
method = "POST"
path = "/notes"
json = { title = "documented" }
"#;
    let svc = crate::support::Service::start();
    crate::support::single(toml, &svc, Verdict::Pass).await;
    let svc = crate::support::Service::with_env(&[("TESTSVC_DEFECT", "create-200")]);
    let o = crate::support::single(toml, &svc, Verdict::Fail).await;
    assert_eq!(
        o.message,
        "failed at step 1 of 1: a response to createNote had status 200, which the document does \
         not describe"
    );
}
