//! The received spans as the instructor reads them: trace by trace (the caller's trace of a request named
//! beside it), each span indented under its parent, with its kind, ids, service and HTTP attributes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde_json::Value;

use super::receiver::ReceivedSpan;
use super::traffic::Sent;

/// Most spans written out: a flood is summarised, not copied.
const MAX_LINES: usize = 200;

pub(super) fn render(spans: &[ReceivedSpan], sent: &Sent) -> String {
    let mut out = String::new();
    if spans.is_empty() {
        out.push_str("   (no span)\n");
        return out;
    }
    let mut order: Vec<&str> = Vec::new();
    let mut by_trace: BTreeMap<&str, Vec<&ReceivedSpan>> = BTreeMap::new();
    for s in spans {
        if !by_trace.contains_key(s.trace_id.as_str()) {
            order.push(&s.trace_id);
        }
        by_trace.entry(&s.trace_id).or_default().push(s);
    }
    let mut lines = 0;
    for trace in order {
        let members = &by_trace[trace];
        let caller = sent
            .requests
            .iter()
            .find(|r| r.trace_id.as_deref() == Some(trace))
            .map(|r| format!(" — named by the traceparent of {} {}", r.method, r.path))
            .unwrap_or_default();
        let _ = writeln!(out, "   trace {trace}{caller}");
        let ids: BTreeSet<&str> = members.iter().map(|s| s.span_id.as_str()).collect();
        let tops = members
            .iter()
            .filter(|s| s.is_root() || !ids.contains(s.parent_span_id.as_str()));
        for top in tops {
            write_span(&mut out, top, members, sent, 2, &mut lines);
        }
    }
    if lines >= MAX_LINES {
        let _ = writeln!(
            out,
            "   … {} spans in all, the first {MAX_LINES} shown",
            spans.len()
        );
    }
    out
}

fn write_span(
    out: &mut String,
    span: &ReceivedSpan,
    members: &[&ReceivedSpan],
    sent: &Sent,
    depth: usize,
    lines: &mut usize,
) {
    if *lines >= MAX_LINES || depth > 32 {
        return;
    }
    *lines += 1;
    let parent = if span.is_root() {
        "root".to_string()
    } else if sent
        .requests
        .iter()
        .any(|r| r.parent_id.as_deref() == Some(&span.parent_span_id))
    {
        format!("parent {} (the caller's span)", span.parent_span_id)
    } else {
        format!("parent {}", span.parent_span_id)
    };
    let attrs: Vec<String> = span
        .attributes
        .iter()
        .filter(|(k, _)| k.starts_with("http.") || k.starts_with("url."))
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    let others = span.attributes.len() - attrs.len();
    let _ = writeln!(
        out,
        "{:indent$}{} [{}] span {} {parent}; service.name={}; {}{} ({} ms, {})",
        "",
        span.name,
        span.kind,
        span.span_id,
        span.service_name.as_deref().unwrap_or("(none)"),
        attrs.join(" "),
        if others > 0 {
            format!(" +{others} more attributes")
        } else {
            String::new()
        },
        span.end_time_unix_nano
            .saturating_sub(span.start_time_unix_nano)
            / 1_000_000,
        span.encoding,
        indent = depth * 2 + 1
    );
    for child in members.iter().filter(|c| c.parent_span_id == span.span_id) {
        write_span(out, child, members, sent, depth + 1, lines);
    }
}
