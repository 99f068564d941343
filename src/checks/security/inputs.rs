//! The probes of hostile input: `injection` (payloads in the routes' `{payload}` slots) and `error_leaks`
//! (malformed requests whose error answers must not talk about the service's insides).
//!
//! Which payload of each class is sent is drawn from the probe's seeded generator, so a replayed run sends the
//! same ones; the leak patterns are fixed and avoid anything the payloads themselves contain, since a service
//! may rightly echo stored data.

use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::Value;

use super::auth::{request, with_route};
use super::jwt;
use super::session::{Answer, ProbeError, Req, Session};
use super::{Plant, Route, TokenSpec};

/// Payload classes: the learner's name for the class and the pool one payload is drawn from.
const CLASSES: &[(&str, &[&str])] = &[
    (
        "SQL injection",
        &[
            "' OR '1'='1",
            "' OR 1=1 --",
            "x' OR 'a'='a' --",
            "'; DROP TABLE notes; --",
            "' UNION SELECT NULL, NULL, NULL --",
            "%' OR '%'='",
        ],
    ),
    (
        "NoSQL injection",
        &[
            "{\"$ne\": null}",
            "{\"$gt\": \"\"}",
            "'; return true; var x='",
            "{\"$where\": \"sleep(1)\"}",
        ],
    ),
    (
        "path traversal",
        &[
            "../../../../etc/passwd",
            "..%2f..%2f..%2fetc%2fpasswd",
            "....//....//etc/passwd",
            "..\\..\\..\\windows\\win.ini",
        ],
    ),
    (
        "control characters",
        &["\u{0}", "a\u{0}b\r\nX-Injected: 1", "\u{202e}\u{feff}"],
    ),
];

/// Text that gives away the service's insides: the learner's name for it and the substrings.
const LEAKS: &[(&str, &[&str])] = &[
    (
        "a stack trace",
        &[
            "stack backtrace",
            "panicked at",
            "RUST_BACKTRACE",
            "Traceback (most recent call last)",
            "Exception in thread",
            "\n    at ",
            "goroutine ",
            "node_modules",
        ],
    ),
    (
        "a source file path",
        &[
            ".rs:",
            ".py\", line",
            ".go:",
            ".java:",
            "/src/",
            "/home/",
            "/usr/src/",
            "C:\\",
        ],
    ),
    (
        "database error text",
        &[
            "SQLITE_",
            "sqlite3",
            "\": syntax error",
            "syntax error at or near",
            "SQLSTATE",
            "PG::",
            "psycopg",
            "ORA-0",
            "SQL syntax",
            "sqlx::",
            "MongoError",
        ],
    ),
];

/// What a leak check looks for besides the fixed patterns.
struct LeakRules<'a> {
    secrets: &'a [String],
    marker: Option<&'a str>,
    banners: bool,
}

/// The first leak in an answer, in the learner's terms.
fn leak(a: &Answer, rules: &LeakRules) -> Option<&'static str> {
    let text = a.text();
    if rules.marker.is_some_and(|m| text.contains(m)) {
        return Some("another user's data");
    }
    if rules.secrets.iter().any(|s| {
        !s.is_empty()
            && (text.contains(s.as_str()) || a.headers.iter().any(|(_, v)| v.contains(s.as_str())))
    }) {
        return Some("the value of a secret");
    }
    if rules.banners
        && (a.header("x-powered-by").is_some()
            || a.header("server")
                .is_some_and(|v| v.contains(|c: char| c.is_ascii_digit())))
    {
        return Some("a framework banner with its version");
    }
    LEAKS
        .iter()
        .find(|(_, pats)| pats.iter().any(|p| text.contains(p)))
        .map(|(what, _)| *what)
}

/// `route` with `payload` in its `{payload}` slots: percent-encoded in the path, verbatim in JSON strings.
fn with_payload(route: &Route, payload: &str) -> Route {
    let encoded: String = url::form_urlencoded::byte_serialize(payload.as_bytes()).collect();
    Route {
        method: route.method.clone(),
        path: route.path.replace("{payload}", &encoded),
        json: route.json.as_ref().map(|v| fill(v, "{payload}", payload)),
    }
}

/// Replaces `slot` in every string of a JSON value.
pub(super) fn fill(v: &Value, slot: &str, with: &str) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace(slot, with)),
        Value::Array(a) => Value::Array(a.iter().map(|x| fill(x, slot, with)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), fill(x, slot, with)))
                .collect(),
        ),
        other => other.clone(),
    }
}

pub(super) fn token_for(
    s: &mut Session<'_>,
    spec: Option<&TokenSpec>,
) -> Result<Option<String>, ProbeError> {
    match spec {
        Some(spec) => {
            let secret = s.env_value(&spec.secret_env)?;
            Ok(Some(jwt::valid(spec, &secret, &mut s.rng)))
        }
        None => Ok(None),
    }
}

pub(super) async fn injection(
    s: &mut Session<'_>,
    routes: &[Route],
    spec: Option<&TokenSpec>,
    plant: Option<&Plant>,
) -> Result<(), ProbeError> {
    let token = token_for(s, spec)?;
    let marker = match (plant, spec) {
        (Some(p), Some(spec)) => Some(planted(s, p, spec).await?),
        _ => None,
    };
    let mut payloads: Vec<(&str, String)> = Vec::new();
    for (class, pool) in CLASSES {
        if let Some(p) = pool.choose(&mut s.rng) {
            payloads.push((class, (*p).to_string()));
        }
    }
    let long = 6000 + s.rng.gen_range(0..2000);
    payloads.push(("an oversized input", "A".repeat(long)));
    let secrets: Vec<String> = spec
        .and_then(|t| s.env.get(&t.secret_env).cloned())
        .into_iter()
        .collect();
    let rules = LeakRules {
        secrets: &secrets,
        marker: marker.as_deref(),
        banners: false,
    };
    for route in routes {
        for (class, payload) in &payloads {
            let r = with_payload(route, payload);
            let a = s
                .send(class, request(&r, None).bearer(token.as_deref()))
                .await?;
            let what = if a.status >= 500 {
                Some(format!(
                    "{class} input made the service answer {}",
                    a.status
                ))
            } else {
                leak(&a, &rules).map(|l| format!("{class} input produced an answer containing {l}"))
            };
            if let Some(what) = what {
                return Err(ProbeError::Failed(with_route(&what, route)));
            }
        }
    }
    Ok(())
}

/// Creates another user's resource holding a random marker; returns the marker.
async fn planted(s: &mut Session<'_>, p: &Plant, spec: &TokenSpec) -> Result<String, ProbeError> {
    let marker = format!("gauntlet-{:016x}", s.rng.gen::<u64>());
    let victim = TokenSpec {
        subject: p.subject.clone(),
        ..spec.clone()
    };
    let token = token_for(s, Some(&victim))?;
    let route = Route {
        method: p.route.method.clone(),
        path: p.route.path.replace("{marker}", &marker),
        json: p.route.json.as_ref().map(|v| fill(v, "{marker}", &marker)),
    };
    let a = s
        .send(
            "another user plants data",
            request(&route, None).bearer(token.as_deref()),
        )
        .await?;
    if !a.success() {
        return Err(ProbeError::Failed(format!(
            "creating data with a valid token did not succeed (status {})",
            a.status
        )));
    }
    Ok(marker)
}

/// Malformed requests every route must answer without leaking.
fn malformed(route: &Route) -> Vec<(&'static str, Req)> {
    let base = route
        .path
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_end_matches('/');
    let mut all = vec![
        ("broken JSON body", request(route, None).raw("application/json", b"{\"title\": ")),
        (
            "JSON of the wrong types",
            request(route, None).raw(
                "application/json",
                br#"{"title": 123456789012345678901234567890, "tags": {"$x": [null]}, "body": [[[[]]]]}"#,
            ),
        ),
        ("an unexpected content type", request(route, None).raw("application/xml", b"<x/>")),
        ("an invalid path segment", Req::new(&route.method, &format!("{base}/%ff%fe%00"))),
        ("a huge identifier", Req::new(&route.method, &format!("{base}/{}", "9".repeat(40)))),
    ];
    all.push((
        "a garbled bearer token",
        request(route, None).header("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.!!!.%%%"),
    ));
    all
}

pub(super) async fn error_leaks(
    s: &mut Session<'_>,
    routes: &[Route],
    spec: Option<&TokenSpec>,
    secret_envs: &[String],
) -> Result<(), ProbeError> {
    let token = token_for(s, spec)?;
    let mut secrets = Vec::new();
    for name in secret_envs {
        match s.env.get(name) {
            Some(v) => secrets.push(v.clone()),
            None => s.note(&format!(
                "(no `{name}` in the run's environment; not looked for)"
            )),
        }
    }
    let rules = LeakRules {
        secrets: &secrets,
        marker: None,
        banners: true,
    };
    for route in routes {
        for (attack, req) in malformed(route) {
            let req = if attack == "a garbled bearer token" {
                req
            } else {
                req.bearer(token.as_deref())
            };
            let a = s.send(attack, req).await?;
            if let Some(l) = leak(&a, &rules) {
                let what = format!("an answer to {attack} contained {l}");
                return Err(ProbeError::Failed(with_route(&what, route)));
            }
        }
    }
    Ok(())
}
