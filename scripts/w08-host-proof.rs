// Helper D's host proof of labs/w08-outbox (adapted from scripts/w07-host-proof.rs), run before the `events`
// kind and the counterparts were merged: copy to tests/ in a tree that has the events kind
// (`cp scripts/w08-host-proof.rs tests/w08_host_proof.rs`), `cargo build -p testsvc`, then
// `cargo test --test w08_host_proof -- --nocapture` (W08_ONLY=<defect>|reference, W08_DETAIL=1 for the
// transcripts). It grades the reference and every mutant of mutants.toml with the real check files against
// tansu and testsvc on the host: restart = SIGKILL + respawn on the same DATA_DIR, the broker's pause =
// SIGSTOP/SIGCONT of the tansu process. Not compiled here.

#[path = "common/ports.rs"]
mod ports;
#[path = "common/tansu.rs"]
mod tansu;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gauntlet::checks::{
    run_suite, BoxFuture, CheckContext, CheckSuite, CounterpartInfo, CounterpartKind, Instance,
    InstanceError, InstanceSpec, RestartMode, ServiceControl, Target, Verdict,
};

struct Svc {
    child: Mutex<Option<Child>>,
    port: u16,
    env: Vec<(String, String)>,
    log: PathBuf,
}

impl Svc {
    fn spawn(&self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(env!("CARGO_MANIFEST_DIR").to_string() + "/target/debug/testsvc")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("PORT", self.port.to_string())
            .env("BIND", "127.0.0.1")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        *self.child.lock().unwrap() = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    fn kill(&self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
    fn url(&self) -> url::Url {
        url::Url::parse(&format!("http://127.0.0.1:{}/", self.port)).unwrap()
    }
}

struct HostControl {
    broker: SocketAddr,
    broker_pid: u32,
    svc: Arc<Svc>,
}

impl ServiceControl for HostControl {
    fn restart(&self, _: RestartMode) -> BoxFuture<'_, Result<url::Url, String>> {
        let svc = self.svc.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                svc.kill();
                svc.spawn();
                svc.url()
            })
            .await
            .map_err(|e| e.to_string())
        })
    }
    fn base_url(&self) -> Option<url::Url> {
        Some(self.svc.url())
    }
    fn launch(&self, _: InstanceSpec) -> BoxFuture<'_, Result<Arc<dyn Instance>, InstanceError>> {
        Box::pin(async { Err(InstanceError::Platform("no instances on the host".into())) })
    }
    fn counterpart(&self, name: &str) -> Option<CounterpartInfo> {
        (name == "kafka").then(|| CounterpartInfo {
            name: name.to_string(),
            kind: CounterpartKind::Kafka,
            port: self.broker.port(),
            addr: self.broker,
        })
    }
    fn pause_counterpart(&self, _: &str, paused: bool) -> BoxFuture<'_, Result<(), String>> {
        // What `docker pause` does to the broker, seen from the network: the kernel still accepts, nobody answers.
        let sig = if paused { "-STOP" } else { "-CONT" };
        let pid = self.broker_pid.to_string();
        Box::pin(async move {
            let ok = std::process::Command::new("kill").args([sig, &pid]).status().map_err(|e| e.to_string())?;
            if ok.success() { Ok(()) } else { Err(format!("kill {sig} {pid} failed")) }
        })
    }
}

async fn grade(defect: &str) -> (BTreeSet<String>, String) {
    let broker = tansu::Tansu::start(ports::free_port(), &[("notes.events", 3)]);
    let data = tempfile::tempdir().unwrap();
    let mut env: Vec<(String, String)> = [
        ("GAUNTLET_LAB", "w08-outbox"),
        ("KAFKA_TOPIC", "notes.events"),
        ("TESTSVC_DEFECT", defect),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.push(("KAFKA_BOOTSTRAP_SERVERS".into(), broker.addr.to_string()));
    env.push(("DATA_DIR".into(), data.path().display().to_string()));
    let svc = Arc::new(Svc {
        child: Mutex::new(None),
        port: ports::free_port(),
        env: env.clone(),
        log: data.path().with_extension("log"),
    });
    svc.spawn();
    let lab = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/w08-outbox");
    let suite = CheckSuite::load(&lab, &["events".to_string(), "language".to_string()]).unwrap_or_else(|p| panic!("{p:?}"));
    let ctx = CheckContext {
        seed: 7,
        env: env.into_iter().collect::<BTreeMap<_, _>>(),
        control: Some(Arc::new(HostControl { broker: broker.addr, broker_pid: broker.pid(), svc: svc.clone() })),
    };
    let target = Target { base_url: svc.url() };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let outcomes = run_suite(&suite, &target, &ctx, &tx).await;
    let mut failed = BTreeSet::new();
    let mut report = String::new();
    for o in &outcomes {
        report.push_str(&format!("  {:?} {} ({} ms): {}\n", o.verdict, o.check_id, o.duration_ms, o.message));
        if matches!(o.verdict, Verdict::Fail | Verdict::Error) {
            failed.insert(o.check_id.clone());
        }
        if matches!(o.verdict, Verdict::Error) || std::env::var("W08_DETAIL").is_ok() {
            report.push_str(&o.detail);
            report.push('\n');
        }
    }
    svc.kill();
    let _ = std::fs::remove_file(&svc.log);
    (failed, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn w08_is_proved_on_the_host() {
    let only = std::env::var("W08_ONLY").ok();
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/w08-outbox/mutants.toml")).unwrap();
    let doc: toml::Value = toml::from_str(&text).unwrap();
    let mut cases: Vec<(String, String, BTreeSet<String>)> = vec![("reference".into(), String::new(), BTreeSet::new())];
    for m in doc["mutant"].as_array().unwrap() {
        let defect = m["env"]["TESTSVC_DEFECT"].as_str().unwrap().to_string();
        let fails = m["fails"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_string()).collect();
        cases.push((m["name"].as_str().unwrap().to_string(), defect, fails));
    }
    let mut bad = Vec::new();
    for (name, defect, want) in cases {
        if only.as_deref().is_some_and(|o| o != defect && !(o == "reference" && defect.is_empty())) {
            continue;
        }
        let t = Instant::now();
        let (got, report) = grade(&defect).await;
        let ok = got == want;
        eprintln!("{} {name} [{defect}] in {:.0}s: failed {got:?}, declared {want:?}\n{report}", if ok { "OK " } else { "BAD" }, t.elapsed().as_secs_f64());
        if !ok {
            bad.push(name);
        }
    }
    assert!(bad.is_empty(), "not proved: {bad:?}");
}
