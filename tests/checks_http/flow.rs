//! Behaviour across steps and checks: captures and variables, dependency skips, events, platform faults and
//! the score.

use std::time::Duration;

use gauntlet::checks::http::{Expect, HttpScenario, StatusExpect, Step};
use gauntlet::checks::{score, CheckDef, CheckEvent, CheckKind, CheckOutcome, CheckSuite, Verdict};

use crate::support::{run, run_with_events, single, suite, Service};

#[tokio::test]
async fn captures_feed_later_paths_headers_bodies_and_expectations() {
    let toml = r#"
[[check]]
id = "flow"
kind = "http"
title = "Flow"
pillar = "language"

[[check.step]]
method = "POST"
path = "/notes"
json = { title = "t-{{rand}}" }
[check.step.expect]
status = 201
[check.step.capture]
id = "/id"
version = "/version"
where = "header:location"

[[check.step]]
path = "{{where}}"
[check.step.expect]
json = { id = "{{id}}", version = "{{version}}", title = "t-{{rand}}" }

[[check.step]]
method = "PUT"
path = "/echo?id={{id|url}}&seed={{seed}}"
headers = { X-Note = "{{id}}", X-Env = "{{env.SECRET}}" }
text = "v={{version}}"
[check.step.expect]
json_pointer = { "/query" = "id={{id}}&seed=42", "/headers/x-note" = "{{id}}", "/headers/x-env" = "env-secret", "/body" = "v=1", "/headers/content-type" = "text/plain; charset=utf-8" }
"#;
    let o = single(toml, &Service::start(), Verdict::Pass).await;
    assert!(o.detail.contains("captured id = n_1"), "{}", o.detail);
}

#[tokio::test]
async fn a_missing_capture_fails_the_step() {
    let toml = crate::support::check("/healthz", "status = 200").replace(
        "[check.step.expect]",
        "[check.step.capture]\nnope = \"/no/such\"\n[check.step.expect]",
    );
    let o = single(&toml, &Service::start(), Verdict::Fail).await;
    assert!(
        o.message
            .ends_with("a value that later steps need was missing from the response"),
        "{}",
        o.message
    );
}

const TWO: &str = r#"
[[check]]
id = "second"
kind = "http"
title = "Second behaviour"
pillar = "language"
depends_on = ["first"]
[[check.step]]
path = "/healthz"

[[check]]
id = "first"
kind = "http"
title = "First behaviour"
pillar = "language"
[[check.step]]
path = "/healthz"
[check.step.expect]
status = 200
"#;

#[tokio::test]
async fn a_check_runs_after_its_dependency_and_is_skipped_when_it_fails() {
    let s = suite(TWO);
    let (ok, events) = run_with_events(&s, &Service::start().target).await;
    assert_eq!(
        ok.iter().map(|o| o.verdict).collect::<Vec<_>>(),
        [Verdict::Pass, Verdict::Pass]
    );
    let order: Vec<String> = events
        .iter()
        .map(|e| match e {
            CheckEvent::Started { check_id, .. } => format!("start {check_id}"),
            CheckEvent::Finished(o) => format!("end {}", o.check_id),
        })
        .collect();
    assert_eq!(
        order,
        ["start first", "end first", "start second", "end second"]
    );

    let (bad, events) = run_with_events(
        &s,
        &Service::with_env(&[("TESTSVC_DEFECT", "health-500")]).target,
    )
    .await;
    assert_eq!(
        bad[0].check_id, "second",
        "outcomes come back in suite order"
    );
    assert_eq!(bad[0].verdict, Verdict::Skipped);
    assert_eq!(
        bad[0].message,
        "skipped because “First behaviour” did not pass"
    );
    assert_eq!(bad[1].verdict, Verdict::Fail);
    assert_eq!(events.len(), 3, "a skipped check never starts");
}

fn broken_def() -> CheckDef {
    CheckDef {
        id: "broken".into(),
        title: "Broken".into(),
        hint: String::new(),
        pillar: "language".into(),
        weight: 5.0,
        required: true,
        depends_on: vec![],
        timeout: Duration::from_secs(2),
        kind: CheckKind::Http(HttpScenario {
            steps: vec![Step {
                method: "GET".into(),
                path: "/healthz/{{undefined}}".into(),
                headers: vec![],
                body: None,
                expect: Expect {
                    status: Some(StatusExpect::Exact(200)),
                    ..Expect::default()
                },
                capture: vec![],
                restart: None,
                burst: None,
            }],
        }),
    }
}

#[tokio::test]
async fn a_broken_definition_is_a_platform_error_that_does_not_count() {
    let mut s = suite(TWO);
    s.checks.push(broken_def());
    let outcomes = run(&s, &Service::start().target).await;
    let broken = &outcomes[2];
    assert_eq!(broken.verdict, Verdict::Error);
    assert!(
        broken.message.contains("platform fault"),
        "{}",
        broken.message
    );
    assert!(broken.detail.contains("undefined"), "{}", broken.detail);
    assert_eq!(score(&outcomes).score, 1.0);
    assert!(score(&outcomes).passed);
}

fn outcome(weight: f64, required: bool, verdict: Verdict) -> CheckOutcome {
    CheckOutcome {
        check_id: "x".into(),
        title: "x".into(),
        pillar: "language".into(),
        weight,
        required,
        verdict,
        message: String::new(),
        detail: String::new(),
        duration_ms: 0,
    }
}

#[test]
fn score_weighs_passes_ignores_errors_and_requires_required_checks() {
    use Verdict::*;
    let s = score(&[
        outcome(3.0, true, Pass),
        outcome(1.0, false, Fail),
        outcome(10.0, true, Error),
    ]);
    assert_eq!((s.score, s.passed), (0.75, true));
    let s = score(&[outcome(1.0, true, Pass), outcome(1.0, true, Skipped)]);
    assert_eq!((s.score, s.passed), (0.5, false));
    let s = score(&[outcome(1.0, true, Error)]);
    assert_eq!(
        (s.score, s.passed),
        (0.0, false),
        "nothing judged, nothing earned"
    );
    assert_eq!(score(&[]).score, 0.0);
}

#[test]
fn verdicts_serialise_in_lower_case() {
    assert_eq!(
        serde_json::to_string(&Verdict::Skipped).expect("json"),
        "\"skipped\""
    );
}

#[test]
fn a_lab_without_checks_has_an_empty_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = CheckSuite::load(dir.path(), &[]).expect("loads");
    assert!(s.checks.is_empty());
}

#[tokio::test]
async fn a_restart_step_without_a_container_to_restart_is_a_platform_error() {
    let s = suite(
        r#"
[[check]]
id = "survives"
kind = "http"
title = "Survives a restart"
pillar = "language"

[[check.step]]
path = "/healthz"
[check.step.expect]
status = 200

[[check.step]]
restart = true

[[check.step]]
path = "/healthz"
[check.step.expect]
status = 200
"#,
    );
    let outcomes = run(&s, &Service::start().target).await;
    assert_eq!(
        outcomes[0].verdict,
        Verdict::Error,
        "{}",
        outcomes[0].detail
    );
    assert!(
        outcomes[0].detail.contains("cannot do"),
        "{}",
        outcomes[0].detail
    );
}

#[tokio::test]
async fn a_path_from_an_answer_that_names_another_host_is_never_requested() {
    // /echo hands back what it was sent: here a scheme-relative `//host/…` that would leave the service.
    let service = Service::start();
    let toml = r#"
[[check]]
id = "c"
kind = "http"
title = "Follow"
pillar = "language"

[[check.step]]
method = "POST"
path = "/echo"
text = "//127.0.0.1:9/steal"
[check.step.capture]
next = "/body"

[[check.step]]
path = "{{next}}"
[check.step.expect]
status = 200
"#;
    let o = single(toml, &service, Verdict::Fail).await;
    assert!(
        o.message.contains("another host than your service"),
        "{}",
        o.message
    );
    assert!(
        o.detail.contains("resolves outside the service under test"),
        "{}",
        o.detail
    );
}
