//! Where the broker is and the settings every client of the grader shares.
//!
//! rdkafka 0.39 offers no hook to rewrite the addresses a broker advertises (librdkafka's `resolve_cb` is not
//! exposed, and the `resolve_broker_addr` of Materialize's fork is not in the released crate), so a broker on a
//! run's network is reached through [`super::Proxy`], and `bootstrap` is the proxy's address.

use std::time::Duration;

use rdkafka::config::ClientConfig;

/// How long one metadata, watermark or offset request may take before the broker counts as unreachable.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A broker the grader talks to.
#[derive(Debug, Clone)]
pub struct Broker {
    /// `host:port` of the bootstrap listener.
    pub bootstrap: String,
}

impl Broker {
    pub fn new(bootstrap: impl Into<String>) -> Broker {
        Broker {
            bootstrap: bootstrap.into(),
        }
    }

    /// Settings shared by every client: where to start, and short timeouts, since a broker of a run is one
    /// container on the same host and anything slow is an outage the check should see, not wait out.
    pub(super) fn config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap)
            .set("socket.timeout.ms", "10000")
            .set("socket.connection.setup.timeout.ms", "10000")
            .set("reconnect.backoff.ms", "50")
            .set("reconnect.backoff.max.ms", "1000")
            .set("topic.metadata.refresh.interval.ms", "10000")
            .set("log_level", "3");
        c
    }

    /// A consumer that never joins a group: records are read by `assign`, nothing is committed.
    pub(super) fn reader_config(&self) -> ClientConfig {
        let mut c = self.config();
        c.set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", "100");
        c
    }
}
