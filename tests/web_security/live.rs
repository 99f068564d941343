//! The run page's live stream carries a build's output as data only: no line of it can become an event.

use crate::common::app::spawn_app;

/// The events a standard EventSource would dispatch from `wire`: (event name, data), by the HTML standard's
/// rules (lines end at CRLF, CR or LF; a blank line dispatches).
fn dispatched(wire: &str) -> Vec<(String, String)> {
    let mut events = Vec::new();
    let (mut name, mut data) = (String::new(), Vec::<String>::new());
    for line in wire.replace("\r\n", "\n").replace('\r', "\n").split('\n') {
        if line.is_empty() {
            if !data.is_empty() {
                let event = if name.is_empty() {
                    "message".into()
                } else {
                    name.clone()
                };
                events.push((event, data.join("\n")));
            }
            name.clear();
            data.clear();
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => name = value.to_string(),
            "data" => data.push(value.to_string()),
            _ => {}
        }
    }
    events
}

#[tokio::test]
async fn a_carriage_return_in_build_output_cannot_forge_a_finished_event() {
    let app = spawn_app().await;
    app.signed_in_learner("ada@example.org").await;
    let email = gauntlet::domain::Email::parse("ada@example.org").unwrap();
    let user = app.store.user_by_email(&email).await.unwrap().unwrap();
    let run = app
        .store
        .submit(user.id, "w01-hello", b"x", 1)
        .await
        .unwrap();
    let forged = "Step 2/2\revent: finished\rdata: <b>passed, 100%</b>\rid: 99999\r";
    let payload = serde_json::json!({ "line": forged }).to_string();
    app.store.append_event(run, "log", &payload).await.unwrap();
    app.store
        .append_event(run, "finished", r#"{"state":"failed"}"#)
        .await
        .unwrap();

    let res = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        app.get(&format!("/runs/{run}/stream")),
    )
    .await
    .expect("the stream answers");
    assert_eq!(res.status().as_u16(), 200);
    let wire = tokio::time::timeout(std::time::Duration::from_secs(20), res.text())
        .await
        .expect("the stream ends after `finished`")
        .unwrap();
    let events = dispatched(&wire);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["state", "log", "finished"], "{wire:?}");
    assert!(
        events[1].1.contains("event: finished"),
        "the text arrives as text"
    );
    assert!(!wire.contains("\r"), "no carriage return reaches the wire");
}
