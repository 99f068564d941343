//! Matching one answer against a step's expectations, and the ways a step can fail.
//!
//! A [`Failure`] has two faces, like every learner-visible error in Gauntlet: its `Display` is the general,
//! learner-safe phrase (never an expected value, a header value or a payload), and [`Failure::detail`] is the
//! precise diff for the hidden transcript.

use serde_json::Value;

use super::{Expect, StatusExpect};

/// A response as received, for matching and for the transcript.
#[derive(Debug, Clone)]
pub(in crate::checks) struct Answer {
    pub status: u16,
    /// Lower-case names, in the order received.
    pub headers: Vec<(String, String)>,
    /// At most the bytes kept for matching; see `truncated`.
    pub body: Vec<u8>,
    /// The body was longer than what was kept.
    pub truncated: bool,
    pub elapsed_ms: u64,
}

/// Why a step failed, by the learner's service.
#[derive(Debug, Clone, thiserror::Error)]
pub(in crate::checks) enum Failure {
    #[error("the status was {got} (not what was expected)")]
    Status { got: u16, expected: StatusExpect },
    #[error("a response header was missing or not as expected")]
    Header {
        name: String,
        pattern: String,
        got: Vec<String>,
    },
    #[error("the response body was larger than allowed")]
    TooLarge { limit: usize, got: usize },
    #[error("the response body was not valid JSON")]
    NotJson { error: String },
    #[error("the response body was not the expected JSON")]
    Json {
        at: String,
        expected: String,
        got: String,
    },
    /// The body broke the step's JSON Schema; the violations (pointer and message) are for the transcript.
    #[error("the response body did not have the expected structure")]
    Schema { violations: Vec<String> },
    #[error("the answer took longer than allowed")]
    TooSlow { limit_ms: u64, got_ms: u64 },
    #[error("no answer within the time limit")]
    Timeout { after_ms: u64 },
    #[error("connection refused")]
    Refused { error: String },
    #[error("the service could not be reached")]
    Unreachable { error: String },
    #[error("the connection failed before a complete answer arrived")]
    Transport { error: String },
    #[error("a value that later steps need was missing from the response")]
    CaptureMissing { name: String, from: String },
    #[error("a path taken from an earlier answer was not a usable path")]
    BadPath { value: String },
    /// A path (from an answer or the learner's document) that names another host, like `//host/x`.
    #[error(
        "a request would have gone to another host than your service (a path starting with `//`?)"
    )]
    OffTarget { value: String },
    /// The answer broke a contract beyond the step's own expectations (the `openapi` kind's document): the
    /// learner-safe sentence, and the precise reason for the transcript.
    #[error("{learner}")]
    Contract { learner: String, detail: String },
    /// After a restart the service did not come back (its own fault: it exited or never answered again).
    #[error("the service did not come back after a restart")]
    Restart(String),
    /// One answer of a burst failed; `index` is the copy (its `{{i}}`).
    #[error("one of {of} requests sent at once failed: {inner}")]
    InBurst {
        index: usize,
        of: usize,
        inner: Box<Failure>,
    },
    #[error("of {of} requests sent at once, {got} got status {status}, which is not what the contract allows")]
    BurstCount {
        status: u16,
        want: usize,
        got: usize,
        of: usize,
        summary: String,
    },
    #[error("{of} requests sent at once got answers that repeat a value each answer must have to itself")]
    NotDistinct {
        from: String,
        value: String,
        of: usize,
    },
}

impl Failure {
    /// The precise reason, for the hidden transcript.
    pub fn detail(&self) -> String {
        match self {
            Failure::Status { got, expected } => {
                format!("expected status {}, got {got}", status_text(expected))
            }
            Failure::Header { name, pattern, got } if got.is_empty() => {
                format!("expected header `{name}` matching `{pattern}`, but it is missing")
            }
            Failure::Header { name, pattern, got } => {
                format!("expected header `{name}` matching `{pattern}`, got {got:?}")
            }
            Failure::TooLarge { limit, got } => {
                format!("expected a body of at most {limit} bytes, got {got}")
            }
            Failure::NotJson { error } => format!("expected a JSON body: {error}"),
            Failure::Json { at, expected, got } => {
                format!("at `{at}`: expected {expected}, got {got}")
            }
            Failure::Schema { violations } => {
                format!("the body broke the schema: {}", violations.join("; "))
            }
            Failure::TooSlow { limit_ms, got_ms } => {
                format!("expected an answer within {limit_ms} ms, took {got_ms} ms")
            }
            Failure::Timeout { after_ms } => format!("no complete answer after {after_ms} ms"),
            Failure::Refused { error }
            | Failure::Unreachable { error }
            | Failure::Transport { error } => {
                format!("{self}: {error}")
            }
            Failure::CaptureMissing { name, from } => {
                format!("capture `{name}`: `{from}` not found in the answer")
            }
            Failure::BadPath { value } => format!("`{value}` is neither a path nor an http(s) URL"),
            Failure::OffTarget { value } => {
                format!("`{value}` resolves outside the service under test; not sent")
            }
            Failure::Restart(why) => format!("after the restart: {why}"),
            Failure::InBurst { index, of, inner } => {
                format!("copy {index} of {of}: {}", inner.detail())
            }
            Failure::BurstCount {
                status,
                want,
                got,
                of,
                summary,
            } => format!(
                "expected exactly {want} of {of} answers with status {status}, got {got} ({summary})"
            ),
            Failure::NotDistinct { from, value, of } => {
                format!("`{from}` must differ between all {of} answers, but {value} occurs twice")
            }
            Failure::Contract { detail, .. } => detail.clone(),
        }
    }
}

pub(super) fn status_text(s: &StatusExpect) -> String {
    match s {
        StatusExpect::Exact(c) => c.to_string(),
        StatusExpect::OneOf(all) => format!("one of {all:?}"),
    }
}

/// Checks an answer against expectations whose variables are already substituted; returns the parsed JSON body
/// when there is one, for captures.
pub(in crate::checks) fn check(expect: &Expect, answer: &Answer) -> Result<Option<Value>, Failure> {
    if let Some(s) = &expect.status {
        if !s.accepts(answer.status) {
            return Err(Failure::Status {
                got: answer.status,
                expected: s.clone(),
            });
        }
    }
    if let Some(limit) = expect.max_ms {
        if answer.elapsed_ms > limit {
            return Err(Failure::TooSlow {
                limit_ms: limit,
                got_ms: answer.elapsed_ms,
            });
        }
    }
    for (name, pattern) in &expect.headers {
        let got: Vec<String> = answer
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect();
        let fold = name == "content-type";
        if !got.iter().any(|v| glob(pattern, v, fold)) {
            return Err(Failure::Header {
                name: name.clone(),
                pattern: pattern.clone(),
                got,
            });
        }
    }
    if let Some(limit) = expect.max_body_bytes {
        if answer.body.len() > limit || answer.truncated {
            return Err(Failure::TooLarge {
                limit,
                got: answer.body.len(),
            });
        }
    }
    let wants_json = expect.json.is_some()
        || !expect.json_pointer.is_empty()
        || !expect.json_glob.is_empty()
        || !expect.json_types.is_empty()
        || !expect.json_len.is_empty()
        || !expect.json_absent.is_empty()
        || expect.schema.is_some();
    let parsed = serde_json::from_slice::<Value>(&answer.body);
    let body = match parsed {
        Ok(v) => v,
        Err(e) if wants_json => {
            return Err(Failure::NotJson {
                error: e.to_string(),
            })
        }
        Err(_) => return Ok(None),
    };
    if let Some(j) = &expect.json {
        partial(j, &body, "")?;
    }
    for (p, want) in &expect.json_pointer {
        let got = body.pointer(p);
        match got {
            Some(g) => partial(want, g, p)?,
            None => return Err(mismatch(p, &want.to_string(), "nothing")),
        }
    }
    for (p, pattern) in &expect.json_glob {
        match body.pointer(p) {
            Some(Value::String(s)) if glob(pattern, s, false) => {}
            got => {
                return Err(mismatch(
                    p,
                    &format!("a string like {pattern:?}"),
                    &shown(got),
                ))
            }
        }
    }
    for (p, t) in &expect.json_types {
        match body.pointer(p) {
            Some(g) if t.matches(g) => {}
            got => return Err(mismatch(p, &format!("a value of type {t:?}"), &shown(got))),
        }
    }
    for (p, n) in &expect.json_len {
        let got = body.pointer(p);
        let len = match got {
            Some(Value::Array(a)) => Some(a.len()),
            Some(Value::Object(o)) => Some(o.len()),
            Some(Value::String(s)) => Some(s.chars().count()),
            _ => None,
        };
        if len != Some(*n) {
            return Err(mismatch(p, &format!("length {n}"), &shown(got)));
        }
    }
    for p in &expect.json_absent {
        if let Some(g) = body.pointer(p) {
            return Err(mismatch(p, "nothing", &g.to_string()));
        }
    }
    if let Some(schema) = &expect.schema {
        let violations = schema.violations(&body);
        if !violations.is_empty() {
            return Err(Failure::Schema {
                violations: violations.iter().map(ToString::to_string).collect(),
            });
        }
    }
    Ok(Some(body))
}

/// `expected` is contained in `got` as the `json` expectation means it (every key given matches, recursively):
/// for other kinds that select JSON by a subset (the `events` kind's `where`).
pub(in crate::checks) fn contains(expected: &Value, got: &Value) -> bool {
    partial(expected, got, "").is_ok()
}

fn shown(v: Option<&Value>) -> String {
    v.map_or_else(|| "nothing".to_string(), Value::to_string)
}

fn mismatch(at: &str, expected: &str, got: &str) -> Failure {
    Failure::Json {
        at: at.to_string(),
        expected: expected.to_string(),
        got: got.to_string(),
    }
}

/// Every key of an expected object must match, recursively; arrays and scalars must be equal (numbers by
/// value, so `1` matches `1.0`); the string `"*"` matches any value.
fn partial(expected: &Value, got: &Value, at: &str) -> Result<(), Failure> {
    match (expected, got) {
        (Value::String(s), _) if s == "*" => Ok(()),
        (Value::Object(want), Value::Object(have)) => {
            for (k, w) in want {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match have.get(k) {
                    Some(h) => partial(w, h, &here)?,
                    None => return Err(mismatch(&here, &w.to_string(), "nothing")),
                }
            }
            Ok(())
        }
        _ if equal(expected, got) => Ok(()),
        _ => Err(mismatch(at, &expected.to_string(), &got.to_string())),
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

/// `*` matches any run of characters; `fold` compares ASCII case-insensitively (media types).
pub(in crate::checks) fn glob(pattern: &str, value: &str, fold: bool) -> bool {
    let (p, v) = if fold {
        (pattern.to_ascii_lowercase(), value.to_ascii_lowercase())
    } else {
        (pattern.to_string(), value.to_string())
    };
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == v;
    }
    let (first, rest) = (parts[0], &parts[1..]);
    let Some(mut remaining) = v.strip_prefix(first) else {
        return false;
    };
    let (last, middle) = rest.split_last().unwrap_or((&"", &[]));
    for part in middle {
        match remaining.find(part) {
            Some(i) => remaining = &remaining[i + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

/// The learner messages of the failures that mean the service gave no answer in time (the `Display` of
/// `TooSlow`, `Timeout`, `Refused`, `Unreachable` and `Transport`; a test keeps the two in step).
const NO_ANSWER: [&str; 5] = [
    "the answer took longer than allowed",
    "no answer within the time limit",
    "connection refused",
    "the service could not be reached",
    "the connection failed before a complete answer arrived",
];

/// Whether a check's learner message reports that the service gave no answer in time, rather than a wrong
/// one: what grading needs to tell a service that stopped answering (killed, stalled) from a wrong service.
pub fn reports_no_answer(message: &str) -> bool {
    NO_ANSWER.iter().any(|m| message.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_failure_without_an_answer_is_reported_as_one_and_a_wrong_answer_is_not() {
        let error = String::from("x");
        for failure in [
            Failure::TooSlow {
                limit_ms: 1,
                got_ms: 2,
            },
            Failure::Timeout { after_ms: 1 },
            Failure::Refused {
                error: error.clone(),
            },
            Failure::Unreachable {
                error: error.clone(),
            },
            Failure::Transport { error },
        ] {
            assert!(reports_no_answer(&failure.to_string()), "{failure}");
        }
        let wrong = Failure::Status {
            got: 200,
            expected: StatusExpect::Exact(201),
        };
        assert!(!reports_no_answer(&wrong.to_string()));
    }

    #[test]
    fn glob_matches_prefix_suffix_and_middle() {
        assert!(glob(
            "application/json*",
            "application/json; charset=utf-8",
            false
        ));
        assert!(glob("application/json*", "Application/JSON", true));
        assert!(!glob("application/json*", "text/html", false));
        assert!(glob("*/notes/*", "http://h/notes/abc", false));
        assert!(glob("*", "", false));
        assert!(!glob("a*b*c", "acb", false));
        assert!(glob("exact", "exact", false) && !glob("exact", "exactly", false));
    }

    #[test]
    fn json_glob_accepts_a_more_precise_name_and_refuses_another_name_or_type() {
        let answer = |body: &str| Answer {
            status: 422,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
            truncated: false,
            elapsed_ms: 1,
        };
        let expect = Expect {
            json_glob: vec![("/fields/0/field".into(), "tags*".into())],
            ..Expect::default()
        };
        assert!(check(&expect, &answer(r#"{"fields":[{"field":"tags"}]}"#)).is_ok());
        assert!(check(&expect, &answer(r#"{"fields":[{"field":"tags[1]"}]}"#)).is_ok());
        for wrong in [
            r#"{"fields":[{"field":"input"}]}"#,
            r#"{"fields":[{"field":["tags"]}]}"#,
            r#"{"fields":[]}"#,
        ] {
            let err = check(&expect, &answer(wrong)).unwrap_err();
            assert!(err.detail().contains("/fields/0/field"), "{}", err.detail());
        }
    }

    #[test]
    fn partial_json_checks_given_keys_only() {
        let got = json!({"a": 1.0, "b": {"c": [1, 2], "d": "x"}, "e": null});
        assert!(partial(&json!({"a": 1, "b": {"d": "x"}}), &got, "").is_ok());
        assert!(partial(&json!({"b": {"c": "*"}, "e": "*"}), &got, "").is_ok());
        assert!(partial(&json!({"b": {"c": [1]}}), &got, "").is_err());
        let err = partial(&json!({"b": {"d": "y"}}), &got, "").unwrap_err();
        assert_eq!(err.detail(), r#"at `/b/d`: expected "y", got "x""#);
        assert_eq!(
            err.to_string(),
            "the response body was not the expected JSON"
        );
    }
}
