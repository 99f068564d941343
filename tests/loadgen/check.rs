//! The `load` check kind: passes on a quick service, fails on a slow one naming the metric but not the
//! limit, and is refused with file and line when malformed.

use gauntlet::checks::{CheckSuite, Verdict};

use crate::common::fixture::Course;
use crate::support::{free_port, pillars, run, single, suite, target, Service};

fn load_check(limits: &str) -> String {
    format!(
        r#"
[[check]]
id = "fast"
kind = "load"
title = "The health endpoint stays fast under load"
pillar = "language"
timeout_secs = 5

[check.load]
path = "/healthz"
connections = 4
duration_ms = 400
warmup_ms = 100
{limits}
"#
    )
}

#[tokio::test]
async fn a_load_check_passes_on_a_quick_service() {
    let service = Service::start();
    let o = single(
        &load_check("max_p95_ms = 100\nmin_rps = 5\nmax_error_rate = 0.01"),
        &service,
        Verdict::Pass,
    )
    .await;
    assert!(o.message.contains("passed"), "{}", o.message);
    assert!(o.message.contains("requests/s"), "{}", o.message);
    assert!(o.message.contains("p95"), "{}", o.message);
}

#[tokio::test]
async fn a_load_check_fails_on_a_slow_service_naming_the_metric_not_the_limit() {
    let service = Service::with_env(&[("TESTSVC_DELAY_MS", "200")]);
    let o = single(&load_check("max_p95_ms = 123"), &service, Verdict::Fail).await;
    assert!(o.message.contains("p95 latency too high"), "{}", o.message);
    assert!(
        !o.message.contains("123"),
        "the limit leaked: {}",
        o.message
    );
    assert!(o.detail.contains("max_p95_ms = 123"), "{}", o.detail);
    assert!(o.detail.contains("max 123 ms"), "{}", o.detail);
}

#[tokio::test]
async fn a_load_check_fails_when_the_service_is_down() {
    let down = target(free_port());
    let outcomes = run(&suite(&load_check("max_error_rate = 0.5")), &down).await;
    let o = &outcomes[0];
    assert_eq!(o.verdict, Verdict::Fail, "{}\n{}", o.message, o.detail);
    assert!(o.message.contains("answered no request"), "{}", o.message);
    assert!(
        o.message.contains("too many errors: 100.0%"),
        "{}",
        o.message
    );
}

const BAD: &str = r#"[[check]]
id = "no-table"
kind = "load"
title = "T"
pillar = "language"

[[check]]
id = "bad-fields"
kind = "load"
title = "T"
pillar = "language"
timeout_secs = 2

[check.load]
path = "healthz"
method = "FETCH"
connections = 0
duration_ms = 5000
max_error_rate = 1.5
max_p95_ms = -1
"#;

const UNKNOWN_KEY: &str = r#"[[check]]
id = "colourful"
kind = "load"
title = "T"
pillar = "language"

[check.load]
path = "/"
requests = 10
colour = "red"
"#;

#[test]
fn malformed_load_checks_are_refused_with_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("checks")).expect("mkdir");
    let file = dir.path().join("checks/a.toml");
    std::fs::write(&file, BAD).expect("write");
    let other = dir.path().join("checks/b.toml");
    std::fs::write(&other, UNKNOWN_KEY).expect("write");
    let problems = CheckSuite::load(dir.path(), &pillars()).expect_err("must be refused");
    let lines: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let has = |file: &std::path::Path, line: usize, needle: &str| {
        let prefix = format!("{}:{line}: ", file.display());
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&prefix) && l.contains(needle)),
            "expected `{prefix}… {needle}` in:\n{}",
            lines.join("\n")
        );
    };
    has(&file, 1, "needs a [check.load] table");
    has(&file, 15, "must start with `/`");
    has(&file, 16, "unknown method `FETCH`");
    has(&file, 17, "connections must be between 1 and");
    has(&file, 18, "must stay under the check's timeout_secs");
    has(&file, 19, "max_error_rate must be between 0 and 1");
    has(&file, 20, "max_p95_ms must be a positive number");
    has(&other, 10, "unknown field `colour`");
}

#[test]
fn a_load_check_without_limits_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("checks")).expect("mkdir");
    let toml = load_check("");
    std::fs::write(dir.path().join("checks/a.toml"), &toml).expect("write");
    let problems = CheckSuite::load(dir.path(), &pillars()).expect_err("must be refused");
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("at least one limit") && p.line == Some(9)),
        "{problems:#?}"
    );
}

#[test]
fn gauntlet_validate_reports_a_bad_load_check_with_its_file_and_line() {
    let course = Course::valid();
    let rel = "labs/w01-hello/checks/hidden.toml";
    course.write(rel, &load_check("max_p95_ms = 0"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(["validate", "--curriculum"])
        .arg(course.curriculum())
        .arg("--labs")
        .arg(course.labs())
        .env_remove("GAUNTLET_CONFIG")
        .output()
        .expect("run gauntlet validate");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let expected = format!(
        "{}:14: max_p95_ms must be a positive number",
        course.path(rel).display()
    );
    assert!(
        stderr.contains(&expected),
        "expected `{expected}` in:\n{stderr}"
    );
}

#[test]
fn malformed_open_loop_checks_are_refused_with_their_line() {
    let open = |table: &str| {
        format!("[[check]]\nid = \"o\"\nkind = \"load\"\ntitle = \"Open\"\npillar = \"language\"\ntimeout_secs = 5\n\n[check.load]\n{table}\n")
    };
    crate::support::assert_problem(
        &open("path = \"/\"\nrate = 100\nrequests = 10\nmax_p99_ms = 5"),
        10,
        "needs duration_ms",
    );
    crate::support::assert_problem(
        &open("path = \"/\"\nrate = 0\nduration_ms = 100\nmax_p99_ms = 5"),
        10,
        "rate must be between",
    );
    crate::support::assert_problem(
        &open("path = \"/\"\nduration_ms = 100\ncount_metric = \"http_requests_total\""),
        11,
        "count_metric needs the open loop",
    );
    crate::support::assert_problem(
        &open(
            "path = \"/\"\nmix = [{ path = \"/a\" }]\nrate = 10\nduration_ms = 100\nmax_p99_ms = 5",
        ),
        9,
        "give path or mix, not both",
    );
    // 4.5 s of load and the 1 s drain do not fit a 5 s check.
    crate::support::assert_problem(
        &open("path = \"/\"\nrate = 10\nduration_ms = 4500\nmax_p99_ms = 5"),
        11,
        "once the open loop's 1 s drain is taken",
    );
}

#[tokio::test]
async fn an_open_loop_check_shows_the_figures_beside_the_objective() {
    let service = Service::start();
    let toml = "[[check]]\nid = \"o\"\nkind = \"load\"\ntitle = \"Open\"\npillar = \"language\"\ntimeout_secs = 5\n\n\
                [check.load]\npath = \"/healthz\"\nrate = 100\nduration_ms = 500\nmax_p99_ms = 250\nmax_error_rate = 0.01\n";
    let o = single(toml, &service, Verdict::Pass).await;
    assert!(
        o.message.contains("open loop at 100 requests/s"),
        "{}",
        o.message
    );
    assert!(o.message.contains("(objective ≤ 250 ms)"), "{}", o.message);
    assert!(o.message.contains("50 answered"), "{}", o.message);
}
