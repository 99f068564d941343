//! The sandbox tests' fixtures: build contexts around the static testsvc binary, one run id per test, and a
//! guard that removes the run's Docker objects whether the test passes or panics.

use std::fs;
use std::time::Duration;

use gauntlet::archive::{pack, ArchiveLimits};
use gauntlet::sandbox::{ImageId, RunLabel, Running, Sandbox, StartSpec};

pub const SERVICE: &str = "FROM scratch\nCOPY testsvc /testsvc\nENTRYPOINT [\"/testsvc\"]\n";
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(120);
pub const LOG_CAP: usize = 64 * 1024;

/// A build context: the static testsvc binary beside `dockerfile`, packed as the CLI would pack it.
pub fn context(dockerfile: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::copy(super::testsvc::binary(), dir.path().join("testsvc")).expect("copy testsvc");
    fs::write(dir.path().join("Dockerfile"), dockerfile).expect("Dockerfile");
    pack(dir.path(), &ArchiveLimits::default()).expect("pack context")
}

/// A unique run id per test and process, under `prefix` so the reaper test can sweep only its own.
pub fn run_id(prefix: &str, test: &str) -> RunLabel {
    RunLabel::parse(&format!("{prefix}-{}-{test}", std::process::id())).expect("valid run id")
}

/// Removes the run's objects when dropped, on success and on panic alike.
pub struct RunGuard {
    pub sandbox: Sandbox,
    pub run: RunLabel,
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        let (sandbox, run) = (self.sandbox.clone(), self.run.clone());
        // Drop cannot await; a runtime of its own on another thread works inside or outside tokio.
        let cleaned = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(sandbox.remove_run(&run))
        })
        .join();
        if !matches!(cleaned, Ok(Ok(_))) {
            eprintln!("clean-up of {} failed: {cleaned:?}", self.run);
        }
    }
}

pub async fn setup(test: &str) -> (Sandbox, RunLabel, RunGuard) {
    let sandbox = Sandbox::connect().await.expect("docker engine");
    sandbox.ping().await.expect("ping");
    let run = run_id("t", test);
    let guard = RunGuard {
        sandbox: sandbox.clone(),
        run: run.clone(),
    };
    (sandbox, run, guard)
}

pub async fn build_service(sandbox: &Sandbox, run: &RunLabel) -> ImageId {
    let bytes = context(SERVICE);
    sandbox
        .build(run, bytes, BUILD_TIMEOUT, LOG_CAP, |_| {})
        .await
        .expect("testsvc image builds")
}

pub async fn start_healthy(sandbox: &Sandbox, run: &RunLabel, spec: &StartSpec) -> Running {
    let image = build_service(sandbox, run).await;
    let running = sandbox.start(run, &image, spec).await.expect("starts");
    sandbox
        .wait_healthy(&running, "/healthz", Duration::from_secs(20))
        .await
        .expect("healthy");
    running
}

#[allow(dead_code)]
/// Asks the testsvc at `base` (its `/hostile/connect`) to connect to `to` (`ip:port` or `host:port`) and says how
/// it went (`connected`, `refused`, `timeout`, …); `scope` names an IPv6 interface.
pub async fn connect_from(base: &str, to: &str, scope: Option<&str>) -> String {
    let mut url = url::Url::parse(&format!("{base}/hostile/connect")).expect("url");
    url.query_pairs_mut().append_pair("to", to);
    if let Some(scope) = scope {
        url.query_pairs_mut().append_pair("scope", scope);
    }
    let answer: serde_json::Value = reqwest::get(url)
        .await
        .expect("the service answers")
        .json()
        .await
        .expect("json");
    answer["result"].as_str().expect("result").to_string()
}
