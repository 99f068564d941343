//! The `llm` kind end to end, on real processes over real HTTP: Gauntlet's model upstream (the static
//! `gauntlet-counterparts model-upstream` binary of `gauntlet/counterparts:1`) and the w12 reference
//! (`testsvc`, `GAUNTLET_LAB=w12-llm`) calling it, judged by the bundled checks of labs/w12-llm through a
//! `ServiceControl` whose counterpart `llm` is that upstream. The reference passes every check; each defect
//! fails the check that exists to catch it. (tests/prove.rs proves the lab in Docker, counterpart included.)

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::ports::free_port;
use gauntlet::checks::{
    run_suite, BoxFuture, CheckContext, CheckOutcome, CheckSuite, CounterpartInfo, CounterpartKind,
    Instance, InstanceError, InstanceSpec, RestartMode, ServiceControl, Target, Verdict,
};

const KEY: &str = "sk-run-7f3a9c2e41d84b0f";
const TOKEN: &str = "control-3b1e";

/// The static counterparts binary, built as scripts/build-counterparts builds it (without tagging the image).
fn counterparts() -> std::path::PathBuf {
    static BINARY: OnceLock<std::path::PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let target_dir = root.join("target").join("static");
            let target = common::testsvc::TARGET;
            let status = Command::new(env!("CARGO"))
                .current_dir(root)
                .args([
                    "build",
                    "--release",
                    "-q",
                    "-p",
                    "counterparts",
                    "--target",
                    target,
                ])
                .env("CARGO_TARGET_DIR", &target_dir)
                .env("RUSTFLAGS", "-C target-feature=+crt-static")
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building the counterparts failed");
            target_dir
                .join(target)
                .join("release")
                .join("gauntlet-counterparts")
        })
        .clone()
}

/// A child process killed when the test ends, however it ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_listening(port: u16) {
    let until = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The upstream and the reference with `defect`, wired together.
struct Pair {
    _upstream: Proc,
    _service: Proc,
    upstream: SocketAddr,
    service: SocketAddr,
    env: BTreeMap<String, String>,
}

fn start(defect: &str) -> Pair {
    let (up_port, svc_port) = (free_port(), free_port());
    let upstream = Command::new(counterparts())
        .arg("model-upstream")
        .env("PORT", up_port.to_string())
        .env("LLM_API_KEY", KEY)
        .env("GAUNTLET_CONTROL_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .spawn()
        .expect("the upstream starts");
    let upstream = Proc(upstream);
    let env: BTreeMap<String, String> = [
        ("LLM_API_KEY", KEY.to_string()),
        ("LLM_MODEL", "gauntlet-triage-1".into()),
        ("PRICE_PROMPT_PER_MTOK", "2.50".into()),
        ("PRICE_COMPLETION_PER_MTOK", "10.00".into()),
        ("LLM_BASE_URL", format!("http://127.0.0.1:{up_port}/v1")),
        ("PORT", svc_port.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let service = Command::new(common::testsvc::binary())
        .envs(&env)
        .env("GAUNTLET_LAB", "w12-llm")
        .env("TESTSVC_DEFECT", defect)
        .stdout(Stdio::null())
        .spawn()
        .expect("testsvc starts");
    let service = Proc(service);
    wait_listening(up_port);
    wait_listening(svc_port);
    Pair {
        _upstream: upstream,
        _service: service,
        upstream: ([127, 0, 0, 1], up_port).into(),
        service: ([127, 0, 0, 1], svc_port).into(),
        env,
    }
}

/// The grader's view: counterpart `llm` is the upstream process (absent with `None`).
struct HostControl(Option<SocketAddr>);

impl ServiceControl for HostControl {
    fn restart(&self, _: RestartMode) -> BoxFuture<'_, Result<url::Url, String>> {
        Box::pin(async { Err("no restart on the host".to_string()) })
    }
    fn base_url(&self) -> Option<url::Url> {
        None
    }
    fn launch(&self, _: InstanceSpec) -> BoxFuture<'_, Result<Arc<dyn Instance>, InstanceError>> {
        Box::pin(async { Err(InstanceError::Platform("no instances on the host".into())) })
    }
    fn counterpart(&self, name: &str) -> Option<CounterpartInfo> {
        let addr = self.0.filter(|_| name == "llm")?;
        Some(CounterpartInfo {
            name: name.to_string(),
            kind: CounterpartKind::Container,
            port: addr.port(),
            addr,
            control_token: Some(TOKEN.to_string()),
        })
    }
}

/// Runs the bundled checks named in `ids` (all with an empty list), in file order.
async fn run(pair: &Pair, ids: &[&str], upstream: Option<SocketAddr>) -> Vec<CheckOutcome> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("labs/w12-llm/checks/10-llm.toml");
    let text = std::fs::read_to_string(&path).expect("the lab's checks");
    let mut suite = CheckSuite::parse_file(&path, &text, &["ai".to_string()])
        .unwrap_or_else(|ps| panic!("the check file is valid: {ps:?}"));
    suite
        .checks
        .retain(|c| ids.is_empty() || ids.contains(&c.id.as_str()));
    let ctx = CheckContext {
        seed: 12,
        env: pair.env.clone(),
        control: Some(Arc::new(HostControl(upstream))),
    };
    let target = Target {
        base_url: url::Url::parse(&format!("http://{}/", pair.service)).expect("url"),
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let outcomes = run_suite(&suite, &target, &ctx, &tx).await;
    for o in &outcomes {
        eprintln!(
            "{} {:?}: {}\n{}",
            o.check_id, o.verdict, o.message, o.detail
        );
        assert!(
            !o.message.contains(KEY) && !o.detail.contains(KEY),
            "the key leaked"
        );
    }
    outcomes
}

#[tokio::test]
async fn the_reference_passes_every_llm_check() {
    let pair = start("");
    let outcomes = run(&pair, &[], Some(pair.upstream)).await;
    assert_eq!(outcomes.len(), 14);
    for o in &outcomes {
        assert_eq!(
            o.verdict,
            Verdict::Pass,
            "{}: {}\n{}",
            o.check_id,
            o.message,
            o.detail
        );
    }
}

/// Each defect, the checks run (traffic first where the judged check needs some), and the one that must fail.
const DEFECTS: [(&str, &[&str], &str); 14] = [
    (
        "llm-ignores-model",
        &["triage-typed-answer"],
        "triage-typed-answer",
    ),
    (
        "llm-no-validation",
        &["triage-rejects-invalid-input"],
        "triage-rejects-invalid-input",
    ),
    (
        "llm-pass-invalid",
        &["triage-invalid-output-never-returned"],
        "triage-invalid-output-never-returned",
    ),
    (
        "llm-no-cache",
        &["triage-repeated-prompt-cached"],
        "triage-repeated-prompt-cached",
    ),
    (
        "llm-no-single-flight",
        &["triage-concurrent-prompts-share-a-call"],
        "triage-concurrent-prompts-share-a-call",
    ),
    (
        "llm-cache-failures",
        &["triage-failures-not-cached"],
        "triage-failures-not-cached",
    ),
    (
        "llm-no-retry",
        &["triage-retries-5xx"],
        "triage-retries-5xx",
    ),
    (
        "llm-no-backoff",
        &["triage-retries-5xx"],
        "triage-retries-5xx",
    ),
    (
        "llm-malformed-final",
        &["triage-retries-malformed-answer"],
        "triage-retries-malformed-answer",
    ),
    (
        "llm-drop-final",
        &["triage-retries-dropped-connection"],
        "triage-retries-dropped-connection",
    ),
    (
        "llm-ignore-retry-after",
        &["triage-retries-429"],
        "triage-retries-429",
    ),
    (
        "llm-key-echoed",
        &["triage-key-never-echoed"],
        "triage-key-never-echoed",
    ),
    (
        "llm-no-embed-cache",
        &["embeddings-cached"],
        "embeddings-cached",
    ),
    (
        "llm-cost-counts-cache",
        &["triage-repeated-prompt-cached", "usage-matches-ledger"],
        "usage-matches-ledger",
    ),
];

#[tokio::test]
async fn each_check_fails_on_the_defect_it_exists_to_catch() {
    for (defect, ids, failing) in DEFECTS {
        let pair = start(defect);
        let outcomes = run(&pair, ids, Some(pair.upstream)).await;
        let o = outcomes
            .iter()
            .find(|o| o.check_id == failing)
            .expect("ran");
        assert_eq!(
            o.verdict,
            Verdict::Fail,
            "{defect}: {}\n{}",
            o.message,
            o.detail
        );
    }
}

#[tokio::test]
async fn a_service_that_waits_for_a_slow_model_forever_fails_in_bounded_time() {
    let pair = start("llm-hang");
    let start = Instant::now();
    let outcomes = run(
        &pair,
        &["triage-slow-upstream-bounded"],
        Some(pair.upstream),
    )
    .await;
    assert_eq!(outcomes[0].verdict, Verdict::Fail);
    assert!(
        outcomes[0].message.contains("no answer within 20 s"),
        "{}",
        outcomes[0].message
    );
    assert!(start.elapsed() < Duration::from_secs(26));
}

#[tokio::test]
async fn a_lab_without_the_upstream_is_a_platform_fault() {
    let pair = start("");
    let outcomes = run(&pair, &["triage-typed-answer"], None).await;
    assert_eq!(outcomes[0].verdict, Verdict::Error);
    assert!(outcomes[0].detail.contains("no counterpart `llm`"));
}
