//! The document part: fetched, valid OpenAPI, describing the required operations.

use gauntlet::checks::Verdict;

use crate::fixture::{assert_says, judge};

#[tokio::test]
async fn a_valid_document_with_every_required_operation_passes() {
    let o = judge("openapi-document", "", Verdict::Pass).await;
    assert!(
        o.detail
            .contains("valid OpenAPI V31 document with 5 operations"),
        "{}",
        o.detail
    );
    assert!(
        o.detail
            .contains("required operations: 5 listed, 0 missing"),
        "{}",
        o.detail
    );
    // The document is referenced (size, type, digest), not repeated.
    assert!(
        o.detail.contains("bytes of application/json, sha256 "),
        "{}",
        o.detail
    );
    assert!(!o.detail.contains("\"openapi\""), "{}", o.detail);
}

#[tokio::test]
async fn an_unresolvable_ref_is_named_with_its_pointer() {
    let o = judge("openapi-document", "openapi-bad-ref", Verdict::Fail).await;
    assert_says(&o, "the OpenAPI document is not valid");
    assert_says(
        &o,
        "at `/paths/~1notes/get/responses/200/content/application~1json/schema/$ref`",
    );
    assert_says(&o, "`#/components/schemas/NotesPage` does not resolve");
}

#[tokio::test]
async fn a_missing_required_operation_is_named() {
    let o = judge("openapi-document", "openapi-no-delete", Verdict::Fail).await;
    assert_eq!(
        o.message,
        "failed: the OpenAPI document does not \
         describe the operation DELETE /notes/{id}"
    );
}

/// A one-check `openapi` suite reading its document from `path` of the correct testsvc, which must fail.
async fn document_at(path: &str) -> gauntlet::checks::CheckOutcome {
    let svc = crate::support::Service::start();
    let toml = format!(
        "[[check]]\nid = \"doc\"\nkind = \"openapi\"\ntitle = \"Doc\"\npillar = \"api\"\n\
         [check.openapi]\ndocument = \"{path}\"\n"
    );
    crate::support::single(&toml, &svc, Verdict::Fail).await
}

#[tokio::test]
async fn a_service_without_a_document_fails_at_the_fetch() {
    // `no-json-404` changes nothing for /openapi.json; a path testsvc does not serve shows the fetch failing.
    let o = document_at("/no-such-document.json").await;
    assert_eq!(
        o.message,
        "failed: the OpenAPI document could not be fetched from GET /no-such-document.json: the \
         status was 404 (not what was expected)"
    );
}

#[tokio::test]
async fn a_document_that_is_not_openapi_is_refused_with_its_problems() {
    // /healthz answers JSON that is no OpenAPI document at all.
    let o = document_at("/healthz").await;
    assert_says(
        &o,
        "the OpenAPI document is not valid: at `/`: \"openapi\" is a required property",
    );
}
