//! From the TOML of `[[check.step]]` tables to a checked [`HttpScenario`].
//!
//! Variable references are checked here too: a step may only use built-ins and variables captured by an
//! earlier step, so a typo in a check is an authoring error with a line, not a platform fault in a run.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

use super::{
    Body, Burst, Capture, CaptureSource, Expect, HttpScenario, JsonType, StatusExpect, Step,
    MAX_BURST, METHODS,
};
use crate::checks::load::Source;
use crate::checks::schema::{Dialect, JsonSchema};
use crate::checks::template;
use crate::checks::RestartMode;
use crate::diagnostics::Diagnostic;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::checks) struct RawStep {
    pub(in crate::checks) method: Option<Spanned<String>>,
    pub(in crate::checks) path: Option<Spanned<String>>,
    /// `restart = true` or `restart = "kill"`: a step that restarts the service instead of sending a request.
    pub(in crate::checks) restart: Option<Spanned<RawRestart>>,
    #[serde(default)]
    pub(in crate::checks) headers: BTreeMap<Spanned<String>, Spanned<String>>,
    pub(in crate::checks) json: Option<Spanned<serde_json::Value>>,
    pub(in crate::checks) text: Option<Spanned<String>>,
    pub(in crate::checks) expect: Option<RawExpect>,
    #[serde(default)]
    pub(in crate::checks) capture: BTreeMap<Spanned<String>, Spanned<String>>,
    /// `[check.step.burst]`: send the request many times at once.
    pub(in crate::checks) burst: Option<Spanned<RawBurst>>,
}

/// `true` (graceful), `false` (no restart) or a mode's name.
#[derive(Deserialize)]
#[serde(untagged)]
pub(in crate::checks) enum RawRestart {
    Flag(bool),
    Mode(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::checks) struct RawBurst {
    count: Spanned<i64>,
    /// Status (a TOML key, so a string) to the exact number of answers with it.
    #[serde(default)]
    status_counts: BTreeMap<Spanned<String>, Spanned<i64>>,
    #[serde(default)]
    distinct: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::checks) struct RawExpect {
    status: Option<Spanned<i64>>,
    status_in: Option<Spanned<Vec<i64>>>,
    #[serde(default)]
    headers: BTreeMap<Spanned<String>, Spanned<String>>,
    json: Option<Spanned<serde_json::Value>>,
    #[serde(default)]
    json_pointer: BTreeMap<Spanned<String>, Spanned<serde_json::Value>>,
    #[serde(default)]
    json_glob: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    json_types: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    json_len: BTreeMap<Spanned<String>, Spanned<i64>>,
    #[serde(default)]
    json_absent: Vec<Spanned<String>>,
    /// An inline JSON Schema (a TOML table read as JSON) the body must conform to.
    schema: Option<Spanned<serde_json::Value>>,
    max_body_bytes: Option<Spanned<i64>>,
    max_ms: Option<Spanned<i64>>,
}

/// Reads the steps of one http check that starts at byte `start`; `None` when any problem was found.
pub(in crate::checks) fn scenario(
    src: &Source,
    start: usize,
    raw: Vec<Spanned<RawStep>>,
    problems: &mut Vec<Diagnostic>,
) -> Option<HttpScenario> {
    scenario_after(src, start, raw, BTreeSet::new(), problems)
}

/// Like [`scenario`], for steps that run after others which captured `defined` (an openapi check's setup).
pub(in crate::checks) fn scenario_after(
    src: &Source,
    start: usize,
    raw: Vec<Spanned<RawStep>>,
    defined: BTreeSet<String>,
    problems: &mut Vec<Diagnostic>,
) -> Option<HttpScenario> {
    if raw.is_empty() {
        problems.push(src.at(start, "an http check needs at least one [[check.step]]"));
        return None;
    }
    let before = problems.len();
    let mut p = Parser {
        src,
        problems,
        defined,
        step_offset: start,
        in_burst: false,
        indexed: false,
    };
    let steps: Vec<Step> = raw
        .into_iter()
        .map(|s| {
            p.step_offset = s.span().start;
            p.step(s.into_inner())
        })
        .collect();
    (problems.len() == before).then_some(HttpScenario { steps })
}

struct Parser<'a, 'b> {
    src: &'a Source<'a>,
    problems: &'b mut Vec<Diagnostic>,
    /// Variables captured by the steps read so far.
    defined: BTreeSet<String>,
    /// Where the step being read starts, for problems of the step as a whole.
    step_offset: usize,
    /// The step being read is a burst, where `{{i}}` numbers the copies.
    in_burst: bool,
    /// `{{i}}` is defined for every step read (a step of the `events` kind that is sent many times).
    indexed: bool,
}

/// Reads one request step of another kind (the `events` kind's `request`, `settle` and `writes`) with the
/// http kind's rules: `defined` holds the variables defined so far and gains the step's captures; `indexed`
/// allows `{{i}}`.
pub(in crate::checks) fn one_step(
    src: &Source,
    step_offset: usize,
    raw: RawStep,
    defined: &mut BTreeSet<String>,
    indexed: bool,
    problems: &mut Vec<Diagnostic>,
) -> Step {
    let mut p = Parser {
        src,
        problems,
        defined: std::mem::take(defined),
        step_offset,
        in_burst: false,
        indexed,
    };
    let step = p.step(raw);
    *defined = p.defined;
    step
}

impl Parser<'_, '_> {
    fn problem(&mut self, offset: usize, msg: impl Into<String>) {
        self.problems.push(self.src.at(offset, msg));
    }

    /// Checks the `{{var}}`s of a string found at `offset`.
    fn template(&mut self, offset: usize, s: &str) {
        match template::references(s) {
            Err(e) => self.problem(offset, e.to_string()),
            Ok(names) => {
                for n in names {
                    let copy_index = (self.in_burst || self.indexed) && n == "i";
                    if !template::is_builtin(&n) && !self.defined.contains(&n) && !copy_index {
                        self.problem(
                            offset,
                            format!("variable `{n}` is not captured by an earlier step"),
                        );
                    }
                }
            }
        }
    }

    fn json_template(&mut self, offset: usize, v: &serde_json::Value) {
        match v {
            serde_json::Value::String(s) => self.template(offset, s),
            serde_json::Value::Array(items) => {
                items.iter().for_each(|i| self.json_template(offset, i))
            }
            serde_json::Value::Object(map) => {
                map.values().for_each(|i| self.json_template(offset, i))
            }
            _ => {}
        }
    }

    fn pointer(&mut self, p: &Spanned<String>) -> String {
        if !valid_pointer(p.get_ref()) {
            self.problem(
                p.span().start,
                format!(
                    "`{}` is not a JSON pointer (like `/items/0/id`, or `` for the whole body)",
                    p.get_ref()
                ),
            );
        }
        p.get_ref().clone()
    }

    fn header_name(&mut self, offset: usize, name: &str) -> String {
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            self.problem(offset, format!("`{name}` is not a valid header name"));
        }
        name.to_ascii_lowercase()
    }

    fn step(&mut self, raw: RawStep) -> Step {
        self.in_burst = raw.burst.is_some();
        let method = match &raw.method {
            None => "GET".to_string(),
            Some(m) => {
                let up = m.get_ref().to_ascii_uppercase();
                if !METHODS.contains(&up.as_str()) {
                    self.problem(
                        m.span().start,
                        format!(
                            "`{}` is not a supported method ({})",
                            m.get_ref(),
                            METHODS.join(", ")
                        ),
                    );
                }
                up
            }
        };
        let restart = match raw.restart.as_ref().map(|r| (r.span().start, r.get_ref())) {
            None | Some((_, RawRestart::Flag(false))) => None,
            Some((_, RawRestart::Flag(true))) => Some(RestartMode::Graceful),
            Some((_, RawRestart::Mode(m))) if m == "graceful" => Some(RestartMode::Graceful),
            Some((_, RawRestart::Mode(m))) if m == "kill" => Some(RestartMode::Kill),
            Some((at, RawRestart::Mode(m))) => {
                self.problem(
                    at,
                    format!("unknown restart `{m}` (known: true, \"graceful\", \"kill\")"),
                );
                Some(RestartMode::Graceful)
            }
        };
        let path = match (&raw.path, restart) {
            (Some(p), Some(_)) => {
                self.problem(
                    p.span().start,
                    "a `restart` step sends no request: remove its `path`",
                );
                String::new()
            }
            (Some(p), None) => {
                let path = p.get_ref().clone();
                if !(path.starts_with('/') || path.starts_with("{{")) {
                    self.problem(p.span().start, format!("path `{path}` must start with `/`"));
                }
                self.template(p.span().start, &path);
                path
            }
            (None, Some(_)) => String::new(),
            (None, None) => {
                let at = raw
                    .restart
                    .as_ref()
                    .map_or(self.step_offset, |r| r.span().start);
                self.problem(at, "a step needs a `path` (or `restart = true`)");
                String::new()
            }
        };
        let mut headers = Vec::new();
        for (name, value) in &raw.headers {
            let n = self.header_name(name.span().start, name.get_ref());
            self.template(value.span().start, value.get_ref());
            headers.push((n, value.get_ref().clone()));
        }
        let body = match (raw.json, raw.text) {
            (Some(_), Some(t)) => {
                self.problem(
                    t.span().start,
                    "a step sends either `json` or `text`, not both",
                );
                None
            }
            (Some(j), None) => {
                self.json_template(j.span().start, j.get_ref());
                Some(Body::Json(j.into_inner()))
            }
            (None, Some(t)) => {
                self.template(t.span().start, t.get_ref());
                Some(Body::Text(t.into_inner()))
            }
            (None, None) => None,
        };
        let expect = raw.expect.map(|e| self.expect(e)).unwrap_or_default();
        let burst = raw.burst.map(|b| {
            let offset = b.span().start;
            if restart.is_some() {
                self.problem(offset, "a `restart` step sends nothing: it cannot be a burst");
            }
            if let Some((name, _)) = raw.capture.iter().next() {
                self.problem(
                    name.span().start,
                    "a burst step cannot capture: its answers are many (use `distinct` to compare them)",
                );
            }
            self.burst(b.into_inner())
        });
        self.in_burst = false;
        let mut capture = Vec::new();
        for (name, source) in &raw.capture {
            capture.push(self.capture(name, source));
        }
        for c in &capture {
            self.defined.insert(c.name.clone());
        }
        Step {
            method,
            path,
            headers,
            body,
            expect,
            capture,
            restart,
            burst,
        }
    }

    fn burst(&mut self, raw: RawBurst) -> Burst {
        let count = match usize::try_from(*raw.count.get_ref()) {
            Ok(n) if (2..=MAX_BURST).contains(&n) => n,
            _ => {
                self.problem(
                    raw.count.span().start,
                    format!("a burst sends from 2 to {MAX_BURST} copies"),
                );
                2
            }
        };
        let mut status_counts = Vec::new();
        for (status, n) in &raw.status_counts {
            let code = match status.get_ref().parse::<i64>() {
                Ok(c) => self.status(status.span().start, c),
                Err(_) => {
                    self.problem(
                        status.span().start,
                        format!("`{}` is not an HTTP status", status.get_ref()),
                    );
                    0
                }
            };
            let n = self.non_negative(n, "a status count");
            status_counts.push((code, n));
        }
        let total: usize = status_counts.iter().map(|(_, n)| n).sum();
        if total > count {
            self.problem(
                raw.count.span().start,
                format!("the status counts add up to {total}, more than the {count} copies sent"),
            );
        }
        let distinct = raw
            .distinct
            .iter()
            .map(|d| match d.get_ref().strip_prefix("header:") {
                Some(h) => CaptureSource::Header(self.header_name(d.span().start, h.trim())),
                None => CaptureSource::JsonPointer(self.pointer(d)),
            })
            .collect();
        Burst {
            count,
            status_counts,
            distinct,
        }
    }

    fn capture(&mut self, name: &Spanned<String>, source: &Spanned<String>) -> Capture {
        let n = name.get_ref();
        let valid = !n.is_empty()
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !template::is_builtin(n);
        if !valid {
            self.problem(
                name.span().start,
                format!(
                    "`{n}` cannot be a variable name (letters, digits and `_`; not seed or rand)"
                ),
            );
        }
        // `json:/id` says what `/id` means; both forms are accepted.
        let s = source.get_ref();
        let source = match s.strip_prefix("header:") {
            Some(h) => CaptureSource::Header(self.header_name(source.span().start, h.trim())),
            None => match s.strip_prefix("json:") {
                Some(p) => {
                    if !valid_pointer(p) {
                        self.problem(source.span().start, format!("`{p}` is not a JSON pointer"));
                    }
                    CaptureSource::JsonPointer(p.to_string())
                }
                None => CaptureSource::JsonPointer(self.pointer(source)),
            },
        };
        Capture {
            name: n.clone(),
            source,
        }
    }

    fn expect(&mut self, raw: RawExpect) -> Expect {
        let status = match (&raw.status, &raw.status_in) {
            (Some(_), Some(s)) => {
                self.problem(s.span().start, "give `status` or `status_in`, not both");
                None
            }
            (Some(s), None) => Some(StatusExpect::Exact(
                self.status(s.span().start, *s.get_ref()),
            )),
            (None, Some(all)) => {
                if all.get_ref().is_empty() {
                    self.problem(all.span().start, "`status_in` needs at least one status");
                }
                let codes = all
                    .get_ref()
                    .iter()
                    .map(|c| self.status(all.span().start, *c))
                    .collect();
                Some(StatusExpect::OneOf(codes))
            }
            (None, None) => None,
        };
        let mut headers = Vec::new();
        for (name, pattern) in &raw.headers {
            let n = self.header_name(name.span().start, name.get_ref());
            self.template(pattern.span().start, pattern.get_ref());
            headers.push((n, pattern.get_ref().clone()));
        }
        if let Some(j) = &raw.json {
            self.json_template(j.span().start, j.get_ref());
        }
        let mut json_pointer = Vec::new();
        for (p, v) in &raw.json_pointer {
            let p = self.pointer(p);
            self.json_template(v.span().start, v.get_ref());
            json_pointer.push((p, v.get_ref().clone()));
        }
        let mut json_glob = Vec::new();
        for (p, pattern) in &raw.json_glob {
            let p = self.pointer(p);
            self.template(pattern.span().start, pattern.get_ref());
            json_glob.push((p, pattern.get_ref().clone()));
        }
        let mut json_types = Vec::new();
        for (p, t) in &raw.json_types {
            let p = self.pointer(p);
            match JsonType::parse(t.get_ref()) {
                Some(t) => json_types.push((p, t)),
                None => self.problem(
                    t.span().start,
                    format!("unknown JSON type `{}` (null, boolean, number, integer, string, array, object)", t.get_ref()),
                ),
            }
        }
        let mut json_len = Vec::new();
        for (p, n) in &raw.json_len {
            let p = self.pointer(p);
            json_len.push((p, self.non_negative(n, "json_len")));
        }
        let json_absent = raw.json_absent.iter().map(|p| self.pointer(p)).collect();
        let schema = raw.schema.as_ref().and_then(|s| self.schema(s));
        let max_body_bytes = raw
            .max_body_bytes
            .as_ref()
            .map(|n| self.non_negative(n, "max_body_bytes"));
        let max_ms = raw.max_ms.as_ref().map(|n| {
            if *n.get_ref() <= 0 {
                self.problem(n.span().start, "max_ms must be positive");
            }
            n.get_ref().unsigned_abs()
        });
        Expect {
            status,
            headers,
            json: raw.json.map(Spanned::into_inner),
            json_pointer,
            json_glob,
            json_types,
            json_len,
            json_absent,
            schema,
            max_body_bytes,
            max_ms,
        }
    }

    /// Compiles an inline JSON Schema now, so that a broken one is the author's error with a line.
    fn schema(&mut self, raw: &Spanned<serde_json::Value>) -> Option<JsonSchema> {
        match JsonSchema::compile(raw.get_ref(), Dialect::Default) {
            Ok(s) => Some(s),
            Err(e) => {
                self.problem(raw.span().start, format!("invalid JSON Schema: {e}"));
                None
            }
        }
    }

    fn status(&mut self, offset: usize, code: i64) -> u16 {
        match u16::try_from(code) {
            Ok(c) if (100..=599).contains(&c) => c,
            _ => {
                self.problem(offset, format!("{code} is not an HTTP status (100 to 599)"));
                0
            }
        }
    }

    fn non_negative(&mut self, n: &Spanned<i64>, what: &str) -> usize {
        usize::try_from(*n.get_ref()).unwrap_or_else(|_| {
            self.problem(n.span().start, format!("{what} must not be negative"));
            0
        })
    }
}

/// RFC 6901: empty (the whole document), or `/`-separated tokens where `~` is only `~0` or `~1`.
pub(in crate::checks) fn valid_pointer(p: &str) -> bool {
    if p.is_empty() {
        return true;
    }
    p.starts_with('/') && {
        let b = p.as_bytes();
        b.iter()
            .enumerate()
            .all(|(i, c)| *c != b'~' || matches!(b.get(i + 1), Some(b'0' | b'1')))
    }
}
