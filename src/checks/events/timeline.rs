//! The instructor's detail of an events check: every record produced (topic, partition, offset, key, id),
//! every HTTP exchange, restart, pause, read and group-offset reading, each with its time since the check began,
//! so an instructor can line the learner's log up against what the grader did.

use std::fmt::Write as _;

use tokio::time::Instant;

use crate::kafka::{GroupOffsets, ReadRecord};

/// How many records of one produce or read are listed one by one; the rest are counted.
const LISTED: usize = 40;

pub(super) struct Timeline {
    start: Instant,
    text: String,
}

impl Timeline {
    pub fn new() -> Timeline {
        Timeline {
            start: Instant::now(),
            text: String::new(),
        }
    }

    /// A line stamped with the time since the check began.
    pub fn event(&mut self, line: &str) {
        let t = self.start.elapsed();
        let _ = writeln!(
            self.text,
            "[{:>4}.{:03} s] {line}",
            t.as_secs(),
            t.subsec_millis()
        );
    }

    /// Text as it came (an HTTP transcript), indented under the last event.
    pub fn block(&mut self, text: &str) {
        for line in text.lines() {
            let _ = writeln!(self.text, "             {line}");
        }
    }

    /// One line per record (up to [`LISTED`]), each `partition/offset key id`.
    pub fn records<'a>(&mut self, rows: impl ExactSizeIterator<Item = String> + 'a) {
        let n = rows.len();
        for row in rows.take(LISTED) {
            let _ = writeln!(self.text, "             {row}");
        }
        if n > LISTED {
            let _ = writeln!(self.text, "             … and {} more", n - LISTED);
        }
    }

    pub fn read(&mut self, topic: &str, records: &[ReadRecord]) {
        self.event(&format!("read `{topic}`: {} records", records.len()));
        self.records(records.iter().map(|r| {
            format!(
                "p{}@{} key={} value={}",
                r.partition,
                r.offset,
                r.key.as_deref().map_or("-".into(), String::from_utf8_lossy),
                cut(&String::from_utf8_lossy(&r.value), 200),
            )
        }));
    }

    pub fn offsets(&mut self, group: &str, topic: &str, o: &GroupOffsets) {
        let parts: Vec<String> = o
            .partitions
            .iter()
            .map(|p| {
                let c = p.committed.map_or("none".into(), |c| c.to_string());
                format!("p{}: committed {c} of {}", p.partition, p.end)
            })
            .collect();
        self.event(&format!(
            "group `{group}` on `{topic}`: lag {} ({})",
            o.total_lag(),
            parts.join(", ")
        ));
    }

    pub fn into_string(self) -> String {
        self.text
    }
}

/// At most `max` characters of `s`, marked when cut.
pub(super) fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}
