//! The `events` kind: a scenario against a service that consumes or produces Kafka records, driven through the
//! lab's broker (a `kafka` counterpart) and the service's HTTP API. A check produces seeded records (duplicates,
//! bad records, thousands at a pace), asks the service over HTTP until its state settles, kills and restarts it,
//! pauses the broker, sends a stream of HTTP writes, reads topics back and the consumer group's committed
//! offsets, and judges what it saw.
//!
//! - `parse.rs`: from `[[check.events.step]]` tables to [`EventsCheck`], every problem with a line;
//! - `generate.rs`: the records a `produce` step sends (copies, `repeat`, the seeded shuffle);
//! - `steps.rs`: running the steps in order against the service and the broker;
//! - `writes.rs`: the `writes` step (concurrent HTTP writes, the kill in the middle);
//! - `outage.rs`: a broker a `pause` step froze is thawed however the check ends;
//! - `expect.rs`: judging the records read back (`expect_records`);
//! - `timeline.rs`: the instructor's detail, every event with its time since the check began.

mod expect;
mod generate;
mod outage;
pub(super) mod parse;
mod steps;
mod timeline;
mod writes;

use std::time::Duration;

use super::http::{CaptureSource, Step as HttpStep};
use super::RestartMode;

pub(super) use steps::run;

/// One `events` check: the broker it talks to and its steps, in order.
#[derive(Debug, Clone)]
pub struct EventsCheck {
    /// The name of the `kafka` counterpart in `lab.toml`.
    pub broker: String,
    pub steps: Vec<EventStep>,
}

/// One step: exactly one action.
#[derive(Debug, Clone)]
pub enum EventStep {
    Produce(Produce),
    /// One HTTP request with the http kind's expectations and captures.
    Request(Box<HttpStep>),
    /// The same request, repeated until its expectations hold or `within` passes.
    Settle(Box<Settle>),
    Restart(RestartMode),
    /// Pause (`true`) or unpause the broker container.
    Pause(bool),
    Sleep(Duration),
    Writes(Box<Writes>),
    Read(Box<Read>),
    GroupLag(GroupLag),
}

/// Records to produce to a topic.
#[derive(Debug, Clone)]
pub struct Produce {
    /// Templated.
    pub topic: String,
    pub records: Vec<RecordTemplate>,
    /// The list is produced this many times, `{{i}}` counting from 0.
    pub repeat: usize,
    /// A shuffle of everything generated, drawn from the check's seed (per-key order is then not kept).
    pub shuffle: bool,
    pub pace: Duration,
}

/// A record as written in the check file; every string is templated.
#[derive(Debug, Clone)]
pub struct RecordTemplate {
    pub key: Option<String>,
    pub value: RecordValue,
    pub headers: Vec<(String, String)>,
    /// The record is produced this many times in a row (duplicates, as an at-least-once producer sends them).
    pub copies: usize,
}

#[derive(Debug, Clone)]
pub enum RecordValue {
    Json(serde_json::Value),
    Text(String),
}

#[derive(Debug, Clone)]
pub struct Settle {
    pub step: HttpStep,
    pub within: Duration,
    /// Records of the last produce step per second, from its first record to the moment this settle held.
    pub min_rate: Option<f64>,
}

/// A stream of HTTP writes.
#[derive(Debug, Clone)]
pub struct Writes {
    /// The request; `{{i}}` is the write's index.
    pub step: HttpStep,
    pub count: usize,
    pub concurrency: usize,
    /// SIGKILL and restart the service once this many writes were acknowledged.
    pub kill_after: Option<usize>,
    /// List variable and where its value comes from in each acknowledged answer.
    pub collect: Vec<(String, CaptureSource)>,
    /// Every acknowledged write must be answered within this.
    pub max_ms: Option<u64>,
}

/// Reading a topic back and judging its records.
#[derive(Debug, Clone)]
pub struct Read {
    pub topic: String,
    /// Keep reading until the expectations hold or this passes; `None`: judge one read.
    pub within: Option<Duration>,
    pub expect: RecordsExpect,
}

/// What the records read back must show; every field given must hold.
#[derive(Debug, Clone, Default)]
pub struct RecordsExpect {
    /// Only records whose JSON value contains this subset are judged (templated).
    pub filter: Option<serde_json::Value>,
    /// JSON pointer to a record's id.
    pub id: Option<String>,
    /// Exactly these ids, as a set (templated).
    pub ids: Option<Vec<String>>,
    pub each_once: bool,
    /// Records with equal values at these pointers carry one id.
    pub one_id_per: Vec<String>,
    pub count: Option<usize>,
    /// Every record's key equals the value at this pointer.
    pub key_is: Option<String>,
    /// Within each key, the value at this pointer strictly increases in offset order.
    pub key_order: Option<String>,
    /// Every value of a list variable appears at a pointer of some record.
    pub includes: Option<Includes>,
    pub none: bool,
}

#[derive(Debug, Clone)]
pub struct Includes {
    pub list: String,
    pub at: String,
}

/// A consumer group's committed offsets must reach the end of a topic.
#[derive(Debug, Clone)]
pub struct GroupLag {
    pub group: String,
    pub topic: String,
    pub within: Duration,
    /// Waits for the group (up to `within`) and goes on whatever it found: the moment to act (a kill once a
    /// stream is committed), not an expectation; another check judges the commits themselves.
    pub wait_only: bool,
}

/// Default wait of `settle`, `group_lag` (and `read` with `within_secs`).
pub const DEFAULT_WITHIN: Duration = Duration::from_secs(20);
