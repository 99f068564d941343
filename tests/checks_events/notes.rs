//! A producer of note events, the shape of the w08 lab: `POST /notes` stores a note and publishes
//! `{event_id, type: "note.created", note_id}` keyed by the note's id. `Outbox` answers at once and publishes
//! from a queue in the background, retrying until the broker takes it (the correct service); `Inline` publishes
//! before answering, so a stalled broker stalls the API; `DropEveryFifth` loses every fifth publication.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::http;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Outbox,
    Inline,
    DropEveryFifth,
}

/// Starts the HTTP side again (a new listener, a new port), as a restart of the process would; the notes and
/// the outbox live on, as data on the run's volume does.
pub type Restarter = Arc<dyn Fn() -> BoxFuture<'static, Result<url::Url, String>> + Send + Sync>;
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

pub struct Service {
    pub addr: SocketAddr,
    /// The HTTP side of the service, replaced by a restart.
    http: Arc<Mutex<Option<http::Server>>>,
    pub restarter: Restarter,
    relay: JoinHandle<()>,
}

impl Drop for Service {
    fn drop(&mut self) {
        drop(self.http.lock().map(|mut s| s.take()));
        self.relay.abort();
    }
}

async fn publish(producer: &FutureProducer, topic: &str, event: &Value) -> bool {
    let key = event["note_id"].as_str().unwrap_or_default().to_string();
    let payload = event.to_string();
    let record = FutureRecord::to(topic).key(&key).payload(&payload);
    producer.send(record, Duration::from_secs(5)).await.is_ok()
}

pub async fn start(broker: SocketAddr, topic: &str, mode: Mode) -> Service {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.to_string())
        .set(
            "message.timeout.ms",
            if mode == Mode::Inline {
                "3000"
            } else {
                "120000"
            },
        )
        .create()
        .expect("producer");
    let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
    let topic = topic.to_string();
    let relay_producer = producer.clone();
    let relay_topic = topic.clone();
    let relay = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            while !publish(&relay_producer, &relay_topic, &event).await {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    let next = Arc::new(AtomicUsize::new(0));
    let handler = move |method: String, path: String, _body: hyper::body::Bytes| {
        let (next, tx, producer, topic) = (
            Arc::clone(&next),
            tx.clone(),
            producer.clone(),
            topic.clone(),
        );
        async move {
            if method != "POST" || path != "/notes" {
                return (404, json!({"error": "not found"}));
            }
            let n = next.fetch_add(1, Ordering::SeqCst);
            let id = format!("n_{n}");
            let event =
                json!({"event_id": format!("e_{n}"), "type": "note.created", "note_id": id});
            match mode {
                Mode::Inline if !publish(&producer, &topic, &event).await => {
                    return (503, json!({"error": "broker unavailable"}))
                }
                Mode::Inline => {}
                Mode::DropEveryFifth if n % 5 == 4 => {}
                Mode::Outbox | Mode::DropEveryFifth => {
                    let _ = tx.send(event);
                }
            }
            (201, json!({"id": id}))
        }
    };
    let first = http::serve(handler.clone()).await;
    let addr = first.addr;
    let current = Arc::new(Mutex::new(Some(first)));
    let slot = Arc::clone(&current);
    let restarter: Restarter = Arc::new(move || {
        let (slot, handler) = (Arc::clone(&slot), handler.clone());
        Box::pin(async move {
            // The old listener stops accepting (its open connections may finish), the new one takes over.
            drop(slot.lock().expect("server").take());
            let server = http::serve(handler).await;
            let url =
                url::Url::parse(&format!("http://{}/", server.addr)).map_err(|e| e.to_string())?;
            *slot.lock().expect("server") = Some(server);
            Ok(url)
        })
    });
    Service {
        addr,
        http: current,
        restarter,
        relay,
    }
}
