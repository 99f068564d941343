//! The upstream over real HTTP on a loopback port: keys, deterministic answers, faults on cue, the ledger.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

// The same value as the otlp-receiver's tests: both set the process-wide variable, side by side.
const TOKEN: &str = "test-control-token";
const KEY: &str = "sk-test-key";

async fn start() -> std::net::SocketAddr {
    // Every test sets the same value, so running them side by side is harmless.
    std::env::set_var("GAUNTLET_CONTROL_TOKEN", TOKEN);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, super::router_with(Some(KEY.into())))
            .await
            .unwrap()
    });
    addr
}

/// One request; the status, the raw head and the body.
async fn call(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    bearer: &str,
    body: &str,
) -> (u16, String, serde_json::Value) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {bearer}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    (
        status,
        head.to_string(),
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

fn chat(text: &str) -> String {
    serde_json::json!({"model": "m-1", "messages": [
        {"role": "system", "content": "triage"}, {"role": "user", "content": text}]})
    .to_string()
}

async fn ledger(addr: std::net::SocketAddr, marker: &str) -> Vec<serde_json::Value> {
    let (s, _, v) = call(
        addr,
        "GET",
        &format!("/_gauntlet/ledger?contains={marker}"),
        TOKEN,
        "",
    )
    .await;
    assert_eq!(s, 200);
    v["calls"].as_array().unwrap().clone()
}

#[tokio::test]
async fn answers_the_same_request_the_same_way_with_usage() {
    let addr = start().await;
    let path = "/v1/chat/completions";
    let (s, _, a) = call(
        addr,
        "POST",
        path,
        KEY,
        &chat("The app crashes on start m-a"),
    )
    .await;
    let (_, _, b) = call(
        addr,
        "POST",
        path,
        KEY,
        &chat("The app crashes on start m-a"),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(a, b);
    assert_eq!(a["choices"][0]["finish_reason"], "stop");
    assert_eq!(a["usage"]["prompt_tokens"], 7);
    let content: serde_json::Value =
        serde_json::from_str(a["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(content["category"], "bug");
    let calls = ledger(addr, "m-a").await;
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["authorization"], format!("Bearer {KEY}"));
    assert_eq!(calls[0]["usage"]["prompt_tokens"], 7);
    assert!(calls[0]["completed"].as_bool().unwrap());
}

#[tokio::test]
async fn refuses_a_wrong_key_and_records_it() {
    let addr = start().await;
    let (s, _, _) = call(addr, "POST", "/v1/chat/completions", "nope", &chat("m-k")).await;
    assert_eq!(s, 401);
    assert_eq!(ledger(addr, "m-k").await[0]["status"], 401);
}

#[tokio::test]
async fn control_routes_need_the_control_token() {
    let addr = start().await;
    let (s, _, _) = call(addr, "GET", "/_gauntlet/ledger", KEY, "").await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn faults_on_cue_hit_only_the_marked_prompts() {
    let addr = start().await;
    let rule = r#"{"contains":"m-f","times":1,"fault":{"kind":"status","status":429,"retry_after_secs":2}}"#;
    let (s, _, _) = call(addr, "POST", "/_gauntlet/faults", TOKEN, rule).await;
    assert_eq!(s, 204);
    let path = "/v1/chat/completions";
    assert_eq!(call(addr, "POST", path, KEY, &chat("other")).await.0, 200);
    let (s, head, _) = call(addr, "POST", path, KEY, &chat("m-f")).await;
    assert_eq!(s, 429);
    assert!(head.to_lowercase().contains("retry-after: 2"), "{head}");
    assert_eq!(call(addr, "POST", path, KEY, &chat("m-f")).await.0, 200);
    let calls = ledger(addr, "m-f").await;
    assert_eq!(calls[0]["fault"], "status 429");
    assert!(calls[0]["usage"].is_null());
}

#[tokio::test]
async fn invalid_and_truncated_content_break_the_contract() {
    let addr = start().await;
    for (marker, kind) in [("m-i", "invalid_content"), ("m-t", "truncated")] {
        let rule = format!(r#"{{"contains":"{marker}","fault":{{"kind":"{kind}"}}}}"#);
        call(addr, "POST", "/_gauntlet/faults", TOKEN, &rule).await;
    }
    let path = "/v1/chat/completions";
    let (_, _, a) = call(addr, "POST", path, KEY, &chat("m-i")).await;
    let c: serde_json::Value =
        serde_json::from_str(a["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(c["priority"], 9);
    let (_, _, t) = call(addr, "POST", path, KEY, &chat("m-t")).await;
    assert_eq!(t["choices"][0]["finish_reason"], "length");
}

#[tokio::test]
async fn a_caller_that_gives_up_on_a_slow_answer_leaves_it_incomplete() {
    let addr = start().await;
    let rule = r#"{"contains":"m-s","fault":{"kind":"slow","delay_ms":60000}}"#;
    call(addr, "POST", "/_gauntlet/faults", TOKEN, rule).await;
    let gave_up = tokio::time::timeout(
        Duration::from_millis(300),
        call(addr, "POST", "/v1/chat/completions", KEY, &chat("m-s")),
    )
    .await;
    assert!(gave_up.is_err());
    let calls = ledger(addr, "m-s").await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["completed"], false);
}

#[tokio::test]
async fn embeddings_are_deterministic_with_usage() {
    let addr = start().await;
    let body = r#"{"model":"e","input":["one two m-e","three"]}"#;
    let (s, _, a) = call(addr, "POST", "/v1/embeddings", KEY, body).await;
    assert_eq!(s, 200);
    assert_eq!(a["data"].as_array().unwrap().len(), 2);
    assert_eq!(a["usage"]["prompt_tokens"], 4);
    assert_eq!(ledger(addr, "m-e").await[0]["endpoint"], "embeddings");
}

#[tokio::test]
async fn a_dropped_answer_breaks_off_mid_body_and_stays_unanswered_in_the_ledger() {
    let addr = start().await;
    let rule = r#"{"contains":"m-d","times":1,"fault":{"kind":"dropped"}}"#;
    let (s, _, _) = call(addr, "POST", "/_gauntlet/faults", TOKEN, rule).await;
    assert_eq!(s, 204);
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = chat("m-d");
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    // The server closes the connection (cleanly or with a reset) without the chunked body's last chunk.
    let _ = sock.read_to_end(&mut raw).await;
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(
        raw.to_lowercase().contains("transfer-encoding: chunked"),
        "{raw}"
    );
    assert!(!raw.ends_with("0\r\n\r\n"), "the body was ended: {raw}");
    // The next call is answered in full.
    let (s, _, v) = call(addr, "POST", "/v1/chat/completions", KEY, &chat("m-d")).await;
    assert_eq!(s, 200);
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    let calls = ledger(addr, "m-d").await;
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["fault"], "dropped");
    assert_eq!(calls[0]["completed"], false);
    assert!(calls[0]["usage"].is_null());
    assert_eq!(calls[1]["completed"], true);
}
