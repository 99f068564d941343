//! The consumer loop: poll a batch, dead-letter the invalid records, apply the valid ones in one transaction.
//!
//! It runs on its own thread, so the HTTP server answers `/healthz` before (and whether) the broker is reachable.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{BorrowedMessage, Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

use crate::events;
use crate::store::Store;
use crate::Config;

/// Records per batch: throughput comes from applying (and later committing) many records at once.
const BATCH: usize = 500;

/// How long the first poll of a batch waits for a record; the rest of the batch takes only what is there.
const POLL_WAIT: Duration = Duration::from_millis(500);

fn consumer_config(cfg: &Config) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &cfg.bootstrap_servers)
        .set("group.id", &cfg.group_id)
        // Auto-commit commits on a timer, whatever your code has done: your code commits, after the effects.
        .set("enable.auto.commit", "false")
        // A partition the group has committed nothing for is read from the beginning: events may be produced
        // before you start.
        .set("auto.offset.reset", "earliest");
    config
}

fn producer_config(cfg: &Config) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &cfg.bootstrap_servers)
        // The broker acknowledges a dead letter only once it has stored it.
        .set("acks", "all")
        .set("message.timeout.ms", "10000");
    config
}

/// Runs the loop, and starts it again if the client fails, so one broker hiccup does not end consuming.
pub fn run_forever(cfg: &Config, store: &Store, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        if let Err(err) = run(cfg, store, stop) {
            println!("consumer: {err}; restarting in 1 s");
            thread::sleep(Duration::from_secs(1));
        }
    }
}

/// Consumes until `stop` is set. Dropping the consumer on the way out closes it cleanly.
fn run(cfg: &Config, store: &Store, stop: &AtomicBool) -> Result<(), crate::Error> {
    let consumer: BaseConsumer = consumer_config(cfg).create()?;
    let dead_letters = DeadLetters::new(cfg)?;
    // The service is the group's only member, so it assigns itself every partition rather than joining through
    // the group protocol (`subscribe`): a restart after a kill resumes at once, with no rebalance to wait out.
    // Each partition starts at the group's committed offset, and what you commit is still the group's.
    let partitions = all_partitions(&consumer, &cfg.topic)?;
    consumer.assign(&partitions)?;
    println!(
        "consumer: reading {} partitions of {} for group {}",
        partitions.count(),
        cfg.topic,
        cfg.group_id
    );
    while !stop.load(Ordering::Relaxed) {
        let batch = poll_batch(&consumer);
        if !batch.is_empty() {
            process(&batch, store, &dead_letters)?;
            // TODO(week 7): commit the batch's offsets to the group, synchronously, only now that its effects
            // are durable: `consumer.commit_consumer_state(CommitMode::Sync)` commits the position after each
            // record `poll` returned. Never before the transaction: a crash in between would skip records
            // nobody applied.
        }
    }
    Ok(())
}

/// Every partition of `topic`, from the broker's metadata (the topic exists before the service starts), each
/// to be read from the group's committed offset (`Offset::Stored`), or by `auto.offset.reset` if there is none.
fn all_partitions(consumer: &BaseConsumer, topic: &str) -> KafkaResult<TopicPartitionList> {
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut list = TopicPartitionList::new();
    for t in metadata.topics() {
        if let Some(err) = t.error() {
            return Err(KafkaError::MetadataFetch(err.into()));
        }
        for p in t.partitions() {
            list.add_partition_offset(topic, p.id(), Offset::Stored)?;
        }
    }
    Ok(list)
}

/// Up to `BATCH` records: waits for the first, then takes what has already arrived.
fn poll_batch(consumer: &BaseConsumer) -> Vec<BorrowedMessage<'_>> {
    let mut batch = Vec::new();
    let mut wait = POLL_WAIT;
    while batch.len() < BATCH {
        match consumer.poll(wait) {
            None => break,
            Some(Ok(msg)) => batch.push(msg),
            // Errors the client reports in-band (e.g. a broker briefly unreachable); it retries by itself.
            Some(Err(err)) => println!("consumer: {err}"),
        }
        wait = Duration::ZERO;
    }
    batch
}

fn process(
    batch: &[BorrowedMessage<'_>],
    store: &Store,
    dead_letters: &DeadLetters,
) -> Result<(), crate::Error> {
    let mut valid = Vec::new();
    let mut dead = Vec::new();
    for msg in batch {
        match events::parse(msg.payload()) {
            Ok(event) => valid.push(event),
            Err(reason) => dead.push((msg, reason)),
        }
    }
    // Dead letters are acknowledged before the batch counts as processed: never dropped silently.
    dead_letters.send(&dead);
    store.apply_batch(&valid)?;
    Ok(())
}

/// Sends invalid records to the dead-letter topic and waits for the broker to acknowledge them.
struct DeadLetters {
    producer: BaseProducer<Acks>,
    topic: String,
}

/// Collects the delivery reports the producer serves while it flushes: the position (in the list being sent)
/// of every dead letter the broker did not acknowledge.
#[derive(Default)]
struct Acks {
    failed: Mutex<Vec<usize>>,
}

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        if let Err((err, _)) = result {
            println!("dead letter not delivered ({err}); retrying");
            self.fail(index);
        }
    }
}

impl Acks {
    fn fail(&self, index: usize) {
        self.failures().push(index);
    }

    /// The failures reported so far, leaving the list empty for the next round.
    fn take_failed(&self) -> Vec<usize> {
        std::mem::take(&mut *self.failures())
    }

    /// A thread that panicked while holding the list cannot have left it half-changed, so a poisoned lock is
    /// still safe to use.
    fn failures(&self) -> std::sync::MutexGuard<'_, Vec<usize>> {
        self.failed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl DeadLetters {
    fn new(cfg: &Config) -> KafkaResult<DeadLetters> {
        Ok(DeadLetters {
            producer: producer_config(cfg).create_with_context(Acks::default())?,
            topic: cfg.dlq_topic.clone(),
        })
    }

    /// `dead` holds (record, reason) pairs. Returns once every one is acknowledged; retries otherwise.
    fn send(&self, dead: &[(&BorrowedMessage<'_>, String)]) {
        let mut pending: Vec<usize> = (0..dead.len()).collect();
        while !pending.is_empty() {
            for &index in &pending {
                let (msg, reason) = &dead[index];
                let headers = OwnedHeaders::new().insert(Header {
                    key: "error",
                    value: Some(reason.as_str()),
                });
                let mut record = BaseRecord::with_opaque_to(&self.topic, index).headers(headers);
                if let Some(key) = msg.key() {
                    record = record.key(key);
                }
                if let Some(value) = msg.payload() {
                    record = record.payload(value);
                }
                if let Err((err, _)) = self.producer.send(record) {
                    // The local queue refused it (e.g. full): count it as failed and send it again below.
                    println!("dead letter not queued ({err}); retrying");
                    self.producer.context().fail(index);
                }
            }
            // flush() serves the delivery reports: when it returns Ok, each record was acknowledged or failed.
            while self.producer.flush(Duration::from_secs(5)).is_err() {
                println!("waiting for the broker to acknowledge dead letters");
            }
            pending = self.producer.context().take_failed();
            if !pending.is_empty() {
                thread::sleep(Duration::from_secs(1));
            }
        }
    }
}
