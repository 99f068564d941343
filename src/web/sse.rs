//! Server-sent events of a run, shared by the run page (HTML fragments) and the API (JSON). Events are read from
//! the store, not from memory, so a page follows a run graded by a worker in another process, and a client that
//! reconnects with `Last-Event-ID` continues where it stopped.

use std::future::Future;
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};

use crate::store::{EventRow, Store};

/// How often the store is asked for new events while a run is live.
const POLL: Duration = Duration::from_millis(250);
/// A comment line keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One message on the wire.
pub struct Message {
    pub id: i64,
    pub event: String,
    pub data: String,
}

impl Message {
    fn encode(&self) -> Bytes {
        let mut out = format!("id: {}\nevent: {}\n", self.id, self.event);
        for line in self.data.lines() {
            out.push_str("data: ");
            out.push_str(line);
            out.push('\n');
        }
        if self.data.is_empty() {
            out.push_str("data: \n");
        }
        out.push('\n');
        Bytes::from(out)
    }
}

/// `?after=N`: the last event a client has already seen.
#[derive(serde::Deserialize)]
pub struct AfterQuery {
    #[serde(default)]
    pub after: i64,
}

/// Where a stream resumes: the id a reconnecting EventSource sends back, else `?after=`.
pub fn resume_after(req: &HttpRequest, query: &AfterQuery) -> i64 {
    last_event_id(req).unwrap_or(query.after)
}

/// The id a reconnecting EventSource sends back.
fn last_event_id(req: &HttpRequest) -> Option<i64> {
    req.headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

struct Cursor<R> {
    store: Store,
    run_id: i64,
    after: i64,
    pending: std::collections::VecDeque<EventRow>,
    done: bool,
    idle: Duration,
    render: R,
}

/// Streams the run's events after `after`, rendered by `render` (which may skip one by returning `None`), and
/// ends after the `finished` event.
pub fn response<R, F>(store: Store, run_id: i64, after: i64, render: R) -> HttpResponse
where
    R: Fn(EventRow) -> F + 'static,
    F: Future<Output = Option<Message>> + 'static,
{
    let cursor = Cursor {
        store,
        run_id,
        after,
        pending: Default::default(),
        done: false,
        idle: Duration::ZERO,
        render,
    };
    let stream = futures_util::stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(event) = c.pending.pop_front() {
                c.after = event.id;
                let finished = event.kind == "finished";
                let rendered = (c.render)(event).await;
                if finished {
                    c.done = true;
                    c.pending.clear();
                }
                if let Some(message) = rendered {
                    return Some((Ok::<_, actix_web::Error>(message.encode()), c));
                }
                continue;
            }
            if c.done {
                return None;
            }
            match c.store.events_after(c.run_id, c.after, 200).await {
                Ok(events) if !events.is_empty() => {
                    c.idle = Duration::ZERO;
                    c.pending.extend(events);
                }
                Ok(_) => {
                    tokio::time::sleep(POLL).await;
                    c.idle += POLL;
                    if c.idle >= KEEP_ALIVE {
                        c.idle = Duration::ZERO;
                        return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), c));
                    }
                }
                Err(e) => {
                    tracing::warn!(run = c.run_id, error = %e, "event stream stopped");
                    return None;
                }
            }
        }
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream)
}
