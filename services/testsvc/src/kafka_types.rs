//! The types of `kafka.rs`'s API: its error, a record read back, a fetch's answer, a record to produce.
#![allow(dead_code)]

use kafka_protocol::error::ResponseError;

/// What went wrong talking to the broker.
#[derive(Debug, Clone)]
pub enum KafkaError {
    /// No TCP connection to the bootstrap address.
    Connect(String),
    /// The connection failed or timed out mid-call.
    Io(String),
    /// The broker's answer made no sense (or a request could not be encoded).
    Protocol(String),
    /// The broker answered with an error code.
    Broker { api: &'static str, code: i16 },
    /// The topic does not exist.
    UnknownTopic(String),
    /// [`Producer::send`] gave up at its deadline; the last error.
    Deadline(Box<KafkaError>),
}

impl KafkaError {
    pub(crate) fn io(e: std::io::Error) -> KafkaError {
        KafkaError::Io(e.to_string())
    }

    pub(crate) fn broker(api: &'static str, code: i16) -> KafkaError {
        KafkaError::Broker { api, code }
    }

    /// Whether trying again later may succeed: connection trouble, and the broker errors Kafka marks so.
    pub fn retriable(&self) -> bool {
        match self {
            KafkaError::Connect(_) | KafkaError::Io(_) | KafkaError::UnknownTopic(_) => true,
            KafkaError::Broker { code, .. } => {
                ResponseError::try_from_code(*code).is_some_and(|e| e.is_retriable())
            }
            KafkaError::Protocol(_) | KafkaError::Deadline(_) => false,
        }
    }
}

impl std::fmt::Display for KafkaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KafkaError::Connect(m) => write!(f, "cannot connect to the broker: {m}"),
            KafkaError::Io(m) => write!(f, "broker connection: {m}"),
            KafkaError::Protocol(m) => write!(f, "Kafka protocol: {m}"),
            KafkaError::Broker { api, code } => match ResponseError::try_from_code(*code) {
                Some(e) => write!(f, "{api}: broker error {code} ({e})"),
                None => write!(f, "{api}: broker error {code}"),
            },
            KafkaError::UnknownTopic(t) => write!(f, "topic `{t}` does not exist"),
            KafkaError::Deadline(last) => write!(f, "gave up at the deadline: {last}"),
        }
    }
}

impl std::error::Error for KafkaError {}

/// A record read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// One fetch's records (offsets at or after the one asked for) and the partition's end.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    pub records: Vec<Message>,
    pub high_watermark: i64,
}

/// Which end of a partition [`Client::list_offset`] asks for.
#[derive(Debug, Clone, Copy)]
pub enum At {
    Earliest,
    Latest,
}

/// A record to produce: key (`None`: spread over the partitions), value, headers.
pub struct Outgoing<'a> {
    pub key: Option<&'a [u8]>,
    pub value: &'a [u8],
    pub headers: &'a [(&'a str, &'a [u8])],
}
