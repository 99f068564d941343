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

/// Calls kept at most. The service under test may flood the model; past this its calls are counted, not kept,
/// so the counterpart never runs out of its memory limit (which would end the run as a platform error).
const MAX_ENTRIES: usize = 20_000;
/// Prompt, content and `Authorization` text kept over all calls; past it a call is kept without its texts.
const MAX_TEXT_BYTES: usize = 16 << 20;
/// The longest `Authorization` kept of one call (a key is 64 hex digits).
const MAX_AUTHORIZATION: usize = 256;

/// All calls since start, within the bounds above.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: Vec<Entry>,
    text_bytes: usize,
    dropped: u64,
}

impl Ledger {
    /// Records `entry` under the next sequence number, which it returns.
    pub fn record(&mut self, mut entry: Entry) -> u64 {
        entry.seq = self.entries.len() as u64 + self.dropped + 1;
        let seq = entry.seq;
        if self.entries.len() >= MAX_ENTRIES {
            if self.dropped == 0 {
                eprintln!("model-upstream: {MAX_ENTRIES} calls recorded; later calls are counted, not kept");
            }
            self.dropped += 1;
            return seq;
        }
        if entry.authorization.len() > MAX_AUTHORIZATION {
            let mut end = MAX_AUTHORIZATION;
            while !entry.authorization.is_char_boundary(end) {
                end -= 1;
            }
            entry.authorization.truncate(end);
        }
        let text = entry.prompt.len()
            + entry.content.as_ref().map_or(0, String::len)
            + entry.authorization.len();
        if self.text_bytes + text > MAX_TEXT_BYTES {
            entry.prompt.clear();
            entry.content = None;
        } else {
            self.text_bytes += text;
        }
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

    #[test]
    fn a_flood_is_counted_but_kept_within_bounds() {
        let mut l = Ledger::default();
        let big = "x".repeat(1 << 20);
        for _ in 0..20 {
            l.record(entry(&big));
        }
        // 16 MiB of prompts are kept; the rest of the calls are kept without their text.
        assert!(l.text_bytes <= MAX_TEXT_BYTES);
        assert_eq!(l.select(Some("x")).len(), 16);
        let mut long_key = entry("k");
        long_key.authorization = format!("Bearer {}", "é".repeat(1000));
        l.record(long_key);
        assert!(l.entries.last().unwrap().authorization.len() <= MAX_AUTHORIZATION);
        for _ in 0..MAX_ENTRIES {
            l.record(entry("y"));
        }
        assert_eq!(l.entries.len(), MAX_ENTRIES);
        assert_eq!(l.record(entry("z")), (MAX_ENTRIES + 22) as u64);
    }
}
