//! A consumer group's committed offsets beside the end of each partition: how far the learner's consumer got.
//!
//! The offsets are fetched (OffsetFetch) by a consumer created with the group's id that never subscribes, so
//! it never joins the group and never triggers a rebalance of the learner's consumers.

use std::collections::BTreeMap;
use std::sync::Arc;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use super::records::{blocking, partitions};
use super::KafkaError;
use super::{KafkaTarget, REQUEST_TIMEOUT};

/// One partition's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionOffsets {
    pub partition: i32,
    /// The next offset the group will read, as committed; `None` when the group committed nothing there.
    pub committed: Option<i64>,
    /// The partition's end (high watermark): the offset the next record will get.
    pub end: i64,
}

impl PartitionOffsets {
    /// Records not yet committed by the group.
    pub fn lag(&self) -> i64 {
        (self.end - self.committed.unwrap_or(0)).max(0)
    }
}

/// A group's progress through a topic, by partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOffsets {
    pub partitions: Vec<PartitionOffsets>,
}

impl GroupOffsets {
    pub fn total_lag(&self) -> i64 {
        self.partitions.iter().map(PartitionOffsets::lag).sum()
    }

    /// The group committed something on at least one partition.
    pub fn any_committed(&self) -> bool {
        self.partitions.iter().any(|p| p.committed.is_some())
    }
}

/// The committed offsets of `group` on every partition of `topic`, with each partition's end.
pub async fn committed_offsets(
    target: &KafkaTarget,
    group: &str,
    topic: &str,
) -> Result<GroupOffsets, KafkaError> {
    let consumer: Arc<BaseConsumer> = Arc::new(
        target
            .reader_config()
            .set("group.id", group)
            .create()
            .map_err(KafkaError::Client)?,
    );
    let (addr, name) = (target.addr.to_string(), topic.to_string());
    blocking(move || {
        let parts = partitions(consumer.client(), &addr, &name)?;
        let ends = high_watermarks(consumer.as_ref(), &name, &parts)?;
        let read_error = |e: rdkafka::error::KafkaError| KafkaError::Read {
            topic: name.clone(),
            error: e.to_string(),
        };
        let mut tpl = TopicPartitionList::new();
        for p in &parts {
            tpl.add_partition(&name, *p);
        }
        let committed = consumer
            .committed_offsets(tpl, REQUEST_TIMEOUT)
            .map_err(read_error)?;
        let partitions = parts
            .iter()
            .map(|p| {
                let committed =
                    committed
                        .find_partition(&name, *p)
                        .and_then(|e| match e.offset() {
                            Offset::Offset(o) if o >= 0 => Some(o),
                            _ => None,
                        });
                PartitionOffsets {
                    partition: *p,
                    committed,
                    end: ends.get(p).copied().unwrap_or(0),
                }
            })
            .collect();
        Ok(GroupOffsets { partitions })
    })
    .await
}

/// The end (high watermark) of each partition; blocking, so call it through [`blocking`].
pub(super) fn high_watermarks<C: Consumer>(
    consumer: &C,
    topic: &str,
    parts: &[i32],
) -> Result<BTreeMap<i32, i64>, KafkaError> {
    parts
        .iter()
        .map(|p| {
            consumer
                .fetch_watermarks(topic, *p, REQUEST_TIMEOUT)
                .map(|(_, high)| (*p, high))
                .map_err(|e| KafkaError::Read {
                    topic: topic.to_string(),
                    error: e.to_string(),
                })
        })
        .collect()
}
