//! Lab w11 (`GAUNTLET_LAB=w11-observability` with `OTEL_EXPORTER_OTLP_ENDPOINT` set): a server span per request,
//! continuing the caller's W3C `traceparent` when it is valid and starting a new trace otherwise, with
//! `service.name` from `OTEL_SERVICE_NAME` and the HTTP semantic-convention attributes; spans are queued and
//! exported in batches by a background thread (`otlp_export.rs`), and flushed on SIGTERM.
//!
//! Defects (`TESTSVC_DEFECT`): `trace-drop-parent` (the incoming `traceparent` is ignored: every span starts a
//! trace), `trace-wrong-parent` (the caller's trace, under a parent span of the service's own that is never
//! exported), `trace-fixed-service-name` (`service.name` is hard-coded), `trace-no-http-attrs` (no `http.*`
//! attributes), `trace-client-kind` (the span's kind is CLIENT), `trace-reuse-trace` (requests without a valid
//! `traceparent` all share one process-wide trace), `trace-accept-invalid` (an invalid `traceparent` — version
//! `ff`, zero ids, not hex — is continued anyway). Near misses (`TESTSVC_VARIANT`): `trace-old-attributes`
//! (`http.method`/`http.status_code`, the older names the README accepts), `trace-child-spans` (an INTERNAL
//! child span per request, exported in a batch of its own before its parent) and `trace-protobuf` (export in
//! binary protobuf, `otlp_proto.rs`).

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::http::{Request, Response};
use crate::routes::{defect, variant};

/// One finished span, ready to export.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanData {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    /// `None` for a root span.
    pub parent: Option<[u8; 8]>,
    pub name: String,
    /// OTLP's number: 1 internal, 2 server, 3 client.
    pub kind: u8,
    pub start_nanos: u64,
    pub end_nanos: u64,
    pub attributes: Vec<(String, Attr)>,
}

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Str(String),
    Int(i64),
}

/// A request's span, begun before it is handled.
pub struct Started {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent: Option<[u8; 8]>,
    start_nanos: u64,
}

/// The collector's base URL, when this lab's tracing is on.
pub fn endpoint() -> Option<String> {
    if std::env::var("GAUNTLET_LAB").ok().as_deref() != Some("w11-observability") {
        return None;
    }
    std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|e| !e.trim().is_empty())
}

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| endpoint().is_some())
}

/// The `service.name` resource attribute.
pub fn service_name() -> String {
    if defect("trace-fixed-service-name") {
        return "notes-service".to_string();
    }
    std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "unknown_service:testsvc".to_string())
}

/// Begins the span of `req`; `None` when tracing is off or the path is not traced (health, metrics).
pub fn start(req: &Request) -> Option<Started> {
    if !enabled() || req.path == "/healthz" || req.path == "/metrics" {
        return None;
    }
    let caller = req.header("traceparent").and_then(parse_traceparent);
    let (trace_id, parent) = match caller {
        Some(_) if defect("trace-drop-parent") => (new_trace_id(), None),
        Some((trace, _)) if defect("trace-wrong-parent") => (trace, Some(new_span_id())),
        Some((trace, parent)) => (trace, Some(parent)),
        None if defect("trace-reuse-trace") => (process_trace_id(), None),
        None => (new_trace_id(), None),
    };
    Some(Started {
        trace_id,
        span_id: new_span_id(),
        parent,
        start_nanos: now_nanos(),
    })
}

/// Ends the span of `req` with `response`'s status and queues it for export.
pub fn finish(started: Option<Started>, req: &Request, response: &Response) {
    let Some(s) = started else { return };
    let route = route(&req.path);
    let name = match route {
        Some(r) => format!("{} {r}", req.method),
        None => req.method.clone(),
    };
    let mut attributes = Vec::new();
    if !defect("trace-no-http-attrs") {
        let (method_key, status_key) = if variant("trace-old-attributes") {
            ("http.method", "http.status_code")
        } else {
            ("http.request.method", "http.response.status_code")
        };
        attributes.push((method_key.to_string(), Attr::Str(req.method.clone())));
        if let Some(r) = route {
            attributes.push(("http.route".to_string(), Attr::Str(r.to_string())));
        }
        attributes.push((
            status_key.to_string(),
            Attr::Int(i64::from(response.status)),
        ));
        attributes.push(("url.path".to_string(), Attr::Str(req.path.clone())));
    }
    let end_nanos = now_nanos();
    if variant("trace-child-spans") {
        // The store call as a child, exported first, on its own: a receiver sees it before its parent.
        let child = SpanData {
            trace_id: s.trace_id,
            span_id: new_span_id(),
            parent: Some(s.span_id),
            name: "notes.store".to_string(),
            kind: 1,
            start_nanos: s.start_nanos + (end_nanos - s.start_nanos) / 4,
            end_nanos: s.start_nanos + (end_nanos - s.start_nanos) / 2,
            attributes: vec![("db.system".to_string(), Attr::Str("memory".to_string()))],
        };
        crate::otlp_export::queue(child);
        crate::otlp_export::flush();
    }
    crate::otlp_export::queue(SpanData {
        trace_id: s.trace_id,
        span_id: s.span_id,
        parent: s.parent,
        name,
        kind: if defect("trace-client-kind") { 3 } else { 2 },
        start_nanos: s.start_nanos,
        end_nanos,
        attributes,
    });
}

/// The route template of `path`, as `http.route` wants it; `None` for a path no route matches.
fn route(path: &str) -> Option<&'static str> {
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
    };
    match path {
        "/v1/notes" => Some("/v1/notes"),
        "/notes" => Some("/notes"),
        _ if under("/v1/notes/") => Some("/v1/notes/{id}"),
        _ if under("/notes/") => Some("/notes/{id}"),
        _ => None,
    }
}

/// A W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`): the trace id and the caller's span id, or `None` when it
/// is invalid (version `ff`, all-zero ids, wrong lengths, upper case or not hex) — unless `trace-accept-invalid`.
pub fn parse_traceparent(header: &str) -> Option<([u8; 16], [u8; 8])> {
    let parts: Vec<&str> = header.trim().split('-').collect();
    if defect("trace-accept-invalid") {
        let trace = hex_bytes::<16>(parts.get(1)?).unwrap_or([0x11; 16]);
        let parent = hex_bytes::<8>(parts.get(2).unwrap_or(&"")).unwrap_or([0x22; 8]);
        return Some((trace, parent));
    }
    let [version, trace, parent, flags, rest @ ..] = parts.as_slice() else {
        return None;
    };
    let lower_hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if !lower_hex(version, 2) || *version == "ff" || !lower_hex(flags, 2) {
        return None;
    }
    if *version == "00" && !rest.is_empty() {
        return None;
    }
    let trace = hex_bytes::<16>(trace).filter(|t| t.iter().any(|b| *b != 0))?;
    let parent = hex_bytes::<8>(parent).filter(|p| p.iter().any(|b| *b != 0))?;
    Some((trace, parent))
}

fn hex_bytes<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != N * 2
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(out)
}

/// 64 random bits: std's randomly keyed hasher over a counter, enough for ids (no crate for a test service).
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static KEYS: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    let mut h = KEYS.get_or_init(Default::default).build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u64(now_nanos());
    h.finish()
}

fn new_trace_id() -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&random_u64().to_be_bytes());
    id[8..].copy_from_slice(&random_u64().to_be_bytes());
    id
}

fn new_span_id() -> [u8; 8] {
    loop {
        let id = random_u64();
        if id != 0 {
            return id.to_be_bytes();
        }
    }
}

/// `trace-reuse-trace`: the one trace every request without a caller's context joins.
fn process_trace_id() -> [u8; 16] {
    static ID: OnceLock<[u8; 16]> = OnceLock::new();
    *ID.get_or_init(new_trace_id)
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_traceparent_gives_its_trace_and_parent() {
        let t = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let (trace, parent) = parse_traceparent(t).expect("valid");
        assert_eq!(trace[0], 0x0a);
        assert_eq!(parent[7], 0x31);
    }

    #[test]
    fn invalid_traceparents_are_refused() {
        for t in [
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-zzf7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "",
        ] {
            assert!(parse_traceparent(t).is_none(), "{t}");
        }
    }

    #[test]
    fn routes_are_templates() {
        assert_eq!(route("/v1/notes/abc"), Some("/v1/notes/{id}"));
        assert_eq!(route("/v1/notes"), Some("/v1/notes"));
        assert_eq!(route("/v1/notes/a/b"), None);
        assert_eq!(route("/nowhere"), None);
    }
}
