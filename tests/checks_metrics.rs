//! The `metrics` kind against testsvc as the w11 reference (a local process): the bundled w11 metrics checks
//! pass on it and on its near misses, each metrics defect fails the check written for it with a message that
//! shows what moved, and malformed `[check.metrics]` tables are refused with their line.

mod common;

#[allow(dead_code)]
#[path = "checks_http/support.rs"]
mod support;

use std::path::Path;

use gauntlet::checks::{CheckOutcome, CheckSuite, Verdict};

use support::{assert_problem, run, Service};

const LAB: [(&str, &str); 1] = [("GAUNTLET_LAB", "w11-observability")];

/// The bundled w11 checks of the `metrics` kind, in file order.
fn metrics_checks() -> CheckSuite {
    let lab = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/w11-observability");
    let mut suite = CheckSuite::load(&lab, &["performance".to_string()]).expect("w11 loads");
    suite.checks.retain(|c| c.kind.name() == "metrics");
    assert_eq!(suite.checks.len(), 5, "the w11 metrics checks");
    suite
}

async fn outcomes(env: &[(&str, &str)]) -> Vec<CheckOutcome> {
    let mut all = LAB.to_vec();
    all.extend_from_slice(env);
    let service = Service::with_env(&all);
    run(&metrics_checks(), &service.target).await
}

fn verdict_of<'a>(outcomes: &'a [CheckOutcome], id: &str) -> &'a CheckOutcome {
    outcomes
        .iter()
        .find(|o| o.check_id == id)
        .unwrap_or_else(|| panic!("no outcome for {id}"))
}

#[tokio::test]
async fn the_reference_and_its_near_misses_pass_every_metrics_check() {
    for variant in [
        "",
        "metrics-openmetrics",
        "metrics-skip-own",
        "metrics-extra-labels",
    ] {
        for o in outcomes(&[("TESTSVC_VARIANT", variant)]).await {
            assert_eq!(
                o.verdict,
                Verdict::Pass,
                "{variant}: {}\n{}",
                o.message,
                o.detail
            );
        }
    }
}

#[tokio::test]
async fn a_status_label_that_is_not_the_status_sent_shows_expected_and_found_deltas() {
    let all = outcomes(&[("TESTSVC_DEFECT", "metrics-wrong-status")]).await;
    let o = verdict_of(&all, "metrics-count-requests");
    assert_eq!(o.verdict, Verdict::Fail, "{}", o.detail);
    assert!(
        o.message
            .contains("GET /v1/notes/{id} 404: expected +1, found +0"),
        "{}",
        o.message
    );
    assert!(
        o.message.contains("after the check's 8 requests"),
        "{}",
        o.message
    );
    // The other rules hold on this service: the defect fails its own check only.
    for id in [
        "metrics-exposed",
        "metrics-histogram-count",
        "metrics-buckets",
        "metrics-no-raw-ids",
    ] {
        assert_eq!(verdict_of(&all, id).verdict, Verdict::Pass, "{id}");
    }
}

#[tokio::test]
async fn raw_paths_and_ids_as_label_values_are_named() {
    let all = outcomes(&[("TESTSVC_DEFECT", "metrics-raw-path")]).await;
    let o = verdict_of(&all, "metrics-no-raw-ids");
    assert_eq!(o.verdict, Verdict::Fail, "{}", o.detail);
    assert!(o.message.contains("the label `route`"), "{}", o.message);
    let all = outcomes(&[("TESTSVC_DEFECT", "metrics-id-label")]).await;
    let o = verdict_of(&all, "metrics-no-raw-ids");
    assert_eq!(o.verdict, Verdict::Fail, "{}", o.detail);
    assert!(o.message.contains("the label `id`"), "{}", o.message);
    assert_eq!(
        verdict_of(&all, "metrics-count-requests").verdict,
        Verdict::Pass
    );
}

#[tokio::test]
async fn histogram_drift_coarse_buckets_and_a_wrong_type_fail_their_checks() {
    let cases = [
        (
            "metrics-histogram-drift",
            "metrics-histogram-count",
            "did not move with",
        ),
        (
            "metrics-coarse-buckets",
            "metrics-buckets",
            "2 bucket bound(s) between 1 ms and 1 s",
        ),
        (
            "metrics-gauge-as-counter",
            "metrics-exposed",
            "declared a gauge, expected a counter",
        ),
        (
            "metrics-errors-uncounted",
            "metrics-count-requests",
            "POST /v1/notes 422: expected +1, found +0",
        ),
    ];
    for (defect, id, said) in cases {
        let all = outcomes(&[("TESTSVC_DEFECT", defect)]).await;
        let o = verdict_of(&all, id);
        assert_eq!(o.verdict, Verdict::Fail, "{defect}: {}", o.detail);
        assert!(o.message.contains(said), "{defect}: {}", o.message);
    }
}

#[tokio::test]
async fn a_service_without_metrics_fails_with_the_status_it_answered() {
    // The w09 reference serves the same notes, but no /metrics.
    let service = Service::with_env(&[("GAUNTLET_LAB", "w09-contract")]);
    let all = run(&metrics_checks(), &service.target).await;
    let o = verdict_of(&all, "metrics-exposed");
    assert_eq!(o.verdict, Verdict::Fail);
    assert!(
        o.message.contains("GET /metrics answered 404"),
        "{}",
        o.message
    );
}

const HEAD: &str =
    "[[check]]\nid = \"m\"\nkind = \"metrics\"\ntitle = \"Metrics\"\npillar = \"language\"\n";

#[test]
fn malformed_metrics_tables_are_refused_with_their_line() {
    assert_problem(HEAD, 1, "needs a [check.metrics] table");
    let unknown = format!("{HEAD}\n[check.metrics]\nexpect = [\"countz\"]\n");
    assert_problem(&unknown, 8, "unknown rule `countz`");
    let no_counter = format!("{HEAD}\n[[check.step]]\npath = \"/\"\n\n[check.metrics]\nroutes = [\"/\"]\nexpect = [\"counts\"]\n");
    assert_problem(&no_counter, 12, "`counts` needs `counter`");
    let no_steps = format!(
        "{HEAD}\n[check.metrics]\ncounter = \"c_total\"\nroutes = [\"/\"]\nexpect = [\"counts\"]\n"
    );
    assert_problem(&no_steps, 10, "needs [[check.step]]s");
    let bad_type =
        format!("{HEAD}\n[check.metrics]\nrequire = [{{ name = \"x\", type = \"countr\" }}]\n");
    assert_problem(&bad_type, 8, "unknown metric type `countr`");
    let nothing = format!("{HEAD}\n[check.metrics]\npath = \"/metrics\"\n");
    assert_problem(&nothing, 7, "needs `require` or `expect`");
}
