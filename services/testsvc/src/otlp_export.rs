//! The w11 span exporter (`tracing.rs` makes the spans): a queue drained by a background thread every 200 ms (or
//! sooner when 256 spans wait), each batch sent as one OTLP/JSON (protobuf with the near miss `trace-protobuf`, gzip-compressed with `trace-gzip`,
//! `otlp_proto.rs`) `POST {OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces`
//! over a hand-written HTTP/1.1 client; `flush` sends what waits at once (on SIGTERM, before the exit). A request
//! is never slowed by the collector: handlers only push to the queue.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use crate::json;
use crate::tracing::{Attr, SpanData};

/// How long a batch may wait before it is sent.
const BATCH_DELAY: Duration = Duration::from_millis(200);
/// The batch delay of `trace-no-flush` and `trace-slow-batches`: an SDK's default, so that spans are still
/// queued when a SIGTERM comes right after their requests.
const SDK_BATCH_DELAY: Duration = Duration::from_secs(5);

fn batch_delay() -> Duration {
    if crate::routes::defect("trace-no-flush") || crate::routes::variant("trace-slow-batches") {
        SDK_BATCH_DELAY
    } else {
        BATCH_DELAY
    }
}
/// A batch this large is sent at once.
const BATCH_MAX: usize = 256;
/// Most spans kept while the collector is unreachable; older ones are dropped.
const QUEUE_CAP: usize = 8192;

struct Exporter {
    queue: Mutex<Vec<SpanData>>,
    wake: Condvar,
    /// Serialises sends, so that a flush and the background thread do not interleave batches.
    sending: Mutex<()>,
}

fn exporter() -> &'static Exporter {
    static EXPORTER: OnceLock<&'static Exporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let e: &'static Exporter = Box::leak(Box::new(Exporter {
            queue: Mutex::new(Vec::new()),
            wake: Condvar::new(),
            sending: Mutex::new(()),
        }));
        let _ = std::thread::Builder::new()
            .name("otlp-export".into())
            .spawn(move || loop {
                let batch = {
                    let queue = e.queue.lock().unwrap_or_else(|p| p.into_inner());
                    let (mut queue, _) = e
                        .wake
                        .wait_timeout_while(queue, batch_delay(), |q| q.len() < BATCH_MAX)
                        .unwrap_or_else(|p| p.into_inner());
                    std::mem::take(&mut *queue)
                };
                send(e, batch);
            });
        e
    })
}

/// Queues `span` for the next batch.
pub fn queue(span: SpanData) {
    let e = exporter();
    let mut queue = e.queue.lock().unwrap_or_else(|p| p.into_inner());
    if queue.len() >= QUEUE_CAP {
        queue.remove(0);
    }
    queue.push(span);
    if queue.len() >= BATCH_MAX {
        e.wake.notify_one();
    }
}

/// Sends every queued span now (graceful shutdown, or a batch that must go out on its own).
pub fn flush() {
    if crate::tracing::endpoint().is_none() {
        return;
    }
    let e = exporter();
    let batch = std::mem::take(&mut *e.queue.lock().unwrap_or_else(|p| p.into_inner()));
    send(e, batch);
}

fn send(e: &Exporter, batch: Vec<SpanData>) {
    if batch.is_empty() {
        return;
    }
    let _one = e.sending.lock().unwrap_or_else(|p| p.into_inner());
    let Some(endpoint) = crate::tracing::endpoint() else {
        return;
    };
    let service = crate::tracing::service_name();
    let (body, content_type) = if crate::routes::variant("trace-protobuf") {
        (
            crate::otlp_proto::encode(&service, &batch),
            "application/x-protobuf",
        )
    } else {
        (encode(&service, &batch).into_bytes(), "application/json")
    };
    // `trace-gzip`: compressed as SDKs do with `OTEL_EXPORTER_OTLP_COMPRESSION=gzip`.
    let (body, encoding) = if crate::routes::variant("trace-gzip") {
        match gzip(&body) {
            Ok(z) => (z, Some("gzip")),
            Err(err) => {
                eprintln!("testsvc: compressing {} spans failed: {err}", batch.len());
                return;
            }
        }
    } else {
        (body, None)
    };
    if let Err(err) = post(&endpoint, &body, content_type, encoding) {
        eprintln!("testsvc: exporting {} spans failed: {err}", batch.len());
    }
}

/// One `ExportTraceServiceRequest` in OTLP/JSON.
pub fn encode(service: &str, spans: &[SpanData]) -> String {
    let spans: Vec<String> = spans.iter().map(span).collect();
    format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{}]}},"scopeSpans":[{{"scope":{{"name":"testsvc"}},"spans":[{}]}}]}}]}}"#,
        attribute("service.name", &Attr::Str(service.to_string())),
        spans.join(",")
    )
}

fn span(s: &SpanData) -> String {
    let attrs: Vec<String> = s.attributes.iter().map(|(k, v)| attribute(k, v)).collect();
    format!(
        r#"{{"traceId":"{}","spanId":"{}","parentSpanId":"{}","name":{},"kind":{},"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":[{}]}}"#,
        hex(&s.trace_id),
        hex(&s.span_id),
        s.parent.map(|p| hex(&p)).unwrap_or_default(),
        json::string(&s.name),
        s.kind,
        s.start_nanos,
        s.end_nanos,
        attrs.join(",")
    )
}

fn attribute(key: &str, value: &Attr) -> String {
    let value = match value {
        Attr::Str(s) => format!(r#"{{"stringValue":{}}}"#, json::string(s)),
        // OTLP/JSON writes 64-bit integers as strings.
        Attr::Int(i) => format!(r#"{{"intValue":"{i}"}}"#),
    };
    format!(r#"{{"key":{},"value":{value}}}"#, json::string(key))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(body)?;
    z.finish()
}

/// POSTs `body` to `<endpoint>/v1/traces` (`http://host:port[/base]`) and reads the status.
fn post(
    endpoint: &str,
    body: &[u8],
    content_type: &str,
    encoding: Option<&str>,
) -> std::io::Result<()> {
    let rest = endpoint
        .trim_end_matches('/')
        .strip_prefix("http://")
        .ok_or_else(|| std::io::Error::other("only http:// endpoints"))?;
    let (authority, base) = rest.split_once('/').map_or((rest, ""), |(a, b)| (a, b));
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let target = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let mut stream = TcpStream::connect_timeout(&target, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let path = if base.is_empty() {
        "/v1/traces".to_string()
    } else {
        format!("/{base}/v1/traces")
    };
    let encoding = encoding.map_or(String::new(), |e| format!("Content-Encoding: {e}\r\n"));
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: {content_type}\r\n{encoding}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer.split(' ').nth(1).unwrap_or("");
    if status == "200" {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "the collector answered {status}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_one_otlp_json_export_request() {
        let span = SpanData {
            trace_id: [0xab; 16],
            span_id: [1; 8],
            parent: None,
            name: "GET /v1/notes".into(),
            kind: 2,
            start_nanos: 1,
            end_nanos: 2,
            attributes: vec![("http.response.status_code".into(), Attr::Int(200))],
        };
        let body = encode("svc \"x\"", &[span.clone(), span]);
        let doc = json::parse(&body).expect("valid JSON");
        let rs = doc.get("resourceSpans").expect("resourceSpans");
        let json::Json::Arr(rs) = rs else {
            panic!("array")
        };
        let spans = rs[0].get("scopeSpans").unwrap();
        let json::Json::Arr(ss) = spans else {
            panic!("array")
        };
        let json::Json::Arr(list) = ss[0].get("spans").unwrap() else {
            panic!("array")
        };
        assert_eq!(list.len(), 2);
        assert_eq!(
            list[0].get("traceId"),
            Some(&json::Json::Str("ab".repeat(16)))
        );
        assert_eq!(
            list[0].get("parentSpanId"),
            Some(&json::Json::Str(String::new()))
        );
        assert!(body.contains(r#"{"intValue":"200"}"#));
    }
}
