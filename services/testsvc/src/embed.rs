//! The w12 reference's embeddings feature: `POST /v1/embed` with `{"text": ...}` answers the model's vector
//! for the trimmed text, `{"embedding": [...], "cached": bool}`, cached like the triage answers (one upstream
//! call per text) and counted in the usage report. Defect: `llm-no-embed-cache`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::http::{Request, Response};
use crate::json::{self, Json};
use crate::llm_client;
use crate::routes::defect;
use crate::triage::{problem, record_call};

/// The vectors answered so far, by trimmed text, as JSON arrays.
static VECTORS: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

const DEADLINE: Duration = Duration::from_secs(5);

fn answer(vector: &str, cached: bool) -> Response {
    Response::json(
        200,
        format!(r#"{{"embedding":{vector},"cached":{cached}}}"#),
    )
}

/// The vector of an embeddings answer as a JSON array, if it has one.
fn vector(body: &Json) -> Option<String> {
    let Some(Json::Arr(data)) = body.get("data") else {
        return None;
    };
    let Some(Json::Arr(numbers)) = data.first()?.get("embedding") else {
        return None;
    };
    let numbers: Option<Vec<String>> = numbers
        .iter()
        .map(|n| match n {
            Json::Num(x) => Some(x.to_string()),
            _ => None,
        })
        .collect();
    Some(format!("[{}]", numbers?.join(",")))
}

pub fn embed(req: &Request) -> Response {
    let text = match crate::triage::text_of(req) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let caching = !defect("llm-no-embed-cache");
    let mut vectors = VECTORS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(v) = vectors.get(&text).filter(|_| caching) {
        return answer(v, true);
    }
    // Held across the call: concurrent duplicates wait for it and then find the vector (single-flight, at the
    // price of serialising embeddings, which the lab's traffic never minds).
    let base = std::env::var("LLM_BASE_URL").unwrap_or_default();
    let key = std::env::var("LLM_API_KEY").unwrap_or_default();
    let model = std::env::var("LLM_MODEL").unwrap_or_default();
    let body = format!(
        r#"{{"model":{},"input":{}}}"#,
        json::string(&model),
        json::string(&text)
    );
    let deadline = Some(Instant::now() + DEADLINE);
    let reply = match llm_client::post(&base, "/embeddings", &key, &body, deadline) {
        Ok(r) => r,
        Err(_) => return problem(503, "Service Unavailable", "the model did not answer"),
    };
    let parsed = json::parse(&reply.body);
    let tokens = parsed.as_ref().and_then(|b| {
        let Some(Json::Num(p)) = b.get("usage")?.get("prompt_tokens") else {
            return None;
        };
        Some((*p as u64, 0))
    });
    record_call(tokens);
    match parsed
        .as_ref()
        .and_then(vector)
        .filter(|_| reply.status == 200)
    {
        Some(v) => {
            let r = answer(&v, false);
            if caching {
                vectors.insert(text, v);
            }
            r
        }
        None => problem(502, "Bad Gateway", "the model's embedding was invalid"),
    }
}
