//! testsvc's Kafka client against a real broker (tansu on the host): keyed records land on the partition the
//! Java client would pick, come back with their keys, values and headers, offsets list and commit as a
//! standalone group member, and a missing topic or a dead broker is named as such.
//! scripts/test: needs the broker (tansu, scripts/ci-broker)

#[path = "../src/kafka.rs"]
mod kafka;
#[path = "../src/kafka_conn.rs"]
mod kafka_conn;
#[path = "../src/kafka_murmur.rs"]
mod kafka_murmur;
#[path = "../src/kafka_producer.rs"]
mod kafka_producer;
#[path = "../src/kafka_records.rs"]
mod kafka_records;
#[path = "../src/kafka_types.rs"]
mod kafka_types;
mod support;

use std::time::Duration;

use kafka::{At, Client, KafkaError, Outgoing, Producer};
use support::Tansu;

#[test]
fn records_round_trip_on_the_java_clients_partitions() {
    let broker = Tansu::start(&[("accounts", 3)]);
    let mut producer = Producer::new(&broker.bootstrap());
    let mut sent = Vec::new();
    for i in 0..12 {
        let key = format!("acct-{}", i % 4);
        let value = format!("{{\"n\":{i}}}");
        let (p, o) = producer
            .send(
                "accounts",
                Some(key.as_bytes()),
                value.as_bytes(),
                &[("source", b"test")],
            )
            .expect("send");
        // librdkafka's murmur2_random and the Java client put this key here.
        assert_eq!(
            p,
            kafka_murmur::partition_for(key.as_bytes(), 3),
            "key {key}"
        );
        sent.push((key, value, p, o));
    }
    // Several records in one request: (partition, offset) per record, in order.
    let many = [
        Outgoing {
            key: Some(b"acct-0"),
            value: b"m0",
            headers: &[],
        },
        Outgoing {
            key: Some(b"acct-1"),
            value: b"m1",
            headers: &[],
        },
        Outgoing {
            key: Some(b"acct-0"),
            value: b"m2",
            headers: &[],
        },
    ];
    let offsets = producer.send_many("accounts", &many).expect("send_many");
    assert_eq!(offsets[0].0, offsets[2].0);
    assert_eq!(offsets[2].1, offsets[0].1 + 1);

    let mut client = Client::new(&broker.bootstrap());
    assert_eq!(
        client.partitions("accounts").expect("partitions"),
        vec![0, 1, 2]
    );
    let mut total = 0;
    for p in 0..3 {
        let end = client
            .list_offset("accounts", p, At::Latest)
            .expect("latest");
        assert_eq!(
            client
                .list_offset("accounts", p, At::Earliest)
                .expect("earliest"),
            0
        );
        let f = client
            .fetch("accounts", p, 0, 1 << 20, Duration::from_millis(100))
            .expect("fetch");
        assert_eq!(f.records.len() as i64, end, "partition {p}");
        assert_eq!(f.high_watermark, end);
        total += end;
        for r in &f.records {
            if let Some((key, value, _, _)) = sent.iter().find(|s| s.2 == p && s.3 == r.offset) {
                assert_eq!(r.key.as_deref(), Some(key.as_bytes()));
                assert_eq!(r.value.as_deref(), Some(value.as_bytes()));
                assert_eq!(r.header("source"), Some(&b"test"[..]));
                assert!(r.timestamp > 0);
            }
        }
        // From an offset inside the partition: only the records from there on.
        if end > 1 {
            let tail = client
                .fetch("accounts", p, end - 1, 1 << 20, Duration::from_millis(100))
                .expect("fetch tail");
            assert_eq!(
                tail.records.iter().map(|r| r.offset).collect::<Vec<_>>(),
                vec![end - 1]
            );
        }
    }
    assert_eq!(total, 15);

    // A standalone member's commits are the group's offsets.
    assert_eq!(
        client.committed("g", "accounts", 1).expect("committed"),
        None
    );
    client
        .commit_many("g", "accounts", &[(0, 2), (1, 1)])
        .expect("commit");
    assert_eq!(
        client.committed("g", "accounts", 0).expect("committed"),
        Some(2)
    );
    assert_eq!(
        client.committed("g", "accounts", 1).expect("committed"),
        Some(1)
    );
    client.commit("g", "accounts", 1, 3).expect("commit");
    assert_eq!(
        client.committed("g", "accounts", 1).expect("committed"),
        Some(3)
    );
    assert_eq!(
        client.committed("other", "accounts", 0).expect("committed"),
        None
    );
}

#[test]
fn a_missing_topic_and_a_dead_broker_are_named() {
    let broker = Tansu::start(&[("accounts", 1)]);
    let mut client = Client::new(&broker.bootstrap());
    assert!(matches!(client.partitions("nope"), Err(KafkaError::UnknownTopic(t)) if t == "nope"));
    let addr = broker.bootstrap();
    drop(broker);
    let mut dead = Producer::new(&addr).with_deadline(Duration::from_millis(600));
    let err = dead
        .send("accounts", None, b"x", &[])
        .expect_err("no broker");
    assert!(matches!(err, KafkaError::Deadline(_)), "{err}");
    assert!(err.to_string().contains("connect"), "{err}");
}
