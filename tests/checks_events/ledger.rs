//! A consumer of account credits, the shape of the w07 lab: a consumer group reads `{id, account, amount}`
//! records and adds each amount to its account; `GET /accounts/<id>` answers `{balance, applied}`. With
//! `dedupe`, an event id seen before is skipped (the correct consumer); without, every copy is applied (the
//! mutant).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message};
use serde_json::{json, Value};

use super::http;

#[derive(Default)]
struct Ledger {
    accounts: HashMap<String, (i64, u32)>,
    seen: HashSet<String>,
}

/// The consumer runs on a thread of its own and leaves its group when the service is dropped, while the
/// broker still runs (a consumer dropped after its broker waits a long time for an answer to its leave).
pub struct Service {
    pub addr: SocketAddr,
    _http: http::Server,
    stop: Arc<AtomicBool>,
    consumer: Option<JoinHandle<()>>,
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.consumer.take() {
            let _ = t.join();
        }
    }
}

pub async fn start(broker: SocketAddr, topic: &str, group: &str, dedupe: bool) -> Service {
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.to_string())
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "100")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let l = Arc::clone(&ledger);
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    let consumer = std::thread::spawn(move || {
        while !stopping.load(Ordering::SeqCst) {
            let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) else {
                continue;
            };
            let Some(v) = m
                .payload()
                .and_then(|p| serde_json::from_slice::<Value>(p).ok())
            else {
                continue;
            };
            let id = v["id"].as_str().unwrap_or_default().to_string();
            let account = v["account"].as_str().unwrap_or_default().to_string();
            let amount = v["amount"].as_i64().unwrap_or(0);
            let mut ledger = l.lock().expect("ledger");
            if dedupe && !ledger.seen.insert(id) {
                continue;
            }
            let entry = ledger.accounts.entry(account).or_default();
            entry.0 += amount;
            entry.1 += 1;
        }
    });
    let http = http::serve(move |method, path, _| {
        let ledger = Arc::clone(&ledger);
        async move {
            let account = path.strip_prefix("/accounts/").filter(|_| method == "GET");
            let ledger = ledger.lock().expect("ledger");
            match account.and_then(|a| ledger.accounts.get(a)) {
                Some((balance, applied)) => (200, json!({"balance": balance, "applied": applied})),
                None => (404, json!({"error": "no such account"})),
            }
        }
    })
    .await;
    Service {
        addr: http.addr,
        _http: http,
        stop,
        consumer: Some(consumer),
    }
}
