//! The actions of an events step that are not requests or records: `restart`, `writes`, `read` and
//! `group_lag`, read with the same rules and diagnostics as the rest of `parse.rs`.

use toml::Spanned;

use super::{
    records, valid_pointer, Parser, RawEventStep, RawRestart, MAX_CONCURRENCY, MAX_WRITES,
};
use crate::checks::events::{EventStep, GroupLag, Read, Writes, DEFAULT_WITHIN};
use crate::checks::http::CaptureSource;
use crate::checks::{template, RestartMode};

impl Parser<'_, '_> {
    pub(super) fn restart(&mut self, raw: Option<Spanned<RawRestart>>) -> Option<EventStep> {
        let r = raw?;
        let mode = match r.get_ref() {
            RawRestart::Flag(true) => RestartMode::Graceful,
            RawRestart::Mode(m) if m == "graceful" => RestartMode::Graceful,
            RawRestart::Mode(m) if m == "kill" => RestartMode::Kill,
            RawRestart::Flag(false) => {
                self.problem(
                    r.span().start,
                    "`restart = false` does nothing: remove the step",
                );
                return None;
            }
            RawRestart::Mode(m) => {
                let m = m.clone();
                self.problem(
                    r.span().start,
                    format!("unknown restart `{m}` (known: \"kill\", \"graceful\", true)"),
                );
                return None;
            }
        };
        Some(EventStep::Restart(mode))
    }

    pub(super) fn writes(&mut self, raw: RawEventStep) -> Option<Writes> {
        let req = raw.writes?;
        let at = req.span().start;
        let Some(count) = raw.count.as_ref() else {
            self.problem(at, "a `writes` step needs `count`");
            return None;
        };
        let count = self.ranged(count, "count", 1, MAX_WRITES).unsigned_abs() as usize;
        let concurrency = raw.concurrency.as_ref().map_or(1, |c| {
            self.ranged(c, "concurrency", 1, MAX_CONCURRENCY)
                .unsigned_abs() as usize
        });
        let kill_after = raw.kill_after.as_ref().map(|k| {
            let hi = i64::try_from(count).unwrap_or(i64::MAX) - 1;
            if hi < 1 {
                self.problem(
                    k.span().start,
                    "kill_after needs at least 2 writes in `count`",
                );
                return 1;
            }
            self.ranged(k, "kill_after", 1, hi).unsigned_abs() as usize
        });
        let max_ms = raw
            .max_ms
            .as_ref()
            .map(|m| self.ranged(m, "max_ms", 1, 600_000).unsigned_abs());
        let step = self.http_step(req, None, None, true);
        let mut collect = Vec::new();
        for (name, source) in raw.collect.map(Spanned::into_inner).unwrap_or_default() {
            let n = name.get_ref().clone();
            let valid = !n.is_empty()
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !template::is_builtin(&n)
                && n != "i";
            if !valid {
                self.problem(
                    name.span().start,
                    format!("`{n}` cannot be a list name (letters, digits and `_`)"),
                );
            }
            let s = source.get_ref();
            let src = match s.strip_prefix("header:") {
                Some(h) => CaptureSource::Header(h.trim().to_ascii_lowercase()),
                None => {
                    let p = s.strip_prefix("json:").unwrap_or(s);
                    if !valid_pointer(p) {
                        self.problem(
                            source.span().start,
                            format!("`{s}` is neither `json:<pointer>` nor `header:<name>`"),
                        );
                    }
                    CaptureSource::JsonPointer(p.to_string())
                }
            };
            self.defined.insert(n.clone());
            self.lists.insert(n.clone());
            collect.push((n, src));
        }
        Some(Writes {
            step,
            count,
            concurrency,
            kill_after,
            collect,
            max_ms,
        })
    }

    pub(super) fn read(&mut self, at: usize, raw: RawEventStep) -> Option<Read> {
        let topic = raw.read?;
        self.template(topic.span().start, topic.get_ref(), false);
        let within = self.within(raw.within_secs.as_ref());
        let Some(expect) = raw.expect_records else {
            self.problem(at, "a `read` step needs [check.events.step.expect_records]: what the records must show");
            return None;
        };
        let lists = self.lists.clone();
        let expect = records::expect(self, expect, &lists)?;
        Some(Read {
            topic: topic.into_inner(),
            within,
            expect,
        })
    }

    pub(super) fn group_lag(&mut self, at: usize, raw: RawEventStep) -> Option<GroupLag> {
        let group = raw.group_lag?;
        self.template(group.span().start, group.get_ref(), false);
        let Some(topic) = raw.topic else {
            self.problem(
                at,
                "a `group_lag` step needs `topic`: the topic whose end the group must reach",
            );
            return None;
        };
        self.template(topic.span().start, topic.get_ref(), false);
        let within = self
            .within(raw.within_secs.as_ref())
            .unwrap_or(DEFAULT_WITHIN);
        Some(GroupLag {
            group: group.into_inner(),
            topic: topic.into_inner(),
            within,
            wait_only: raw.wait_only.is_some_and(Spanned::into_inner),
        })
    }
}
