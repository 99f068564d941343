//! The hidden record of an http check: for each step, the request sent, what was expected and what came back,
//! laid out like a test diff so an instructor sees at a glance why a learner's check failed.
//!
//! Bodies are cut at [`BODY_LIMIT`] bytes so that a service answering megabytes cannot bloat the stored run.

use std::fmt::Write as _;

use super::expect::Answer;
use super::{Body, Expect};

/// How much of each body the transcript keeps.
pub(super) const BODY_LIMIT: usize = 2048;

/// One check's transcript, built step by step.
#[derive(Debug, Default)]
pub(super) struct Transcript {
    text: String,
}

impl Transcript {
    pub fn step(
        &mut self,
        n: usize,
        of: usize,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<&Body>,
    ) {
        let _ = writeln!(self.text, "── step {n} of {of}: {method} {url}");
        for (name, value) in headers {
            let _ = writeln!(self.text, "> {name}: {value}");
        }
        match body {
            Some(Body::Json(v)) => self.body(">", v.to_string().as_bytes()),
            Some(Body::Text(t)) => self.body(">", t.as_bytes()),
            None => {}
        }
    }

    pub fn expected(&mut self, e: &Expect) {
        let mut parts = Vec::new();
        if let Some(s) = &e.status {
            parts.push(format!("status {}", super::expect::status_text(s)));
        }
        for (n, p) in &e.headers {
            parts.push(format!("header {n} ~ {p:?}"));
        }
        if let Some(j) = &e.json {
            parts.push(format!("json ⊇ {j}"));
        }
        for (p, v) in &e.json_pointer {
            parts.push(format!("{p} = {v}"));
        }
        for (p, g) in &e.json_glob {
            parts.push(format!("{p} ~ {g:?}"));
        }
        for (p, t) in &e.json_types {
            parts.push(format!("{p} is {t:?}"));
        }
        for (p, n) in &e.json_len {
            parts.push(format!("len {p} = {n}"));
        }
        for p in &e.json_absent {
            parts.push(format!("{p} absent"));
        }
        if let Some(s) = &e.schema {
            parts.push(format!("body conforms to schema {}", s.source()));
        }
        if let Some(n) = e.max_body_bytes {
            parts.push(format!("body ≤ {n} bytes"));
        }
        if let Some(n) = e.max_ms {
            parts.push(format!("within {n} ms"));
        }
        if parts.is_empty() {
            parts.push("any answer".to_string());
        }
        let _ = writeln!(self.text, "expected: {}", parts.join("; "));
    }

    pub fn answer(&mut self, a: &Answer) {
        let _ = writeln!(self.text, "< {} ({} ms)", a.status, a.elapsed_ms);
        for (name, value) in &a.headers {
            let _ = writeln!(self.text, "< {name}: {value}");
        }
        self.body("<", &a.body);
        if a.truncated {
            let _ = writeln!(self.text, "< … (body longer than the grader keeps)");
        }
    }

    pub fn note(&mut self, line: &str) {
        let _ = writeln!(self.text, "{line}");
    }

    fn body(&mut self, prefix: &str, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let _ = writeln!(self.text, "{prefix}");
        let shown = &bytes[..bytes.len().min(BODY_LIMIT)];
        let text = String::from_utf8_lossy(shown);
        for line in text.lines() {
            let _ = writeln!(self.text, "{prefix} {line}");
        }
        if bytes.len() > BODY_LIMIT {
            let _ = writeln!(
                self.text,
                "{prefix} … ({} bytes in all, cut at {BODY_LIMIT})",
                bytes.len()
            );
        }
    }

    pub fn into_string(self) -> String {
        self.text
    }
}
