//! A `testsvc` process on a free loopback port, killed when the guard drops, and helpers to write a suite.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gauntlet::checks::{
    run_suite, CheckContext, CheckEvent, CheckOutcome, CheckSuite, Target, Verdict,
};

use crate::common::testsvc;

/// A running `testsvc`; killed and reaped on drop.
pub struct Service {
    child: Child,
    pub target: Target,
}

impl Service {
    pub fn start() -> Service {
        Service::with_env(&[])
    }

    /// Starts testsvc on a port the kernel chooses (`PORT=0`) and reads the port from the line it prints
    /// once it listens: no port is picked ahead for it, so none can be taken or answered by anything else
    /// meanwhile (CI saw a test's wait succeed while its own service was not listening).
    pub fn with_env(env: &[(&str, &str)]) -> Service {
        let mut child = Command::new(testsvc::binary())
            .env("PORT", "0")
            .env("BIND", "127.0.0.1")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("testsvc starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        // Reads until the process ends, so that its later lines never fill the pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let port = line
                    .strip_prefix("testsvc: listening on ")
                    .and_then(|addr| addr.rsplit_once(':'))
                    .and_then(|(_, port)| port.parse::<u16>().ok());
                if let Some(port) = port {
                    let _ = port_tx.send(port);
                }
            }
        });
        let service = |port| Service {
            child,
            target: target(port),
        };
        match port_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(port) => service(port),
            Err(e) => {
                // Wrapped first, so that the process is killed and reaped on the way out.
                let _guard = service(0);
                panic!("testsvc did not say it was listening: {e}");
            }
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn target(port: u16) -> Target {
    Target {
        base_url: url::Url::parse(&format!("http://127.0.0.1:{port}/")).expect("valid url"),
    }
}

/// A port nothing listens on, for a target that is down (not every binary sharing this file needs one).
#[allow(unused_imports)]
pub use crate::common::ports::free_port;

pub fn pillars() -> Vec<String> {
    ["language", "api", "security"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Loads a suite from one check file written into a fresh lab folder.
pub fn suite(toml: &str) -> CheckSuite {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("checks")).expect("mkdir");
    std::fs::write(dir.path().join("checks/a.toml"), toml).expect("write");
    match CheckSuite::load(dir.path(), &pillars()) {
        Ok(s) => s,
        Err(problems) => panic!("suite does not load: {problems:#?}"),
    }
}

pub fn load_lab(dir: &Path) -> CheckSuite {
    match CheckSuite::load(dir, &pillars()) {
        Ok(s) => s,
        Err(problems) => panic!("{} does not load: {problems:#?}", dir.display()),
    }
}

/// Runs a suite, returning the outcomes and the events sent.
pub async fn run_with_events(
    suite: &CheckSuite,
    target: &Target,
) -> (Vec<CheckOutcome>, Vec<CheckEvent>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let ctx = CheckContext {
        seed: 42,
        env: [("SECRET".to_string(), "env-secret".to_string())].into(),
        control: None,
    };
    let outcomes = run_suite(suite, target, &ctx, &tx).await;
    drop(tx);
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    (outcomes, events)
}

pub async fn run(suite: &CheckSuite, target: &Target) -> Vec<CheckOutcome> {
    run_with_events(suite, target).await.0
}

/// The one outcome of a one-check suite, asserting its verdict.
pub async fn single(toml: &str, service: &Service, verdict: Verdict) -> CheckOutcome {
    let outcomes = run(&suite(toml), &service.target).await;
    assert_eq!(outcomes.len(), 1);
    let o = outcomes.into_iter().next().expect("one outcome");
    assert_eq!(
        o.verdict, verdict,
        "message: {}\ndetail:\n{}",
        o.message, o.detail
    );
    o
}

/// The problems (as `file:line: message`) of a lab holding one check file `a.toml` with `toml` in it.
pub fn problems(toml: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("checks")).expect("mkdir");
    std::fs::write(dir.path().join("checks/a.toml"), toml).expect("write");
    match CheckSuite::load(dir.path(), &pillars()) {
        Ok(_) => Vec::new(),
        Err(ps) => ps.iter().map(|p| p.to_string()).collect(),
    }
}

/// Asserts that loading `toml` as `a.toml` reports a problem containing `part` at `line`.
pub fn assert_problem(toml: &str, line: usize, part: &str) {
    let ps = problems(toml);
    assert!(
        ps.iter()
            .any(|p| p.contains(&format!("a.toml:{line}")) && p.contains(part)),
        "expected `{part}` at line {line}, got {ps:#?}"
    );
}

/// The one check `id` of `suite`, alone (its dependencies cleared, so it runs by itself).
pub fn only(mut suite: CheckSuite, id: &str) -> CheckSuite {
    suite.checks.retain(|c| c.id == id);
    assert_eq!(suite.checks.len(), 1, "no check `{id}` in the suite");
    suite.checks[0].depends_on.clear();
    suite
}

/// Runs the one-step check of `GET path` with the expectation `passing` (which must pass), then with `failing`
/// (which must fail); the failing outcome, for its message.
pub async fn passes_then_fails(
    service: &Service,
    path: &str,
    passing: &str,
    failing: &str,
) -> CheckOutcome {
    single(&check(path, passing), service, Verdict::Pass).await;
    single(&check(path, failing), service, Verdict::Fail).await
}

/// A one-step check of `GET path` (or the given method) with the given `[check.step.expect]` lines.
pub fn check(path: &str, expect: &str) -> String {
    format!(
        r#"
[[check]]
id = "c"
kind = "http"
title = "The behaviour"
pillar = "language"
timeout_secs = 5

[[check.step]]
path = "{path}"
[check.step.expect]
{expect}
"#
    )
}
