//! Producing records and reading a topic back.
//!
//! Keys go to partitions as the Java client sends them (`murmur2_random`), so records of one key stay in one
//! partition, in the order produced, whatever language the learner's producer is written in. Reading assigns
//! every partition from offset 0 and stops at the end the broker reported when the read began: the records of
//! that moment, never a wait for records that may not come.

use std::collections::BTreeMap;
use std::time::Duration;

use std::sync::Arc;

use rdkafka::client::{Client, ClientContext};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use tokio::time::Instant;

use super::KafkaError;
use super::{KafkaTarget, REQUEST_TIMEOUT};

/// A record to produce.
#[derive(Debug, Clone, Default)]
pub struct NewRecord {
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
}

/// Where a produced record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
}

/// A record as read back.
#[derive(Debug, Clone)]
pub struct ReadRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    /// Milliseconds since the epoch, as the producer or the broker stamped it.
    pub timestamp_ms: Option<i64>,
}

/// How far [`read_topic`] reads.
#[derive(Debug, Clone, Copy)]
pub enum ReadUntil {
    /// Up to the end of every partition as it was when the read began.
    End,
    /// Until at least this many records were read, or the deadline passed (then whatever was read).
    AtLeast(usize, Instant),
}

/// Produces `records` to `topic` in order and waits for every delivery; the partition and offset of each, in
/// the order given.
pub async fn produce(
    target: &KafkaTarget,
    topic: &str,
    records: &[NewRecord],
    pace: Duration,
) -> Result<Vec<Delivered>, KafkaError> {
    let producer: FutureProducer = target
        .client_config()
        .set("partitioner", "murmur2_random")
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "20000")
        .create()
        .map_err(KafkaError::Client)?;
    // Asked first so that a missing topic or an unreachable broker is named as such, not as a delivery timeout.
    let (p, addr, name) = (producer.clone(), target.addr.to_string(), topic.to_string());
    blocking(move || partitions(p.client(), &addr, &name)).await?;
    let mut pending = Vec::with_capacity(records.len());
    for (index, r) in records.iter().enumerate() {
        let mut headers = OwnedHeaders::new_with_capacity(r.headers.len());
        for (k, v) in &r.headers {
            headers = headers.insert(Header {
                key: k,
                value: Some(v),
            });
        }
        let mut record = FutureRecord::to(topic).payload(&r.value).headers(headers);
        if let Some(k) = &r.key {
            record = record.key(k);
        }
        let produce_error = |e: rdkafka::error::KafkaError| KafkaError::Produce {
            topic: topic.to_string(),
            index,
            error: e.to_string(),
        };
        // Enqueued in order (rather than `send`, which could reorder on a full queue); idempotence keeps that
        // order through retries.
        let future = producer
            .send_result(record)
            .map_err(|(e, _)| produce_error(e))?;
        pending.push(future);
        if !pace.is_zero() {
            tokio::time::sleep(pace).await;
        }
    }
    let mut out = Vec::with_capacity(pending.len());
    for (index, f) in pending.into_iter().enumerate() {
        let failed = |error: String| KafkaError::Produce {
            topic: topic.to_string(),
            index,
            error,
        };
        match f.await {
            Ok(Ok(d)) => out.push(Delivered {
                partition: d.partition,
                offset: d.offset,
            }),
            Ok(Err((e, _))) => return Err(failed(e.to_string())),
            Err(_) => return Err(failed("the producer was dropped".into())),
        }
    }
    Ok(out)
}

/// Every record of every partition of `topic` from offset 0, as far as `until` says, ordered by partition and
/// offset.
pub async fn read_topic(
    target: &KafkaTarget,
    topic: &str,
    until: ReadUntil,
) -> Result<Vec<ReadRecord>, KafkaError> {
    let consumer: Arc<StreamConsumer> = Arc::new(
        target
            .reader_config()
            // librdkafka wants a group id even for `assign`; this one is never joined and nothing is committed
            // under it.
            .set("group.id", "gauntlet-grader-reader")
            .create()
            .map_err(KafkaError::Client)?,
    );
    let (c, addr, name) = (consumer.clone(), target.addr.to_string(), topic.to_string());
    let (parts, ends) = blocking(move || {
        let parts = partitions(c.client(), &addr, &name)?;
        let ends = super::offsets::high_watermarks(c.as_ref(), &name, &parts)?;
        Ok((parts, ends))
    })
    .await?;
    let read_error = |e: rdkafka::error::KafkaError| KafkaError::Read {
        topic: topic.to_string(),
        error: e.to_string(),
    };
    let mut tpl = TopicPartitionList::new();
    for p in &parts {
        tpl.add_partition_offset(topic, *p, Offset::Beginning)
            .map_err(read_error)?;
    }
    consumer.assign(&tpl).map_err(read_error)?;
    let mut records = Vec::new();
    // Per partition, the next offset still to read up to its end (only for `End`).
    let mut left: BTreeMap<i32, i64> = ends
        .iter()
        .filter(|(_, end)| **end > 0)
        .map(|(p, e)| (*p, *e))
        .collect();
    let deadline = match until {
        ReadUntil::End => Instant::now() + REQUEST_TIMEOUT * 3,
        ReadUntil::AtLeast(_, d) => d,
    };
    loop {
        let done = match until {
            ReadUntil::End => left.is_empty(),
            ReadUntil::AtLeast(n, _) => records.len() >= n,
        };
        if done {
            break;
        }
        let message = match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Err(_) if matches!(until, ReadUntil::AtLeast(..)) => break,
            Err(_) => {
                return Err(KafkaError::Read {
                    topic: topic.to_string(),
                    error: format!(
                        "the records up to the end were not all read in time ({} partitions short)",
                        left.len()
                    ),
                })
            }
            Ok(m) => m.map_err(read_error)?,
        };
        let r = ReadRecord {
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            headers: message
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| {
                            (
                                h.key.to_string(),
                                h.value.map(<[u8]>::to_vec).unwrap_or_default(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            timestamp_ms: message.timestamp().to_millis(),
        };
        if let Some(end) = left.get(&r.partition) {
            if r.offset + 1 >= *end {
                left.remove(&r.partition);
            }
        }
        if matches!(until, ReadUntil::End) && ends.get(&r.partition).is_some_and(|e| r.offset >= *e)
        {
            continue;
        }
        records.push(r);
    }
    records.sort_by_key(|r| (r.partition, r.offset));
    Ok(records)
}

/// The partitions of `topic`, from a metadata request; blocking, so call it through [`blocking`].
pub(super) fn partitions<C: ClientContext>(
    client: &Client<C>,
    bootstrap: &str,
    topic: &str,
) -> Result<Vec<i32>, KafkaError> {
    let metadata = client
        .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
        .map_err(|e| KafkaError::Unreachable {
            broker: bootstrap.to_string(),
            error: e.to_string(),
        })?;
    let t = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .filter(|t| t.error().is_none() && !t.partitions().is_empty())
        .ok_or_else(|| KafkaError::UnknownTopic(topic.to_string()))?;
    let mut ids: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
    ids.sort_unstable();
    Ok(ids)
}

/// Runs a blocking librdkafka call on the blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KafkaError> + Send + 'static,
) -> Result<T, KafkaError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| KafkaError::Task(e.to_string()))?
}
