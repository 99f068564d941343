//! Secured operations: requests with missing, malformed and expired credentials must get the documented
//! 401, whatever else is wrong with them. A small in-test API with a bearer scheme, whose handling of bad
//! tokens is chosen per test.

use gauntlet::checks::{CheckOutcome, Verdict};

use crate::fixture::assert_says;
use crate::tiny::{json, Headers, Tiny};

const DOC: &str = r#"{"openapi": "3.1.0", "info": {"title": "things", "version": "1"},
  "security": [{"bearer": []}],
  "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
  "paths": {"/things": {"post": {"operationId": "createThing",
    "requestBody": {"required": true, "content": {"application/json": {"schema":
      {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "maxLength": 10}}}}}},
    "responses": {"201": {"description": "made"}, "400": {"description": "not JSON"},
      "401": {"description": "no valid token"}, "422": {"description": "invalid"}}}}}}"#;

const CHECK: &str = "[[check]]\nid = \"s\"\nkind = \"openapi\"\ntitle = \"S\"\npillar = \"api\"\n\
    [check.openapi]\n[check.openapi.generate]\ncases = 16\nheaders = { Authorization = \"Bearer good\" }\n";

/// How the API treats a token that is not `good`.
#[derive(Clone, Copy)]
enum Tokens {
    /// 401 before anything else.
    Checked,
    /// Reads the token's claims, crashing on one that is not a JWT.
    CrashesOnGarbage,
    /// Validates the body before the caller.
    BodyFirst,
}

fn thing(headers: &Headers, body: &str, tokens: Tokens) -> crate::tiny::Reply {
    let auth = headers
        .iter()
        .find(|(n, _)| n == "authorization")
        .map(|(_, v)| v.as_str());
    let valid_body = || match serde_json::from_str::<serde_json::Value>(body) {
        Err(_) => Some(400),
        Ok(v) => match v.get("name").and_then(|n| n.as_str()) {
            Some(n) if n.chars().count() <= 10 => None,
            _ => Some(422),
        },
    };
    if auth == Some("Bearer good") {
        return match valid_body() {
            None => json(201, "{}"),
            Some(s) => json(s, "{}"),
        };
    }
    match tokens {
        Tokens::Checked => json(401, "{}"),
        Tokens::CrashesOnGarbage if auth.is_some_and(|a| a.split('.').count() != 3) => {
            json(500, "{}")
        }
        Tokens::CrashesOnGarbage => json(401, "{}"),
        Tokens::BodyFirst => match valid_body() {
            Some(s) => json(s, "{}"),
            None => json(401, "{}"),
        },
    }
}

async fn against(tokens: Tokens, verdict: Verdict) -> CheckOutcome {
    let tiny = Tiny::start(move |method, path, headers, body| match (method, path) {
        ("GET", "/openapi.json") => json(200, DOC),
        ("POST", "/things") => thing(headers, body, tokens),
        _ => json(404, "{}"),
    });
    let outcomes = crate::support::run(&crate::support::suite(CHECK), &tiny.target).await;
    let o = outcomes.into_iter().next().expect("one outcome");
    assert_eq!(o.verdict, verdict, "{}\n{}", o.message, o.detail);
    o
}

#[tokio::test]
async fn missing_malformed_and_expired_credentials_get_the_documented_401() {
    let o = against(Tokens::Checked, Verdict::Pass).await;
    for kind in [
        "no credentials",
        "malformed credentials",
        "expired credentials",
    ] {
        assert!(
            o.detail.contains(&format!("{kind} for createThing → 401")),
            "{kind}:\n{}",
            o.detail
        );
    }
    // The expired token is a JWT (three parts), sent in place of the lab's.
    assert!(
        o.detail.contains("> authorization: Bearer eyJ"),
        "{}",
        o.detail
    );
}

#[tokio::test]
async fn a_crash_on_a_malformed_token_is_caught() {
    let o = against(Tokens::CrashesOnGarbage, Verdict::Fail).await;
    assert_says(
        &o,
        "a request with malformed credentials for createThing got a server error (500) instead of 401",
    );
}

#[tokio::test]
async fn validating_the_body_before_the_caller_is_caught() {
    let o = against(Tokens::BodyFirst, Verdict::Fail).await;
    assert_says(&o, "for createThing got 422 instead of 401");
}
