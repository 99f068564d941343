//! From `[check.events]` and its `[[check.events.step]]` tables to a checked [`EventsCheck`], every problem
//! with its line: a step with no action or two, a field that belongs to another action, a variable no earlier
//! step defines, `expect_records` without `read`, `min_rate` without an earlier `produce`.
//!
//! Request-shaped steps (`request`, `settle`, `writes`) are read by the http kind's own parser, so their
//! methods, paths, bodies, expectations and captures follow exactly the http kind's rules.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{EventStep, EventsCheck, Produce, RecordTemplate, RecordValue, Settle, DEFAULT_WITHIN};
use crate::checks::http::parse::{one_step, valid_pointer, RawExpect, RawRestart, RawStep};
use crate::checks::load::Source;
use crate::checks::template;
use crate::diagnostics::Diagnostic;

mod actions;
mod records;
#[cfg(test)]
mod tests;

/// Limits that keep one check within one machine shared by several runs.
const MAX_WITHIN_SECS: i64 = 600;
const MAX_RECORDS: usize = 100_000;
const MAX_WRITES: i64 = 10_000;
const MAX_CONCURRENCY: i64 = 64;
const MAX_PACE_MS: i64 = 10_000;
const MAX_SLEEP_MS: i64 = 60_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::checks) struct RawEvents {
    broker: Option<Spanned<String>>,
    #[serde(default)]
    step: Vec<Spanned<RawEventStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEventStep {
    produce: Option<Spanned<String>>,
    records: Option<Spanned<Vec<Spanned<records::RawRecord>>>>,
    repeat: Option<Spanned<i64>>,
    shuffle: Option<Spanned<bool>>,
    pace_ms: Option<Spanned<i64>>,
    request: Option<Spanned<RawStep>>,
    settle: Option<Spanned<RawStep>>,
    expect: Option<Spanned<RawExpect>>,
    capture: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
    within_secs: Option<Spanned<i64>>,
    min_rate: Option<Spanned<f64>>,
    restart: Option<Spanned<RawRestart>>,
    pause: Option<Spanned<bool>>,
    sleep_ms: Option<Spanned<i64>>,
    writes: Option<Spanned<RawStep>>,
    count: Option<Spanned<i64>>,
    concurrency: Option<Spanned<i64>>,
    kill_after: Option<Spanned<i64>>,
    collect: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
    max_ms: Option<Spanned<i64>>,
    read: Option<Spanned<String>>,
    expect_records: Option<Spanned<records::RawRecordsExpect>>,
    group_lag: Option<Spanned<String>>,
    topic: Option<Spanned<String>>,
    wait_only: Option<Spanned<bool>>,
}

/// The actions, in the order the diagnostics name them.
const ACTIONS: [&str; 9] = [
    "produce",
    "request",
    "settle",
    "restart",
    "pause",
    "sleep_ms",
    "writes",
    "read",
    "group_lag",
];

/// Reads the `[check.events]` table of the check starting at byte `start`; `None` when any problem was found.
pub(in crate::checks) fn check(
    src: &Source,
    start: usize,
    raw: Option<Spanned<RawEvents>>,
    has_steps: bool,
    problems: &mut Vec<Diagnostic>,
) -> Option<EventsCheck> {
    let before = problems.len();
    if has_steps {
        problems.push(src.at(
            start,
            "an events check has no [[check.step]]; its steps are [[check.events.step]]",
        ));
    }
    let Some(raw) = raw else {
        problems.push(src.at(start, "an events check needs a [check.events] table"));
        return None;
    };
    let table_at = raw.span().start;
    let raw = raw.into_inner();
    let broker = match &raw.broker {
        None => "kafka".to_string(),
        Some(b) => {
            let name = b.get_ref().trim().to_string();
            if !counterpart_name(&name) {
                problems.push(src.at(
                    b.span().start,
                    format!("`{name}` is not a counterpart name ([a-z][a-z0-9-]{{0,19}})"),
                ));
            }
            name
        }
    };
    if raw.step.is_empty() {
        problems.push(src.at(
            table_at,
            "an events check needs at least one [[check.events.step]]",
        ));
    }
    let mut p = Parser {
        src,
        problems,
        defined: BTreeSet::new(),
        lists: BTreeSet::new(),
        produced: false,
    };
    let steps: Vec<Option<EventStep>> = raw
        .step
        .into_iter()
        .map(|s| {
            let at = s.span().start;
            p.step(at, s.into_inner())
        })
        .collect();
    let steps: Option<Vec<EventStep>> = steps.into_iter().collect();
    steps
        .filter(|_| problems.len() == before)
        .map(|steps| EventsCheck { broker, steps })
}

fn counterpart_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && s.len() <= 20
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

pub(super) struct Parser<'a, 'b> {
    src: &'a Source<'a>,
    problems: &'b mut Vec<Diagnostic>,
    /// Variables defined by the steps read so far (captures and collected lists).
    defined: BTreeSet<String>,
    /// List variables collected by earlier `writes` steps, for `includes`.
    lists: BTreeSet<String>,
    /// An earlier step produced records (for `min_rate`).
    produced: bool,
}

impl Parser<'_, '_> {
    pub(super) fn problem(&mut self, offset: usize, msg: impl Into<String>) {
        self.problems.push(self.src.at(offset, msg));
    }

    /// Checks the `{{var}}`s of a string found at `offset`; `indexed` allows `{{i}}`.
    pub(super) fn template(&mut self, offset: usize, s: &str, indexed: bool) {
        match template::references(s) {
            Err(e) => self.problem(offset, e.to_string()),
            Ok(names) => {
                for n in names {
                    let known = template::is_builtin(&n)
                        || self.defined.contains(&n)
                        || (indexed && n == "i");
                    if !known {
                        self.problem(
                            offset,
                            format!("variable `{n}` is not defined by an earlier step"),
                        );
                    }
                }
            }
        }
    }

    pub(super) fn json_template(&mut self, offset: usize, v: &serde_json::Value, indexed: bool) {
        match v {
            serde_json::Value::String(s) => self.template(offset, s, indexed),
            serde_json::Value::Array(items) => items
                .iter()
                .for_each(|i| self.json_template(offset, i, indexed)),
            serde_json::Value::Object(map) => map
                .values()
                .for_each(|i| self.json_template(offset, i, indexed)),
            _ => {}
        }
    }

    pub(super) fn pointer(&mut self, p: &Spanned<String>) -> String {
        if !valid_pointer(p.get_ref()) {
            self.problem(
                p.span().start,
                format!("`{}` is not a JSON pointer (like `/id`)", p.get_ref()),
            );
        }
        p.get_ref().clone()
    }

    /// A whole number within `lo..=hi`, or a problem naming the field.
    pub(super) fn ranged(&mut self, n: &Spanned<i64>, what: &str, lo: i64, hi: i64) -> i64 {
        let v = *n.get_ref();
        if !(lo..=hi).contains(&v) {
            self.problem(n.span().start, format!("{what} must be from {lo} to {hi}"));
            return lo;
        }
        v
    }

    fn within(&mut self, w: Option<&Spanned<i64>>) -> Option<Duration> {
        w.map(|w| {
            Duration::from_secs(
                self.ranged(w, "within_secs", 1, MAX_WITHIN_SECS)
                    .unsigned_abs(),
            )
        })
    }

    fn step(&mut self, at: usize, raw: RawEventStep) -> Option<EventStep> {
        let given: Vec<(&str, usize)> = [
            raw.produce.as_ref().map(|s| s.span().start),
            raw.request.as_ref().map(|s| s.span().start),
            raw.settle.as_ref().map(|s| s.span().start),
            raw.restart.as_ref().map(|s| s.span().start),
            raw.pause.as_ref().map(|s| s.span().start),
            raw.sleep_ms.as_ref().map(|s| s.span().start),
            raw.writes.as_ref().map(|s| s.span().start),
            raw.read.as_ref().map(|s| s.span().start),
            raw.group_lag.as_ref().map(|s| s.span().start),
        ]
        .into_iter()
        .zip(ACTIONS)
        .filter_map(|(o, name)| o.map(|o| (name, o)))
        .collect();
        let action = match given.as_slice() {
            [] => {
                self.problem(
                    at,
                    format!("a step needs one action: {}", ACTIONS.join(", ")),
                );
                return None;
            }
            [(a, _)] => *a,
            [(a, _), (b, o), ..] => {
                self.problem(
                    *o,
                    format!(
                        "a step has exactly one action, but this one has `{a}` and `{b}`: split it"
                    ),
                );
                return None;
            }
        };
        self.stray_fields(action, &raw);
        let before = self.problems.len();
        let step = match action {
            "produce" => self.produce(at, raw).map(EventStep::Produce),
            "request" | "settle" => self.request(action, raw),
            "restart" => self.restart(raw.restart),
            "pause" => raw.pause.map(|p| EventStep::Pause(p.into_inner())),
            "sleep_ms" => raw.sleep_ms.map(|s| {
                let ms = self.ranged(&s, "sleep_ms", 1, MAX_SLEEP_MS);
                EventStep::Sleep(Duration::from_millis(ms.unsigned_abs()))
            }),
            "writes" => self.writes(raw).map(|w| EventStep::Writes(Box::new(w))),
            "read" => self.read(at, raw).map(|r| EventStep::Read(Box::new(r))),
            _ => self.group_lag(at, raw).map(EventStep::GroupLag),
        };
        step.filter(|_| self.problems.len() == before)
    }

    /// Fields given beside an action they do not belong to.
    fn stray_fields(&mut self, action: &str, raw: &RawEventStep) {
        let fields: [(&str, Option<usize>, &[&str]); 15] = [
            (
                "records",
                raw.records.as_ref().map(|s| s.span().start),
                &["produce"],
            ),
            (
                "repeat",
                raw.repeat.as_ref().map(|s| s.span().start),
                &["produce"],
            ),
            (
                "shuffle",
                raw.shuffle.as_ref().map(|s| s.span().start),
                &["produce"],
            ),
            (
                "pace_ms",
                raw.pace_ms.as_ref().map(|s| s.span().start),
                &["produce"],
            ),
            (
                "expect",
                raw.expect.as_ref().map(|s| s.span().start),
                &["request", "settle"],
            ),
            (
                "capture",
                raw.capture.as_ref().map(|s| s.span().start),
                &["request", "settle"],
            ),
            (
                "within_secs",
                raw.within_secs.as_ref().map(|s| s.span().start),
                &["settle", "read", "group_lag"],
            ),
            (
                "min_rate",
                raw.min_rate.as_ref().map(|s| s.span().start),
                &["settle"],
            ),
            (
                "wait_only",
                raw.wait_only.as_ref().map(|s| s.span().start),
                &["group_lag"],
            ),
            (
                "count",
                raw.count.as_ref().map(|s| s.span().start),
                &["writes"],
            ),
            (
                "concurrency",
                raw.concurrency.as_ref().map(|s| s.span().start),
                &["writes"],
            ),
            (
                "kill_after",
                raw.kill_after.as_ref().map(|s| s.span().start),
                &["writes"],
            ),
            (
                "collect",
                raw.collect.as_ref().map(|s| s.span().start),
                &["writes"],
            ),
            (
                "max_ms",
                raw.max_ms.as_ref().map(|s| s.span().start),
                &["writes"],
            ),
            (
                "expect_records",
                raw.expect_records.as_ref().map(|s| s.span().start),
                &["read"],
            ),
        ];
        for (name, at, owners) in fields {
            if let Some(at) = at.filter(|_| !owners.contains(&action)) {
                let owners: Vec<String> = owners.iter().map(|o| format!("`{o}`")).collect();
                self.problem(
                    at,
                    format!(
                        "`{name}` belongs to a {} step, not to `{action}`",
                        owners.join(" or ")
                    ),
                );
            }
        }
        if let Some(t) = raw.topic.as_ref().filter(|_| action != "group_lag") {
            self.problem(t.span().start, format!("`topic` belongs to a `group_lag` step, not to `{action}` (a `{action}` step names its topic itself)"));
        }
    }

    fn produce(&mut self, at: usize, raw: RawEventStep) -> Option<Produce> {
        let topic = raw.produce?;
        self.template(topic.span().start, topic.get_ref(), true);
        let Some(list) = raw.records else {
            self.problem(at, "a `produce` step needs `records`");
            return None;
        };
        if list.get_ref().is_empty() {
            self.problem(list.span().start, "`records` needs at least one record");
        }
        let records: Vec<RecordTemplate> = list
            .into_inner()
            .into_iter()
            .map(|r| self.record(r))
            .collect();
        let repeat = raw.repeat.map_or(1, |r| {
            self.ranged(&r, "repeat", 1, MAX_RECORDS as i64)
                .unsigned_abs() as usize
        });
        let total: usize = records.iter().map(|r| r.copies).sum::<usize>() * repeat;
        if total > MAX_RECORDS {
            self.problem(
                at,
                format!("this step produces {total} records; at most {MAX_RECORDS}"),
            );
        }
        let pace = raw.pace_ms.map_or(0, |p| {
            self.ranged(&p, "pace_ms", 0, MAX_PACE_MS).unsigned_abs()
        });
        self.produced = true;
        Some(Produce {
            topic: topic.into_inner(),
            records,
            repeat,
            shuffle: raw.shuffle.is_some_and(|s| *s.get_ref()),
            pace: Duration::from_millis(pace),
        })
    }

    fn record(&mut self, raw: Spanned<records::RawRecord>) -> RecordTemplate {
        let at = raw.span().start;
        let raw = raw.into_inner();
        let key = raw.key.map(|k| {
            self.template(k.span().start, k.get_ref(), true);
            k.into_inner()
        });
        let value = match (raw.json, raw.text) {
            (Some(j), None) => {
                self.json_template(j.span().start, j.get_ref(), true);
                RecordValue::Json(j.into_inner())
            }
            (None, Some(t)) => {
                self.template(t.span().start, t.get_ref(), true);
                RecordValue::Text(t.into_inner())
            }
            (Some(_), Some(t)) => {
                self.problem(
                    t.span().start,
                    "a record has either `json` or `text`, not both",
                );
                RecordValue::Text(String::new())
            }
            (None, None) => {
                self.problem(at, "a record needs a value: `json` or `text`");
                RecordValue::Text(String::new())
            }
        };
        let headers = raw
            .headers
            .into_iter()
            .map(|(k, v)| {
                if k.get_ref().is_empty() {
                    self.problem(k.span().start, "a header needs a name");
                }
                self.template(v.span().start, v.get_ref(), true);
                (k.into_inner(), v.into_inner())
            })
            .collect();
        let copies = raw.copies.map_or(1, |c| {
            self.ranged(&c, "copies", 1, 1000).unsigned_abs() as usize
        });
        RecordTemplate {
            key,
            value,
            headers,
            copies,
        }
    }

    /// The request of a `request`, `settle` or `writes` step, read by the http kind's parser.
    fn http_step(
        &mut self,
        req: Spanned<RawStep>,
        expect: Option<Spanned<RawExpect>>,
        capture: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
        indexed: bool,
    ) -> crate::checks::http::Step {
        let at = req.span().start;
        let mut raw = req.into_inner();
        if raw.restart.is_some() || raw.burst.is_some() {
            self.problem(at, "a request here has no `restart` or `burst`: a restart is a step of its own (`restart = \"kill\"`)");
        }
        if raw.expect.is_some() || !raw.capture.is_empty() {
            self.problem(
                at,
                "write `expect` and `capture` beside the request, not inside it",
            );
        }
        raw.expect = expect.map(Spanned::into_inner);
        raw.capture = capture.map(Spanned::into_inner).unwrap_or_default();
        let mut defined = std::mem::take(&mut self.defined);
        let step = one_step(self.src, at, raw, &mut defined, indexed, self.problems);
        self.defined = defined;
        step
    }

    fn request(&mut self, action: &str, raw: RawEventStep) -> Option<EventStep> {
        if action == "request" {
            let req = raw.request?;
            let step = self.http_step(req, raw.expect, raw.capture, false);
            return Some(EventStep::Request(Box::new(step)));
        }
        let req = raw.settle?;
        let at = req.span().start;
        if raw.expect.is_none() {
            self.problem(
                at,
                "a `settle` step needs `expect`: the answer it waits for",
            );
        }
        if let Some(r) = raw.min_rate.as_ref() {
            if !(r.get_ref().is_finite() && *r.get_ref() > 0.0) {
                self.problem(
                    r.span().start,
                    "min_rate must be a positive number of records per second",
                );
            }
            if !self.produced {
                self.problem(r.span().start, "`min_rate` measures the records of an earlier `produce` step, and there is none");
            }
        }
        let within = self
            .within(raw.within_secs.as_ref())
            .unwrap_or(DEFAULT_WITHIN);
        let step = self.http_step(req, raw.expect, raw.capture, false);
        Some(EventStep::Settle(Box::new(Settle {
            step,
            within,
            min_rate: raw.min_rate.map(Spanned::into_inner),
        })))
    }
}
