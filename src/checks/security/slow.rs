//! The `slow_input` probe (OWASP API4, unrestricted resource consumption; ReDoS): the lab's input slots (a
//! query parameter, a body field) get pathological values: runs of `a` ending in a character that spoils a
//! match, of growing length (what makes a backtracking regular expression such as `^(a+)+$` take exponential
//! time), repeated separators (the e-mail and domain patterns), deep nesting (brackets, and a deeply nested
//! JSON value where the slot is a whole JSON string) and long non-ASCII text. Every answer must come within the
//! bound, measured per request, and none may be a 5xx; refusing the input with a 4xx is right.
//!
//! Each request waits at most the bound plus [`GRACE`], so a service that hangs costs the check seconds, not
//! its whole time limit; the learner is told the figure measured against the bound. A connection closed
//! without an answer (what some servers do with a huge request line) counts as a refusal, provided a plain
//! input on the first route is still answered once all the pathological ones are sent.

use std::time::Duration;

use tokio::time::Instant;

use super::auth::{request, with_route};
use super::inputs::with_payload;
use super::session::{ProbeError, Req, Session};
use super::signin::{self, SignIn};
use super::Route;

/// How much longer than the bound a request may be waited for before it counts as unanswered.
pub const GRACE: Duration = Duration::from_secs(2);

/// Stands for the slot while a nested JSON value is spliced into a body.
const NESTED_SLOT: &str = "gauntlet-nested-slot-5c1e";

/// The probe's parameters.
#[derive(Debug, Clone)]
pub struct SlowInput {
    /// Who sends the requests (none: anonymous).
    pub who: Option<SignIn>,
    /// Routes with a `{payload}` slot in the path or JSON.
    pub routes: Vec<Route>,
    /// The longest an answer may take.
    pub bound: Duration,
}

/// One pathological input.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Payload {
    Text(String),
    /// Brackets nested this deep: a JSON array in a body slot that is a whole string, text elsewhere.
    Nested(usize),
}

/// The inputs, each with the name the transcript gives it.
pub(super) fn payloads() -> Vec<(String, Payload)> {
    let mut out = Vec::new();
    for n in [32, 1024, 16_384] {
        out.push((
            format!("{n} `a` then `!`"),
            Payload::Text(format!("{}!", "a".repeat(n))),
        ));
    }
    out.push((
        "`a.` 4096 times then `!`".into(),
        Payload::Text(format!("{}!", "a.".repeat(4096))),
    ));
    out.push(("`a@` 2048 times".into(), Payload::Text("a@".repeat(2048))));
    out.push((
        "8192 opening parentheses".into(),
        Payload::Text("(".repeat(8192)),
    ));
    out.push(("brackets nested 4096 deep".into(), Payload::Nested(4096)));
    out.push((
        "4096 non-ASCII letters with combining marks".into(),
        Payload::Text("e\u{301}\u{1d51e}".repeat(4096)),
    ));
    out
}

/// The request of `route` with `payload` in its slots.
fn with(route: &Route, payload: &Payload) -> Req {
    match payload {
        Payload::Text(t) => request(&with_payload(route, t), None),
        Payload::Nested(depth) => {
            let open = "[".repeat(*depth);
            let array = format!("{open}{}", "]".repeat(*depth));
            let r = with_payload(route, &open);
            match &route.json {
                None => request(&r, None),
                Some(_) => {
                    let slotted = with_payload(route, NESTED_SLOT);
                    let body = slotted
                        .json
                        .map(|j| j.to_string())
                        .unwrap_or_default()
                        .replace(&format!("\"{NESTED_SLOT}\""), &array)
                        .replace(NESTED_SLOT, &open);
                    let bare = Route { json: None, ..r };
                    request(&bare, None).raw("application/json", body.as_bytes())
                }
            }
        }
    }
}

pub(super) async fn slow_input(s: &mut Session<'_>, p: &SlowInput) -> Result<(), ProbeError> {
    let token = match &p.who {
        Some(who) => Some(signin::token(s, who).await?),
        None => None,
    };
    let cap = p.bound + GRACE;
    for route in &p.routes {
        for (name, payload) in payloads() {
            let req = with(route, &payload).bearer(token.as_deref());
            let started = Instant::now();
            let sent = s.send_within(&name, req, Some(cap)).await;
            let took = started.elapsed();
            s.note(&format!("answered in {} ms", took.as_millis()));
            let a = match sent {
                Ok(a) => a,
                Err(ProbeError::Failed(_)) if took >= cap => {
                    return Err(ProbeError::Failed(with_route(
                        &format!(
                            "a pathological input got no answer within {} (the bound is {})",
                            secs(took),
                            secs(p.bound)
                        ),
                        route,
                    )))
                }
                Err(ProbeError::Failed(_)) => {
                    // Closing the connection on a huge request line is a refusal, not a hang; whether the
                    // service survived is asked once all inputs are sent.
                    s.note("(closed without an answer: counted as a refusal; the service must still answer afterwards)");
                    continue;
                }
                Err(e) => return Err(e),
            };
            if took > p.bound {
                return Err(ProbeError::Failed(with_route(
                    &format!(
                        "an answer to a pathological input took {} (the bound is {})",
                        secs(took),
                        secs(p.bound)
                    ),
                    route,
                )));
            }
            if a.status >= 500 {
                return Err(ProbeError::Failed(with_route(
                    &format!(
                        "a pathological input was answered with a server error (status {})",
                        a.status
                    ),
                    route,
                )));
            }
        }
    }
    still_answers(s, p, token.as_deref()).await
}

/// After every input, a plain one on the first route must still be answered, within the bound and without a
/// 5xx: a service that died or hangs on what came before fails here.
async fn still_answers(
    s: &mut Session<'_>,
    p: &SlowInput,
    token: Option<&str>,
) -> Result<(), ProbeError> {
    let Some(route) = p.routes.first() else {
        return Ok(());
    };
    let req = with(route, &Payload::Text("a".to_string())).bearer(token);
    let started = Instant::now();
    let sent = s
        .send_within("a plain input afterwards", req, Some(p.bound + GRACE))
        .await;
    let took = started.elapsed();
    match sent {
        Ok(a) if a.status < 500 && took <= p.bound => Ok(()),
        Ok(a) if a.status < 500 => Err(ProbeError::Failed(with_route(
            &format!(
                "after pathological input, a plain one took {} (the bound is {})",
                secs(took),
                secs(p.bound)
            ),
            route,
        ))),
        Ok(a) => Err(ProbeError::Failed(with_route(
            &format!(
                "after pathological input, a plain one was answered with a server error (status {})",
                a.status
            ),
            route,
        ))),
        Err(ProbeError::Failed(_)) => Err(ProbeError::Failed(with_route(
            "after pathological input, the service no longer answered",
            route,
        ))),
        Err(e) => Err(e),
    }
}

/// Seconds with one decimal, as the learner reads them.
fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str, json: Option<serde_json::Value>) -> Route {
        Route {
            method: if json.is_some() { "POST" } else { "GET" }.into(),
            path: path.into(),
            json,
        }
    }

    #[test]
    fn the_runs_grow_and_end_in_a_spoiler() {
        let texts: Vec<String> = payloads()
            .into_iter()
            .filter_map(|(_, p)| match p {
                Payload::Text(t) if t.starts_with("aaa") => Some(t),
                _ => None,
            })
            .collect();
        assert_eq!(texts.len(), 3);
        assert!(texts.windows(2).all(|w| w[0].len() < w[1].len()));
        assert!(texts.iter().all(|t| t.ends_with('!')));
    }

    #[test]
    fn nesting_is_a_json_value_in_a_whole_string_slot_and_text_elsewhere() {
        let body = route("/v1/notes", Some(serde_json::json!({"title": "{payload}"})));
        let req = with(&body, &Payload::Nested(3));
        let (_, bytes) = req.body.expect("a body");
        assert_eq!(String::from_utf8(bytes).unwrap(), r#"{"title":[[[]]]}"#);
        let inner = route(
            "/v1/notes",
            Some(serde_json::json!({"title": "x{payload}"})),
        );
        let (_, bytes) = with(&inner, &Payload::Nested(2)).body.expect("a body");
        assert_eq!(String::from_utf8(bytes).unwrap(), r#"{"title":"x[["}"#);
        let query = with(&route("/v1/notes?q={payload}", None), &Payload::Nested(2));
        assert_eq!(query.path, "/v1/notes?q=%5B%5B");
    }

    #[test]
    fn figures_are_in_seconds_with_one_decimal() {
        assert_eq!(secs(Duration::from_millis(4180)), "4.2 s");
        assert_eq!(secs(Duration::from_secs(2)), "2.0 s");
    }
}
