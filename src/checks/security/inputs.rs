//! The probes of hostile input: `injection` (payloads in the routes' `{payload}` slots) and `error_leaks`
//! (malformed requests whose error answers must not talk about the service's insides).
//!
//! Which payload of each class is sent is drawn from the probe's seeded generator, so a replayed run sends the
//! same ones; the leak patterns are fixed and avoid anything the payloads themselves contain, since a service
//! may rightly echo stored data.

use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
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
        "time-based SQL injection",
        &[
            "' OR SLEEP(3) -- ",
            "'; SELECT pg_sleep(3); --",
            "' || pg_sleep(3) || '",
            "1 AND SLEEP(3)",
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

/// Every kind of leak in an answer, in the learner's terms, in a fixed order.
fn leaks(a: &Answer, rules: &LeakRules) -> Vec<&'static str> {
    let text = a.text();
    let mut found = Vec::new();
    if rules.marker.is_some_and(|m| text.contains(m)) {
        found.push("another user's data");
    }
    if rules.secrets.iter().any(|s| {
        !s.is_empty()
            && (text.contains(s.as_str()) || a.headers.iter().any(|(_, v)| v.contains(s.as_str())))
    }) {
        found.push("the value of a secret");
    }
    if rules.banners
        && (a.header("x-powered-by").is_some()
            || a.header("server")
                .is_some_and(|v| v.contains(|c: char| c.is_ascii_digit())))
    {
        found.push("a framework banner with its version");
    }
    found.extend(
        LEAKS
            .iter()
            .filter(|(_, pats)| pats.iter().any(|p| text.contains(p)))
            .map(|(what, _)| *what),
    );
    found
}

/// The first leak in an answer, in the learner's terms.
fn leak(a: &Answer, rules: &LeakRules) -> Option<&'static str> {
    leaks(a, rules).into_iter().next()
}

/// What stays unencoded in a path or query: RFC 3986's unreserved characters. A space becomes `%20`, never
/// `+`, which only form bodies and some query parsers read as a space (a path keeps it as a plus).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `route` with `payload` in its `{payload}` slots: percent-encoded in the path, verbatim in JSON strings.
pub(super) fn with_payload(route: &Route, payload: &str) -> Route {
    let encoded = utf8_percent_encode(payload, ENCODE).to_string();
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

/// How much longer than the benign request a time-based payload's answer may take before the delay counts
/// as the payload's `sleep` having run (the payloads ask for 3 s).
const DELAY: Duration = Duration::from_millis(2500);

/// One answer reduced to what the differential judgement compares.
struct Observed {
    status: u16,
    /// Objects in the answer's arrays that do not carry the sent value (rows the request did not ask for).
    rows: usize,
    elapsed: Duration,
}

/// Sends `route` with `value` in its slots and observes the answer.
async fn observe(
    s: &mut Session<'_>,
    label: &str,
    route: &Route,
    value: &str,
    token: Option<&str>,
) -> Result<(Answer, Observed), ProbeError> {
    let started = tokio::time::Instant::now();
    let a = s
        .send(
            label,
            request(&with_payload(route, value), None).bearer(token),
        )
        .await?;
    let elapsed = started.elapsed();
    let rows = if a.success() {
        serde_json::from_slice::<Value>(&a.body).map_or(0, |v| unasked_rows(&v, value))
    } else {
        0
    };
    let o = Observed {
        status: a.status,
        rows,
        elapsed,
    };
    Ok((a, o))
}

/// Objects inside arrays of `v` (at any depth) with no string containing `sent`: what a search returned
/// besides the records the value itself created or matched.
fn unasked_rows(v: &Value, sent: &str) -> usize {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|x| {
                let own = usize::from(x.is_object() && !carries(x, sent));
                own + unasked_rows(x, sent)
            })
            .sum(),
        Value::Object(o) => o.values().map(|x| unasked_rows(x, sent)).sum(),
        _ => 0,
    }
}

/// Whether a string anywhere in `v` contains `sent`.
fn carries(v: &Value, sent: &str) -> bool {
    match v {
        Value::String(s) => s.contains(sent),
        Value::Array(a) => a.iter().any(|x| carries(x, sent)),
        Value::Object(o) => o.values().any(|x| carries(x, sent)),
        _ => false,
    }
}

/// What a payload's answer gives away compared with the benign one's, in the learner's terms.
fn differs(class: &str, benign: &Observed, hostile: &Observed) -> Option<String> {
    if hostile.status >= 500 {
        return Some(format!(
            "{class} input made the service answer {}",
            hostile.status
        ));
    }
    if hostile.rows > benign.rows {
        return Some(format!(
            "{class} input returned {} more records than an ordinary value (status {})",
            hostile.rows - benign.rows,
            hostile.status
        ));
    }
    if class.starts_with("time-based") && hostile.elapsed > benign.elapsed + DELAY {
        return Some(format!(
            "{class} input delayed the answer by {:.1} s: the payload's sleep ran",
            hostile.elapsed.saturating_sub(benign.elapsed).as_secs_f64()
        ));
    }
    None
}

/// Judged differentially: each route is first sent with a benign value, and each payload's answer is compared
/// with it (a 5xx, more records, a delay for the time-based payloads), besides the leaks of [`leak`].
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
    let benign = format!("gauntlet{:08x}", s.rng.gen::<u32>());
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
        let (_, base) = observe(s, "a benign value", route, &benign, token.as_deref()).await?;
        s.note(&format!(
            "(benign: status {}, {} records, {} ms)",
            base.status,
            base.rows,
            base.elapsed.as_millis()
        ));
        for (class, payload) in &payloads {
            let (a, seen) = observe(s, class, route, payload, token.as_deref()).await?;
            let leaked = leak(&a, &rules)
                .map(|l| format!("{class} input produced an answer containing {l}"));
            let what = if seen.status >= 500 {
                differs(class, &base, &seen)
            } else {
                leaked.or_else(|| differs(class, &base, &seen))
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
    // Every finding is reported, not only the first: a learner fixing one leak should see the others too.
    let mut findings: Vec<String> = Vec::new();
    for route in routes {
        // The attacks of this route whose answers leaked the same things, in the order first seen.
        let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
        for (attack, req) in malformed(route) {
            let req = if attack == "a garbled bearer token" {
                req
            } else {
                req.bearer(token.as_deref())
            };
            let a = s.send(attack, req).await?;
            let found = leaks(&a, &rules);
            if found.is_empty() {
                continue;
            }
            let what = found.join(" and ");
            match groups.iter_mut().find(|(w, _)| *w == what) {
                Some((_, attacks)) => attacks.push(attack),
                None => groups.push((what, vec![attack])),
            }
        }
        for (what, attacks) in groups {
            let to = if attacks.len() == 1 {
                "an answer to"
            } else {
                "answers to"
            };
            let what = format!("{to} {} contained {what}", attacks.join(", "));
            findings.push(with_route(&what, route));
        }
    }
    if findings.is_empty() {
        return Ok(());
    }
    Err(ProbeError::Failed(findings.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_in_a_path_is_percent_encoded_with_no_plus_for_a_space() {
        let route = Route {
            method: "GET".into(),
            path: "/x/{payload}?q={payload}".into(),
            json: Some(serde_json::json!({"t": "{payload}"})),
        };
        let r = with_payload(&route, "a b+c/é'~");
        assert_eq!(r.path, "/x/a%20b%2Bc%2F%C3%A9%27~?q=a%20b%2Bc%2F%C3%A9%27~");
        assert_eq!(r.json, Some(serde_json::json!({"t": "a b+c/é'~"})));
    }

    #[test]
    fn rows_that_carry_the_sent_value_are_not_counted_as_unasked() {
        let v = serde_json::json!({"items": [{"title": "x"}, {"title": "a-sent-b"}, {"tags": ["sent"]}], "n": 3});
        assert_eq!(unasked_rows(&v, "sent"), 1);
        assert_eq!(
            unasked_rows(&serde_json::json!({"tags": ["a", "b"]}), "z"),
            0
        );
    }
}
