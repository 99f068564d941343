//! Each expectation passes on the correct service and fails on the defect it exists to catch, with a message
//! that names the behaviour and never the hidden value.

use gauntlet::checks::Verdict;

use crate::support::{check, passes_then_fails, single, Service};

/// Used in expectations; must never reach a learner-facing message.
const SECRET: &str = "s3cr3t-expected-value";

fn assert_safe(message: &str) {
    assert!(
        !message.contains(SECRET),
        "the message leaks a hidden value: {message}"
    );
    assert!(
        !message.contains("application/json"),
        "the message leaks a header pattern: {message}"
    );
}

#[tokio::test]
async fn status_passes_on_health_and_fails_on_health_500() {
    let toml = check("/healthz", "status = 200");
    single(&toml, &Service::start(), Verdict::Pass).await;
    let o = single(
        &toml,
        &Service::with_env(&[("TESTSVC_DEFECT", "health-500")]),
        Verdict::Fail,
    )
    .await;
    assert_eq!(
        o.message,
        "failed at step 1 of 1: the status was 500 (not what was expected)"
    );
    for part in [
        "── step 1 of 1: GET http://127.0.0.1:",
        "expected: status 200",
        "< 500 (",
        "< content-type: application/json",
        "FAILED at step 1: expected status 200, got 500",
    ] {
        assert!(
            o.detail.contains(part),
            "`{part}` missing from the transcript:\n{}",
            o.detail
        );
    }
}

#[tokio::test]
async fn status_in_accepts_any_listed_status() {
    let svc = Service::start();
    let o = passes_then_fails(
        &svc,
        "/nope",
        "status_in = [400, 404]",
        "status_in = [200, 204]",
    )
    .await;
    assert!(
        o.message
            .ends_with("the status was 404 (not what was expected)"),
        "{}",
        o.message
    );
}

#[tokio::test]
async fn header_glob_passes_on_json_404_and_fails_on_plain_text() {
    let toml = check(
        "/nope",
        r#"headers = { "content-type" = "application/json*" }"#,
    );
    single(&toml, &Service::start(), Verdict::Pass).await;
    let o = single(
        &toml,
        &Service::with_env(&[("TESTSVC_DEFECT", "no-json-404")]),
        Verdict::Fail,
    )
    .await;
    assert!(
        o.message
            .ends_with("a response header was missing or not as expected"),
        "{}",
        o.message
    );
    assert_safe(&o.message);
    assert!(
        o.detail.contains("text/plain"),
        "the detail shows what came back:\n{}",
        o.detail
    );
}

#[tokio::test]
async fn json_partial_match_and_its_failure_keep_the_expected_value_hidden() {
    let svc = Service::start();
    single(
        &check("/healthz", r#"json = { status = "ok" }"#),
        &svc,
        Verdict::Pass,
    )
    .await;
    let toml = check("/healthz", &format!(r#"json = {{ status = "{SECRET}" }}"#));
    let o = single(&toml, &svc, Verdict::Fail).await;
    assert!(
        o.message
            .ends_with("the response body was not the expected JSON"),
        "{}",
        o.message
    );
    assert_safe(&o.message);
    assert!(
        o.detail.contains(SECRET),
        "instructors see the expectation:\n{}",
        o.detail
    );
}

#[tokio::test]
async fn json_on_a_non_json_body_fails_as_not_json() {
    let svc = Service::with_env(&[("TESTSVC_DEFECT", "no-json-404")]);
    let o = single(
        &check("/nope", r#"json = { error = "not_found" }"#),
        &svc,
        Verdict::Fail,
    )
    .await;
    assert!(
        o.message.ends_with("the response body was not valid JSON"),
        "{}",
        o.message
    );
}

#[tokio::test]
async fn json_pointer_types_len_and_absent() {
    let svc = Service::start();
    let good = r#"json_pointer = { "/method" = "GET", "/headers/x-probe" = "*" }
json_types = { "/headers" = "object", "/body" = "string" }
json_len = { "/method" = 3 }
json_absent = ["/nothing", "/headers/x-absent"]"#;
    let toml = check("/echo", good).replace(
        "[check.step.expect]",
        "headers = { X-Probe = \"1\" }\n[check.step.expect]",
    );
    single(&toml, &svc, Verdict::Pass).await;
    for bad in [
        format!(r#"json_pointer = {{ "/method" = "{SECRET}" }}"#),
        r#"json_pointer = { "/missing" = "*" }"#.to_string(),
        r#"json_types = { "/method" = "null" }"#.to_string(),
        r#"json_len = { "/method" = 4 }"#.to_string(),
        r#"json_absent = ["/method"]"#.to_string(),
    ] {
        let o = single(&check("/echo", &bad), &svc, Verdict::Fail).await;
        assert!(
            o.message
                .ends_with("the response body was not the expected JSON"),
            "{bad}: {}",
            o.message
        );
        assert_safe(&o.message);
    }
}

#[tokio::test]
async fn max_body_bytes_fails_a_larger_body() {
    let svc = Service::start();
    let o = passes_then_fails(
        &svc,
        "/healthz",
        "max_body_bytes = 1000",
        "max_body_bytes = 5",
    )
    .await;
    assert!(
        o.message
            .ends_with("the response body was larger than allowed"),
        "{}",
        o.message
    );
}

#[tokio::test]
async fn max_ms_fails_a_slow_answer() {
    let slow = Service::with_env(&[("TESTSVC_DELAY_MS", "400")]);
    single(&check("/healthz", "max_ms = 2000"), &slow, Verdict::Pass).await;
    let o = single(&check("/healthz", "max_ms = 100"), &slow, Verdict::Fail).await;
    assert!(
        o.message.ends_with("the answer took longer than allowed"),
        "{}",
        o.message
    );
    assert!(
        o.duration_ms < 400,
        "the request is cut at max_ms, took {} ms",
        o.duration_ms
    );
}

#[tokio::test]
async fn the_check_timeout_cuts_a_service_that_never_answers_in_time() {
    let slow = Service::with_env(&[("TESTSVC_DELAY_MS", "3000")]);
    let toml = check("/healthz", "status = 200").replace("timeout_secs = 5", "timeout_secs = 1");
    let o = single(&toml, &slow, Verdict::Fail).await;
    assert!(
        o.message.ends_with("no answer within the time limit"),
        "{}",
        o.message
    );
    assert!(
        (900..2500).contains(&o.duration_ms),
        "took {} ms",
        o.duration_ms
    );
}

#[tokio::test]
async fn an_unreachable_service_fails_the_check_without_panicking() {
    let target = crate::support::target(crate::support::free_port());
    let outcomes = crate::support::run(
        &crate::support::suite(&check("/healthz", "status = 200")),
        &target,
    )
    .await;
    assert_eq!(outcomes[0].verdict, Verdict::Fail);
    assert!(
        outcomes[0].message.ends_with("connection refused"),
        "{}",
        outcomes[0].message
    );
}

#[tokio::test]
async fn redirects_are_answers_not_places_to_go() {
    let svc = Service::start();
    let toml = check(
        "/redirect",
        r#"status = 302
headers = { location = "/healthz" }"#,
    );
    single(&toml, &svc, Verdict::Pass).await;
}

#[tokio::test]
async fn the_transcript_shows_both_bodies_cut_at_2_kib() {
    let long = "x".repeat(5000);
    let toml = check("/echo", "status = 201").replace(
        "[check.step.expect]",
        &format!("method = \"POST\"\ntext = \"{long}\"\n[check.step.expect]"),
    );
    let o = single(&toml, &Service::start(), Verdict::Fail).await;
    assert!(
        o.detail
            .contains("> content-type: text/plain; charset=utf-8"),
        "{}",
        o.detail
    );
    assert!(
        o.detail.contains("> … (5000 bytes in all, cut at 2048)"),
        "{}",
        o.detail
    );
    assert!(o.detail.contains("< … ("), "{}", o.detail);
    assert!(
        o.detail.len() < 6000,
        "bodies are cut: {} bytes",
        o.detail.len()
    );
    assert!(!o.message.contains("xxxx"));
}

/// A created note must match a schema; `version-as-string` answers `version` as a string.
const NOTE_SCHEMA: &str = r#"
[[check]]
id = "c"
kind = "http"
title = "Created notes have the documented shape"
pillar = "language"
timeout_secs = 5

[[check.step]]
method = "POST"
path = "/notes"
json = { title = "shaped" }
[check.step.expect]
status = 201
schema = { type = "object", required = ["id", "title", "version"], properties = { id = { type = "string", pattern = "^n_" }, version = { type = "integer", minimum = 1 } } }
"#;

#[tokio::test]
async fn schema_passes_on_a_conforming_body_and_fails_on_schema_drift() {
    let o = single(NOTE_SCHEMA, &Service::start(), Verdict::Pass).await;
    assert!(
        o.detail
            .contains("expected: status 201; body conforms to schema {"),
        "{}",
        o.detail
    );
    let o = single(
        NOTE_SCHEMA,
        &Service::with_env(&[("TESTSVC_DEFECT", "version-as-string")]),
        Verdict::Fail,
    )
    .await;
    assert_eq!(
        o.message,
        "failed at step 1 of 1: the response body did not \
         have the expected structure"
    );
    assert!(
        o.detail
            .contains("FAILED at step 1: the body broke the schema: at `/version`: \"1\" is not of type \"integer\""),
        "{}",
        o.detail
    );
}

#[tokio::test]
async fn schema_failure_names_every_violation_for_the_instructor_only() {
    let schema = format!(
        r#"schema = {{ type = "object", required = ["{SECRET}"], properties = {{ error = {{ type = "integer" }} }} }}"#
    );
    let o = single(
        &check("/no-such-route", &schema),
        &Service::start(),
        Verdict::Fail,
    )
    .await;
    assert_safe(&o.message);
    assert!(o
        .message
        .ends_with("the response body did not have the expected structure"));
    assert!(
        o.detail
            .contains(&format!("\"{SECRET}\" is a required property")),
        "{}",
        o.detail
    );
    assert!(o.detail.contains("at `/error`"), "{}", o.detail);
}

#[tokio::test]
async fn schema_on_a_body_that_is_not_json_fails_as_not_json() {
    let o = single(
        &check("/healthz", "schema = { type = \"object\" }"),
        &Service::with_env(&[("TESTSVC_DEFECT", "health-text")]),
        Verdict::Fail,
    )
    .await;
    assert!(
        o.message.ends_with("the response body was not valid JSON"),
        "{}",
        o.message
    );
}
