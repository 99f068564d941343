//! Counterparts on the real engine: containers a lab runs beside the learner's service on the run's network,
//! started before it, reachable by name, sandboxed like it, paused on demand and removed with the run; and the
//! Kafka-protocol broker (tansu, `scripts/ci-broker`) as a `kafka` counterpart with the lab's topics.
//! scripts/test: needs the broker (tansu, scripts/ci-broker)

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::sandbox::{build_service, connect_from, run_id, setup, RunGuard};
use gauntlet::checks::{CounterpartKind, ServiceControl};
use gauntlet::curriculum::Lab;
use gauntlet::grading::counterparts::{start_with_service, RunKeys, StartFailure, Started};
use gauntlet::grading::secrets::RunSecrets;
use gauntlet::grading::service::{service_env, start_spec};
use gauntlet::kafka::KafkaTarget;
use gauntlet::sandbox::{base_url, ImageId, Running, Sandbox};

/// A lab folder `w07-<name>` in `root` whose lab.toml ends with `counterparts`.
fn lab(root: &Path, name: &str, counterparts: &str) -> Lab {
    let dir = root.join(format!("w07-{name}"));
    std::fs::create_dir_all(&dir).expect("lab folder");
    std::fs::write(
        dir.join("lab.toml"),
        format!(
            "title = \"Counterparts\"\nweek = 7\n\n[pillars]\nevents = 1.0\n\n[service]\nsecrets = [\"API_KEY\"]\n\n[timeouts]\nstart_secs = 5\n\n{counterparts}"
        ),
    )
    .expect("lab.toml");
    std::fs::write(dir.join("README.md"), "# Counterparts\n").expect("README");
    Lab::load(&dir).expect("the lab loads")
}

/// A `container` counterpart `peer` running testsvc (`image`) with its hostile routes, listening on `listens`
/// while the lab says `port`, given the run's `API_KEY` secret too.
fn peer(image: &ImageId, listens: u16, port: u16) -> String {
    format!(
        "[[counterpart]]\nname = \"peer\"\nkind = \"container\"\nimage = \"{}\"\ncommand = []\nport = {port}\n\
         memory_mb = 64\ncpus = 0.5\npids = 32\nsecrets = [\"API_KEY\"]\nenv = {{ PORT = \"{listens}\", TESTSVC_HOSTILE = \"1\" }}\n\n\
         [counterpart.service_env]\nPEER_URL = \"http://peer:{port}\"\n",
        image.0
    )
}

/// Starts the lab's counterparts and then testsvc (hostile routes on) as its service, healthy.
async fn start(
    sandbox: &Sandbox,
    run: &gauntlet::sandbox::RunLabel,
    lab: &Lab,
    image: &ImageId,
) -> (Running, String, Vec<Started>) {
    let secrets = RunSecrets::ephemeral();
    let keys = RunKeys {
        seed: 7,
        secrets: &secrets,
    };
    let mut env = service_env(lab, 7, &secrets);
    env.insert("TESTSVC_HOSTILE".into(), "1".into());
    let spec = start_spec(lab, &env);
    let mut started = Vec::new();
    let running =
        match start_with_service(sandbox, run, lab, image, &spec, keys, &mut started).await {
            Ok(r) => r,
            Err(StartFailure::Counterparts(e)) => panic!("counterparts: {}", e.detail()),
            Err(StartFailure::Service(e)) => panic!("service: {e}"),
        };
    let address = sandbox
        .wait_healthy(&running, "/healthz", Duration::from_secs(20))
        .await
        .expect("the service becomes healthy");
    (running, base_url(address), started)
}

/// This machine's IPv4 addresses but loopback (the docker bridges' included), from `ip -4 addr`.
fn host_ipv4_addresses() -> Vec<String> {
    let out = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show"])
        .output()
        .expect("ip runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let addr = l.split_whitespace().skip_while(|w| *w != "inet").nth(1)?;
            let addr = addr.split('/').next()?.to_string();
            (!addr.starts_with("127.")).then_some(addr)
        })
        .collect()
}

fn inspect(id: &str) -> serde_json::Value {
    let out = std::process::Command::new("docker")
        .args(["inspect", id])
        .output()
        .expect("docker inspect");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    list[0].clone()
}

fn control(
    sandbox: &Sandbox,
    running: &Running,
    base: &str,
    started: &[Started],
) -> gauntlet::grading::control::DockerControl {
    gauntlet::grading::control::DockerControl::new(
        sandbox.clone(),
        running.clone(),
        "/healthz".into(),
        Duration::from_secs(10),
        url::Url::parse(base).expect("url"),
    )
    .with_counterparts(started.to_vec())
}

#[tokio::test]
async fn a_container_counterpart_runs_first_on_the_run_network_sandboxed_like_the_service() {
    let (sandbox, run, _guard) = setup("cp-peer").await;
    let image = build_service(&sandbox, &run).await;
    let root = tempfile::tempdir().expect("temp");
    let lab = lab(root.path(), "peer", &peer(&image, 9000, 9000));
    let (running, base, started) = start(&sandbox, &run, &lab, &image).await;
    assert_eq!(started.len(), 1);
    let peer = &started[0];

    // Reachable from the service by its name, and the service got the lab's variable for it.
    assert_eq!(connect_from(&base, "peer:9000", None).await, "connected");
    let service = inspect(&running.container_id);
    let env: Vec<String> = serde_json::from_value(service["Config"]["Env"].clone()).expect("env");
    assert!(
        env.contains(&"PEER_URL=http://peer:9000".to_string()),
        "{env:?}"
    );

    // Started before the service.
    let container = inspect(&peer.running.container_id);
    let started_at =
        |c: &serde_json::Value| c["State"]["StartedAt"].as_str().expect("time").to_string();
    assert!(
        started_at(&container) < started_at(&service),
        "{} vs {}",
        started_at(&container),
        started_at(&service)
    );

    // Sandboxed: limits, no capabilities, read-only root with /tmp and /data in memory, a non-root user, the
    // run's labels and network (with its name as an alias), a capped log.
    let host = &container["HostConfig"];
    assert_eq!(host["Memory"], 64 << 20);
    assert_eq!(host["MemorySwap"], 64 << 20);
    assert_eq!(host["NanoCpus"], 500_000_000);
    assert_eq!(host["PidsLimit"], 32);
    assert_eq!(host["ReadonlyRootfs"], true);
    assert_eq!(host["CapDrop"], serde_json::json!(["ALL"]));
    assert_eq!(
        host["SecurityOpt"],
        serde_json::json!(["no-new-privileges"])
    );
    assert_eq!(host["Ulimits"][0]["Name"], "nofile");
    assert_eq!(host["LogConfig"]["Config"]["max-size"], "1m");
    assert!(
        host["Tmpfs"]["/data"]
            .as_str()
            .is_some_and(|t| t.contains("size=")),
        "{host}"
    );
    assert!(host["Tmpfs"]["/tmp"].is_string(), "{host}");
    assert_eq!(host["PortBindings"], serde_json::Value::Null);
    assert_eq!(container["Config"]["User"], "10001:10001");
    assert_eq!(container["Config"]["Labels"]["gauntlet.run"], run.as_str());
    assert_eq!(
        container["Config"]["Labels"]["gauntlet.kind"],
        "counterpart"
    );
    assert_eq!(
        container["Name"],
        format!("/gauntlet-{}-peer", run.as_str())
    );
    let networks = container["NetworkSettings"]["Networks"]
        .as_object()
        .expect("networks");
    assert_eq!(
        networks.keys().collect::<Vec<_>>(),
        vec![&format!("gauntlet-{}", run.as_str())]
    );
    let aliases = networks.values().next().expect("one")["Aliases"].to_string();
    assert!(aliases.contains("\"peer\""), "{aliases}");

    // Isolated: from the counterpart, no address of this machine answers (a listener of the test's own).
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
        .await
        .expect("listener");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let task = tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    let peer_base = base_url(peer.addr);
    let addresses = host_ipv4_addresses();
    assert!(
        addresses.len() >= 2,
        "this machine and its docker bridge: {addresses:?}"
    );
    for addr in &addresses {
        let result = connect_from(&peer_base, &format!("{addr}:{port}"), None).await;
        assert_ne!(result, "connected", "the counterpart reached {addr}:{port}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 0);
    task.abort();

    // Checks find it by name, and only it.
    let control = control(&sandbox, &running, &base, &started);
    let info = control.counterpart("peer").expect("found");
    assert_eq!(
        (info.kind, info.port, info.addr),
        (CounterpartKind::Container, 9000, peer.addr)
    );
    assert!(control.counterpart("kafka").is_none());

    // It got the run's secret it names, with the service's value, and a control token of its own that checks
    // know and the service never sees.
    let peer_env: Vec<String> =
        serde_json::from_value(container["Config"]["Env"].clone()).expect("env");
    let key = env
        .iter()
        .find(|e| e.starts_with("API_KEY="))
        .expect("the service has its secret");
    assert!(peer_env.contains(key), "{peer_env:?}");
    let token = info
        .control_token
        .clone()
        .expect("a container's control token");
    assert_eq!(token.len(), 64, "{token}");
    assert!(peer_env.contains(&format!("GAUNTLET_CONTROL_TOKEN={token}")));
    assert!(
        !env.iter()
            .any(|e| e.contains(&token) || e.starts_with("GAUNTLET_CONTROL_TOKEN")),
        "{env:?}"
    );

    // Its log is there for instructors, and the run's clean-up removes it with everything else.
    let logs = gauntlet::grading::counterparts::logs(&sandbox, &started).await;
    assert!(
        logs.contains("--- counterpart peer ---") && logs.contains("listening on"),
        "{logs}"
    );
    let removed = sandbox.remove_run(&run).await.expect("removed");
    assert_eq!(
        (removed.containers, removed.networks),
        (2, 1),
        "{removed:?}"
    );
    common::grading::wait_no_docker_objects(run.as_str()).await;
}

#[tokio::test]
async fn a_counterpart_that_never_opens_its_port_is_a_platform_error_with_its_log() {
    let sandbox = Sandbox::connect().await.expect("docker");
    // The counterpart's image, built on its own run (removed by its guard); the graded run is another.
    let images = run_id("t", "cp-img-closed");
    let _images_guard = RunGuard {
        sandbox: sandbox.clone(),
        run: images.clone(),
    };
    let image = build_service(&sandbox, &images).await;
    let root = tempfile::tempdir().expect("temp");
    // It listens on 9000; the lab says 9001.
    let lab = lab(root.path(), "closed", &peer(&image, 9000, 9001));
    let label = run_id("t", "cp-closed");
    let _guard = RunGuard {
        sandbox: sandbox.clone(),
        run: label.clone(),
    };
    let work = tempfile::tempdir().expect("work");
    let job = gauntlet::grading::Job {
        label: label.clone(),
        lab,
        suite: Default::default(),
        archive: common::project::Project::testsvc(&[]).archive(),
        seed: 3,
        secrets: RunSecrets::ephemeral(),
        limits: Default::default(),
        work_dir: work.path().join("run"),
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let started = std::time::Instant::now();
    let report = gauntlet::grading::execute(&sandbox, job, &tx).await;
    assert_eq!(
        report.state,
        gauntlet::domain::RunState::Error,
        "{report:?}"
    );
    assert_eq!(report.stage.as_str(), "start");
    assert!(
        report.reason.contains("fault of the platform"),
        "{}",
        report.reason
    );
    assert!(
        report
            .detail
            .contains("counterpart `peer` did not accept connections on port 9001"),
        "{}",
        report.detail
    );
    assert!(
        report.detail.contains("testsvc: listening on 0.0.0.0:9000"),
        "its log: {}",
        report.detail
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    common::grading::wait_no_docker_objects(label.as_str()).await;
}

/// A service that cannot start at all (its command names a missing file) beside a counterpart: the learner is
/// told why, the instructor still gets the counterpart's log, and nothing of the run is left.
#[tokio::test]
async fn a_service_that_cannot_start_keeps_its_counterparts_log_for_the_instructor() {
    let sandbox = Sandbox::connect().await.expect("docker");
    let images = run_id("t", "cp-img-norun");
    let _images_guard = RunGuard {
        sandbox: sandbox.clone(),
        run: images.clone(),
    };
    let image = build_service(&sandbox, &images).await;
    let root = tempfile::tempdir().expect("temp");
    let lab = lab(root.path(), "norun", &peer(&image, 9000, 9000));
    let label = run_id("t", "cp-norun");
    let _guard = RunGuard {
        sandbox: sandbox.clone(),
        run: label.clone(),
    };
    let work = tempfile::tempdir().expect("work");
    let project = common::project::Project::with_dockerfile(
        "FROM scratch\nCOPY testsvc /testsvc\nENTRYPOINT [\"/no-such-program\"]\n",
    );
    let job = gauntlet::grading::Job {
        label: label.clone(),
        lab,
        suite: Default::default(),
        archive: project.archive(),
        seed: 3,
        secrets: RunSecrets::ephemeral(),
        limits: Default::default(),
        work_dir: work.path().join("run"),
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let report = gauntlet::grading::execute(&sandbox, job, &tx).await;
    assert_eq!(
        report.state,
        gauntlet::domain::RunState::Failed,
        "{report:?}"
    );
    assert_eq!(report.stage.as_str(), "start");
    assert!(
        report.reason.contains("could not be started"),
        "{}",
        report.reason
    );
    assert!(
        report.container_log.contains("--- counterpart peer ---")
            && report
                .container_log
                .contains("testsvc: listening on 0.0.0.0:9000"),
        "the counterpart's log: {}",
        report.container_log
    );
    common::grading::wait_no_docker_objects(label.as_str()).await;
}

#[tokio::test]
async fn a_missing_broker_image_is_a_platform_error_that_says_how_to_get_it_and_nothing_is_pulled()
{
    let (sandbox, run, _guard) = setup("cp-missing").await;
    let missing = "gauntlet-ci/no-such-broker:0";
    let sandbox = sandbox.with_kafka_image(missing);
    let root = tempfile::tempdir().expect("temp");
    let lab = lab(
        root.path(),
        "missing",
        "[[counterpart]]\nname = \"kafka\"\nkind = \"kafka\"\n",
    );
    let secrets = RunSecrets::ephemeral();
    let spec = start_spec(&lab, &service_env(&lab, 1, &secrets));
    let mut started = Vec::new();
    let failed = start_with_service(
        &sandbox,
        &run,
        &lab,
        &ImageId("unused".into()),
        &spec,
        RunKeys {
            seed: 1,
            secrets: &secrets,
        },
        &mut started,
    )
    .await;
    let Err(StartFailure::Counterparts(e)) = failed else {
        panic!("expected a counterpart failure");
    };
    let message = e.to_string();
    assert!(
        message.contains(missing) && message.contains("never pulls"),
        "{message}"
    );
    assert!(message.contains("GAUNTLET_KAFKA_IMAGE"), "{message}");
    assert!(
        sandbox.docker().inspect_image(missing).await.is_err(),
        "nothing was pulled"
    );
}

#[tokio::test]
async fn a_kafka_counterpart_has_the_labs_topics_and_stops_answering_while_paused() {
    let (sandbox, run, _guard) = setup("cp-kafka").await;
    assert!(
        sandbox
            .docker()
            .inspect_image(gauntlet::sandbox::DEFAULT_KAFKA_IMAGE)
            .await
            .is_ok(),
        "the broker image is built by scripts/ci-broker"
    );
    let image = build_service(&sandbox, &run).await;
    let root = tempfile::tempdir().expect("temp");
    let lab = lab(
        root.path(),
        "kafka",
        "[[counterpart]]\nname = \"kafka\"\nkind = \"kafka\"\n\
         topics = [ { name = \"accounts\", partitions = 3 }, { name = \"accounts.dlq\" } ]\n\n\
         [counterpart.service_env]\nKAFKA_TOPIC = \"accounts\"\n",
    );
    let (running, base, started) = start(&sandbox, &run, &lab, &image).await;
    let service = inspect(&running.container_id);
    let env: Vec<String> = serde_json::from_value(service["Config"]["Env"].clone()).expect("env");
    assert!(
        env.contains(&"KAFKA_BOOTSTRAP_SERVERS=kafka:9092".to_string()),
        "{env:?}"
    );
    assert!(env.contains(&"KAFKA_TOPIC=accounts".to_string()), "{env:?}");
    assert_eq!(connect_from(&base, "kafka:9092", None).await, "connected");

    let control = control(&sandbox, &running, &base, &started);
    let info = control.counterpart("kafka").expect("the broker");
    assert_eq!((info.kind, info.port), (CounterpartKind::Kafka, 9092));
    let target = KafkaTarget::new(info.addr);
    let mut topics = gauntlet::kafka::topics(&target, Duration::from_secs(5))
        .await
        .expect("metadata");
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    // The broker's own topics (`__consumer_offsets`) are not the lab's.
    let listed: Vec<(String, usize)> = topics
        .into_iter()
        .filter(|t| !t.name.starts_with("__"))
        .map(|t| (t.name, t.partitions))
        .collect();
    assert_eq!(
        listed,
        vec![("accounts".to_string(), 3), ("accounts.dlq".to_string(), 1)]
    );

    control
        .pause_counterpart("kafka", true)
        .await
        .expect("paused");
    let paused = gauntlet::kafka::topics(&target, Duration::from_secs(2)).await;
    assert!(paused.is_err(), "a paused broker answered: {paused:?}");
    control
        .pause_counterpart("kafka", false)
        .await
        .expect("unpaused");
    let back = gauntlet::kafka::topics(&target, Duration::from_secs(5))
        .await
        .expect("answers again");
    assert!(back.iter().any(|t| t.name == "accounts.dlq"), "{back:?}");
    assert!(control.pause_counterpart("nope", true).await.is_err());

    let logs = gauntlet::grading::counterparts::logs(&sandbox, &started).await;
    assert!(logs.starts_with("\n--- counterpart kafka ---\n"), "{logs}");
}
