//! Records on the wire for `kafka.rs`: RecordBatch v2 in (one batch per partition of a produce) and out
//! (whole batches of a fetch, the cut-off last one skipped, control records and records before the offset
//! asked for left out).

use bytes::Bytes;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Record, RecordBatchDecoder, TimestampType};

use crate::kafka::{KafkaError, Message, Outgoing};

pub fn to_record(r: &Outgoing<'_>, offset: i64, ts: i64) -> Record {
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset,
        sequence: -1,
        timestamp: ts,
        key: r.key.map(Bytes::copy_from_slice),
        value: Some(Bytes::copy_from_slice(r.value)),
        headers: r
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    StrBytes::from_string((*k).to_string()),
                    Some(Bytes::copy_from_slice(v)),
                )
            })
            .collect(),
    }
}

/// Decodes the complete record batches in `bytes` (a fetch may end in a cut-off one, which is skipped), keeping
/// records at or after `from` (a batch can start before the offset asked for) and no control records.
pub fn decode_batches(
    bytes: &Bytes,
    partition: i32,
    from: i64,
    out: &mut Vec<Message>,
) -> Result<(), KafkaError> {
    let mut at = 0usize;
    while bytes.len() - at >= 12 {
        let len =
            i32::from_be_bytes([bytes[at + 8], bytes[at + 9], bytes[at + 10], bytes[at + 11]]);
        let end = at + 12 + len.max(0) as usize;
        if len <= 0 || end > bytes.len() {
            break;
        }
        let mut one = bytes.slice(at..end);
        let set = RecordBatchDecoder::decode(&mut one)
            .map_err(|e| KafkaError::Protocol(format!("decoding records: {e}")))?;
        for r in set.records {
            if r.control || r.offset < from {
                continue;
            }
            out.push(Message {
                partition,
                offset: r.offset,
                timestamp: r.timestamp,
                key: r.key.map(|k| k.to_vec()),
                value: r.value.map(|v| v.to_vec()),
                headers: r
                    .headers
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_string(),
                            v.map(|v| v.to_vec()).unwrap_or_default(),
                        )
                    })
                    .collect(),
            });
        }
        at = end;
    }
    Ok(())
}
