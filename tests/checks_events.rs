//! The `events` kind end to end: a real broker (tansu on the host), a real consumer service written here
//! (an rdkafka consumer group behind a small hyper HTTP API), and the check engine driving both through a
//! `ServiceControl` whose counterpart `kafka` is the host's broker. A check that produces duplicates passes on a
//! consumer that applies each event once and fails, with the balance it saw, on one that does not dedupe; a
//! producing service is judged by the records it wrote, with the broker frozen (SIGSTOP) in the middle.
//! scripts/test: needs the broker (tansu, scripts/ci-broker)

#[path = "checks_events/http.rs"]
mod http;
#[path = "checks_events/ledger.rs"]
mod ledger;
#[path = "checks_events/notes.rs"]
mod notes;
#[path = "common/ports.rs"]
mod ports;
#[path = "common/tansu.rs"]
mod tansu;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use gauntlet::checks::{
    run_suite, BoxFuture, CheckContext, CheckOutcome, CheckSuite, CounterpartInfo, CounterpartKind,
    Instance, InstanceError, InstanceSpec, RestartMode, ServiceControl, Target, Verdict,
};

/// The grader's view of the host: the broker is counterpart `kafka`, paused with SIGSTOP; the service cannot be
/// restarted here (the Docker tests of the labs cover that).
struct HostControl {
    broker: SocketAddr,
    broker_pid: u32,
    /// Restarts the in-process service, where the test gives one.
    restart: Option<notes::Restarter>,
}

impl ServiceControl for HostControl {
    fn restart(&self, _: RestartMode) -> BoxFuture<'_, Result<url::Url, String>> {
        match &self.restart {
            Some(r) => r(),
            None => Box::pin(async { Err("no restart on the host".to_string()) }),
        }
    }
    fn base_url(&self) -> Option<url::Url> {
        None
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
            control_token: None,
        })
    }
    fn pause_counterpart(&self, name: &str, paused: bool) -> BoxFuture<'_, Result<(), String>> {
        let name = name.to_string();
        Box::pin(async move {
            if name != "kafka" {
                return Err(format!("no counterpart `{name}`"));
            }
            let signal = if paused { "-STOP" } else { "-CONT" };
            let status = tokio::process::Command::new("kill")
                .args([signal, &self.broker_pid.to_string()])
                .status()
                .await
                .map_err(|e| e.to_string())?;
            status
                .success()
                .then_some(())
                .ok_or_else(|| format!("kill {signal} failed"))
        })
    }
}

async fn run(
    check: &str,
    broker: &tansu::Tansu,
    service: SocketAddr,
    env: &[(&str, &str)],
) -> CheckOutcome {
    run_restartable(check, broker, service, env, None).await
}

async fn run_restartable(
    check: &str,
    broker: &tansu::Tansu,
    service: SocketAddr,
    env: &[(&str, &str)],
    restart: Option<notes::Restarter>,
) -> CheckOutcome {
    let suite = CheckSuite::parse_file(
        Path::new("checks/events.toml"),
        check,
        &["events".to_string()],
    )
    .unwrap_or_else(|ps| panic!("the check file is valid: {ps:?}"));
    let ctx = CheckContext {
        seed: 42,
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        control: Some(Arc::new(HostControl {
            broker: broker.addr,
            broker_pid: broker.pid(),
            restart,
        })),
    };
    let target = Target {
        base_url: url::Url::parse(&format!("http://{service}/")).expect("url"),
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut outcomes = run_suite(&suite, &target, &ctx, &tx).await;
    // Shown with a failing test: the outcome and its whole timeline.
    eprintln!(
        "{:?}: {}\n{}",
        outcomes[0].verdict, outcomes[0].message, outcomes[0].detail
    );
    assert_eq!(outcomes.len(), 1);
    outcomes.remove(0)
}

/// Three copies of one credit, then a marker on the same key (so it is applied after them): once the marker
/// shows, the balance must be one credit's.
const APPLIES_ONCE: &str = r#"
[[check]]
id = "applies-each-once"
kind = "events"
title = "Each event is applied once"
pillar = "events"
timeout_secs = 60

[check.events]
broker = "kafka"

[[check.events.step]]
produce = "{{env.KAFKA_TOPIC}}"
records = [
  { key = "acct-{{rand}}", json = { id = "c-{{rand}}", account = "acct-{{rand}}", amount = 5 }, copies = 3 },
  { key = "acct-{{rand}}", json = { id = "m-{{rand}}", account = "mark-{{rand}}", amount = 1 } },
]
repeat = 1

[[check.events.step]]
settle = { method = "GET", path = "/accounts/mark-{{rand}}" }
expect = { status = 200 }
within_secs = 20
min_rate = 0.5

[[check.events.step]]
request = { method = "GET", path = "/accounts/acct-{{rand}}" }
expect = { status = 200, json = { balance = 5 } }

[[check.events.step]]
group_lag = "{{env.KAFKA_GROUP_ID}}"
topic = "{{env.KAFKA_TOPIC}}"
within_secs = 20

[[check.events.step]]
read = "{{env.KAFKA_TOPIC}}"
[check.events.step.expect_records]
id = "/id"
count = 4
one_id_per = ["/account"]
"#;

const ENV: [(&str, &str); 2] = [("KAFKA_TOPIC", "accounts"), ("KAFKA_GROUP_ID", "ledger")];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicates_pass_on_a_deduplicating_consumer() {
    let broker = tansu::Tansu::start(ports::free_port(), &[("accounts", 3)]);
    let service = ledger::start(broker.addr, "accounts", "ledger", true).await;
    let o = run(APPLIES_ONCE, &broker, service.addr, &ENV).await;
    assert_eq!(o.verdict, Verdict::Pass, "{}\n{}", o.message, o.detail);
    assert!(
        o.message.contains("records/s") && o.message.contains("lag 0"),
        "{}",
        o.message
    );
    // The timeline names the records produced, the exchanges and the group's offsets.
    for part in [
        "produced 4 records to `accounts`",
        "GET /accounts/",
        "group `ledger` on `accounts`: lag 0",
        "read `accounts`: 4 records",
    ] {
        assert!(o.detail.contains(part), "no `{part}` in:\n{}", o.detail);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicates_fail_on_a_consumer_that_applies_each_copy() {
    let broker = tansu::Tansu::start(ports::free_port(), &[("accounts", 3)]);
    let service = ledger::start(broker.addr, "accounts", "ledger", false).await;
    let o = run(APPLIES_ONCE, &broker, service.addr, &ENV).await;
    assert_eq!(o.verdict, Verdict::Fail, "{}\n{}", o.message, o.detail);
    assert!(o.message.contains("failed at step 3 of 5"), "{}", o.message);
    assert!(
        o.message.contains("at `/balance`: expected 5, got 15"),
        "{}",
        o.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_consumer_group_that_never_commits_is_named() {
    let broker = tansu::Tansu::start(ports::free_port(), &[("accounts", 3)]);
    let service = ledger::start(broker.addr, "accounts", "ledger", true).await;
    let check = APPLIES_ONCE.replace(
        "group_lag = \"{{env.KAFKA_GROUP_ID}}\"\ntopic = \"{{env.KAFKA_TOPIC}}\"\nwithin_secs = 20",
        "group_lag = \"someone-else\"\ntopic = \"{{env.KAFKA_TOPIC}}\"\nwithin_secs = 2",
    );
    let o = run(&check, &broker, service.addr, &ENV).await;
    assert_eq!(o.verdict, Verdict::Fail, "{}\n{}", o.message, o.detail);
    assert!(
        o.message.contains(
            "the consumer group `someone-else` committed nothing on `accounts` within 2 s"
        ),
        "{}",
        o.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broker_the_grader_cannot_reach_is_a_platform_fault() {
    let broker = tansu::Tansu::start(ports::free_port(), &[("accounts", 1)]);
    let service = ledger::start(broker.addr, "accounts", "ledger", true).await;
    let check = APPLIES_ONCE.replace(
        "produce = \"{{env.KAFKA_TOPIC}}\"",
        "produce = \"no-such-topic\"",
    );
    let o = run(&check, &broker, service.addr, &ENV).await;
    assert_eq!(o.verdict, Verdict::Error, "{}\n{}", o.message, o.detail);
    assert!(
        o.message.contains("does not count against you"),
        "{}",
        o.message
    );
    assert!(
        o.detail.contains("topic `no-such-topic` does not exist"),
        "{}",
        o.detail
    );
}

/// A stream of writes to a service that publishes each as a record, the broker frozen for a while in the
/// middle: every acknowledged note must have its record, and no note two.
const OUTBOX: &str = r#"
[[check]]
id = "publishes-acknowledged"
kind = "events"
title = "Every acknowledged note is published"
pillar = "events"
timeout_secs = 60

[check.events]

[[check.events.step]]
pause = true

[[check.events.step]]
writes = { method = "POST", path = "/notes", json = { title = "w{{i}} {{rand}}" } }
count = 20
concurrency = 4
collect = { acked = "json:/id" }
max_ms = 1500

[[check.events.step]]
sleep_ms = 300

[[check.events.step]]
pause = false

[[check.events.step]]
read = "notes"
within_secs = 20
[check.events.step.expect_records]
where = { type = "note.created" }
id = "/event_id"
each_once = true
key_is = "/note_id"
includes = { list = "acked", at = "/note_id" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_outbox_keeps_writes_fast_and_publishes_them_after_an_outage() {
    let broker = tansu::Tansu::start(ports::free_port(), &[("notes", 2)]);
    let service = notes::start(broker.addr, "notes", notes::Mode::Outbox).await;
    let o = run(OUTBOX, &broker, service.addr, &[]).await;
    assert_eq!(o.verdict, Verdict::Pass, "{}\n{}", o.message, o.detail);
    assert!(
        o.message.contains("20 of 20 writes acknowledged"),
        "{}",
        o.message
    );
    assert!(
        o.detail.contains("broker paused") && o.detail.contains("broker unpaused"),
        "{}",
        o.detail
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_service_that_publishes_inline_stalls_with_the_broker() {
    let broker = tansu::Tansu::start(ports::free_port(), &[("notes", 2)]);
    let service = notes::start(broker.addr, "notes", notes::Mode::Inline).await;
    let o = run(OUTBOX, &broker, service.addr, &[]).await;
    // Unfreeze whatever happened, so the broker can be stopped.
    let _ = std::process::Command::new("kill")
        .args(["-CONT", &broker.pid().to_string()])
        .status();
    assert_eq!(o.verdict, Verdict::Fail, "{}\n{}", o.message, o.detail);
    assert!(o.message.contains("failed at step 2 of 5"), "{}", o.message);
    assert!(
        o.message.contains("took longer than 1500 ms")
            || o.message.contains("was not acknowledged"),
        "{}",
        o.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_publication_is_counted_against_the_acknowledged_writes() {
    let broker = tansu::Tansu::start(ports::free_port(), &[("notes", 2)]);
    let service = notes::start(broker.addr, "notes", notes::Mode::DropEveryFifth).await;
    let check = OUTBOX.replace("within_secs = 20\n[check", "within_secs = 3\n[check");
    let o = run(&check, &broker, service.addr, &[]).await;
    assert_eq!(o.verdict, Verdict::Fail, "{}\n{}", o.message, o.detail);
    assert!(
        o.message
            .contains("4 of 20 acknowledged writes have no record in `notes`"),
        "{}",
        o.message
    );
}

/// Two bursts of writes collecting into one list: the second adds to the first, so the read judges all twenty.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_writes_steps_collect_into_one_list() {
    let broker = tansu::Tansu::start(ports::free_port(), &[("notes", 2)]);
    let service = notes::start(broker.addr, "notes", notes::Mode::DropEveryFifth).await;
    let burst = "[[check.events.step]]\nwrites = { method = \"POST\", path = \"/notes\", json = { title = \"w{{i}} {{rand}}\" } }\ncount = 10\nconcurrency = 1\ncollect = { acked = \"json:/id\" }\n\n";
    let check = OUTBOX
        .replace(
            "[[check.events.step]]\npause = true\n\n",
            "",
        )
        .replace(
            "[[check.events.step]]\npause = false\n\n",
            "",
        )
        .replace(
            "[[check.events.step]]\nwrites = { method = \"POST\", path = \"/notes\", json = { title = \"w{{i}} {{rand}}\" } }\ncount = 20\nconcurrency = 4\ncollect = { acked = \"json:/id\" }\nmax_ms = 1500\n\n",
            &format!("{burst}{burst}"),
        )
        .replace("within_secs = 20\n[check", "within_secs = 3\n[check");
    assert_eq!(check.matches("count = 10").count(), 2, "{check}");
    let o = run(&check, &broker, service.addr, &[]).await;
    assert_eq!(o.verdict, Verdict::Fail, "{}\n{}", o.message, o.detail);
    assert!(
        o.message
            .contains("4 of 20 acknowledged writes have no record in `notes`"),
        "{}",
        o.message
    );
    assert!(o.detail.contains("(20 in all)"), "{}", o.detail);
}

/// Writes with a restart after the tenth acknowledgement: the writers follow the service to its new address,
/// and every acknowledged note is published.
const WRITES_WITH_A_KILL: &str = r#"
[[check]]
id = "survives-a-kill"
kind = "events"
title = "Acknowledged notes survive a crash"
pillar = "events"
timeout_secs = 60

[check.events]

[[check.events.step]]
writes = { method = "POST", path = "/notes", json = { title = "w{{i}} {{rand}}" } }
count = 30
concurrency = 3
kill_after = 10
collect = { acked = "json:/id" }

[[check.events.step]]
read = "notes"
within_secs = 20
[check.events.step.expect_records]
where = { type = "note.created" }
id = "/event_id"
each_once = true
includes = { list = "acked", at = "/note_id" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_follow_the_service_through_a_kill_and_every_acknowledged_one_is_judged() {
    let broker = tansu::Tansu::start(ports::free_port(), &[("notes", 2), ("lossy", 2)]);
    let service = notes::start(broker.addr, "notes", notes::Mode::Outbox).await;
    let restart = Some(service.restarter.clone());
    let o = run_restartable(WRITES_WITH_A_KILL, &broker, service.addr, &[], restart).await;
    assert_eq!(o.verdict, Verdict::Pass, "{}\n{}", o.message, o.detail);
    assert!(
        o.detail.contains("killed after 10 acknowledged writes"),
        "{}",
        o.detail
    );
    assert!(
        o.message.contains("of 30 writes acknowledged"),
        "{}",
        o.message
    );
    // A service that loses publications is caught the same way after the kill.
    let lossy = notes::start(broker.addr, "lossy", notes::Mode::DropEveryFifth).await;
    let restart = Some(lossy.restarter.clone());
    let check = WRITES_WITH_A_KILL
        .replace("within_secs = 20", "within_secs = 3")
        .replace("read = \"notes\"", "read = \"lossy\"");
    let o = run_restartable(&check, &broker, lossy.addr, &[], restart).await;
    assert_eq!(o.verdict, Verdict::Fail, "{}\n{}", o.message, o.detail);
    assert!(
        o.message
            .contains("6 of 30 acknowledged writes have no record in `lossy`"),
        "{}",
        o.message
    );
}
