//! Unjudged setup steps and captures across checks: a service whose login is not in its document (so a
//! judged step could never sign in) is exercised signed in through an openapi check's setup, and a later
//! check that depends on it sends its generated requests with the token that setup captured.

use gauntlet::checks::Verdict;

use crate::fixture::assert_says;
use crate::tiny::{json, Tiny};

/// A secured create operation; the login that issues the token is left out of the document.
const DOC: &str = r#"{"openapi": "3.1.0", "info": {"title": "things", "version": "1"},
  "security": [{"bearer": []}],
  "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
  "paths": {"/things": {"post": {"operationId": "createThing",
    "requestBody": {"required": true, "content": {"application/json": {"schema":
      {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "maxLength": 10}}}}}},
    "responses": {"201": {"description": "made"}, "400": {"description": "not JSON"},
      "401": {"description": "no valid token"}, "422": {"description": "invalid"}}}}}}"#;

const LOGIN: &str = "[[check.openapi.setup]]\nmethod = \"POST\"\npath = \"/login\"\n\
    json = { user = \"ada\" }\n[check.openapi.setup.expect]\nstatus = 200\n\
    [check.openapi.setup.capture]\ntoken = \"/token\"\n";

fn api() -> Tiny {
    Tiny::start(|method, path, headers, body| match (method, path) {
        ("GET", "/openapi.json") => json(200, DOC),
        ("POST", "/login") => json(200, r#"{"token": "t-4711"}"#),
        ("POST", "/things") => {
            let signed_in = headers
                .iter()
                .any(|(n, v)| n == "authorization" && v == "Bearer t-4711");
            if !signed_in {
                return json(401, "{}");
            }
            match serde_json::from_str::<serde_json::Value>(body) {
                Err(_) => json(400, "{}"),
                Ok(v) => match v.get("name").and_then(|n| n.as_str()) {
                    Some(n) if n.chars().count() <= 10 => json(201, "{}"),
                    _ => json(422, "{}"),
                },
            }
        }
        _ => json(404, "{}"),
    })
}

#[tokio::test]
async fn setup_signs_in_and_a_dependent_check_uses_its_token() {
    let tiny = api();
    let toml = format!(
        "[[check]]\nid = \"signed-in\"\nkind = \"openapi\"\ntitle = \"A\"\npillar = \"api\"\n\
         [check.openapi]\n[check.openapi.generate]\ncases = 6\n\
         headers = {{ Authorization = \"Bearer {{{{token}}}}\" }}\n\n{LOGIN}\n\
         [[check]]\nid = \"later\"\nkind = \"openapi\"\ntitle = \"B\"\npillar = \"api\"\n\
         depends_on = [\"signed-in\"]\n[check.openapi]\n[check.openapi.generate]\ncases = 6\n\
         headers = {{ Authorization = \"Bearer {{{{token}}}}\" }}\n"
    );
    let outcomes = crate::support::run(&crate::support::suite(&toml), &tiny.target).await;
    assert_eq!(outcomes.len(), 2);
    for o in &outcomes {
        assert_eq!(
            o.verdict,
            Verdict::Pass,
            "{}: {}\n{}",
            o.check_id,
            o.message,
            o.detail
        );
        // Valid requests went out signed in and were served.
        assert!(
            o.detail.contains("valid request for createThing → 201"),
            "{}",
            o.detail
        );
    }
    assert!(outcomes[0]
        .detail
        .contains("══ setup: not judged against the document"));
    // The later check ran no login of its own: the token came from the check it depends on.
    assert!(
        !outcomes[1].detail.contains("/login"),
        "{}",
        outcomes[1].detail
    );
}

#[tokio::test]
async fn the_same_login_as_a_judged_step_fails_since_the_document_leaves_it_out() {
    let tiny = api();
    let toml = "[[check]]\nid = \"judged\"\nkind = \"openapi\"\ntitle = \"A\"\npillar = \"api\"\n\
         [check.openapi]\n\n[[check.step]]\nmethod = \"POST\"\npath = \"/login\"\njson = { user = \"ada\" }\n";
    let outcomes = crate::support::run(&crate::support::suite(toml), &tiny.target).await;
    assert_eq!(outcomes[0].verdict, Verdict::Fail, "{}", outcomes[0].detail);
}

#[tokio::test]
async fn a_failing_setup_step_fails_the_check_and_says_so() {
    let tiny = api();
    let toml = format!(
        "[[check]]\nid = \"s\"\nkind = \"openapi\"\ntitle = \"A\"\npillar = \"api\"\n\
         [check.openapi]\n\n{}",
        LOGIN.replace("status = 200", "status = 201")
    );
    let outcomes = crate::support::run(&crate::support::suite(&toml), &tiny.target).await;
    assert_eq!(outcomes[0].verdict, Verdict::Fail, "{}", outcomes[0].detail);
    assert_says(&outcomes[0], "failed at setup step 1 of 1");
}
