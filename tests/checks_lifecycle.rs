//! The `lifecycle` kind and SIGKILL-only restarts, on the real Docker engine: the w05 lifecycle checks pass on
//! the reference (`testsvc` in a `FROM scratch` image) and each defect fails the check written for it with a
//! message that names the property; w03's crash restart catches a service that saves only on shutdown while its
//! graceful restart lets it pass; lifecycle check files are refused with file and line.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::sandbox::{build_service, setup};
use gauntlet::checks::{run_suite, CheckContext, CheckOutcome, CheckSuite, Target, Verdict};
use gauntlet::grading::control::DockerControl;
use gauntlet::sandbox::StartSpec;

fn lab(id: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("labs").join(id)
}

/// The course's pillars, so checks of any pillar load.
fn pillars() -> Vec<String> {
    [
        "language",
        "cloud-native",
        "events",
        "api",
        "security",
        "performance",
        "ai",
    ]
    .map(String::from)
    .to_vec()
}

/// The lab's checks, keeping only `ids` (their dependencies cleared, so each runs by itself).
fn checks_of(lab_id: &str, ids: &[&str]) -> CheckSuite {
    let mut suite = CheckSuite::load(&lab(lab_id), &pillars()).expect("the lab's checks load");
    suite.checks.retain(|c| ids.contains(&c.id.as_str()));
    assert_eq!(suite.checks.len(), ids.len(), "{ids:?}");
    for c in &mut suite.checks {
        c.depends_on.clear();
    }
    suite
}

/// Starts the reference service (with `defect` switched on) as the grader would, and runs `suite` on it.
async fn run_on_service(
    test: &str,
    defect: Option<&str>,
    data_dir: Option<&str>,
    suite: &CheckSuite,
) -> Vec<CheckOutcome> {
    let (sandbox, run, _guard) = setup(test).await;
    let image = build_service(&sandbox, &run).await;
    let mut env = vec![("GAUNTLET_SEED".to_string(), "7".to_string())];
    if let Some(d) = defect {
        env.push(("TESTSVC_DEFECT".into(), d.into()));
    }
    if let Some(dir) = data_dir {
        env.push(("DATA_DIR".into(), dir.into()));
    }
    let spec = StartSpec {
        env: env.clone(),
        data_dir: data_dir.map(String::from),
        ..StartSpec::default()
    };
    let running = sandbox.start(&run, &image, &spec).await.expect("starts");
    let address = sandbox
        .wait_healthy(&running, "/healthz", Duration::from_secs(20))
        .await
        .expect("healthy");
    let url = url::Url::parse(&gauntlet::sandbox::base_url(address)).expect("url");
    let control = DockerControl::new(
        sandbox.clone(),
        running,
        "/healthz".into(),
        Duration::from_secs(20),
        url.clone(),
    );
    let mut ctx_env: std::collections::BTreeMap<String, String> = env.into_iter().collect();
    ctx_env.insert("PORT".into(), "8080".into());
    let ctx = CheckContext {
        seed: 7,
        env: ctx_env,
        control: Some(Arc::new(control)),
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    run_suite(suite, &Target { base_url: url }, &ctx, &tx).await
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
        .join("\n\n")
}

fn outcome<'a>(outcomes: &'a [CheckOutcome], id: &str) -> &'a CheckOutcome {
    outcomes
        .iter()
        .find(|o| o.check_id == id)
        .unwrap_or_else(|| panic!("no outcome for {id}"))
}

/// Runs the w05 check `id` on the reference with `defect`: it must fail with `says` in the learner's message.
async fn defect_fails(test: &str, defect: &str, id: &str, says: &str) -> CheckOutcome {
    let outcomes =
        run_on_service(test, Some(defect), None, &checks_of("w05-container", &[id])).await;
    let o = outcome(&outcomes, id).clone();
    assert_eq!(o.verdict, Verdict::Fail, "{}", report(&outcomes));
    assert!(o.message.contains(says), "{says:?} not in {:?}", o.message);
    o
}

#[tokio::test]
async fn the_reference_passes_every_w05_lifecycle_check_with_a_timeline_for_the_instructor() {
    let ids = [
        "not-ready-while-starting",
        "not-ready-on-sigterm",
        "drains-in-flight",
        "exits-zero-on-sigterm",
    ];
    let outcomes = run_on_service("life-ref", None, None, &checks_of("w05-container", &ids)).await;
    assert!(
        outcomes.iter().all(|o| o.verdict == Verdict::Pass),
        "{}",
        report(&outcomes)
    );
    let starting = outcome(&outcomes, "not-ready-while-starting");
    assert!(
        starting.detail.contains("HTTP 503 ×"),
        "{}",
        starting.detail
    );
    assert!(
        starting.detail.contains("READY_DELAY_MS=1500"),
        "{}",
        starting.detail
    );
    let drain = outcome(&outcomes, "drains-in-flight");
    assert!(drain.detail.contains("exit: status 0"), "{}", drain.detail);
    assert!(
        drain.detail.contains("testsvc: drained"),
        "the instance's log: {}",
        drain.detail
    );
    assert!(!drain.detail.contains("PORT=8080"), "{}", drain.detail);
}

/// A lifecycle check of the port alone (w05 does not carry one: every run already starts its service on a port
/// other than 8080, so a hard-coded port fails at start there).
fn port_check() -> CheckSuite {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("checks")).expect("mkdir");
    std::fs::write(dir.path().join("checks/a.toml"), PORT_CHECK).expect("write");
    CheckSuite::load(dir.path(), &pillars()).expect("loads")
}

const PORT_CHECK: &str = r#"[[check]]
id = "starts-on-port"
kind = "lifecycle"
title = "The service starts on the port given in PORT and becomes ready"
pillar = "cloud-native"
timeout_secs = 40

[check.lifecycle]
expect = ["listens", "ready"]
env = { LOG_LEVEL = "debug" }
"#;

#[tokio::test]
async fn a_service_on_a_hard_coded_port_is_told_to_read_port() {
    let reference = run_on_service("life-port-ok", None, None, &port_check()).await;
    assert_eq!(
        outcome(&reference, "starts-on-port").verdict,
        Verdict::Pass,
        "{}",
        report(&reference)
    );
    let outcomes = run_on_service("life-port", Some("fixed-port"), None, &port_check()).await;
    let o = outcome(&outcomes, "starts-on-port");
    assert_eq!(o.verdict, Verdict::Fail, "{}", report(&outcomes));
    assert!(o.message.contains("8080, the default"), "{}", o.message);
    assert!(o.message.contains("PORT"), "{}", o.message);
}

#[tokio::test]
async fn readiness_that_is_always_200_fails_while_starting() {
    defect_fails(
        "life-ready",
        "ready-always",
        "not-ready-while-starting",
        "READY_DELAY_MS=1500",
    )
    .await;
}

#[tokio::test]
async fn readiness_that_stays_200_after_sigterm_fails_and_the_drain_still_passes() {
    let suite = checks_of(
        "w05-container",
        &["not-ready-on-sigterm", "drains-in-flight"],
    );
    let outcomes = run_on_service("life-term", Some("ready-on-sigterm"), None, &suite).await;
    let o = outcome(&outcomes, "not-ready-on-sigterm");
    assert_eq!(o.verdict, Verdict::Fail, "{}", report(&outcomes));
    assert!(o.message.contains("after SIGTERM"), "{}", o.message);
    assert_eq!(
        outcome(&outcomes, "drains-in-flight").verdict,
        Verdict::Pass,
        "{}",
        report(&outcomes)
    );
}

#[tokio::test]
async fn dropping_requests_in_flight_fails_the_drain_and_not_the_exit() {
    let suite = checks_of(
        "w05-container",
        &["drains-in-flight", "exits-zero-on-sigterm"],
    );
    let outcomes = run_on_service("life-drop", Some("drop-in-flight"), None, &suite).await;
    let o = outcome(&outcomes, "drains-in-flight");
    assert_eq!(o.verdict, Verdict::Fail, "{}", report(&outcomes));
    assert!(o.message.contains("3 of 3 requests"), "{}", o.message);
    assert_eq!(
        outcome(&outcomes, "exits-zero-on-sigterm").verdict,
        Verdict::Pass,
        "a quick exit 0 is a clean exit: {}",
        report(&outcomes)
    );
}

#[tokio::test]
async fn a_non_zero_exit_after_sigterm_fails() {
    defect_fails(
        "life-exit",
        "exit-nonzero",
        "exits-zero-on-sigterm",
        "status 1",
    )
    .await;
}

#[tokio::test]
async fn a_service_that_ignores_sigterm_is_killed_after_the_grace_period_and_fails() {
    let o = defect_fails(
        "life-ignore",
        "ignore-sigterm",
        "exits-zero-on-sigterm",
        "still running 10 s after SIGTERM",
    )
    .await;
    assert!(o.detail.contains("SIGKILL"), "{}", o.detail);
}

#[tokio::test]
async fn a_crash_restart_loses_what_is_saved_only_on_shutdown_and_a_graceful_one_keeps_it() {
    let suite = checks_of(
        "w03-persistence",
        &["survives-restart", "fresh-ids-after-restart"],
    );
    let outcomes =
        run_on_service("life-w03", Some("save-on-shutdown"), Some("/data"), &suite).await;
    let crash = outcome(&outcomes, "survives-restart");
    assert_eq!(crash.verdict, Verdict::Fail, "{}", report(&outcomes));
    assert!(crash.detail.contains("SIGKILL only"), "{}", crash.detail);
    assert_eq!(
        outcome(&outcomes, "fresh-ids-after-restart").verdict,
        Verdict::Pass,
        "the graceful restart lets it save: {}",
        report(&outcomes)
    );
    let reference = run_on_service("life-w03ok", None, Some("/data"), &suite).await;
    assert!(
        reference.iter().all(|o| o.verdict == Verdict::Pass),
        "{}",
        report(&reference)
    );
}

/// The problems (`file:line: message`) of one check file `a.toml` holding `toml`.
fn problems(toml: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("checks")).expect("mkdir");
    std::fs::write(dir.path().join("checks/a.toml"), toml).expect("write");
    match CheckSuite::load(dir.path(), &pillars()) {
        Ok(_) => Vec::new(),
        Err(ps) => ps.iter().map(|p| p.to_string()).collect(),
    }
}

const HEAD: &str = "[[check]]\nid = \"l\"\nkind = \"lifecycle\"\ntitle = \"L\"\npillar = \"cloud-native\"\ntimeout_secs = 60\n\n[check.lifecycle]\n";

fn assert_problem(body: &str, line: usize, part: &str) {
    let ps = problems(&format!("{HEAD}{body}"));
    assert!(
        ps.iter()
            .any(|p| p.contains(&format!("a.toml:{line}:")) && p.contains(part)),
        "expected `{part}` at line {line}: {ps:#?}"
    );
}

#[test]
fn lifecycle_check_files_are_refused_with_file_and_line() {
    assert!(problems(&format!("{HEAD}expect = [\"listens\", \"exits-zero\"]\n")).is_empty());
    assert_problem(
        "expect = [\"listens\", \"drains\"]\n",
        9,
        "unknown expectation `drains`",
    );
    assert_problem("expect = [\"ready\", \"ready\"]\n", 9, "listed twice");
    assert_problem(
        "expect = [\"not-ready-while-starting\"]\n",
        8,
        "needs ready_delay_ms",
    );
    assert_problem(
        "expect = [\"ready\"]\nslow_ms = 9000\n",
        10,
        "slow_ms must be between 0 and 5000",
    );
    assert_problem(
        "expect = [\"ready\"]\nenv = { PORT = \"1\" }\n",
        10,
        "PORT is set by the check",
    );
    assert_problem(
        "expect = [\"ready\"]\nready_path = \"readyz\"\n",
        10,
        "must be a path",
    );
    assert_problem(
        "expect = [\"ready\"]\nbogus = 1\n",
        10,
        "unknown field `bogus`",
    );
    assert_problem(
        "expect = [\"exits-zero\"]\nready_within_ms = 60000\n",
        8,
        "raise the check's timeout_secs",
    );
    let no_table =
        "[[check]]\nid = \"l\"\nkind = \"lifecycle\"\ntitle = \"L\"\npillar = \"cloud-native\"\n";
    let ps = problems(no_table);
    assert!(
        ps.iter()
            .any(|p| p.contains("a.toml:1:") && p.contains("needs a [check.lifecycle]")),
        "{ps:#?}"
    );
}

#[test]
fn a_restart_mode_other_than_true_or_kill_is_refused() {
    let toml = "[[check]]\nid = \"r\"\nkind = \"http\"\ntitle = \"R\"\npillar = \"language\"\n\n[[check.step]]\nrestart = \"sometimes\"\n";
    let ps = problems(toml);
    assert!(
        ps.iter()
            .any(|p| p.contains("a.toml:8:") && p.contains("unknown restart `sometimes`")),
        "{ps:#?}"
    );
    let kill = "[[check]]\nid = \"r\"\nkind = \"http\"\ntitle = \"R\"\npillar = \"language\"\n\n[[check.step]]\nrestart = \"kill\"\n";
    assert!(problems(kill).is_empty());
}
