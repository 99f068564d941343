//! Gauntlet's own Kafka client against a real broker (tansu on the host): records produced come back with
//! their keys, values and headers, a key always lands in one partition in order, a consumer group's commits are
//! seen by `committed_offsets` without the grader joining the group, and a missing topic or a dead broker is
//! named as such.
//! scripts/test: needs the broker (tansu, scripts/ci-broker)

#[path = "common/ports.rs"]
mod ports;
#[path = "common/tansu.rs"]
mod tansu;

use std::time::Duration;

use gauntlet::kafka::{self, KafkaError, KafkaTarget, NewRecord, ReadUntil};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::ClientConfig;
use rdkafka::Message;
use tokio::time::Instant;

fn record(key: &str, value: &str) -> NewRecord {
    NewRecord {
        key: Some(key.as_bytes().to_vec()),
        value: value.as_bytes().to_vec(),
        headers: vec![("source".into(), b"gauntlet".to_vec())],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produced_records_read_back_in_key_order_with_headers() {
    let port = ports::free_port();
    let broker_proc = tansu::Tansu::start(port, &[("accounts", 3)]);
    let broker = KafkaTarget::new(broker_proc.addr);
    let records: Vec<NewRecord> = (0..30)
        .map(|i| record(&format!("k{}", i % 5), &format!("{{\"n\":{i}}}")))
        .collect();
    let delivered = kafka::produce(&broker, "accounts", &records, Duration::ZERO)
        .await
        .expect("produce");
    assert_eq!(delivered.len(), 30);
    // A key always goes to one partition (the Java client's murmur2), and its offsets increase in send order.
    for k in 0..5 {
        let mine: Vec<_> = delivered.iter().skip(k).step_by(5).collect();
        assert!(
            mine.iter().all(|d| d.partition == mine[0].partition),
            "key k{k}: {mine:?}"
        );
        assert!(
            mine.windows(2).all(|w| w[0].offset < w[1].offset),
            "key k{k}: {mine:?}"
        );
    }
    let used: std::collections::BTreeSet<i32> = delivered.iter().map(|d| d.partition).collect();
    assert!(
        used.len() > 1,
        "five keys all in one partition of three: {used:?}"
    );

    let read = kafka::read_topic(&broker, "accounts", ReadUntil::End)
        .await
        .expect("read");
    assert_eq!(read.len(), 30);
    for (r, d) in records.iter().zip(&delivered) {
        let back = read
            .iter()
            .find(|x| x.partition == d.partition && x.offset == d.offset)
            .expect("each delivered record is read back");
        assert_eq!(back.key, r.key);
        assert_eq!(back.value, r.value);
        assert_eq!(back.headers, r.headers);
        assert!(back.timestamp_ms.is_some());
    }
    // A second read sees the same: reading commits nothing and moves nothing.
    let again = kafka::read_topic(&broker, "accounts", ReadUntil::End)
        .await
        .expect("read");
    assert_eq!(again.len(), 30);
    // Waiting for more than there is ends at the deadline with what there is.
    let start = Instant::now();
    let some = kafka::read_topic(
        &broker,
        "accounts",
        ReadUntil::AtLeast(31, start + Duration::from_millis(1500)),
    )
    .await
    .expect("read");
    assert_eq!(some.len(), 30);
    assert!(start.elapsed() >= Duration::from_millis(1400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_offsets_follow_a_consumer_group_without_joining_it() {
    let port = ports::free_port();
    let broker_proc = tansu::Tansu::start(port, &[("events", 2)]);
    let broker = KafkaTarget::new(broker_proc.addr);
    let records: Vec<NewRecord> = (0..10).map(|i| record(&format!("k{i}"), "{}")).collect();
    kafka::produce(&broker, "events", &records, Duration::ZERO)
        .await
        .expect("produce");

    let before = kafka::committed_offsets(&broker, "g1", "events")
        .await
        .expect("offsets");
    assert!(!before.any_committed());
    assert_eq!(before.total_lag(), 10);
    assert_eq!(before.partitions.iter().map(|p| p.end).sum::<i64>(), 10);

    // The learner's side: a group member that reads 10 records and commits.
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker_proc.addr.to_string())
        .set("group.id", "g1")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&["events"]).expect("subscribe");
    let mut n = 0;
    while n < 10 {
        let m = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("records within 30 s")
            .expect("record");
        let _ = m.offset();
        n += 1;
    }
    consumer
        .commit_consumer_state(CommitMode::Sync)
        .expect("commit");

    let after = kafka::committed_offsets(&broker, "g1", "events")
        .await
        .expect("offsets");
    assert!(after.any_committed());
    assert_eq!(after.total_lag(), 0, "{after:?}");
    // The group still has its one member: our read did not rebalance it away.
    let assignment = consumer.assignment().expect("assignment");
    assert_eq!(assignment.count(), 2);
    // Another group committed nothing.
    let other = kafka::committed_offsets(&broker, "g2", "events")
        .await
        .expect("offsets");
    assert!(!other.any_committed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_topic_and_a_dead_broker_are_named() {
    let port = ports::free_port();
    let broker_proc = tansu::Tansu::start(port, &[("present", 1)]);
    let broker = KafkaTarget::new(broker_proc.addr);
    let err = kafka::read_topic(&broker, "absent", ReadUntil::End)
        .await
        .expect_err("no topic");
    assert!(
        matches!(err, KafkaError::UnknownTopic(ref t) if t == "absent"),
        "{err}"
    );
    let err = kafka::produce(&broker, "absent", &[record("k", "v")], Duration::ZERO)
        .await
        .expect_err("no topic");
    assert!(matches!(err, KafkaError::UnknownTopic(_)), "{err}");
    drop(broker_proc);
    let dead = KafkaTarget::new(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    let err = kafka::committed_offsets(&dead, "g", "present")
        .await
        .expect_err("dead broker");
    assert!(matches!(err, KafkaError::Unreachable { .. }), "{err}");
}
