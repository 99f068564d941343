//! [`Producer`]: `kafka.rs`'s client with retries within a deadline, for a DLQ writer or an outbox relay.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use crate::kafka::{Client, KafkaError, Outgoing};

/// A producer that retries within a deadline: what an outbox relay or a DLQ writer wants.
pub struct Producer {
    client: Client,
    deadline: Duration,
}

impl Producer {
    /// Retries each send for up to 30 s.
    pub fn new(bootstrap: &str) -> Producer {
        Producer {
            client: Client::new(bootstrap),
            deadline: Duration::from_secs(30),
        }
    }

    pub fn with_deadline(mut self, deadline: Duration) -> Producer {
        self.deadline = deadline;
        self
    }

    /// Bounds each attempt's connect, read and write.
    pub fn with_timeout(mut self, timeout: Duration) -> Producer {
        self.client = self.client.with_timeout(timeout);
        self
    }

    /// Produces one record (acks=all) and returns its (partition, offset), retrying retriable failures until
    /// the deadline. A retry after a lost answer may write the record twice: at-least-once, like every
    /// producer without idempotence.
    pub fn send(
        &mut self,
        topic: &str,
        key: Option<&[u8]>,
        value: &[u8],
        headers: &[(&str, &[u8])],
    ) -> Result<(i32, i64), KafkaError> {
        let one = [Outgoing {
            key,
            value,
            headers,
        }];
        let mut sent = self.send_many(topic, &one)?;
        sent.pop()
            .ok_or_else(|| KafkaError::Protocol("no offset for the record".into()))
    }

    /// Produces several records in one request (retried whole), (partition, offset) per record in order.
    pub fn send_many(
        &mut self,
        topic: &str,
        records: &[Outgoing<'_>],
    ) -> Result<Vec<(i32, i64)>, KafkaError> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(50);
        loop {
            match self.client.produce(topic, records) {
                Ok(r) => return Ok(r),
                Err(e) if !e.retriable() => return Err(e),
                Err(e) if start.elapsed() + pause >= self.deadline => {
                    return Err(KafkaError::Deadline(Box::new(e)))
                }
                Err(_) => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// The client underneath, for metadata and offsets.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }
}
