//! The w12 reference's model calls: the triage prompt, retries with backoff (honouring `Retry-After`) within
//! a total deadline, one repair attempt on invalid output, and the validation of what the model said.
//!
//! Defects: `llm-ignores-model` (sends its own model name, not `LLM_MODEL`), `llm-pass-invalid` (invalid
//! content that parses as a JSON object is answered as it is), `llm-no-retry`, `llm-no-backoff` (retries at
//! once, `Retry-After` too), `llm-ignore-retry-after` (its own backoff even after a 429's `Retry-After`),
//! `llm-hang` (no deadline: waits as long as the model takes), `llm-key-echoed` (error answers name the call
//! with its `Authorization` header), `llm-malformed-final` (a 200 whose body is not JSON is answered 502 at
//! once), `llm-drop-final` (a connection broken off mid-answer is answered 503 at once). Variants:
//! `llm-fixed-backoff` (a fixed 300 ms between retries) and `llm-no-repair` (gives up on invalid output at once,
//! which the contract allows, and retries a body that is not JSON like a 5xx).

use std::time::{Duration, Instant};

use crate::http::Response;
use crate::json::{self, Json};
use crate::llm_client::{self, CallError};
use crate::routes::{defect, variant};
use crate::triage::{problem, record_call};

/// The whole request's deadline, within the contract's 15 s, short so that the slow-upstream check is short.
const DEADLINE: Duration = Duration::from_secs(5);
/// Calls per request for upstream faults (repair attempts aside).
const MAX_ATTEMPTS: u32 = 4;
const FIRST_BACKOFF_MS: u64 = 200;

const SYSTEM: &str = "You triage support messages. Answer only a JSON object with exactly the keys category \
(one of bug, feature, question, other), priority (an integer from 1, most urgent, to 4) and summary (1 to 200 \
characters).";
const REPAIR: &str = " Your previous answer was not such an object: answer again, only the object.";

/// A validated answer: the JSON fields without braces, and the tokens its call cost.
#[derive(Clone)]
pub struct Triage {
    fields: String,
    pub tokens: (u64, u64),
}

impl Triage {
    pub fn answer(&self, cached: bool) -> Response {
        Response::json(200, format!("{{{},\"cached\":{cached}}}", self.fields))
    }
}

/// Why no answer could be given.
#[derive(Clone)]
pub enum Failure {
    /// The model's output was invalid (twice with a repair attempt).
    Invalid,
    /// The model kept failing (429, 5xx, dropped connections) until the attempts ran out.
    Exhausted,
    /// The deadline passed.
    Deadline,
    /// The model refused the request (a 4xx other than 429).
    Refused(u16),
}

impl Failure {
    pub fn answer(&self) -> Response {
        let (status, title, mut detail) = match self {
            Failure::Invalid => (
                502,
                "Bad Gateway",
                "the model's answer was invalid".to_string(),
            ),
            Failure::Exhausted => (503, "Service Unavailable", "the model kept failing".into()),
            Failure::Deadline => (
                504,
                "Gateway Timeout",
                "the model did not answer in time".into(),
            ),
            Failure::Refused(s) => (
                502,
                "Bad Gateway",
                format!("the model refused the call ({s})"),
            ),
        };
        if defect("llm-key-echoed") {
            let key = std::env::var("LLM_API_KEY").unwrap_or_default();
            detail.push_str(&format!(
                " (POST /chat/completions, Authorization: Bearer {key})"
            ));
        }
        problem(status, title, &detail)
    }
}

fn request_body(text: &str, repair: bool) -> String {
    let model = if defect("llm-ignores-model") {
        "gpt-4o-mini".to_string()
    } else {
        std::env::var("LLM_MODEL").unwrap_or_default()
    };
    let system = if repair {
        format!("{SYSTEM}{REPAIR}")
    } else {
        SYSTEM.to_string()
    };
    format!(
        r#"{{"model":{},"temperature":0,"messages":[{{"role":"system","content":{}}},{{"role":"user","content":{}}}]}}"#,
        json::string(&model),
        json::string(&system),
        json::string(text)
    )
}

/// The usage numbers of an answer, when it carried them.
fn tokens(body: &Json) -> Option<(u64, u64)> {
    let u = body.get("usage")?;
    match (u.get("prompt_tokens"), u.get("completion_tokens")) {
        (Some(Json::Num(p)), Some(Json::Num(c))) => Some((*p as u64, *c as u64)),
        _ => None,
    }
}

/// The triage fields of a 200 answer's body, if valid; with `llm-pass-invalid`, any JSON object content.
fn fields(body: &Json) -> Option<String> {
    let choice = match body.get("choices") {
        Some(Json::Arr(c)) => c.first()?,
        _ => return None,
    };
    let Some(Json::Str(content)) = choice.get("message").and_then(|m| m.get("content")) else {
        return None;
    };
    let parsed = json::parse(content)?;
    let Json::Obj(pairs) = &parsed else {
        return None;
    };
    if defect("llm-pass-invalid") {
        let t = content.trim();
        return Some(t[1..t.len() - 1].to_string());
    }
    let finished = matches!(choice.get("finish_reason"), Some(Json::Str(f)) if f == "stop");
    let category = match parsed.get("category") {
        Some(Json::Str(c)) if ["bug", "feature", "question", "other"].contains(&c.as_str()) => c,
        _ => return None,
    };
    let priority = match parsed.get("priority") {
        Some(Json::Num(p)) if p.fract() == 0.0 && (1.0..=4.0).contains(p) => *p as u8,
        _ => return None,
    };
    let summary = match parsed.get("summary") {
        Some(Json::Str(s)) if (1..=200).contains(&s.chars().count()) => s,
        _ => return None,
    };
    (finished && pairs.len() == 3).then(|| {
        format!(
            r#""category":{},"priority":{priority},"summary":{}"#,
            json::string(category),
            json::string(summary)
        )
    })
}

/// Triage `text` through the model.
pub fn call(text: &str) -> Result<Triage, Failure> {
    let base = std::env::var("LLM_BASE_URL").unwrap_or_default();
    let key = std::env::var("LLM_API_KEY").unwrap_or_default();
    let deadline = (!defect("llm-hang")).then(|| Instant::now() + DEADLINE);
    let (mut attempts, mut repaired, mut backoff) = (0, false, FIRST_BACKOFF_MS);
    loop {
        attempts += 1;
        let body = request_body(text, repaired);
        let retry_after = match llm_client::post(&base, "/chat/completions", &key, &body, deadline)
        {
            Err(CallError::Timeout) => return Err(Failure::Deadline),
            Err(CallError::Io(e)) => {
                // In the container's log, which instructors read with the run.
                eprintln!("model call failed: {e}");
                if defect("llm-drop-final") {
                    return Err(Failure::Exhausted);
                }
                None
            }
            Ok(reply) => {
                let parsed = json::parse(&reply.body);
                let used = parsed.as_ref().and_then(tokens);
                record_call(used);
                match reply.status {
                    // A body that is not JSON: a broken answer. The reference spends its one repair attempt on
                    // it, as on invalid content; the `llm-no-repair` near miss retries it like a 5xx.
                    200 if parsed.is_none() && defect("llm-malformed-final") => {
                        return Err(Failure::Invalid)
                    }
                    200 if parsed.is_none() && variant("llm-no-repair") => None,
                    200 => match parsed.as_ref().and_then(fields) {
                        Some(fields) => {
                            return Ok(Triage {
                                fields,
                                tokens: used.unwrap_or((0, 0)),
                            })
                        }
                        None if repaired || variant("llm-no-repair") => {
                            return Err(Failure::Invalid)
                        }
                        None => {
                            repaired = true;
                            continue;
                        }
                    },
                    429 => reply.retry_after,
                    500..=599 => None,
                    s => return Err(Failure::Refused(s)),
                }
            }
        };
        if defect("llm-no-retry") || attempts >= MAX_ATTEMPTS {
            return Err(Failure::Exhausted);
        }
        let wait_ms = match retry_after {
            _ if defect("llm-no-backoff") => 0,
            Some(s) if !defect("llm-ignore-retry-after") => s * 1000,
            _ if variant("llm-fixed-backoff") => 300,
            _ => backoff,
        };
        backoff *= 2;
        let wait = Duration::from_millis(wait_ms);
        if deadline.is_some_and(|d| Instant::now() + wait >= d) {
            return Err(Failure::Exhausted);
        }
        std::thread::sleep(wait);
    }
}
