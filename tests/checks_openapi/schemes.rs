//! Security schemes beyond a bearer header: an API key in a cookie and in the query, OAuth 2 and OpenID
//! Connect (whose access or ID token a client sends as a bearer token). Each credential is sent valid from
//! the check's `headers` and `query`, and missing, malformed and expired in its own place; each bad one must
//! get the documented 401.

use gauntlet::checks::{CheckOutcome, Verdict};

use crate::fixture::assert_says;
use crate::tiny::{json, Headers, Tiny};

const DOC: &str = r##"{"openapi": "3.1.0", "info": {"title": "things", "version": "1"},
  "components": {
    "securitySchemes": {
      "session": {"type": "apiKey", "in": "cookie", "name": "sid"},
      "key": {"type": "apiKey", "in": "query", "name": "api_key"},
      "oauth": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "/token", "scopes": {"w": "write"}}}},
      "oidc": {"type": "openIdConnect", "openIdConnectUrl": "/.well-known/openid-configuration"}
    },
    "schemas": {"New": {"type": "object", "required": ["name"],
      "properties": {"name": {"type": "string", "maxLength": 10}}}},
    "requestBodies": {"New": {"required": true, "content": {"application/json": {"schema":
      {"$ref": "#/components/schemas/New"}}}}},
    "responses": {
      "201": {"description": "made"}, "400": {"description": "not JSON"},
      "401": {"description": "no valid credential"}, "422": {"description": "invalid"}}
  },
  "paths": {
    "/a": {"post": {"operationId": "byCookie", "security": [{"session": []}],
      "requestBody": {"$ref": "#/components/requestBodies/New"},
      "responses": {"201": {"$ref": "#/components/responses/201"}, "400": {"$ref": "#/components/responses/400"},
        "401": {"$ref": "#/components/responses/401"}, "422": {"$ref": "#/components/responses/422"}}}},
    "/b": {"post": {"operationId": "byQueryKey", "security": [{"key": []}],
      "requestBody": {"$ref": "#/components/requestBodies/New"},
      "responses": {"201": {"$ref": "#/components/responses/201"}, "400": {"$ref": "#/components/responses/400"},
        "401": {"$ref": "#/components/responses/401"}, "422": {"$ref": "#/components/responses/422"}}}},
    "/c": {"post": {"operationId": "byOAuth", "security": [{"oauth": ["w"]}],
      "requestBody": {"$ref": "#/components/requestBodies/New"},
      "responses": {"201": {"$ref": "#/components/responses/201"}, "400": {"$ref": "#/components/responses/400"},
        "401": {"$ref": "#/components/responses/401"}, "422": {"$ref": "#/components/responses/422"}}}},
    "/d": {"post": {"operationId": "byOpenId", "security": [{"oidc": []}],
      "requestBody": {"$ref": "#/components/requestBodies/New"},
      "responses": {"201": {"$ref": "#/components/responses/201"}, "400": {"$ref": "#/components/responses/400"},
        "401": {"$ref": "#/components/responses/401"}, "422": {"$ref": "#/components/responses/422"}}}}
  }}"##;

const CHECK: &str = "[[check]]\nid = \"s\"\nkind = \"openapi\"\ntitle = \"S\"\npillar = \"api\"\n\
    [check.openapi]\n[check.openapi.generate]\n\
    operations = [\"POST /a\", \"POST /b\", \"POST /c\", \"POST /d\"]\ncases = 80\n\
    headers = { Authorization = \"Bearer good\", Cookie = \"theme=dark; sid=good\" }\n\
    query = { api_key = \"good\" }\n";

/// What the API gets wrong, if anything.
#[derive(Clone, Copy, PartialEq)]
enum Flaw {
    None,
    /// Splits the session cookie's value and crashes on one it cannot split.
    CookieCrash,
    /// Serves requests without the query key.
    KeyOptional,
    /// Reads an OAuth token's claims before its signature, taking an expired one.
    ExpiredTaken,
}

/// The credential of the request for `path`, as the API reads it.
fn credential(path: &str, headers: &Headers) -> (Option<String>, &'static str) {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    match route {
        "/a" => (
            header("cookie").and_then(|c| {
                c.split(';')
                    .filter_map(|p| p.trim().strip_prefix("sid=").map(str::to_string))
                    .next()
            }),
            "cookie",
        ),
        "/b" => (
            query
                .split('&')
                .filter_map(|p| p.strip_prefix("api_key=").map(str::to_string))
                .next(),
            "query",
        ),
        _ => (
            header("authorization").and_then(|a| a.strip_prefix("Bearer ").map(str::to_string)),
            "bearer",
        ),
    }
}

fn answer(path: &str, headers: &Headers, body: &str, flaw: Flaw) -> crate::tiny::Reply {
    let (value, place) = credential(path, headers);
    let allowed = match (value.as_deref(), place, flaw) {
        (Some("good"), _, _) => true,
        (None, "query", Flaw::KeyOptional) => true,
        (Some(v), "cookie", Flaw::CookieCrash) if !v.contains('.') => return json(500, "{}"),
        (Some(v), "bearer", Flaw::ExpiredTaken) if v.split('.').count() == 3 => true,
        _ => false,
    };
    if !allowed {
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

async fn against(flaw: Flaw, verdict: Verdict) -> CheckOutcome {
    let tiny = Tiny::start(move |method, path, headers, body| match (method, path) {
        ("GET", "/openapi.json") => json(200, DOC),
        ("POST", p) => answer(p, headers, body, flaw),
        _ => json(404, "{}"),
    });
    let outcomes = crate::support::run(&crate::support::suite(CHECK), &tiny.target).await;
    let o = outcomes.into_iter().next().expect("one outcome");
    assert_eq!(o.verdict, verdict, "{}\n{}", o.message, o.detail);
    o
}

#[tokio::test]
async fn cookie_query_oauth2_and_openid_credentials_are_broken_in_their_own_place() {
    let o = against(Flaw::None, Verdict::Pass).await;
    for op in ["byCookie", "byQueryKey", "byOAuth", "byOpenId"] {
        for kind in [
            "no credentials",
            "malformed credentials",
            "expired credentials",
        ] {
            assert!(
                o.detail.contains(&format!("{kind} for {op} → 401")),
                "{kind} for {op}:\n{}",
                o.detail
            );
        }
    }
    // Each bad credential replaces the lab's in its own place, the other cookies kept.
    assert!(
        o.detail
            .contains("> cookie: theme=dark; sid=not-a-credential"),
        "{}",
        o.detail
    );
    assert!(o.detail.contains("/b?api_key=eyJ"), "{}", o.detail);
    assert!(
        o.detail.contains("> authorization: Bearer eyJ"),
        "{}",
        o.detail
    );
}

#[tokio::test]
async fn a_crash_on_a_malformed_session_cookie_is_caught() {
    let o = against(Flaw::CookieCrash, Verdict::Fail).await;
    assert_says(
        &o,
        "a request with malformed credentials for byCookie got a server error (500) instead of 401",
    );
}

#[tokio::test]
async fn a_query_key_that_is_not_required_is_caught() {
    let o = against(Flaw::KeyOptional, Verdict::Fail).await;
    assert_says(
        &o,
        "a request with no credentials for byQueryKey got 422 instead of 401",
    );
}

#[tokio::test]
async fn an_expired_oauth_token_that_is_taken_is_caught() {
    let o = against(Flaw::ExpiredTaken, Verdict::Fail).await;
    assert_says(&o, "a request with expired credentials for byOAuth got ");
}
