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
    /// The message in the `text/event-stream` format. The standard ends a line at CR, LF or CRLF, so each of
    /// them in `data` starts a new `data:` line: a bare CR left inside one (a build's progress output has them)
    /// would let the text after it open a field of its own (`event: finished`) and forge an event. The event
    /// name is the server's own; it is cleaned the same way all the same.
    fn encode(&self) -> Bytes {
        let mut out = format!("id: {}\nevent: {}\n", self.id, one_line(&self.event));
        for line in lines(&self.data) {
            out.push_str("data: ");
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
        Bytes::from(out)
    }
}

/// The lines of `s` as an event stream reader splits them: at CRLF, CR or LF. Empty text is one empty line.
fn lines(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\r', '\n']) {
            Some(at) => {
                let skip = if text[at..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&text[at + skip..]);
                Some(&text[..at])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

/// A field value that cannot end its line early.
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields a standard event stream reader sees, in order (`field`, `value`), per the HTML standard's
    /// parsing rules: lines end at CRLF, CR or LF; one space after the colon is dropped.
    fn fields(wire: &str) -> Vec<(String, String)> {
        let normalised = wire.replace("\r\n", "\n").replace('\r', "\n");
        normalised
            .split('\n')
            .filter(|l| !l.is_empty() && !l.starts_with(':'))
            .map(|l| match l.split_once(':') {
                Some((f, v)) => (f.to_string(), v.strip_prefix(' ').unwrap_or(v).to_string()),
                None => (l.to_string(), String::new()),
            })
            .collect()
    }

    fn encoded(data: &str) -> String {
        let m = Message {
            id: 7,
            event: "log".into(),
            data: data.into(),
        };
        String::from_utf8(m.encode().to_vec()).unwrap()
    }

    #[test]
    fn a_bare_carriage_return_cannot_open_a_field() {
        let forged = "step 1/3\revent: finished\rdata: passed, 100%\rid: 99999\r";
        let got = fields(&encoded(forged));
        let names: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            names,
            ["id", "event", "data", "data", "data", "data", "data"],
            "{got:?}"
        );
        assert_eq!(got[0].1, "7");
        assert_eq!(got[1].1, "log");
        assert_eq!(got[3].1, "event: finished");
    }

    #[test]
    fn every_line_break_form_splits_data_lines() {
        for (text, want) in [
            ("a\nb", vec!["a", "b"]),
            ("a\r\nb", vec!["a", "b"]),
            ("a\rb", vec!["a", "b"]),
            ("a\r\rb", vec!["a", "", "b"]),
            ("a\n\r\nb\r", vec!["a", "", "b", ""]),
            ("", vec![""]),
            ("a\u{2028}b", vec!["a\u{2028}b"]),
        ] {
            let data: Vec<String> = fields(&encoded(text))
                .into_iter()
                .filter(|(f, _)| f == "data")
                .map(|(_, v)| v)
                .collect();
            assert_eq!(data, want, "{text:?}");
        }
    }

    #[test]
    fn an_event_name_stays_on_its_line() {
        let m = Message {
            id: 1,
            event: "log\rdata: x".into(),
            data: "y".into(),
        };
        let got = fields(std::str::from_utf8(&m.encode()).unwrap());
        assert_eq!(got.len(), 3, "{got:?}");
    }
}
