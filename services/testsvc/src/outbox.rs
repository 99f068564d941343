//! Lab w08 (`GAUNTLET_LAB=w08-outbox` with `KAFKA_BOOTSTRAP_SERVERS` set): a transactional outbox for the notes.
//!
//! Every committed change of a note appends one event to the outbox *inside the same critical section* as the
//! change, and `notes::save` writes the notes and the outbox in one file, renamed into place: a change and its
//! event are durable together or not at all, before the API answers. The relay (`relay.rs`) publishes pending
//! events in the background and marks them published with another save. `GET /outbox` tells how far it got.
//!
//! An event's `id` is chosen when it is recorded and stored with it, so every resend of one change carries the
//! same id; the only duplicates are resends the relay could not avoid (the broker stored a record, the process
//! died before marking it), and consumers dedupe them by id.
//!
//! Defects (`TESTSVC_DEFECT`), each a wrong service the lab's checks catch: `publishes-rejected` (a PUT refused
//! with 412 or 422, or a DELETE refused with 412, still records an event), `noop-publishes` (an identical PUT
//! records `note.updated`), `outbox-in-memory` (events are not written with the notes, so a SIGKILL loses the
//! pending ones), `pending-lies` (`/outbox` says 0 pending whatever is pending); the relay's and the
//! publish-in-handler defects are in `relay.rs`.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::http::Response;
use crate::json::{self, Json};
use crate::notes::Note;
use crate::routes::defect;

/// One change to publish.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Position in the outbox, in commit order (never reused, so the relay can mark exactly what it sent).
    pub seq: u64,
    pub id: String,
    pub kind: String,
    pub note_id: String,
    pub version: u64,
    pub occurred_at: String,
    /// The note's client-owned fields after the change, as JSON (`null` for a deletion).
    pub data: String,
}

impl Event {
    /// The event of a change of note `n_<seq>`, number `n` (its id is made from it).
    pub fn new(n: u64, kind: &str, seq: u64, note: Option<&Note>, version: u64) -> Event {
        Event {
            seq: n,
            id: event_id(n),
            kind: kind.to_string(),
            note_id: format!("n_{seq}"),
            version,
            occurred_at: now_rfc3339(),
            data: note.map_or_else(|| "null".to_string(), data_of),
        }
    }

    /// The record's value: the README's event document, with `id` as given (the relay's `new-id-on-retry`
    /// defect passes a fresh one).
    pub fn value(&self, id: &str) -> String {
        format!(
            r#"{{"id":{},"type":{},"note_id":{},"version":{},"occurred_at":{},"data":{}}}"#,
            json::string(id),
            json::string(&self.kind),
            json::string(&self.note_id),
            self.version,
            json::string(&self.occurred_at),
            self.data,
        )
    }
}

/// The events not yet acknowledged by the broker, and how many were.
pub struct Outbox {
    pub pending: VecDeque<Event>,
    pub published: u64,
    /// The next event's `seq`, kept in the data file so ids stay unique across restarts.
    pub next: u64,
}

impl Outbox {
    pub const fn new() -> Outbox {
        Outbox {
            pending: VecDeque::new(),
            published: 0,
            next: 1,
        }
    }

    /// Appends the event of a committed change of note `n_<seq>` when the outbox is on; the caller saves the
    /// store (notes and outbox in one write) before answering.
    pub fn record(&mut self, kind: &str, seq: u64, note: Option<&Note>, version: u64) {
        if !recording() {
            return;
        }
        self.pending
            .push_back(Event::new(self.next, kind, seq, note, version));
        self.next += 1;
        crate::relay::wake();
    }

    /// `publishes-rejected`: a refused write records an event all the same.
    pub fn record_refused(&mut self, kind: &str, seq: u64, data: Option<String>, version: u64) {
        if !defect("publishes-rejected") || !recording() {
            return;
        }
        let mut e = Event::new(self.next, kind, seq, None, version);
        if let Some(data) = data {
            e.data = data;
        }
        self.pending.push_back(e);
        self.next += 1;
        crate::relay::wake();
    }

    /// Drops the events the broker acknowledged (by `seq`) and counts them.
    pub fn mark_published(&mut self, seqs: &[u64]) {
        let before = self.pending.len();
        self.pending.retain(|e| !seqs.contains(&e.seq));
        self.published += (before - self.pending.len()) as u64;
    }

    /// The outbox's lines of the data file, after the notes.
    pub fn persist(&self, out: &mut String) {
        if defect("outbox-in-memory") {
            return;
        }
        out.push_str(&format!(
            r#"{{"outbox":{{"published":{},"next":{}}}}}"#,
            self.published, self.next
        ));
        out.push('\n');
        for e in &self.pending {
            out.push_str(&format!(
                r#"{{"event":{{"seq":{},"id":{},"type":{},"note_id":{},"version":{},"occurred_at":{},"data":{}}}}}"#,
                e.seq,
                json::string(&e.id),
                json::string(&e.kind),
                json::string(&e.note_id),
                e.version,
                json::string(&e.occurred_at),
                json::string(&e.data),
            ));
            out.push('\n');
        }
    }

    /// Reads one line of the data file back; `false` when it is not an outbox line.
    pub fn load_line(&mut self, doc: &Json) -> bool {
        if let Some(o) = doc.get("outbox") {
            self.published = number(o.get("published"));
            self.next = number(o.get("next")).max(1);
            return true;
        }
        let Some(e) = doc.get("event") else {
            return false;
        };
        let text = |k: &str| match e.get(k) {
            Some(Json::Str(s)) => s.clone(),
            _ => String::new(),
        };
        self.pending.push_back(Event {
            seq: number(e.get("seq")),
            id: text("id"),
            kind: text("type"),
            note_id: text("note_id"),
            version: number(e.get("version")),
            occurred_at: text("occurred_at"),
            data: text("data"),
        });
        true
    }
}

fn number(v: Option<&Json>) -> u64 {
    match v {
        Some(Json::Num(n)) if *n >= 0.0 => *n as u64,
        _ => 0,
    }
}

/// `publishes-rejected`: a PUT refused with 422 records an event carrying the refused fields.
pub fn refused_422(seq: u64, req: &crate::http::Request) {
    if !defect("publishes-rejected") {
        return;
    }
    let mut s = crate::notes::store();
    let Some(version) = s.notes.get(&seq).map(|n| n.version) else {
        return;
    };
    let data = String::from_utf8_lossy(&req.body).into_owned();
    s.outbox
        .record_refused("note.updated", seq, Some(data), version + 1);
    crate::notes::save(&s);
}

/// Whether this process runs lab w08 with a broker to publish to.
pub fn enabled() -> bool {
    std::env::var("GAUNTLET_LAB").is_ok_and(|l| l == "w08-outbox")
        && std::env::var("KAFKA_BOOTSTRAP_SERVERS").is_ok_and(|b| !b.trim().is_empty())
}

/// Whether changes go through the outbox (the two publish-in-the-request defects have none).
pub fn recording() -> bool {
    enabled() && !defect("publish-in-handler") && !defect("publish-before-commit")
}

/// `GET /outbox`.
pub fn status() -> Response {
    let s = crate::notes::store();
    let pending = if defect("pending-lies") {
        0
    } else {
        s.outbox.pending.len()
    };
    Response::json(
        200,
        format!(
            r#"{{"pending":{pending},"published":{}}}"#,
            s.outbox.published
        ),
    )
}

/// The client-owned fields of a note, as the event's `data`.
pub fn data_of(n: &Note) -> String {
    let tags: Vec<String> = n.tags.iter().map(|t| json::string(t)).collect();
    format!(
        r#"{{"title":{},"body":{},"tags":[{}]}}"#,
        json::string(&n.title),
        json::string(&n.body),
        tags.join(",")
    )
}

/// A fresh, unique event id: this process's random prefix and a number (`seq`, or a counter of its own).
pub fn event_id(seq: u64) -> String {
    format!("ev-{}-{seq}", process_prefix())
}

/// A random prefix per process, from std's randomly seeded hasher (no crate needed for one random number).
fn process_prefix() -> &'static str {
    use std::hash::{BuildHasher, Hasher};
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PREFIX.get_or_init(|| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
    })
}

/// The current time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn now_rfc3339() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    let (y, m, day) = civil_from_days((secs / 86_400) as i64);
    let t = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        t / 3600,
        t / 60 % 60,
        t % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_gregorian() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
    }

    #[test]
    fn pending_events_survive_a_round_trip_through_the_data_file() {
        let mut o = Outbox::new();
        let note = Note {
            title: "a \"quoted\" title".into(),
            body: String::new(),
            tags: vec!["x".into()],
            version: 2,
            owner: String::new(),
        };
        o.pending
            .push_back(Event::new(1, "note.updated", 7, Some(&note), 2));
        o.pending
            .push_back(Event::new(2, "note.deleted", 7, None, 2));
        o.next = 3;
        o.mark_published(&[1]);
        let mut text = String::new();
        o.persist(&mut text);
        let mut back = Outbox::new();
        for line in text.lines() {
            assert!(back.load_line(&json::parse(line).unwrap()));
        }
        assert_eq!(back.pending, o.pending);
        assert_eq!((back.published, back.next), (1, 3));
        let value = json::parse(&back.pending[0].value("x")).unwrap();
        assert_eq!(value.get("type"), Some(&Json::Str("note.deleted".into())));
        assert_eq!(value.get("data"), Some(&Json::Null));
    }
}
