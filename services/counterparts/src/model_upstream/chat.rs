//! The model's two endpoints: authorize the caller, apply any armed fault, answer deterministically, and record
//! the call in the ledger (at arrival; a slow answer is marked completed only once it is handed over).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::answer::{self, Message};
use super::faults::Fault;
use super::ledger::{Entry, Usage};
use super::Upstream;

#[derive(Deserialize)]
struct ChatRequest {
    #[serde(default)]
    model: String,
    messages: Vec<Message>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Input {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct EmbeddingsRequest {
    #[serde(default)]
    model: String,
    input: Input,
}

/// An OpenAI-style error answer.
fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": "invalid_request_error"}});
    (status, axum::Json(body)).into_response()
}

/// The `Authorization` header as sent, and whether it carries the run's key.
fn authorization(up: &Upstream, headers: &HeaderMap) -> (String, bool) {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let ok = match &up.key {
        Some(k) => given.strip_prefix("Bearer ") == Some(k.as_str()),
        None => given.starts_with("Bearer "),
    };
    (given, ok)
}

/// What a call answers before its ledger entry is final.
struct Answer {
    status: StatusCode,
    response: Response,
    usage: Option<Usage>,
    content: Option<String>,
    delay: Option<Duration>,
    /// The answer breaks off: the call is never completed in the ledger.
    dropped: bool,
}

impl Answer {
    fn refused(status: StatusCode, message: &str) -> Answer {
        Answer {
            status,
            response: error(status, message),
            usage: None,
            content: None,
            delay: None,
            dropped: false,
        }
    }

    /// A 200 whose body stops after a few bytes with an error, which makes hyper close the connection without
    /// ending the chunked body: every HTTP client reports the answer as cut off.
    fn dropped() -> Answer {
        // The start of the answer goes out (hyper flushes it while the stream waits), then the error.
        let parts = futures_util::stream::unfold(0u8, |step| async move {
            match step {
                0 => Some((
                    Ok(Bytes::from_static(
                        b"{\"id\": \"chatcmpl-x\", \"choices\": [",
                    )),
                    1,
                )),
                1 => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Some((
                        Err(std::io::Error::other(
                            "the connection is dropped (a fault on cue)",
                        )),
                        2,
                    ))
                }
                _ => None,
            }
        });
        let body = axum::body::Body::from_stream(parts);
        let response = (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        Answer {
            status: StatusCode::OK,
            response,
            usage: None,
            content: None,
            delay: None,
            dropped: true,
        }
    }
}

pub(super) async fn completions(
    State(up): State<Arc<Upstream>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (auth, authorized) = authorization(&up, &headers);
    let request: Result<ChatRequest, _> = serde_json::from_slice(&body);
    let (model, messages) = match &request {
        Ok(r) => (r.model.clone(), r.messages.clone()),
        Err(_) => (String::new(), Vec::new()),
    };
    let prompt: String = messages
        .iter()
        .map(|m| m.content.as_deref().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let fault = authorized
        .then(|| up.faults().take("chat", &prompt))
        .flatten();
    let answer = if !authorized {
        Answer::refused(StatusCode::UNAUTHORIZED, "missing or wrong API key")
    } else if let Err(e) = &request {
        Answer::refused(StatusCode::BAD_REQUEST, &format!("bad request body: {e}"))
    } else {
        chat_answer(&model, &messages, fault.as_ref())
    };
    let entry = Entry {
        seq: 0,
        at_ms: up.started.elapsed().as_millis() as u64,
        endpoint: "chat".into(),
        model,
        prompt_digest: format!("{:016x}", answer::digest(&messages)),
        status: answer.status.as_u16(),
        usage: answer.usage,
        authorization: auth,
        fault: fault.as_ref().map(Fault::name),
        completed: answer.delay.is_none() && !answer.dropped,
        content: answer.content,
        prompt,
    };
    deliver(&up, entry, answer.delay, answer.response).await
}

/// Records the call, waits out a slow fault, and marks it completed once the answer is handed over (a caller
/// that gave up drops this future during the wait, leaving it incomplete).
async fn deliver(
    up: &Upstream,
    entry: Entry,
    delay: Option<Duration>,
    response: Response,
) -> Response {
    let seq = up.ledger().record(entry);
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
        up.ledger().complete(seq);
    }
    response
}

fn chat_answer(model: &str, messages: &[Message], fault: Option<&Fault>) -> Answer {
    let mut delay = None;
    let (content, finish) = match fault {
        Some(Fault::Status {
            status,
            retry_after_secs,
        }) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = error(status, "the model is unavailable (a fault on cue)");
            if let Some(s) = retry_after_secs {
                if let Ok(v) = header::HeaderValue::from_str(&s.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            return Answer {
                status,
                response,
                usage: None,
                content: None,
                delay: None,
                dropped: false,
            };
        }
        Some(Fault::Dropped) => return Answer::dropped(),
        Some(Fault::Malformed) => {
            let response = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "{\"id\": \"chatcmpl-x\", \"choices\": [{\"message\": ",
            )
                .into_response();
            return Answer {
                status: StatusCode::OK,
                response,
                usage: None,
                content: None,
                delay: None,
                dropped: false,
            };
        }
        Some(Fault::InvalidContent) => (answer::invalid_triage(messages), "stop"),
        Some(Fault::Truncated) => {
            let full = answer::triage(messages);
            (full[..full.len() / 2].to_string(), "length")
        }
        Some(Fault::Slow { delay_ms }) => {
            delay = Some(Duration::from_millis(*delay_ms));
            (answer::triage(messages), "stop")
        }
        None => (answer::triage(messages), "stop"),
    };
    let usage = Usage {
        prompt_tokens: answer::prompt_tokens(messages),
        completion_tokens: answer::tokens(&content),
    };
    let body = json!({
        "id": format!("chatcmpl-{:016x}", answer::digest(messages)),
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": finish,
        }],
        "usage": {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        },
    });
    Answer {
        status: StatusCode::OK,
        response: (StatusCode::OK, axum::Json(body)).into_response(),
        usage: Some(usage),
        content: Some(content),
        delay,
        dropped: false,
    }
}

pub(super) async fn embeddings(
    State(up): State<Arc<Upstream>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (auth, authorized) = authorization(&up, &headers);
    let request: Result<EmbeddingsRequest, _> = serde_json::from_slice(&body);
    let (model, inputs) = match &request {
        Ok(r) => (
            r.model.clone(),
            match &r.input {
                Input::One(s) => vec![s.clone()],
                Input::Many(v) => v.clone(),
            },
        ),
        Err(_) => (String::new(), Vec::new()),
    };
    let prompt = inputs.join("\n");
    let fault = authorized
        .then(|| up.faults().take("embeddings", &prompt))
        .flatten();
    let answer = if !authorized {
        Answer::refused(StatusCode::UNAUTHORIZED, "missing or wrong API key")
    } else if let Err(e) = &request {
        Answer::refused(StatusCode::BAD_REQUEST, &format!("bad request body: {e}"))
    } else if let Some(Fault::Status { status, .. }) = &fault {
        let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Answer::refused(status, "the model is unavailable (a fault on cue)")
    } else if let Some(Fault::Dropped) = &fault {
        Answer::dropped()
    } else {
        let tokens: u64 = inputs.iter().map(|i| answer::tokens(i)).sum();
        let data: Vec<_> = inputs
            .iter()
            .enumerate()
            .map(|(i, s)| json!({"object": "embedding", "index": i, "embedding": answer::embedding(s)}))
            .collect();
        let body = json!({
            "object": "list", "model": model, "data": data,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        });
        Answer {
            status: StatusCode::OK,
            response: (StatusCode::OK, axum::Json(body)).into_response(),
            usage: Some(Usage {
                prompt_tokens: tokens,
                completion_tokens: 0,
            }),
            content: None,
            delay: match &fault {
                Some(Fault::Slow { delay_ms }) => Some(Duration::from_millis(*delay_ms)),
                _ => None,
            },
            dropped: false,
        }
    };
    let messages: Vec<Message> = inputs
        .iter()
        .map(|i| Message {
            role: "input".into(),
            content: Some(i.clone()),
        })
        .collect();
    let entry = Entry {
        seq: 0,
        at_ms: up.started.elapsed().as_millis() as u64,
        endpoint: "embeddings".into(),
        model,
        prompt_digest: format!("{:016x}", answer::digest(&messages)),
        status: answer.status.as_u16(),
        usage: answer.usage,
        authorization: auth,
        fault: fault.as_ref().map(Fault::name),
        completed: answer.delay.is_none() && !answer.dropped,
        content: None,
        prompt,
    };
    deliver(&up, entry, answer.delay, answer.response).await
}
