//! Burst steps (`[check.step.burst]`): the bundled w04 race checks pass on the atomic testsvc and fail on each
//! race defect with a message that says what the burst showed and nothing hidden; copies are numbered by
//! `{{i}}`; malformed bursts are refused with file and line.

use std::path::Path;

use gauntlet::checks::{CheckOutcome, CheckSuite, Verdict};

use super::support::{pillars, run, single, Service};

fn w04() -> CheckSuite {
    super::support::load_lab(&Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/w04-concurrency"))
}

fn outcome<'a>(outcomes: &'a [CheckOutcome], id: &str) -> &'a CheckOutcome {
    outcomes
        .iter()
        .find(|o| o.check_id == id)
        .unwrap_or_else(|| panic!("no outcome for {id}"))
}

const RACE_CHECKS: [&str; 3] = [
    "burst-no-lost-updates",
    "burst-one-winner",
    "burst-creates-distinct",
];

#[tokio::test]
async fn the_race_checks_pass_on_an_atomic_service() {
    let service = Service::start();
    let outcomes = run(&w04(), &service.target).await;
    for id in RACE_CHECKS {
        let o = outcome(&outcomes, id);
        assert_eq!(
            o.verdict,
            Verdict::Pass,
            "{id}: {}\n{}",
            o.message,
            o.detail
        );
    }
    // The transcript shows the burst and its tally for instructors.
    let detail = &outcome(&outcomes, "burst-one-winner").detail;
    assert!(detail.contains("sent 24 times at once"), "{detail}");
    assert!(detail.contains("statuses: 200 ×1, 412 ×23"), "{detail}");
}

/// Runs the w04 suite on testsvc with `defect` and returns the outcomes of the race checks.
async fn with_defect(defect: &str) -> Vec<CheckOutcome> {
    let service = Service::with_env(&[("TESTSVC_DEFECT", defect)]);
    run(&w04(), &service.target)
        .await
        .into_iter()
        .filter(|o| RACE_CHECKS.contains(&o.check_id.as_str()))
        .collect()
}

#[tokio::test]
async fn lost_increments_are_caught() {
    let outcomes = with_defect("lost-update").await;
    let o = outcome(&outcomes, "burst-no-lost-updates");
    assert_eq!(o.verdict, Verdict::Fail);
    assert!(
        o.message
            .contains("24 requests sent at once got answers that repeat a value"),
        "{}",
        o.message
    );
    assert!(
        o.detail
            .contains("`/version` must differ between all 24 answers"),
        "{}",
        o.detail
    );
    assert_eq!(
        outcome(&outcomes, "burst-creates-distinct").verdict,
        Verdict::Pass
    );
}

#[tokio::test]
async fn several_winners_of_one_conditional_write_are_caught() {
    let outcomes = with_defect("racy-if-match").await;
    let o = outcome(&outcomes, "burst-one-winner");
    assert_eq!(o.verdict, Verdict::Fail);
    // How many racers land inside the defect's window depends on scheduling; more than one always does.
    assert!(
        o.message.contains("of 24 requests sent at once,") && o.message.contains("got status 200"),
        "{}",
        o.message
    );
    let winners: usize = o
        .detail
        .split("with status 200, got ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the tally is in the detail: {}", o.detail));
    assert!(winners > 1, "{}", o.detail);
    // Unconditional writes are still atomic under this defect.
    assert_eq!(
        outcome(&outcomes, "burst-no-lost-updates").verdict,
        Verdict::Pass
    );
}

#[tokio::test]
async fn shared_ids_of_concurrent_creates_are_caught() {
    let outcomes = with_defect("racy-create").await;
    let o = outcome(&outcomes, "burst-creates-distinct");
    assert_eq!(o.verdict, Verdict::Fail);
    assert!(o.message.contains("repeat a value"), "{}", o.message);
    // Which value repeated is for instructors only.
    assert!(!o.message.contains("n_"), "{}", o.message);
    assert!(o.detail.contains("`/id` must differ"), "{}", o.detail);
    for id in ["burst-no-lost-updates", "burst-one-winner"] {
        assert_eq!(outcome(&outcomes, id).verdict, Verdict::Pass, "{id}");
    }
}

const NUMBERED: &str = r#"
[[check]]
id = "c"
kind = "http"
title = "Copies"
pillar = "language"

[[check.step]]
method = "POST"
path = "/echo"
json = { copy = "BODY" }
[check.step.burst]
count = 8
status_counts = { "200" = 8 }
distinct = ["/body"]
[check.step.expect]
status = 200
"#;

#[tokio::test]
async fn copies_are_numbered_by_i_and_a_repeated_value_fails() {
    let service = Service::start();
    single(&NUMBERED.replace("BODY", "n{{i}}"), &service, Verdict::Pass).await;
    let o = single(&NUMBERED.replace("BODY", "same"), &service, Verdict::Fail).await;
    assert!(o.detail.contains("`/body` must differ"), "{}", o.detail);
    // A status count that does not hold fails with the tally in the detail.
    let wrong = NUMBERED
        .replace("BODY", "n{{i}}")
        .replace(r#"{ "200" = 8 }"#, r#"{ "200" = 7 }"#);
    let o = single(&wrong, &service, Verdict::Fail).await;
    assert!(
        o.message
            .contains("of 8 requests sent at once, 8 got status 200"),
        "{}",
        o.message
    );
    assert!(o.detail.contains("(200 ×8)"), "{}", o.detail);
}

const MALFORMED: &str = r#"[[check]]
id = "b"
kind = "http"
title = "B"
pillar = "language"

[[check.step]]
method = "POST"
path = "/notes/{{i}}"
[check.step.burst]
count = 1
status_counts = { "200" = 1, "ok" = 0 }
distinct = ["version"]
[check.step.capture]
note = "header:location"

[[check.step]]
restart = true
[check.step.burst]
count = 65
status_counts = { "200" = 70 }

[[check.step]]
path = "/n/{{i}}"
"#;

#[test]
fn malformed_bursts_are_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("checks")).unwrap();
    std::fs::write(dir.path().join("checks/b.toml"), MALFORMED).unwrap();
    let problems = CheckSuite::load(dir.path(), &pillars()).unwrap_err();
    let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let expect = [
        ("b.toml:11:", "from 2 to 64 copies"),
        ("b.toml:12:", "`ok` is not an HTTP status"),
        ("b.toml:13:", "JSON pointer"),
        ("b.toml:15:", "cannot capture"),
        ("b.toml:19:", "cannot be a burst"),
        ("b.toml:20:", "from 2 to 64 copies"),
        ("b.toml:20:", "add up to 70"),
        ("b.toml:24:", "variable `i`"),
    ];
    for (at, words) in expect {
        assert!(
            shown.iter().any(|s| s.contains(at) && s.contains(words)),
            "no problem `{at} …{words}…` among:\n{}",
            shown.join("\n")
        );
    }
    assert_eq!(shown.len(), expect.len(), "{}", shown.join("\n"));
}

#[tokio::test]
async fn each_copy_is_held_to_its_own_expectations_and_max_ms() {
    let service = Service::start();
    // /echo returns the body it got as a string: copy i must see its own `{{i}}` in what it expects.
    let own = NUMBERED.replace("BODY", "n{{i}}").replace(
        "[check.step.expect]\nstatus = 200\n",
        "[check.step.expect]\nstatus = 200\njson = { body = '{\"copy\":\"n{{i}}\"}' }\n",
    );
    single(&own, &service, Verdict::Pass).await;
    let shifted = own.replace(
        "json = { body = '{\"copy\":\"n{{i}}\"}' }",
        "json = { body = '{\"copy\":\"n0\"}' }",
    );
    let o = single(&shifted, &service, Verdict::Fail).await;
    assert!(
        o.message.contains("one of 8 requests sent at once failed"),
        "{}",
        o.message
    );

    // A slow service: every copy is cut at max_ms and reported as too slow, not as a timeout of the check.
    let slow = Service::with_env(&[("TESTSVC_DELAY_MS", "400")]);
    let capped = NUMBERED.replace("BODY", "n{{i}}").replace(
        "[check.step.expect]\nstatus = 200\n",
        "[check.step.expect]\nstatus = 200\nmax_ms = 100\n",
    );
    let o = single(&capped, &slow, Verdict::Fail).await;
    assert!(
        o.message.contains("took longer than allowed"),
        "{}",
        o.message
    );
}
