//! Gauntlet's own Kafka client: what the grader needs of a lab's broker (a `kafka` counterpart) to prepare it
//! (`admin.rs`: wait until it answers, create the lab's topics, read its metadata) and, for the `events` checks,
//! to produce and read records (`records.rs`) and read a consumer group's committed offsets and the lag
//! (`offsets.rs`), all on the same [`KafkaTarget`]. None of these clients ever joins a consumer group: the
//! learner's service owns its group, and a grader that joined it would take partitions away from the service.
//!
//! The client is rdkafka (librdkafka 2.12, built with the crate). The broker advertises its fixed address on the
//! run network (`sandbox/network.rs` says why), which the grader reaches directly, so a target is only that
//! address: every client made from [`KafkaTarget::client_config`] bootstraps there and is told the same address
//! back by the broker. librdkafka's own log goes to `tracing` at debug level through [`GraderContext`].

pub mod admin;
mod offsets;
mod records;

use std::net::SocketAddr;
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};

pub use crate::curriculum::TopicSpec;
pub use admin::{create_topics, topics, wait_ready, TopicInfo};
pub use offsets::{committed_offsets, GroupOffsets, PartitionOffsets};
pub use records::{produce, read_topic, Delivered, NewRecord, ReadRecord, ReadUntil};

/// One broker as the grader reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KafkaTarget {
    /// The broker's address on the run network (`CounterpartInfo::addr`), also what it advertises.
    pub addr: SocketAddr,
}

/// Bound on one request to the broker; a paused broker must show as a timeout, not a hang.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

impl KafkaTarget {
    pub fn new(addr: SocketAddr) -> Self {
        KafkaTarget { addr }
    }

    /// The settings every client of this broker starts from: the bootstrap address, short timeouts (a run has a
    /// deadline; a broker that does not answer within seconds is down), and no retries that outlive them.
    /// Producers, consumers and admin clients add their own settings on top.
    pub fn client_config(&self) -> ClientConfig {
        let ms = |d: Duration| d.as_millis().to_string();
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", self.addr.to_string())
            .set("client.id", "gauntlet-grader")
            .set("socket.timeout.ms", ms(REQUEST_TIMEOUT))
            .set("socket.connection.setup.timeout.ms", ms(REQUEST_TIMEOUT))
            .set("message.timeout.ms", ms(REQUEST_TIMEOUT * 2))
            // The run network is IPv4 only.
            .set("broker.address.family", "v4")
            .set("reconnect.backoff.ms", "50")
            .set("reconnect.backoff.max.ms", "500")
            .set_log_level(RDKafkaLogLevel::Warning);
        config
    }

    /// A consumer that reads by `assign` and never commits: librdkafka wants a `group.id` even then, but the
    /// group is never joined.
    pub fn reader_config(&self) -> ClientConfig {
        let mut c = self.client_config();
        c.set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", "100");
        c
    }
}

/// The grader's client context: librdkafka's log lines and errors go to `tracing` (debug level: a broker being
/// paused on purpose makes a lot of them), not to the `log` crate nobody listens to here.
#[derive(Debug, Clone, Copy, Default)]
pub struct GraderContext;

impl ClientContext for GraderContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        tracing::debug!(?level, facility = fac, "librdkafka: {log_message}");
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::debug!(%error, "librdkafka: {reason}");
    }
}

/// Why the grader could not do what it asked of a broker.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("the broker at {addr} did not answer a metadata request within {}s: {last}", .after.as_secs())]
    NotReady {
        addr: SocketAddr,
        after: Duration,
        last: String,
    },
    #[error("the broker could not create topic `{topic}`: {reason}")]
    CreateTopic { topic: String, reason: String },
    #[error("the Kafka client failed: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
    #[error("a Kafka client task failed: {0}")]
    Task(String),
    /// The broker did not answer a metadata request in time, or refused it (during a check).
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
}
