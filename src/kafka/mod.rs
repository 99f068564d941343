//! Gauntlet's own Kafka client, for the `events` check kind: it produces seeded records to a lab's broker (a
//! `kafka` counterpart), reads topics back and reads a consumer group's committed offsets, all through rdkafka
//! (librdkafka 2.12, bundled), the client every Kafka-speaking stack is measured against.
//!
//! - `connect.rs`: the client settings shared by every connection (where the broker is, timeouts);
//! - `records.rs`: producing records and reading a topic back;
//! - `offsets.rs`: a consumer group's committed offsets and the topic's end, giving the lag;
//! - `proxy.rs`: the loopback proxy through which the grader reaches a broker that advertises a name only the
//!   run's network resolves.
//!
//! None of these clients ever joins a consumer group: the learner's service owns its group, and a grader that
//! joined it would take partitions away from the service under test.

mod connect;
mod offsets;
mod proxy;
mod records;

pub use connect::Broker;
pub use offsets::{committed_offsets, GroupOffsets, PartitionOffsets};
pub use proxy::Proxy;
pub use records::{produce, read_topic, Delivered, NewRecord, ReadRecord, ReadUntil};

/// Why the grader's Kafka client could not do what a check asked; every variant is a platform fault from the
/// learner's point of view except where a caller decides otherwise (a topic the service should have created).
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// The client could not be built (a setting librdkafka refused).
    #[error("Kafka client settings refused: {0}")]
    Client(String),
    /// The broker did not answer a metadata request in time, or refused it.
    #[error("the broker at {broker} could not be reached: {error}")]
    Unreachable { broker: String, error: String },
    /// The broker does not know the topic (tansu does not create topics on use).
    #[error("topic `{0}` does not exist on the broker")]
    UnknownTopic(String),
    /// A record was not acknowledged by the broker.
    #[error("record {index} to `{topic}` was not delivered: {error}")]
    Produce {
        topic: String,
        index: usize,
        error: String,
    },
    /// Reading records or offsets failed.
    #[error("reading `{topic}` failed: {error}")]
    Read { topic: String, error: String },
    /// A blocking librdkafka call could not be run off the async runtime.
    #[error("a Kafka call was cancelled: {0}")]
    Cancelled(String),
}
