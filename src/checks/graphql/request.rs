//! One GraphQL-over-HTTP request (`POST` with a JSON body) and what its answer says: the status, the media
//! type, the JSON and its `errors`. Every request is cut at the check's deadline or a smaller bound.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::Outcome;
use crate::checks::http::{self, Answer};
use crate::checks::Target;

/// The most of an answer kept: an introspection answer of a large schema fits; a flood does not need to.
const KEEP_BYTES: usize = 4 * 1024 * 1024;
/// What the transcript shows of a body.
const SHOWN: usize = 2048;

/// Where requests go and until when.
pub(super) struct At<'a> {
    pub client: &'a reqwest::Client,
    pub endpoint: &'a url::Url,
    pub target: &'a Target,
    pub deadline: Instant,
}

/// An answer, read.
pub(super) struct Reply {
    pub status: u16,
    pub content_type: String,
    /// `None` when the body is not JSON.
    pub json: Option<Value>,
    pub elapsed_ms: u64,
    pub size: usize,
    /// The body as text (lossy), for a document that is not JSON (the SDL).
    pub text: String,
}

impl Reply {
    /// The `errors` array, when it is a non-empty array.
    pub fn errors(&self) -> Option<&Vec<Value>> {
        self.json
            .as_ref()
            .and_then(|j| j.get("errors"))
            .and_then(Value::as_array)
            .filter(|e| !e.is_empty())
    }

    /// The first error's `message`, cut short, for the transcript.
    pub fn first_error(&self) -> String {
        let message = self
            .errors()
            .and_then(|e| e.first())
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("");
        cut(message, 200)
    }
}

/// Why no answer was read.
pub(super) enum NoReply {
    /// Nothing within the bound (or the check's deadline).
    Timeout { after_ms: u64 },
    /// Refused, reset or broken: the words for the learner, the error chain for the transcript.
    Transport { said: String, chain: String },
    /// The request could not be built: a platform fault.
    Broken(String),
}

/// What a request carries.
pub(super) enum Payload<'a> {
    Json(&'a Value),
    Raw(&'a str),
}

/// Sends `payload` to the endpoint, within `cap` (and the check's deadline); notes both in the transcript.
pub(super) async fn send(
    at: &At<'_>,
    label: &str,
    payload: Payload<'_>,
    cap: Option<Duration>,
    t: &mut String,
) -> Result<Reply, NoReply> {
    let body = match payload {
        Payload::Json(v) => v.to_string(),
        Payload::Raw(s) => s.to_string(),
    };
    t.push_str(&format!(
        "> POST {} ({label}): {}\n",
        at.endpoint,
        cut(&body, SHOWN)
    ));
    let headers = [
        ("content-type".to_string(), "application/json".to_string()),
        (
            "accept".to_string(),
            "application/graphql-response+json, application/json".to_string(),
        ),
    ];
    let answer = post(at, headers.as_slice(), body, cap).await;
    note(answer, t)
}

/// `GET path` of the service (a REST read), within the check's deadline.
pub(super) async fn get(at: &At<'_>, path: &str, t: &mut String) -> Result<Reply, NoReply> {
    t.push_str(&format!("> GET {path}\n"));
    let url = at.target.base_url.join(path).map_err(|e| {
        NoReply::Broken(format!(
            "the path `{path}` cannot be joined to the service: {e}"
        ))
    })?;
    let left = at.deadline.saturating_duration_since(Instant::now());
    let request = http::build(at.client, "GET", url, &[], None)
        .map_err(|e| NoReply::Broken(e.to_string()))?
        .timeout(left);
    note(receive(request, left).await, t)
}

async fn post(
    at: &At<'_>,
    headers: &[(String, String)],
    body: String,
    cap: Option<Duration>,
) -> Result<Answer, NoReply> {
    let left = at.deadline.saturating_duration_since(Instant::now());
    let limit = cap.map_or(left, |c| c.min(left));
    let body = http::Body::Text(body);
    let request = http::build(at.client, "POST", at.endpoint.clone(), headers, Some(&body))
        .map_err(|e| NoReply::Broken(e.to_string()))?
        .timeout(limit);
    receive(request, limit).await
}

async fn receive(request: reqwest::RequestBuilder, limit: Duration) -> Result<Answer, NoReply> {
    if limit.is_zero() {
        return Err(NoReply::Timeout { after_ms: 0 });
    }
    let start = Instant::now();
    match http::receive(request, KEEP_BYTES).await {
        Ok(a) => Ok(a),
        Err(e) if e.is_timeout() => Err(NoReply::Timeout {
            after_ms: ms(start.elapsed()),
        }),
        Err(e) => {
            let said = if e.is_connect() {
                "the service could not be reached (connection refused or reset)"
            } else {
                "the connection failed before a complete answer arrived"
            };
            Err(NoReply::Transport {
                said: said.to_string(),
                chain: http::error_chain(&e),
            })
        }
    }
}

fn note(answer: Result<Answer, NoReply>, t: &mut String) -> Result<Reply, NoReply> {
    match answer {
        Ok(a) => {
            let content_type = a
                .headers
                .iter()
                .find(|(n, _)| n == "content-type")
                .map_or(String::new(), |(_, v)| v.clone());
            let json = if a.truncated {
                None
            } else {
                serde_json::from_slice(&a.body).ok()
            };
            let text = String::from_utf8_lossy(&a.body);
            t.push_str(&format!(
                "< {} ({} ms), {} bytes of {}{}: {}\n",
                a.status,
                a.elapsed_ms,
                a.body.len(),
                if content_type.is_empty() {
                    "no content type"
                } else {
                    content_type.as_str()
                },
                if a.truncated { " (cut)" } else { "" },
                cut(&text, SHOWN)
            ));
            Ok(Reply {
                status: a.status,
                content_type,
                json,
                elapsed_ms: a.elapsed_ms,
                size: a.body.len(),
                text: text.into_owned(),
            })
        }
        Err(e) => {
            match &e {
                NoReply::Timeout { after_ms } => {
                    t.push_str(&format!("< no answer within {after_ms} ms\n"))
                }
                NoReply::Transport { chain, .. } => t.push_str(&format!("< no answer: {chain}\n")),
                NoReply::Broken(why) => t.push_str(&format!("ERROR: {why}\n")),
            }
            Err(e)
        }
    }
}

impl NoReply {
    /// The learner's words for a request that got no answer, or the platform fault.
    pub fn outcome(self, what: &str) -> Outcome {
        match self {
            NoReply::Timeout { .. } => {
                Outcome::Failed(format!("{what} got no answer within the time limit"))
            }
            NoReply::Transport { said, .. } => Outcome::Failed(format!("{what}: {said}")),
            NoReply::Broken(_) => Outcome::Broken,
        }
    }
}

/// Whether a media type is JSON as GraphQL-over-HTTP allows: `application/json` or
/// `application/graphql-response+json`, parameters aside.
pub(super) fn is_graphql_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence == "application/graphql-response+json"
}

/// At most `max` characters of `s`, with a mark when cut.
pub(super) fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

pub(super) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Whether the value at `pointer` is `null`, or a `null` stands where one of its parents should be (a field
/// error nulls the nearest nullable parent).
pub(super) fn null_at(doc: &Value, pointer: &str) -> bool {
    if doc.pointer(pointer).is_some_and(Value::is_null) {
        return true;
    }
    let mut prefix = String::new();
    for token in pointer.split('/').skip(1) {
        if doc.pointer(&prefix).is_some_and(Value::is_null) {
            return true;
        }
        prefix.push('/');
        prefix.push_str(token);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pointer_under_a_null_parent_is_null_and_a_missing_one_is_not() {
        let doc = serde_json::json!({"data": {"note": null}, "x": {"y": 1}});
        assert!(null_at(&doc, "/data/note"));
        assert!(null_at(&doc, "/data/note/title"));
        assert!(!null_at(&doc, "/x/y"));
        assert!(!null_at(&doc, "/x/z"));
        let whole = serde_json::json!({"data": null, "errors": [{"message": "m"}]});
        assert!(null_at(&whole, "/data/note"));
    }

    #[test]
    fn both_graphql_media_types_are_json() {
        assert!(is_graphql_json("application/json; charset=utf-8"));
        assert!(is_graphql_json("application/graphql-response+json"));
        assert!(!is_graphql_json("text/html"));
    }
}
