//! The rules over the spans a phase received. Each rule gives at most one finding, naming the first request it
//! failed on and how many did; the learner reads what was expected and what arrived, never ids they could not
//! have seen (the ids are fresh per run and the learner may log them, so naming them gives nothing away, but the
//! message does not need them).

use std::collections::BTreeSet;

use super::receiver::ReceivedSpan;
use super::traffic::{Sent, SentRequest};
use super::Rule;

/// Attribute names of the HTTP semantic conventions, the current one first.
const METHOD: [&str; 2] = ["http.request.method", "http.method"];
const STATUS: [&str; 2] = ["http.response.status_code", "http.status_code"];
const ROUTE: [&str; 1] = ["http.route"];

/// One rule a phase broke, learner-readable.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Finding {
    pub rule: Rule,
    pub what: String,
}

/// Whether spans have arrived for every request of the phase (whatever their shape): roots, or spans in a trace
/// or under a span id that a request named.
pub(super) fn arrived(sent: &Sent, spans: &[ReceivedSpan]) -> bool {
    let traces: BTreeSet<&str> = sent
        .requests
        .iter()
        .filter_map(|r| r.trace_id.as_deref())
        .collect();
    let parents: BTreeSet<&str> = sent
        .requests
        .iter()
        .filter_map(|r| r.parent_id.as_deref())
        .collect();
    let count = spans
        .iter()
        .filter(|s| {
            s.is_root()
                || traces.contains(s.trace_id.as_str())
                || parents.contains(s.parent_span_id.as_str())
        })
        .count();
    count >= sent.requests.len()
}

/// Every finding of `rules` over `spans` (those that started while the phase ran).
pub(super) fn judge(
    rules: &[Rule],
    sent: &Sent,
    spans: &[ReceivedSpan],
    service_name: Option<&str>,
) -> Vec<Finding> {
    rules
        .iter()
        .filter_map(|rule| {
            let what = match rule {
                Rule::ContinuesTrace => continues(sent, spans),
                Rule::ServerKind => per_server_span(sent, spans, |r, s| {
                    (s.kind != "SERVER").then(|| {
                        format!("the span of `{}` has kind {}, where a server span has kind SERVER", label(r), s.kind)
                    })
                }),
                Rule::HttpAttributes => per_server_span(sent, spans, http_attributes),
                Rule::ServiceName => per_server_span(sent, spans, |_, s| {
                    let expected = service_name.unwrap_or_default();
                    (s.service_name.as_deref() != Some(expected)).then(|| match &s.service_name {
                        Some(name) => format!(
                            "the spans' resource has service.name `{name}`, not the name the service was given in OTEL_SERVICE_NAME"
                        ),
                        None => "the spans' resource has no service.name (set it from OTEL_SERVICE_NAME)".to_string(),
                    })
                }),
                Rule::NewTraceWithout => new_traces(sent, spans),
                Rule::NewTraceOnInvalid => not_continued(sent, spans).or_else(|| new_traces(sent, spans)),
            }?;
            Some(Finding { rule: *rule, what })
        })
        .collect()
}

/// How a request is named to the learner: method and route template when the check knows it.
fn label(r: &SentRequest) -> String {
    format!("{} {}", r.method, r.route.as_deref().unwrap_or(&r.path))
}

/// The span that continues request `r`'s trace: in its trace, parented on its span id (a SERVER one first).
fn server_span<'a>(r: &SentRequest, spans: &'a [ReceivedSpan]) -> Option<&'a ReceivedSpan> {
    let (trace, parent) = (r.trace_id.as_deref()?, r.parent_id.as_deref()?);
    let mut children = spans
        .iter()
        .filter(|s| s.trace_id == trace && s.parent_span_id == parent);
    let first = children.clone().next();
    children.find(|s| s.kind == "SERVER").or(first)
}

fn continues(sent: &Sent, spans: &[ReceivedSpan]) -> Option<String> {
    let missing: Vec<&SentRequest> = sent
        .requests
        .iter()
        .filter(|r| server_span(r, spans).is_none())
        .collect();
    let first = missing.first()?;
    let of = format!("({} of {} requests)", missing.len(), sent.requests.len());
    if spans.is_empty() {
        return Some(format!(
            "no span arrived at the collector while the requests ran {of}: export to OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces"
        ));
    }
    let trace = first.trace_id.as_deref().unwrap_or_default();
    if spans.iter().any(|s| s.trace_id == trace) {
        Some(format!(
            "the spans of `{}` are in the caller's trace, but none has the caller's span (the parent id of traceparent) as its parent {of}",
            label(first)
        ))
    } else {
        let traces: BTreeSet<&str> = spans.iter().map(|s| s.trace_id.as_str()).collect();
        Some(format!(
            "no span of `{}` arrived in the caller's trace (the trace id of traceparent); {} spans arrived in {} other traces {of}",
            label(first),
            spans.len(),
            traces.len()
        ))
    }
}

/// Applies `judge` to each request's server span; a request without one is a finding too.
fn per_server_span(
    sent: &Sent,
    spans: &[ReceivedSpan],
    judge: impl Fn(&SentRequest, &ReceivedSpan) -> Option<String>,
) -> Option<String> {
    let mut bad = sent.requests.iter().filter_map(|r| match server_span(r, spans) {
        Some(s) => judge(r, s),
        None => Some(format!(
            "no span of `{}` arrived in the caller's trace under the caller's span, so it could not be judged",
            label(r)
        )),
    });
    let first = bad.next()?;
    let more = bad.count();
    Some(match more {
        0 => first,
        n => format!("{first} (and {n} more requests)"),
    })
}

fn http_attributes(r: &SentRequest, s: &ReceivedSpan) -> Option<String> {
    let request = label(r);
    let Some((key, method)) = s.attribute(&METHOD) else {
        return Some(format!(
            "the span of `{request}` has no http.request.method (or http.method) attribute"
        ));
    };
    if !method.eq_ignore_ascii_case(&r.method) {
        return Some(format!("the span of `{request}` has {key} `{method}`"));
    }
    match (s.attribute(&ROUTE), &r.route) {
        (None, _) => {
            return Some(format!(
                "the span of `{request}` has no http.route attribute"
            ))
        }
        (Some((_, got)), Some(want)) if got != *want => {
            return Some(format!(
                "the span of `{request}` has http.route `{got}`, not the route template `{want}`"
            ))
        }
        _ => {}
    }
    let Some((key, status)) = s.attribute(&STATUS) else {
        return Some(format!(
            "the span of `{request}` has no http.response.status_code (or http.status_code) attribute"
        ));
    };
    (r.status != 0 && status != r.status.to_string()).then(|| {
        format!(
            "the span of `{request}` has {key} {status}, but the response's status was {}",
            r.status
        )
    })
}

/// Requests that (should) start new traces: each gives a root span, each in a trace of its own.
fn new_traces(sent: &Sent, spans: &[ReceivedSpan]) -> Option<String> {
    let n = sent.requests.len();
    let how = match sent.phase {
        super::Phase::Invalid => "with an invalid traceparent",
        _ => "without traceparent",
    };
    let roots: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.is_root()).collect();
    if roots.len() < n {
        let parented = spans.len() - roots.len();
        return Some(if parented > 0 && !spans.is_empty() {
            format!(
                "{n} requests {how} gave {} root spans; {parented} spans arrived with a parent, but such a request starts a new trace, so its server span has none",
                roots.len()
            )
        } else {
            format!("{n} requests {how} gave {} spans at the collector while they ran; each must still produce a span, in a new trace", roots.len())
        });
    }
    let traces: BTreeSet<&str> = roots.iter().map(|s| s.trace_id.as_str()).collect();
    (traces.len() < n).then(|| {
        format!(
            "{n} requests {how} gave spans in only {} trace(s); each must start a trace of its own, with a fresh trace id",
            traces.len()
        )
    })
}

/// An invalid `traceparent` must not be continued: no span in the trace, or under the span id, it named.
fn not_continued(sent: &Sent, spans: &[ReceivedSpan]) -> Option<String> {
    sent.requests.iter().find_map(|r| {
        let named_trace = r.trace_id.as_deref().unwrap_or_default();
        let named_parent = r.parent_id.as_deref().unwrap_or_default();
        let continued = spans.iter().any(|s| {
            (!named_trace.is_empty() && s.trace_id == named_trace)
                || (!named_parent.is_empty() && s.parent_span_id == named_parent)
        });
        continued.then(|| {
            format!(
                "a traceparent with {} was continued (its trace or parent id reused); an invalid traceparent is ignored and a new trace started",
                r.invalid.unwrap_or("an error")
            )
        })
    })
}

#[cfg(test)]
mod tests;
