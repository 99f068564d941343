//! The ledger: every call the model received, in order, for the checks to count calls, sum tokens and time
//! retries (`GET /_gauntlet/ledger?contains=...`). It keeps the prompt text to filter by a check's marker but
//! answers only its digest.

use serde::Serialize;

/// Tokens a response reported.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// One call.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// 1, 2, 3... in the order calls arrived.
    pub seq: u64,
    /// Milliseconds since the counterpart started, when the call arrived: retry gaps are read from it.
    pub at_ms: u64,
    /// `chat` or `embeddings`.
    pub endpoint: String,
    pub model: String,
    /// FNV-1a of the conversation, in hex: equal prompts have equal digests.
    pub prompt_digest: String,
    /// The status answered (401 without the right key).
    pub status: u16,
    /// The usage the answer carried; `None` for errors and malformed answers.
    pub usage: Option<Usage>,
    /// The `Authorization` header as received (the control routes are the only way to read it).
    pub authorization: String,
    /// The fault applied, if any.
    pub fault: Option<String>,
    /// Whether the answer was handed to the connection: a caller that gave up during a slow answer leaves
    /// `false`, and never saw the usage.
    pub completed: bool,
    /// The assistant content answered, for checks that compare the service's answer with the model's.
    pub content: Option<String>,
    #[serde(skip)]
    pub prompt: String,
}

/// All calls since start.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: Vec<Entry>,
}

impl Ledger {
    /// Records `entry` under the next sequence number, which it returns.
    pub fn record(&mut self, mut entry: Entry) -> u64 {
        entry.seq = self.entries.len() as u64 + 1;
        let seq = entry.seq;
        self.entries.push(entry);
        seq
    }

    /// Marks call `seq` as answered.
    pub fn complete(&mut self, seq: u64) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.seq == seq) {
            e.completed = true;
        }
    }

    /// The calls whose prompt contains `marker` (all with `None`).
    pub fn select(&self, marker: Option<&str>) -> Vec<Entry> {
        self.entries
            .iter()
            .filter(|e| marker.is_none_or(|m| e.prompt.contains(m)))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(prompt: &str) -> Entry {
        Entry {
            seq: 0,
            at_ms: 0,
            endpoint: "chat".into(),
            model: "m".into(),
            prompt_digest: String::new(),
            status: 200,
            usage: None,
            authorization: String::new(),
            fault: None,
            completed: false,
            content: None,
            prompt: prompt.into(),
        }
    }

    #[test]
    fn calls_are_numbered_and_selected_by_marker() {
        let mut l = Ledger::default();
        assert_eq!(l.record(entry("a m-1")), 1);
        assert_eq!(l.record(entry("b")), 2);
        l.complete(1);
        let sel = l.select(Some("m-1"));
        assert_eq!(sel.len(), 1);
        assert!(sel[0].completed);
        assert_eq!(l.select(None).len(), 2);
    }
}
