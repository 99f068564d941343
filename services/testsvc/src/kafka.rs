//! A small blocking Kafka client for the w07/w08 references: produce, fetch, list offsets, and commit/read a
//! consumer group's offsets as a *standalone* member (generation -1, empty member id: the caller assigns itself
//! every partition, and the offsets it commits are what Gauntlet reads as the group's progress).
//!
//! One broker: the client connects to the bootstrap address and keeps using it for everything, whatever host
//! the metadata advertises (a single tansu broker leads every partition). A failed call drops the connection;
//! the next call reconnects. [`Producer::send`] retries within a deadline; the other calls try once and let
//! the caller's loop decide.
//!
//! `kafka_types.rs` holds the types of its API; `kafka_conn.rs` frames requests and negotiates versions; `kafka_records.rs` encodes and decodes record
//! batches; `kafka_producer.rs` is [`Producer`]; `kafka_murmur.rs` picks a key's partition like the Java client.
//! Parts of the API serve only w08's outbox relay and the tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use indexmap::IndexMap;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    FetchRequest, GroupId, ListOffsetsRequest, MetadataRequest, OffsetCommitRequest,
    OffsetFetchRequest, ProduceRequest, TopicName,
};
use kafka_protocol::protocol::{Request, StrBytes};
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions};

use crate::kafka_conn::Conn;
use crate::kafka_murmur::partition_for;
pub use crate::kafka_producer::Producer;
use crate::kafka_records::{decode_batches, to_record};
pub use crate::kafka_types::{At, Fetched, KafkaError, Message, Outgoing};

/// Version caps (see `kafka_conn.rs`): non-flexible versions every Kafka-protocol broker of the last years
/// speaks, with topics addressed by name.
const V_METADATA: i16 = 8;
const V_PRODUCE: i16 = 8;
const V_FETCH: i16 = 11;
const V_LIST_OFFSETS: i16 = 5;
const V_OFFSET_COMMIT: i16 = 7;
const V_OFFSET_FETCH: i16 = 5;

/// A connection to one broker (made on first use, remade after a failure).
pub struct Client {
    bootstrap: String,
    timeout: Duration,
    conn: Option<Conn>,
    /// topic -> its partitions, for keyed produce.
    partitions: HashMap<String, Vec<i32>>,
    /// Round robin for records without a key.
    next_unkeyed: usize,
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Client {
    /// A client for `bootstrap` (`host:port[,host:port…]`); every call is bounded by 10 s of silence.
    pub fn new(bootstrap: &str) -> Client {
        Client {
            bootstrap: bootstrap.to_string(),
            timeout: Duration::from_secs(10),
            conn: None,
            partitions: HashMap::new(),
            next_unkeyed: 0,
        }
    }

    /// Bounds connects, reads and writes (a paused broker fails a call after this long).
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = timeout;
        self
    }

    fn call<R: Request>(&mut self, req: &R, cap: i16) -> Result<R::Response, KafkaError> {
        if self.conn.is_none() {
            self.conn = Some(Conn::connect(&self.bootstrap, self.timeout)?);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(KafkaError::Connect("no connection".into()));
        };
        let answer = conn.call(req, cap);
        if matches!(answer, Err(KafkaError::Io(_) | KafkaError::Protocol(_))) {
            // The stream may hold half an answer: never reuse it.
            self.conn = None;
        }
        answer
    }

    /// The topic's partition numbers, ascending (Metadata).
    pub fn partitions(&mut self, topic: &str) -> Result<Vec<i32>, KafkaError> {
        let req = MetadataRequest::default()
            .with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(name(topic)))
            ]))
            .with_allow_auto_topic_creation(false);
        let resp = self.call(&req, V_METADATA)?;
        let t = resp
            .topics
            .iter()
            .find(|t| t.name.as_ref().is_some_and(|n| n.as_str() == topic))
            .ok_or_else(|| KafkaError::UnknownTopic(topic.to_string()))?;
        match t.error_code {
            0 => {}
            3 => return Err(KafkaError::UnknownTopic(topic.to_string())),
            code => return Err(KafkaError::broker("Metadata", code)),
        }
        let mut ps: Vec<i32> = t.partitions.iter().map(|p| p.partition_index).collect();
        if ps.is_empty() {
            return Err(KafkaError::UnknownTopic(topic.to_string()));
        }
        ps.sort_unstable();
        self.partitions.insert(topic.to_string(), ps.clone());
        Ok(ps)
    }

    /// The partition a record goes to: murmur2 of the key like the Java client, round robin without one.
    pub fn partition_of(&mut self, topic: &str, key: Option<&[u8]>) -> Result<i32, KafkaError> {
        let ps = match self.partitions.get(topic) {
            Some(ps) => ps.clone(),
            None => self.partitions(topic)?,
        };
        Ok(match key {
            Some(k) => ps[partition_for(k, ps.len() as i32) as usize],
            None => {
                self.next_unkeyed = self.next_unkeyed.wrapping_add(1);
                ps[self.next_unkeyed % ps.len()]
            }
        })
    }

    /// Produces `records` (acks=all) in one request, each to its key's partition; one attempt. Returns
    /// (partition, offset) per record, in order.
    pub fn produce(
        &mut self,
        topic: &str,
        records: &[Outgoing<'_>],
    ) -> Result<Vec<(i32, i64)>, KafkaError> {
        let mut by_partition: IndexMap<i32, Vec<usize>> = IndexMap::new();
        for (i, r) in records.iter().enumerate() {
            let p = self.partition_of(topic, r.key)?;
            by_partition.entry(p).or_default().push(i);
        }
        let ts = now_ms();
        let mut data = Vec::new();
        for (p, idx) in &by_partition {
            let batch: Vec<Record> = idx
                .iter()
                .enumerate()
                .map(|(n, &i)| to_record(&records[i], n as i64, ts))
                .collect();
            let mut buf = BytesMut::new();
            RecordBatchEncoder::encode(
                &mut buf,
                &batch,
                &RecordEncodeOptions {
                    version: 2,
                    compression: Compression::None,
                },
            )
            .map_err(|e| KafkaError::Protocol(format!("encoding records: {e}")))?;
            data.push(
                PartitionProduceData::default()
                    .with_index(*p)
                    .with_records(Some(buf.freeze())),
            );
        }
        let req = ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(self.timeout.as_millis().min(i32::MAX as u128) as i32)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(name(topic))
                .with_partition_data(data)]);
        let resp = self.call(&req, V_PRODUCE)?;
        let mut out = vec![(0, 0); records.len()];
        for (p, idx) in &by_partition {
            let pr = resp
                .responses
                .iter()
                .flat_map(|t| t.partition_responses.iter())
                .find(|r| r.index == *p)
                .ok_or_else(|| KafkaError::Protocol(format!("no answer for partition {p}")))?;
            if pr.error_code != 0 {
                if pr.error_code == 3 {
                    self.partitions.remove(topic);
                }
                return Err(KafkaError::broker("Produce", pr.error_code));
            }
            for (n, &i) in idx.iter().enumerate() {
                out[i] = (*p, pr.base_offset + n as i64);
            }
        }
        Ok(out)
    }

    /// Records of `topic`/`partition` from `offset` on, at most about `max_bytes`, waiting up to `max_wait`
    /// for at least one.
    pub fn fetch(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: i32,
        max_wait: Duration,
    ) -> Result<Fetched, KafkaError> {
        let mut all = self.fetch_partitions(topic, &[(partition, offset)], max_bytes, max_wait)?;
        all.pop().map(|(_, f)| f).ok_or_else(|| {
            KafkaError::Protocol(format!("no fetch answer for partition {partition}"))
        })
    }

    /// [`Client::fetch`] of several partitions (partition, from offset) in one request: one wait for all,
    /// at most about `max_bytes` per partition. Answers in the order asked.
    pub fn fetch_partitions(
        &mut self,
        topic: &str,
        from: &[(i32, i64)],
        max_bytes: i32,
        max_wait: Duration,
    ) -> Result<Vec<(i32, Fetched)>, KafkaError> {
        let parts = from
            .iter()
            .map(|&(p, o)| {
                FetchPartition::default()
                    .with_partition(p)
                    .with_fetch_offset(o)
                    .with_partition_max_bytes(max_bytes)
            })
            .collect();
        let req = FetchRequest::default()
            .with_max_wait_ms(max_wait.as_millis().min(30_000) as i32)
            .with_min_bytes(1)
            .with_max_bytes(max_bytes.saturating_mul(from.len().max(1) as i32))
            .with_topics(vec![FetchTopic::default()
                .with_topic(name(topic))
                .with_partitions(parts)]);
        let resp = self.call(&req, V_FETCH)?;
        if resp.error_code != 0 {
            return Err(KafkaError::broker("Fetch", resp.error_code));
        }
        let mut out = Vec::with_capacity(from.len());
        for &(partition, offset) in from {
            let pd = resp
                .responses
                .iter()
                .flat_map(|t| t.partitions.iter())
                .find(|p| p.partition_index == partition)
                .ok_or_else(|| {
                    KafkaError::Protocol(format!("no fetch answer for partition {partition}"))
                })?;
            match pd.error_code {
                0 => {}
                3 => return Err(KafkaError::UnknownTopic(topic.to_string())),
                code => return Err(KafkaError::broker("Fetch", code)),
            }
            let mut records = Vec::new();
            if let Some(bytes) = &pd.records {
                decode_batches(bytes, partition, offset, &mut records)?;
            }
            out.push((
                partition,
                Fetched {
                    records,
                    high_watermark: pd.high_watermark,
                },
            ));
        }
        Ok(out)
    }

    /// The partition's first or next offset (ListOffsets).
    pub fn list_offset(&mut self, topic: &str, partition: i32, at: At) -> Result<i64, KafkaError> {
        let ts = match at {
            At::Earliest => -2,
            At::Latest => -1,
        };
        let req = ListOffsetsRequest::default().with_topics(vec![ListOffsetsTopic::default()
            .with_name(name(topic))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(partition)
                .with_timestamp(ts)])]);
        let resp = self.call(&req, V_LIST_OFFSETS)?;
        let p = resp
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .find(|p| p.partition_index == partition)
            .ok_or_else(|| KafkaError::Protocol(format!("no offset for partition {partition}")))?;
        match p.error_code {
            0 => Ok(p.offset),
            3 => Err(KafkaError::UnknownTopic(topic.to_string())),
            code => Err(KafkaError::broker("ListOffsets", code)),
        }
    }

    /// Commits `offset` (the next record to read) for one partition to `group`.
    pub fn commit(
        &mut self,
        group: &str,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<(), KafkaError> {
        self.commit_many(group, topic, &[(partition, offset)])
    }

    /// Commits (partition, next offset) pairs to `group` in one request, as a standalone member.
    pub fn commit_many(
        &mut self,
        group: &str,
        topic: &str,
        offsets: &[(i32, i64)],
    ) -> Result<(), KafkaError> {
        let parts = offsets
            .iter()
            .map(|&(p, o)| {
                OffsetCommitRequestPartition::default()
                    .with_partition_index(p)
                    .with_committed_offset(o)
            })
            .collect();
        let req = OffsetCommitRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
            .with_generation_id_or_member_epoch(-1)
            .with_member_id(StrBytes::from_static_str(""))
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(name(topic))
                .with_partitions(parts)]);
        let resp = self.call(&req, V_OFFSET_COMMIT)?;
        for p in resp.topics.iter().flat_map(|t| t.partitions.iter()) {
            if p.error_code != 0 {
                return Err(KafkaError::broker("OffsetCommit", p.error_code));
            }
        }
        Ok(())
    }

    /// The offset `group` committed for the partition, `None` when it committed none.
    pub fn committed(
        &mut self,
        group: &str,
        topic: &str,
        partition: i32,
    ) -> Result<Option<i64>, KafkaError> {
        let req = OffsetFetchRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
            .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                .with_name(name(topic))
                .with_partition_indexes(vec![partition])]));
        let resp = self.call(&req, V_OFFSET_FETCH)?;
        if resp.error_code != 0 {
            return Err(KafkaError::broker("OffsetFetch", resp.error_code));
        }
        let Some(p) = resp
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .find(|p| p.partition_index == partition)
        else {
            return Ok(None);
        };
        match p.error_code {
            0 => Ok((p.committed_offset >= 0).then_some(p.committed_offset)),
            3 => Ok(None),
            code => Err(KafkaError::broker("OffsetFetch", code)),
        }
    }
}
