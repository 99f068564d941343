//! The w07 reference consumer: on when `KAFKA_BOOTSTRAP_SERVERS` is set and `GAUNTLET_LAB=w07-consumer`.
//!
//! One thread consumes every partition of `KAFKA_TOPIC` as a standalone member of `KAFKA_GROUP_ID` (manual
//! assignment, see `kafka.rs`). Per fetched batch: each valid event is applied once (`accounts.rs`), each
//! invalid record goes to `KAFKA_DLQ_TOPIC` once (its key and value, a header `error` with the reason, and
//! `source-partition`/`source-offset`), then the state file is replaced with the effects, processed ids,
//! dead-lettered offsets and next offsets together, and only then are the offsets committed to the group. It
//! starts from the state file's offsets (the group's committed offsets when there is no file, 0 when neither):
//! a crash between the save and the commit re-reads nothing. At start it also reads the DLQ topic's
//! `source-*` headers, so a dead letter sent just before a crash is not sent again.
//!
//! Defects (`TESTSVC_DEFECT`), one wrong consumer each: `no-dedupe` (a known id is applied again),
//! `commit-before-apply` (commits a batch when fetched, saves its effects only after 4 s without records,
//! starts from the group's offsets: a SIGKILL in between loses events), `rename-ignores-seq`, `poison-dropped` (invalid records vanish,
//! no DLQ), `poison-stuck` (stops consuming at the first invalid record), `dlq-twice` (each dead letter sent
//! twice), `no-commit` (never commits; its state is still right), `state-in-memory` (no state file: loses
//! everything on restart and re-reads from the committed offsets), `slow-consumer` (40 ms a record),
//! `rejects-overdraft` (a debit below zero is dead-lettered), `unknown-account-200` (an unknown account reads
//! as a zero one).
//!
//! Near misses (`TESTSVC_VARIANT`), correct designs the checks must not fail: `replay-from-start` (every start
//! reads each partition from offset 0 and relies on the processed ids alone, as a consumer without offset
//! bookkeeping would) and `lazy-commit` (offsets committed at most once a second while records flow, as
//! auto-commit does, so a crash re-reads up to a second of records that dedupe then skips).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::accounts::{self, State};
use crate::http::Response;
use crate::json;
use crate::kafka::{At, Client, KafkaError, Message, Producer};
use crate::routes::{defect, error, variant};

static STATE: OnceLock<Mutex<State>> = OnceLock::new();

/// Most bytes fetched per partition and round.
const FETCH_BYTES: i32 = 1024 * 1024;
/// How long an idle fetch waits at the broker.
const FETCH_WAIT: Duration = Duration::from_millis(200);
/// The shortest time between two fetches that found nothing.
const IDLE_POLL: Duration = Duration::from_millis(50);

struct Config {
    bootstrap: String,
    topic: String,
    dlq: String,
    group: String,
}

fn config() -> Option<Config> {
    if std::env::var("GAUNTLET_LAB").ok()?.as_str() != "w07-consumer" {
        return None;
    }
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP_SERVERS").ok()?;
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let topic = var("KAFKA_TOPIC", "accounts");
    Some(Config {
        bootstrap,
        dlq: var("KAFKA_DLQ_TOPIC", &format!("{topic}.dlq")),
        group: var("KAFKA_GROUP_ID", "accounts-service"),
        topic,
    })
}

/// Whether this process is the w07 consumer.
pub fn enabled() -> bool {
    STATE.get().is_some()
}

fn state() -> MutexGuard<'static, State> {
    let m = STATE.get_or_init(|| Mutex::new(State::default()));
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether the state lives in memory only (the defect, or no `DATA_DIR`).
fn in_memory() -> bool {
    defect("state-in-memory") || accounts::state_file().is_none()
}

/// Loads the state and starts the consuming thread, when this is the w07 consumer. Exits when a state file
/// exists but cannot be read: starting empty would apply every event again.
pub fn start() {
    let Some(cfg) = config() else { return };
    let loaded = match accounts::state_file() {
        Some(path) if !in_memory() => match accounts::load(&path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("testsvc: {e}");
                std::process::exit(2);
            }
        },
        _ => State::default(),
    };
    let _ = STATE.set(Mutex::new(loaded));
    eprintln!(
        "testsvc: consuming {} as group {} from {}",
        cfg.topic, cfg.group, cfg.bootstrap
    );
    std::thread::spawn(move || run(&cfg));
}

/// `GET /accounts/{account}`.
pub fn account(name: &str) -> Response {
    let s = state();
    let zero = accounts::Account::default();
    let a = match s.accounts.get(name) {
        Some(a) => a,
        None if defect("unknown-account-200") => &zero,
        None => return error(404, "not_found", "no event has mentioned this account"),
    };
    Response::json(
        200,
        format!(
            r#"{{"account":{},"balance":{},"name":{},"applied":{}}}"#,
            json::string(name),
            a.balance,
            a.name.as_deref().map_or("null".into(), json::string),
            a.applied
        ),
    )
}

/// Retries `f` every half second until it succeeds, logging the first failure of a run of them.
fn retry<T>(what: &str, mut f: impl FnMut() -> Result<T, KafkaError>) -> T {
    let mut logged = false;
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) => {
                if !logged {
                    eprintln!("testsvc: {what}: {e} (retrying)");
                    logged = true;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
}

/// How often the `lazy-commit` near miss commits while records flow.
const LAZY_COMMIT: Duration = Duration::from_secs(1);
/// How long the stream must be quiet before the `commit-before-apply` mutant saves its state: it commits each
/// batch when fetched, so for this long after the last record the group is ahead of what a restart finds. Far
/// longer than the crash check takes from seeing the group caught up to its SIGKILL, even on a loaded host.
const LATE_SAVE: Duration = Duration::from_secs(4);

fn run(cfg: &Config) {
    let mut client = Client::new(&cfg.bootstrap);
    let mut dlq = Producer::new(&cfg.bootstrap);
    let partitions = retry("reading the topic's partitions", || {
        client.partitions(&cfg.topic)
    });
    // The state file's offsets, when it has them; else the group's.
    let trust_group = in_memory() || defect("commit-before-apply");
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    for &p in &partitions {
        let saved = (!trust_group)
            .then(|| state().next.get(&p).copied())
            .flatten();
        let from = match saved {
            _ if variant("replay-from-start") => 0,
            Some(o) => o,
            None => retry("reading the group's offsets", || {
                client.committed(&cfg.group, &cfg.topic, p)
            })
            .unwrap_or(0),
        };
        next.insert(p, from);
    }
    let sent = retry("reading the dead-letter topic", || {
        dead_lettered(&mut client, &cfg.dlq, &cfg.topic)
    });
    state().dead.extend(sent);
    eprintln!("testsvc: consuming from {next:?}");
    let mut uncommitted = true;
    let mut committed_at = Instant::now();
    // `commit-before-apply` only: when the last batch was handled, if its effects are not saved yet.
    let mut unsaved: Option<Instant> = None;
    loop {
        if let Some(at) = unsaved.filter(|at| at.elapsed() >= LATE_SAVE) {
            save_or_exit(&next);
            eprintln!(
                "testsvc: saved, {} ms after the last batch",
                at.elapsed().as_millis()
            );
            unsaved = None;
        }
        let from: Vec<(i32, i64)> = next.iter().map(|(p, o)| (*p, *o)).collect();
        let asked = Instant::now();
        let fetched = match client.fetch_partitions(&cfg.topic, &from, FETCH_BYTES, FETCH_WAIT) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("testsvc: fetch: {e}");
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
        };
        let records: Vec<Message> = fetched.into_iter().flat_map(|(_, f)| f.records).collect();
        if records.is_empty() {
            if uncommitted {
                uncommitted = !commit(&mut client, cfg, &next);
                committed_at = Instant::now();
            }
            // A broker that answers an empty fetch at once instead of waiting must not be polled in a loop.
            if let Some(rest) = IDLE_POLL.checked_sub(asked.elapsed()) {
                std::thread::sleep(rest);
            }
            continue;
        }
        if defect("commit-before-apply") {
            let mut ahead = next.clone();
            for r in &records {
                ahead.insert(r.partition, r.offset + 1);
            }
            commit(&mut client, cfg, &ahead);
        }
        let stuck = handle_batch(cfg, &mut dlq, &records, &mut next);
        if defect("commit-before-apply") {
            unsaved = Some(Instant::now());
        } else if !in_memory() {
            save_or_exit(&next);
        }
        if variant("lazy-commit") && committed_at.elapsed() < LAZY_COMMIT {
            uncommitted = true;
        } else if !defect("commit-before-apply") {
            uncommitted = !commit(&mut client, cfg, &next);
            committed_at = Instant::now();
        }
        if stuck {
            eprintln!("testsvc: stopped consuming at an invalid record");
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
    }
}

/// Handles one fetched batch, advancing `next` past every record handled. Stops a partition at a dead
/// letter that could not be sent (it is tried again next round); `true` when `poison-stuck` stopped it all.
fn handle_batch(
    cfg: &Config,
    dlq: &mut Producer,
    records: &[Message],
    next: &mut BTreeMap<i32, i64>,
) -> bool {
    let mut blocked: Vec<i32> = Vec::new();
    for r in records {
        if blocked.contains(&r.partition) {
            continue;
        }
        if defect("slow-consumer") {
            std::thread::sleep(Duration::from_millis(40));
        }
        let mut s = state();
        let verdict = accounts::parse(r.value.as_deref()).and_then(|e| s.apply(&e).map(|_| ()));
        if let Err(reason) = verdict {
            if defect("poison-stuck") {
                return true;
            }
            if !defect("poison-dropped") && !s.dead.contains(&(r.partition, r.offset)) {
                // Not under the lock: the send may retry for a while and readers must not wait.
                drop(s);
                if let Err(e) = dead_letter(cfg, dlq, r, &reason) {
                    eprintln!("testsvc: dead letter of {}:{}: {e}", r.partition, r.offset);
                    blocked.push(r.partition);
                    continue;
                }
                s = state();
                s.dead.insert((r.partition, r.offset));
            }
        }
        next.insert(r.partition, r.offset + 1);
    }
    false
}

fn dead_letter(
    cfg: &Config,
    dlq: &mut Producer,
    r: &Message,
    reason: &str,
) -> Result<(), KafkaError> {
    let partition = r.partition.to_string();
    let offset = r.offset.to_string();
    let headers: [(&str, &[u8]); 4] = [
        ("error", reason.as_bytes()),
        ("source-topic", cfg.topic.as_bytes()),
        ("source-partition", partition.as_bytes()),
        ("source-offset", offset.as_bytes()),
    ];
    let times = if defect("dlq-twice") { 2 } else { 1 };
    for _ in 0..times {
        dlq.send(
            &cfg.dlq,
            r.key.as_deref(),
            r.value.as_deref().unwrap_or_default(),
            &headers,
        )?;
    }
    Ok(())
}

/// The source (partition, offset) of every dead letter already in the DLQ topic for `topic`.
fn dead_lettered(
    client: &mut Client,
    dlq: &str,
    topic: &str,
) -> Result<Vec<(i32, i64)>, KafkaError> {
    let mut found = Vec::new();
    for p in client.partitions(dlq)? {
        let mut at = client.list_offset(dlq, p, At::Earliest)?;
        let end = client.list_offset(dlq, p, At::Latest)?;
        while at < end {
            let f = client.fetch(dlq, p, at, FETCH_BYTES, Duration::from_millis(100))?;
            let Some(last) = f.records.last() else { break };
            at = last.offset + 1;
            for m in &f.records {
                let text = |h: &str| m.header(h).and_then(|v| std::str::from_utf8(v).ok());
                if text("source-topic") != Some(topic) {
                    continue;
                }
                if let (Some(sp), Some(so)) = (
                    text("source-partition").and_then(|v| v.parse().ok()),
                    text("source-offset").and_then(|v| v.parse().ok()),
                ) {
                    found.push((sp, so));
                }
            }
        }
    }
    Ok(found)
}

/// Saves the state with `next` as its offsets; a state that cannot be saved stops the service (answering
/// on would commit offsets whose effects a restart loses).
fn save_or_exit(next: &BTreeMap<i32, i64>) {
    let Some(path) = accounts::state_file() else {
        return;
    };
    let mut s = state();
    s.next = next.clone();
    if let Err(e) = accounts::save(&path, &s) {
        eprintln!("testsvc: cannot save {}: {e}", path.display());
        std::process::exit(3);
    }
}

/// Commits `next` for every partition (unless `no-commit`); `true` when it did.
fn commit(client: &mut Client, cfg: &Config, next: &BTreeMap<i32, i64>) -> bool {
    if defect("no-commit") {
        return true;
    }
    let offsets: Vec<(i32, i64)> = next.iter().map(|(p, o)| (*p, *o)).collect();
    match client.commit_many(&cfg.group, &cfg.topic, &offsets) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("testsvc: commit: {e}");
            false
        }
    }
}
