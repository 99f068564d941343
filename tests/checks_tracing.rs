//! The `tracing` kind end to end on the real engine: lab w11's own counterpart (Gauntlet's OTLP receiver, image
//! `gauntlet/counterparts:1`) and its reference (testsvc with `GAUNTLET_LAB=w11-observability`, exporting
//! OTLP/JSON) on a run network, graded by the lab's tracing checks. The reference passes them; each defect fails
//! the check that exists to catch it (its dependents skipped), with a learner message that says what arrived.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::sandbox::{setup, BUILD_TIMEOUT, LOG_CAP};
use gauntlet::archive::{pack, ArchiveLimits};
use gauntlet::checks::{run_suite, CheckContext, CheckOutcome, CheckSuite, Target, Verdict};
use gauntlet::curriculum::Lab;
use gauntlet::grading::counterparts::{start_with_service, RunKeys, StartFailure};
use gauntlet::grading::secrets::RunSecrets;
use gauntlet::grading::service::{service_env, start_spec};
use gauntlet::sandbox::base_url;

const LAB: &str = "w11-observability";

fn lab_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("labs").join(LAB)
}

/// Grades the w11 reference, with `defect`/`variant` switched on, by the lab's tracing checks named in `only`
/// (with what they depend on); the outcomes by check id.
async fn grade(
    test: &str,
    switches: &[(&str, &str)],
    only: &[&str],
) -> BTreeMap<String, CheckOutcome> {
    let reference = common::testsvc::reference(LAB);
    let (sandbox, run, _guard) = setup(test).await;
    let context = pack(&reference, &ArchiveLimits::default()).expect("pack the reference");
    let image = sandbox
        .build(&run, context, BUILD_TIMEOUT, LOG_CAP, |_| {})
        .await
        .expect("the reference builds");
    let lab = Lab::load(&lab_dir()).expect("the lab loads");
    let secrets = RunSecrets::ephemeral();
    let mut env = service_env(&lab, 11, &secrets);
    for (k, v) in switches {
        env.insert(k.to_string(), v.to_string());
    }
    let mut started = Vec::new();
    let keys = RunKeys {
        seed: 11,
        secrets: &secrets,
    };
    let running = match start_with_service(
        &sandbox,
        &run,
        &lab,
        &image,
        &start_spec(&lab, &env),
        keys,
        &mut started,
    )
    .await
    {
        Ok(r) => r,
        Err(StartFailure::Counterparts(e)) => panic!("counterparts: {}", e.detail()),
        Err(StartFailure::Service(e)) => panic!("service: {e}"),
    };
    let address = sandbox
        .wait_healthy(&running, "/healthz", Duration::from_secs(20))
        .await
        .expect("the reference becomes healthy");
    let base = url::Url::parse(&base_url(address)).expect("url");
    let control = gauntlet::grading::control::DockerControl::new(
        sandbox.clone(),
        running.clone(),
        "/healthz".into(),
        Duration::from_secs(10),
        base.clone(),
    )
    .with_counterparts(started);
    let mut suite =
        CheckSuite::load(&lab_dir(), &["performance".to_string()]).expect("checks load");
    suite.checks.retain(|c| {
        only.contains(&c.id.as_str()) || (c.id == "tracing-continues-trace" && !only.is_empty())
    });
    assert!(!suite.checks.is_empty());
    let ctx = CheckContext {
        seed: 11,
        env,
        control: Some(Arc::new(control)),
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let outcomes = run_suite(&suite, &Target { base_url: base }, &ctx, &tx).await;
    for o in &outcomes {
        // Shown with a failing test: every outcome with its span tree.
        eprintln!(
            "{} {:?}: {}\n{}",
            o.check_id, o.verdict, o.message, o.detail
        );
    }
    outcomes
        .into_iter()
        .map(|o| (o.check_id.clone(), o))
        .collect()
}

fn verdicts(outcomes: &BTreeMap<String, CheckOutcome>) -> BTreeMap<&str, Verdict> {
    outcomes
        .iter()
        .map(|(k, o)| (k.as_str(), o.verdict))
        .collect()
}

const ALL: [&str; 6] = [
    "tracing-continues-trace",
    "tracing-server-kind",
    "tracing-http-attributes",
    "tracing-service-name",
    "tracing-new-trace-without-traceparent",
    "tracing-new-trace-on-invalid-traceparent",
];

#[tokio::test]
async fn the_reference_passes_every_tracing_check_and_the_detail_shows_the_span_tree() {
    let outcomes = grade("trace-ref", &[], &ALL).await;
    assert_eq!(outcomes.len(), 6);
    for (id, o) in &outcomes {
        assert_eq!(
            o.verdict,
            Verdict::Pass,
            "{id}: {}\n{}",
            o.message,
            o.detail
        );
    }
    let detail = &outcomes["tracing-continues-trace"].detail;
    assert!(
        detail.contains("named by the traceparent of POST /v1/notes"),
        "{detail}"
    );
    assert!(
        detail.contains("[SERVER]") && detail.contains("(the caller's span)"),
        "{detail}"
    );
    assert!(detail.contains("http.route=/v1/notes/{id}"), "{detail}");
}

#[tokio::test]
async fn a_dropped_traceparent_fails_continuation_and_skips_what_judges_that_span() {
    let outcomes = grade(
        "trace-drop",
        &[("TESTSVC_DEFECT", "trace-drop-parent")],
        &ALL,
    )
    .await;
    let v = verdicts(&outcomes);
    assert_eq!(v["tracing-continues-trace"], Verdict::Fail);
    for id in [
        "tracing-server-kind",
        "tracing-http-attributes",
        "tracing-service-name",
    ] {
        assert_eq!(v[id], Verdict::Skipped, "{id}");
    }
    for id in [
        "tracing-new-trace-without-traceparent",
        "tracing-new-trace-on-invalid-traceparent",
    ] {
        assert_eq!(v[id], Verdict::Pass, "{id}");
    }
    let message = &outcomes["tracing-continues-trace"].message;
    assert!(
        message.contains("arrived in the caller's trace") && message.contains("3 of 3"),
        "{message}"
    );
}

#[tokio::test]
async fn a_parent_of_the_services_own_fails_continuation() {
    let outcomes = grade(
        "trace-parent",
        &[("TESTSVC_DEFECT", "trace-wrong-parent")],
        &["tracing-continues-trace"],
    )
    .await;
    let o = &outcomes["tracing-continues-trace"];
    assert_eq!(o.verdict, Verdict::Fail);
    assert!(
        o.message.contains("none has the caller's span"),
        "{}",
        o.message
    );
}

#[tokio::test]
async fn a_hard_coded_service_name_fails_without_the_expected_name_shown() {
    let outcomes = grade(
        "trace-name",
        &[("TESTSVC_DEFECT", "trace-fixed-service-name")],
        &["tracing-service-name"],
    )
    .await;
    assert_eq!(outcomes["tracing-continues-trace"].verdict, Verdict::Pass);
    let o = &outcomes["tracing-service-name"];
    assert_eq!(o.verdict, Verdict::Fail);
    assert!(o.message.contains("`notes-service`"), "{}", o.message);
    // The run's OTEL_SERVICE_NAME (64 hex digits) is not given away.
    let hex_run = o
        .message
        .split(|c: char| !c.is_ascii_hexdigit())
        .any(|w| w.len() >= 32);
    assert!(!hex_run, "{}", o.message);
}

#[tokio::test]
async fn spans_without_http_attributes_or_of_kind_client_fail_their_checks() {
    let attrs = grade(
        "trace-attrs",
        &[("TESTSVC_DEFECT", "trace-no-http-attrs")],
        &["tracing-http-attributes", "tracing-server-kind"],
    )
    .await;
    assert_eq!(attrs["tracing-http-attributes"].verdict, Verdict::Fail);
    assert_eq!(attrs["tracing-server-kind"].verdict, Verdict::Pass);
    assert!(attrs["tracing-http-attributes"]
        .message
        .contains("http.request.method"));
    let kind = grade(
        "trace-kind",
        &[("TESTSVC_DEFECT", "trace-client-kind")],
        &["tracing-http-attributes", "tracing-server-kind"],
    )
    .await;
    assert_eq!(kind["tracing-server-kind"].verdict, Verdict::Fail);
    assert!(kind["tracing-server-kind"].message.contains("kind CLIENT"));
    assert_eq!(kind["tracing-http-attributes"].verdict, Verdict::Pass);
}

#[tokio::test]
async fn one_trace_for_all_requests_without_context_fails_both_new_trace_checks() {
    let outcomes = grade(
        "trace-reuse",
        &[("TESTSVC_DEFECT", "trace-reuse-trace")],
        &[
            "tracing-new-trace-without-traceparent",
            "tracing-new-trace-on-invalid-traceparent",
        ],
    )
    .await;
    let o = &outcomes["tracing-new-trace-without-traceparent"];
    assert_eq!(o.verdict, Verdict::Fail);
    assert!(o.message.contains("only 1 trace"), "{}", o.message);
    assert_eq!(
        outcomes["tracing-new-trace-on-invalid-traceparent"].verdict,
        Verdict::Fail
    );
}

#[tokio::test]
async fn a_continued_invalid_traceparent_fails_and_is_named() {
    let outcomes = grade(
        "trace-invalid",
        &[("TESTSVC_DEFECT", "trace-accept-invalid")],
        &[
            "tracing-new-trace-on-invalid-traceparent",
            "tracing-new-trace-without-traceparent",
        ],
    )
    .await;
    let o = &outcomes["tracing-new-trace-on-invalid-traceparent"];
    assert_eq!(o.verdict, Verdict::Fail);
    assert!(
        o.message.contains("version ff") && o.message.contains("was continued"),
        "{}",
        o.message
    );
    assert_eq!(
        outcomes["tracing-new-trace-without-traceparent"].verdict,
        Verdict::Pass
    );
}

#[tokio::test]
async fn child_spans_exported_before_their_parent_and_old_attribute_names_pass() {
    let outcomes = grade(
        "trace-near",
        &[("TESTSVC_VARIANT", "trace-child-spans,trace-old-attributes")],
        &[
            "tracing-http-attributes",
            "tracing-new-trace-without-traceparent",
        ],
    )
    .await;
    for (id, o) in &outcomes {
        assert_eq!(
            o.verdict,
            Verdict::Pass,
            "{id}: {}\n{}",
            o.message,
            o.detail
        );
    }
    let detail = &outcomes["tracing-http-attributes"].detail;
    assert!(
        detail.contains("notes.store [INTERNAL]") && detail.contains("http.method=POST"),
        "{detail}"
    );
}
