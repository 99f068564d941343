//! Counterparts as checks see them: the containers a lab runs beside the learner's service on the run's network
//! (a Kafka-protocol broker for the event labs, later a trace collector or a model upstream), declared in
//! `lab.toml` under `[[counterpart]]` and started by the grader before the service.
//!
//! A check finds one by its name through [`super::ServiceControl::counterpart`], talks to it at `addr` (the
//! grader reaches the run's network directly), and may pause it to simulate an outage.

use std::net::SocketAddr;

/// What a counterpart is, which decides how the grader prepares it and how checks talk to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterpartKind {
    /// A broker speaking the Kafka protocol (tansu by default, Apache Kafka if the operator says so).
    Kafka,
    /// Any other container the lab names (image, command and port given in `lab.toml`).
    Container,
}

/// A started counterpart.
#[derive(Debug, Clone)]
pub struct CounterpartInfo {
    /// Its name in `lab.toml`, which is also its host name on the run's network (a network alias): the service
    /// reaches it as `name:port`, and a broker advertises itself under it.
    pub name: String,
    pub kind: CounterpartKind,
    /// The port it listens on inside the run's network.
    pub port: u16,
    /// Where the grader reaches it: its address on the run's network and `port`.
    pub addr: SocketAddr,
    /// The run's control token of a `container` counterpart (its `GAUNTLET_CONTROL_TOKEN`), which checks send
    /// on control requests; `None` for a broker.
    pub control_token: Option<String>,
}
