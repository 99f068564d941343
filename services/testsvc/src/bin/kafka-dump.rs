//! `kafka-dump BOOTSTRAP TOPIC`: prints every record of every partition of a topic, one JSON line each
//! (`{"partition":…,"offset":…,"key":"…","value":<the value as text>}`), from offset 0 to the end. For
//! `scripts/w08-outbox-defects`, which reads back what the w08 reference published, with testsvc's own client.

#![allow(dead_code, unused_imports)]

#[path = "../json.rs"]
mod json;
#[path = "../kafka.rs"]
mod kafka;
#[path = "../kafka_conn.rs"]
mod kafka_conn;
#[path = "../kafka_murmur.rs"]
mod kafka_murmur;
#[path = "../kafka_producer.rs"]
mod kafka_producer;
#[path = "../kafka_records.rs"]
mod kafka_records;
#[path = "../kafka_types.rs"]
mod kafka_types;

use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(bootstrap), Some(topic)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: kafka-dump BOOTSTRAP TOPIC");
        std::process::exit(2);
    };
    let mut client = kafka::Client::new(bootstrap).with_timeout(Duration::from_secs(5));
    if let Err(e) = dump(&mut client, topic) {
        eprintln!("kafka-dump: {e}");
        std::process::exit(1);
    }
}

fn dump(client: &mut kafka::Client, topic: &str) -> Result<(), kafka::KafkaError> {
    for p in client.partitions(topic)? {
        let end = client.list_offset(topic, p, kafka::At::Latest)?;
        let mut at = 0;
        while at < end {
            let got = client.fetch(topic, p, at, 1 << 20, Duration::from_millis(100))?;
            let Some(last) = got.records.last().map(|m| m.offset) else {
                break;
            };
            for m in got.records.iter().filter(|m| m.offset < end) {
                let text = |b: &Option<Vec<u8>>| {
                    b.as_deref().map_or("null".to_string(), |b| {
                        json::string(&String::from_utf8_lossy(b))
                    })
                };
                println!(
                    r#"{{"partition":{},"offset":{},"key":{},"value":{}}}"#,
                    m.partition,
                    m.offset,
                    text(&m.key),
                    text(&m.value)
                );
            }
            at = last + 1;
        }
    }
    Ok(())
}
