//! The rules on hand-made span sets: the shapes the w11 mutants produce, each refused by its rule alone.

use serde_json::json;

use super::super::traffic::{Sent, SentRequest};
use super::super::{Phase, Rule};
use super::*;

const T: &str = "0af7651916cd43dd8448eb211c80319c";
const P: &str = "b7ad6b7169203331";

fn request(trace: Option<&str>, parent: Option<&str>) -> SentRequest {
    SentRequest {
        method: "GET".into(),
        path: "/v1/notes/x1".into(),
        route: Some("/v1/notes/{id}".into()),
        traceparent: trace.map(|t| format!("00-{t}-{}-01", parent.unwrap_or_default())),
        trace_id: trace.map(str::to_string),
        parent_id: parent.map(str::to_string),
        invalid: None,
        status: 404,
    }
}

fn sent(phase: Phase, requests: Vec<SentRequest>) -> Sent {
    Sent {
        phase,
        since_unix_nano: 0,
        requests,
    }
}

fn span(trace: &str, id: &str, parent: &str) -> ReceivedSpan {
    serde_json::from_value(json!({
        "trace_id": trace, "span_id": id, "parent_span_id": parent, "name": "GET /v1/notes/{id}",
        "kind": "SERVER", "service_name": "svc-123", "encoding": "json",
        "attributes": {"http.request.method": "GET", "http.route": "/v1/notes/{id}", "http.response.status_code": 404}
    }))
    .expect("span")
}

fn rules_failed(rules: &[Rule], sent: &Sent, spans: &[ReceivedSpan]) -> Vec<Rule> {
    judge(rules, sent, spans, Some("svc-123"))
        .into_iter()
        .map(|f| f.rule)
        .collect()
}

const TRACED: [Rule; 4] = [
    Rule::ContinuesTrace,
    Rule::ServerKind,
    Rule::HttpAttributes,
    Rule::ServiceName,
];

#[test]
fn a_server_span_in_the_callers_trace_passes_every_traced_rule() {
    let s = sent(Phase::Traced, vec![request(Some(T), Some(P))]);
    let spans = vec![span(T, "1111111111111111", P)];
    assert!(rules_failed(&TRACED, &s, &spans).is_empty());
    assert!(arrived(&s, &spans));
}

#[test]
fn a_dropped_or_wrong_parent_fails_continuation() {
    let s = sent(Phase::Traced, vec![request(Some(T), Some(P))]);
    let dropped = vec![span(
        "11111111111111111111111111111111",
        "1111111111111111",
        "",
    )];
    assert!(arrived(&s, &dropped));
    assert_eq!(
        rules_failed(&[Rule::ContinuesTrace], &s, &dropped),
        vec![Rule::ContinuesTrace]
    );
    let wrong = vec![span(T, "1111111111111111", "2222222222222222")];
    let found = judge(&[Rule::ContinuesTrace], &s, &wrong, None);
    assert!(
        found[0].what.contains("none has the caller's span"),
        "{found:?}"
    );
    let nothing = judge(&[Rule::ContinuesTrace], &s, &[], None);
    assert!(nothing[0].what.contains("no span arrived"), "{nothing:?}");
}

#[test]
fn kind_attributes_and_service_name_are_judged_each_by_its_rule() {
    let s = sent(Phase::Traced, vec![request(Some(T), Some(P))]);
    let mut client = span(T, "1111111111111111", P);
    client.kind = "CLIENT".into();
    assert_eq!(rules_failed(&TRACED, &s, &[client]), vec![Rule::ServerKind]);
    let mut bare = span(T, "1111111111111111", P);
    bare.attributes.clear();
    assert_eq!(
        rules_failed(&TRACED, &s, &[bare]),
        vec![Rule::HttpAttributes]
    );
    let mut raw_route = span(T, "1111111111111111", P);
    raw_route
        .attributes
        .insert("http.route".into(), json!("/v1/notes/x1"));
    assert_eq!(
        rules_failed(&TRACED, &s, &[raw_route]),
        vec![Rule::HttpAttributes]
    );
    let mut wrong_status = span(T, "1111111111111111", P);
    wrong_status
        .attributes
        .insert("http.response.status_code".into(), json!(200));
    assert_eq!(
        rules_failed(&TRACED, &s, &[wrong_status]),
        vec![Rule::HttpAttributes]
    );
    let mut named = span(T, "1111111111111111", P);
    named.service_name = Some("notes-service".into());
    let found = judge(&TRACED, &s, &[named], Some("svc-123"));
    assert_eq!(found.len(), 1);
    assert!(
        !found[0].what.contains("svc-123"),
        "the expected name is not shown"
    );
}

#[test]
fn older_attribute_names_and_string_statuses_are_accepted() {
    let s = sent(Phase::Traced, vec![request(Some(T), Some(P))]);
    let mut old = span(T, "1111111111111111", P);
    old.attributes = serde_json::from_value(
        json!({"http.method": "GET", "http.route": "/v1/notes/{id}", "http.status_code": "404"}),
    )
    .unwrap();
    assert!(rules_failed(&TRACED, &s, &[old]).is_empty());
}

#[test]
fn requests_without_traceparent_need_one_new_trace_each() {
    let s = sent(
        Phase::Without,
        vec![request(None, None), request(None, None)],
    );
    let fresh = vec![
        span("11111111111111111111111111111111", "1111111111111111", ""),
        span("22222222222222222222222222222222", "2222222222222222", ""),
        // A child span is welcome.
        span(
            "22222222222222222222222222222222",
            "3333333333333333",
            "2222222222222222",
        ),
    ];
    assert!(rules_failed(&[Rule::NewTraceWithout], &s, &fresh).is_empty());
    let reused = vec![
        span("11111111111111111111111111111111", "1111111111111111", ""),
        span("11111111111111111111111111111111", "2222222222222222", ""),
    ];
    let found = judge(&[Rule::NewTraceWithout], &s, &reused, None);
    assert!(found[0].what.contains("only 1 trace"), "{found:?}");
    assert!(!judge(&[Rule::NewTraceWithout], &s, &fresh[..1], None).is_empty());
}

#[test]
fn an_invalid_traceparent_that_is_continued_fails() {
    let mut bad = request(Some(T), Some("0000000000000000"));
    bad.invalid = Some("all-zero parent id");
    let s = sent(Phase::Invalid, vec![bad]);
    let continued = vec![span(T, "1111111111111111", "0000000000000000")];
    assert!(arrived(&s, &continued));
    let found = judge(&[Rule::NewTraceOnInvalid], &s, &continued, None);
    assert!(found[0].what.contains("all-zero parent id"), "{found:?}");
    let fresh = vec![span(
        "33333333333333333333333333333333",
        "1111111111111111",
        "",
    )];
    assert!(rules_failed(&[Rule::NewTraceOnInvalid], &s, &fresh).is_empty());
}
