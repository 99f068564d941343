//! Where the grader reaches a lab's broker, and the client settings every client of it starts from.

use std::net::SocketAddr;
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};

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
    /// Producers, consumers and admin clients add their own settings on top (a producer-only setting here would
    /// make librdkafka warn on stderr for every consumer and admin client).
    pub fn client_config(&self) -> ClientConfig {
        let ms = |d: Duration| d.as_millis().to_string();
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", self.addr.to_string())
            .set("client.id", "gauntlet-grader")
            .set("socket.timeout.ms", ms(REQUEST_TIMEOUT))
            .set("socket.connection.setup.timeout.ms", ms(REQUEST_TIMEOUT))
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
