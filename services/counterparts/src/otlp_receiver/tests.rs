//! The receiver as an exporter and the grader meet it: real OTLP bodies in both encodings, through the router.

use std::io::Write;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::Value;
use tower::ServiceExt;

const TOKEN: &str = "test-control-token";

fn with_token() {
    // Every test sets the same value, so tests running side by side agree.
    std::env::set_var("GAUNTLET_CONTROL_TOKEN", TOKEN);
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// One SERVER span of service `svc` with a parent, as an SDK would export it.
fn request(svc: &str) -> ExportTraceServiceRequest {
    let span = Span {
        trace_id: vec![0xab; 16],
        span_id: vec![0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08],
        parent_span_id: vec![0xcd; 8],
        name: "GET /v1/notes/{id}".into(),
        kind: 2,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_100_000_000,
        attributes: vec![
            kv(
                "http.request.method",
                any_value::Value::StringValue("GET".into()),
            ),
            kv("http.response.status_code", any_value::Value::IntValue(404)),
        ],
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv(
                    "service.name",
                    any_value::Value::StringValue(svc.into()),
                )],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![span],
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    }
}

/// OTLP/JSON as SDKs write it: hex ids, the kind as a number, 64-bit integers as strings.
const JSON_EXPORT: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"notes-json"}}]},
 "scopeSpans":[{"scope":{"name":"manual"},"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331",
 "parentSpanId":"","name":"POST /v1/notes","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000200000000",
 "attributes":[{"key":"http.route","value":{"stringValue":"/v1/notes"}},{"key":"http.status_code","value":{"intValue":"201"}}]}]}]}]}"#;

async fn call(req: Request<Body>) -> (StatusCode, Vec<u8>, String) {
    let res = super::router().oneshot(req).await.expect("router answers");
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .expect("body");
    (status, body.to_vec(), ct)
}

fn post(ct: &str, body: Vec<u8>) -> Request<Body> {
    Request::post("/v1/traces")
        .header("content-type", ct)
        .body(Body::from(body))
        .expect("request")
}

/// Sends `export` to a fresh receiver, then reads its spans back with the token.
async fn export_then_read(export: Request<Body>) -> (StatusCode, Vec<u8>, String, Value) {
    with_token();
    let router = super::router();
    let res = router.clone().oneshot(export).await.expect("answer");
    let (status, ct) = (
        res.status(),
        res.headers()["content-type"].to_str().unwrap().to_string(),
    );
    let body = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .unwrap()
        .to_vec();
    let read = Request::get("/_gauntlet/spans")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let res = router.oneshot(read).await.expect("spans");
    assert_eq!(res.status(), StatusCode::OK);
    let spans = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .unwrap();
    (
        status,
        body,
        ct,
        serde_json::from_slice(&spans).expect("json"),
    )
}

#[tokio::test]
async fn a_protobuf_export_is_kept_flattened_and_answered_in_protobuf() {
    let (status, body, ct, got) = export_then_read(post(
        "application/x-protobuf",
        request("notes-pb").encode_to_vec(),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "application/x-protobuf");
    let answer = ExportTraceServiceResponse::decode(&body[..]).expect("protobuf answer");
    assert!(answer.partial_success.is_none());
    let span = &got["spans"][0];
    assert_eq!(span["trace_id"], "ab".repeat(16));
    assert_eq!(span["span_id"], "0102030405060708");
    assert_eq!(span["parent_span_id"], "cd".repeat(8));
    assert_eq!(span["kind"], "SERVER");
    assert_eq!(span["service_name"], "notes-pb");
    assert_eq!(span["attributes"]["http.response.status_code"], 404);
    assert_eq!(span["attributes"]["http.request.method"], "GET");
    assert_eq!(span["encoding"], "protobuf");
    assert_eq!(got["ledger"]["protobuf_requests"], 1);
}

#[tokio::test]
async fn an_otlp_json_export_is_kept_and_answered_in_json() {
    let (status, body, ct, got) =
        export_then_read(post("application/json; charset=utf-8", JSON_EXPORT.into())).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(ct, "application/json");
    let _: Value = serde_json::from_slice(&body).expect("a JSON answer");
    let span = &got["spans"][0];
    assert_eq!(span["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(span["parent_span_id"], "");
    assert_eq!(span["kind"], "SERVER");
    assert_eq!(span["start_time_unix_nano"], 1_700_000_000_000_000_000u64);
    assert_eq!(span["attributes"]["http.status_code"], 201);
    assert_eq!(span["attributes"]["http.route"], "/v1/notes");
    assert_eq!(span["service_name"], "notes-json");
    assert_eq!(got["ledger"]["json_requests"], 1);
}

#[tokio::test]
async fn a_gzipped_export_is_inflated() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(JSON_EXPORT.as_bytes()).unwrap();
    let mut req = post("application/json", gz.finish().unwrap());
    req.headers_mut()
        .insert("content-encoding", "gzip".parse().unwrap());
    let (status, _, _, got) = export_then_read(req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["spans"].as_array().unwrap().len(), 1);
    assert_eq!(got["ledger"]["gzip_requests"], 1);
}

#[tokio::test]
async fn what_is_not_otlp_is_refused_with_415_or_400() {
    let (status, _, _) = call(post("text/plain", b"hello".to_vec())).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, body, ct) = call(post("application/x-protobuf", vec![0xff, 0xff, 0xff])).await;
    assert_eq!(
        (status, ct.as_str()),
        (StatusCode::BAD_REQUEST, "application/x-protobuf")
    );
    assert!(!body.is_empty(), "a google.rpc.Status body");
    let (status, body, _) =
        call(post("application/json", br#"{"resourceSpans":7}"#.to_vec())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let status_body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status_body["code"], 3);
    let mut req = post("application/json", JSON_EXPORT.into());
    req.headers_mut()
        .insert("content-encoding", "br".parse().unwrap());
    assert_eq!(call(req).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn the_spans_need_the_control_token_and_can_be_cleared() {
    with_token();
    let router = super::router();
    let export = post("application/x-protobuf", request("svc").encode_to_vec());
    assert_eq!(
        router.clone().oneshot(export).await.unwrap().status(),
        StatusCode::OK
    );
    let read = |auth: Option<&str>| {
        let mut r = Request::get("/_gauntlet/spans?since=0");
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.body(Body::empty()).unwrap()
    };
    for auth in [None, Some("Bearer wrong")] {
        let res = router.clone().oneshot(read(auth)).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let clear = Request::delete("/_gauntlet/spans")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        router.clone().oneshot(clear).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let res = router
        .oneshot(read(Some(&format!("Bearer {TOKEN}"))))
        .await
        .unwrap();
    let got: Value = serde_json::from_slice(
        &axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(got["spans"], serde_json::json!([]));
}

#[tokio::test]
async fn since_leaves_out_spans_that_started_earlier() {
    with_token();
    let router = super::router();
    let export = post("application/x-protobuf", request("svc").encode_to_vec());
    router.clone().oneshot(export).await.unwrap();
    let read = Request::get("/_gauntlet/spans?since=1700000000000000001")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let res = router.oneshot(read).await.unwrap();
    let got: Value = serde_json::from_slice(
        &axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(got["spans"], serde_json::json!([]));
}

#[test]
fn a_full_store_keeps_what_fits_and_counts_the_rest() {
    let store = super::store::Store::default();
    let one = super::flatten::spans(&request("svc"), super::decode::Encoding::Json);
    let many: Vec<_> = (0..super::store::MAX_SPANS + 5)
        .map(|_| one[0].clone())
        .collect();
    assert_eq!(store.add(many, false, false), 5);
    let snap = store.snapshot(0);
    assert_eq!(snap.spans.len(), super::store::MAX_SPANS);
    assert_eq!(snap.ledger.dropped_spans, 5);
}
