//! Gauntlet's own Kafka client: what the grader needs of a lab's broker (a `kafka` counterpart).
//!
//! - `target.rs`: [`KafkaTarget`], where the broker is, and the client settings every client starts from;
//! - `admin.rs`: preparing it before the service starts: wait until it answers, create the lab's topics, read
//!   its metadata.
//!
//! The client is rdkafka (librdkafka 2.12, built with the crate). The broker advertises its fixed address on the
//! run network (`sandbox/network.rs` says why), which the grader reaches directly, so a target is only that
//! address: every client made from [`KafkaTarget::client_config`] bootstraps there and is told the same address
//! back by the broker. librdkafka's own log goes to `tracing` at debug level through [`GraderContext`].

pub mod admin;
mod target;

pub use crate::curriculum::TopicSpec;
pub use admin::{create_topics, topics, wait_ready, AdminError, TopicInfo};
pub use target::{GraderContext, KafkaTarget, REQUEST_TIMEOUT};
