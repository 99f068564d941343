//! The w11 near miss `trace-protobuf`: the same batch as `otlp_export::encode`, written as binary protobuf
//! (`application/x-protobuf`, OTLP's default encoding) instead of JSON. Hand-written: the handful of fields of
//! `ExportTraceServiceRequest` a server span needs, by their numbers in opentelemetry-proto's `.proto` files.

use crate::tracing::{Attr, SpanData};

/// Protobuf wire types.
const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u64, wire: u64) {
    varint(out, (field << 3) | wire);
}

fn len_field(out: &mut Vec<u8>, field: u64, data: &[u8]) {
    key(out, field, LEN);
    varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

/// `KeyValue { key = 1; AnyValue value = 2 }`, `AnyValue { string_value = 1; int_value = 3 }`.
fn key_value(name: &str, value: &Attr) -> Vec<u8> {
    let mut any = Vec::new();
    match value {
        Attr::Str(s) => len_field(&mut any, 1, s.as_bytes()),
        Attr::Int(i) => {
            key(&mut any, 3, VARINT);
            varint(&mut any, *i as u64);
        }
    }
    let mut kv = Vec::new();
    len_field(&mut kv, 1, name.as_bytes());
    len_field(&mut kv, 2, &any);
    kv
}

/// `Span`: trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6, start 7, end 8, attributes 9.
fn span(s: &SpanData) -> Vec<u8> {
    let mut out = Vec::new();
    len_field(&mut out, 1, &s.trace_id);
    len_field(&mut out, 2, &s.span_id);
    if let Some(p) = s.parent {
        len_field(&mut out, 4, &p);
    }
    len_field(&mut out, 5, s.name.as_bytes());
    key(&mut out, 6, VARINT);
    varint(&mut out, u64::from(s.kind));
    key(&mut out, 7, FIXED64);
    out.extend_from_slice(&s.start_nanos.to_le_bytes());
    key(&mut out, 8, FIXED64);
    out.extend_from_slice(&s.end_nanos.to_le_bytes());
    for (k, v) in &s.attributes {
        len_field(&mut out, 9, &key_value(k, v));
    }
    out
}

/// One `ExportTraceServiceRequest { resource_spans = 1 }` with `ResourceSpans { resource = 1; scope_spans = 2 }`,
/// `Resource { attributes = 1 }`, `ScopeSpans { scope = 1; spans = 2 }`, `InstrumentationScope { name = 1 }`.
pub fn encode(service: &str, spans: &[SpanData]) -> Vec<u8> {
    let mut resource = Vec::new();
    len_field(
        &mut resource,
        1,
        &key_value("service.name", &Attr::Str(service.to_string())),
    );
    let mut scope = Vec::new();
    len_field(&mut scope, 1, b"testsvc");
    let mut scope_spans = Vec::new();
    len_field(&mut scope_spans, 1, &scope);
    for s in spans {
        len_field(&mut scope_spans, 2, &span(s));
    }
    let mut resource_spans = Vec::new();
    len_field(&mut resource_spans, 1, &resource);
    len_field(&mut resource_spans, 2, &scope_spans);
    let mut request = Vec::new();
    len_field(&mut request, 1, &resource_spans);
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_little_endian_groups_of_seven_bits() {
        let mut out = Vec::new();
        varint(&mut out, 300);
        assert_eq!(out, vec![0xac, 0x02]);
    }

    #[test]
    fn a_batch_starts_with_its_resource_spans_field() {
        let span = SpanData {
            trace_id: [1; 16],
            span_id: [2; 8],
            parent: None,
            name: "GET /v1/notes".into(),
            kind: 2,
            start_nanos: 1,
            end_nanos: 2,
            attributes: vec![("http.response.status_code".into(), Attr::Int(200))],
        };
        let body = encode("svc", &[span]);
        assert_eq!(body[0], 0x0a, "field 1, length-delimited");
        assert!(
            body.windows(16).any(|w| w == [1; 16]),
            "the trace id is in it"
        );
    }
}
