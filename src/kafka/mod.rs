//! Gauntlet's own Kafka client: what the grader needs of a lab's broker (a `kafka` counterpart).
//!
//! - `target.rs`: [`KafkaTarget`], where the broker is, and the client settings every client starts from;
//! - `admin.rs`: preparing it before the service starts: wait until it answers, create the lab's topics, read
//!   its metadata;
//! - `records.rs`: producing records and reading a topic back, for the `events` checks;
//! - `offsets.rs`: a consumer group's committed offsets and the topic's end, giving the lag.
//!
//! The client is rdkafka (librdkafka 2.12, built with the crate). The broker advertises its fixed address on the
//! run network (`sandbox/network.rs` says why), which the grader reaches directly, so a target is only that
//! address: every client made from [`KafkaTarget::client_config`] bootstraps there and is told the same address
//! back by the broker. librdkafka's own log goes to `tracing` at debug level through [`GraderContext`].
//!
//! None of these clients ever joins a consumer group: the learner's service owns its group, and a grader that
//! joined it would take partitions away from the service under test.

pub mod admin;
mod offsets;
mod records;
mod target;

pub use crate::curriculum::TopicSpec;
pub use admin::{create_topics, topics, wait_ready, AdminError, TopicInfo};
pub use offsets::{committed_offsets, GroupOffsets, PartitionOffsets};
pub use records::{produce, read_topic, Delivered, NewRecord, ReadRecord, ReadUntil};
pub use target::{GraderContext, KafkaTarget, REQUEST_TIMEOUT};

/// Why a check's produce, read or offset request failed; every variant is a platform fault from the learner's
/// point of view except where a caller decides otherwise (a topic the service should have created).
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// The client could not be built (a setting librdkafka refused).
    #[error("Kafka client settings refused: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
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
    Task(String),
}
