//! Lab w08: the relay that publishes the outbox (`outbox.rs`) to `KAFKA_TOPIC`, and the wrong designs the lab's
//! mutants use instead of it.
//!
//! The relay is one thread: woken after each commit (and every 200 ms), it waits a short linger so that a burst
//! of commits goes out as one pass, then sends the pending events in commit order, one record each, keyed by
//! the note id so that a note's events share a partition and stay in version order. A note's first failure
//! stops that note's queue for the pass; a connection failure (a paused or vanished broker) ends the pass. What
//! the broker acknowledged is marked published with one save, then the relay backs off (100 ms doubling to
//! 2 s) if anything failed. Every attempt is bounded by [`SEND_TIMEOUT`], and the store lock is never held
//! while talking to the broker: a stalled broker never slows the API.
//!
//! Defects (`TESTSVC_DEFECT`): `new-id-on-retry` (the id is made when sending, so every attempt of one change
//! carries a different id), `wrong-key` (records keyed by the event id), `out-of-order` (each pass sends the
//! newest pending event first); `publish-in-handler` (no outbox: the request publishes after committing,
//! holding the store lock, and answers success even when the publish failed, so a stalled broker stalls
//! writes and the event is lost) and `publish-before-commit` (no outbox: the request publishes what it is
//! about to do before checking If-Match or writing, so a refused or lost change still has its event).
//!
//! Near miss (`TESTSVC_VARIANT`): `poll-relay` (never woken: a pass every 500 ms, as a relay polling the outbox
//! table would), which the checks must pass.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crate::kafka::{KafkaError, Producer};
use crate::notes::{save, store, Note};
use crate::outbox::{self, Event};
use crate::routes::{defect, variant};

/// Bounds each attempt's connect, write and read: how long a stalled broker can hold one event.
const SEND_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the relay waits after being woken, so that a burst of commits is sent in one pass.
const LINGER: Duration = Duration::from_millis(20);
/// The pass interval of the `poll-relay` near miss.
const POLL_EVERY: Duration = Duration::from_millis(500);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// Set by a commit, cleared by the relay.
static WORK: Mutex<bool> = Mutex::new(false);
static WOKEN: Condvar = Condvar::new();

/// Tells the relay there is something to publish.
pub fn wake() {
    *WORK.lock().unwrap_or_else(|e| e.into_inner()) = true;
    WOKEN.notify_one();
}

fn topic() -> String {
    std::env::var("KAFKA_TOPIC").unwrap_or_else(|_| "notes.events".to_string())
}

fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_default()
}

/// One attempt per call: the relay decides when to try again.
fn producer() -> Producer {
    Producer::new(&bootstrap())
        .with_timeout(SEND_TIMEOUT)
        .with_deadline(Duration::ZERO)
}

/// Starts the relay when the outbox is on (lab w08 with a broker, and not a publish-in-the-request defect).
pub fn start() {
    if outbox::recording() {
        std::thread::spawn(run);
    }
}

fn run() {
    let mut producer = producer();
    let mut backoff = BACKOFF_MIN;
    loop {
        wait_for_work();
        std::thread::sleep(LINGER);
        let mut batch: Vec<Event> = store().outbox.pending.iter().cloned().collect();
        if batch.is_empty() {
            continue;
        }
        if defect("out-of-order") {
            batch.reverse();
        }
        let (sent, failed) = send_pass(&mut producer, &batch);
        if !sent.is_empty() {
            let mut s = store();
            s.outbox.mark_published(&sent);
            save(&s);
        }
        if failed {
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(BACKOFF_MAX);
        } else {
            backoff = BACKOFF_MIN;
        }
    }
}

/// Waits until a commit wakes the relay, or 200 ms (to retry what is pending); the polling near miss sleeps
/// 500 ms instead.
fn wait_for_work() {
    if variant("poll-relay") {
        std::thread::sleep(POLL_EVERY);
        return;
    }
    let work = WORK.lock().unwrap_or_else(|e| e.into_inner());
    let (mut work, _) = WOKEN
        .wait_timeout_while(work, Duration::from_millis(200), |w| !*w)
        .unwrap_or_else(|e| e.into_inner());
    *work = false;
}

/// Sends `batch` in order; returns the `seq`s the broker acknowledged and whether anything failed.
fn send_pass(producer: &mut Producer, batch: &[Event]) -> (Vec<u64>, bool) {
    let topic = topic();
    let mut blocked: HashSet<&str> = HashSet::new();
    let mut sent = Vec::new();
    for e in batch {
        if blocked.contains(e.note_id.as_str()) {
            continue;
        }
        match send(producer, &topic, e) {
            Ok(()) => sent.push(e.seq),
            Err(err) => {
                eprintln!("testsvc: relay: {} of {}: {err}", e.id, e.note_id);
                blocked.insert(&e.note_id);
                if !matches!(err, KafkaError::Broker { .. }) {
                    // The broker is unreachable or stalled: every further attempt would wait as long.
                    return (sent, true);
                }
            }
        }
    }
    let failed = !blocked.is_empty();
    (sent, failed)
}

/// A counter for the ids `new-id-on-retry` makes at each attempt.
static ATTEMPTS: AtomicU64 = AtomicU64::new(1);

fn send(producer: &mut Producer, topic: &str, e: &Event) -> Result<(), KafkaError> {
    let id = if defect("new-id-on-retry") {
        format!(
            "{}-a{}",
            e.id.rsplit_once('-').map_or(e.id.as_str(), |(p, _)| p),
            ATTEMPTS.fetch_add(1, Ordering::SeqCst)
        )
    } else {
        e.id.clone()
    };
    let key = if defect("wrong-key") {
        id.clone()
    } else {
        e.note_id.clone()
    };
    let value = e.value(&id);
    producer
        .send(
            topic,
            Some(key.as_bytes()),
            value.as_bytes(),
            &[("type", e.kind.as_bytes())],
        )
        .map(|_| ())
}

/// The producer of the publish-in-the-request defects, shared by every request.
static IN_REQUEST: Mutex<Option<Producer>> = Mutex::new(None);
/// Event numbers of the publish-in-the-request defects, which have no outbox to number them.
static UNRECORDED: AtomicU64 = AtomicU64::new(1);

/// Publishes one change from inside the request, waiting for the broker (at most [`SEND_TIMEOUT`] per
/// attempt); a failure is only logged, as the wrong designs it stands for do.
fn publish_now(kind: &str, seq: u64, note: Option<&Note>, version: u64) {
    let e = Event::new(
        UNRECORDED.fetch_add(1, Ordering::SeqCst),
        kind,
        seq,
        note,
        version,
    );
    let mut guard = IN_REQUEST.lock().unwrap_or_else(|e| e.into_inner());
    let producer = guard.get_or_insert_with(producer);
    if let Err(err) = send(producer, &topic(), &e) {
        eprintln!(
            "testsvc: publishing {} of {} failed: {err}",
            e.id, e.note_id
        );
    }
}

/// `publish-before-commit`: called once a write knows what it is about to change, before If-Match and the
/// write itself.
pub fn before_commit(kind: &str, seq: u64, note: Option<&Note>, version: u64) {
    if outbox::enabled() && defect("publish-before-commit") {
        publish_now(kind, seq, note, version);
    }
}

/// `publish-in-handler`: called after the change is saved, still holding the store lock.
pub fn after_commit(kind: &str, seq: u64, note: Option<&Note>, version: u64) {
    if outbox::enabled() && defect("publish-in-handler") {
        publish_now(kind, seq, note, version);
    }
}
