//! The w12 reference (`GAUNTLET_LAB=w12-llm`): `POST /v1/triage` behind a validated input, a cache with
//! single-flight (one upstream call per trimmed text, even for concurrent duplicates), and `GET /v1/usage`, the
//! token and cost report that must equal the model's ledger. The model calls, retries and output validation are
//! in `triage_model.rs`; `POST /v1/embed` in `embed.rs`.
//!
//! Defects: `llm-no-validation` (empty and over-long texts go to the model), `llm-no-cache`,
//! `llm-no-single-flight` (concurrent duplicates each call the model), `llm-cache-failures` (an error is cached
//! and answered again), `llm-cost-counts-cache` (a cache hit adds its tokens to the report again), and those of
//! `triage_model.rs`. Variant: `llm-cache-by-digest` (the cache is keyed by a digest of model and prompt).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::http::{Request, Response};
use crate::json::{self, Json};
use crate::routes::{defect, variant};
use crate::triage_model::{self, Failure, Triage};

/// Longest accepted text, in characters after trimming.
const MAX_CHARS: usize = 4000;

pub fn enabled() -> bool {
    std::env::var("GAUNTLET_LAB").is_ok_and(|l| l == "w12-llm")
}

/// The w12 routes, `None` for any other.
pub fn route(req: &Request) -> Option<Response> {
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/v1/triage") => Some(triage(req)),
        ("GET", "/v1/usage") => Some(usage()),
        ("POST", "/v1/embed") => Some(crate::embed::embed(req)),
        _ => None,
    }
}

/// What the cache holds and who is calling the model for which key.
struct Cache {
    answers: BTreeMap<String, Triage>,
    failures: BTreeMap<String, Failure>,
    in_flight: BTreeSet<String>,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache {
    answers: BTreeMap::new(),
    failures: BTreeMap::new(),
    in_flight: BTreeSet::new(),
});
/// Wakes the duplicates waiting for an in-flight call.
static SETTLED: Condvar = Condvar::new();

/// The usage report's counters.
#[derive(Default, Clone, Copy)]
struct Usage {
    requests: u64,
    cache_hits: u64,
    upstream_calls: u64,
    prompt_tokens: u64,
    completion_tokens: u64,
}

static USAGE: Mutex<Usage> = Mutex::new(Usage {
    requests: 0,
    cache_hits: 0,
    upstream_calls: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
});

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Counts one upstream response and the tokens it reported.
pub fn record_call(tokens: Option<(u64, u64)>) {
    let mut u = lock(&USAGE);
    u.upstream_calls += 1;
    if let Some((p, c)) = tokens {
        u.prompt_tokens += p;
        u.completion_tokens += c;
    }
}

/// A problem-details answer.
pub fn problem(status: u16, title: &str, detail: &str) -> Response {
    let body = format!(
        r#"{{"type":"about:blank","title":{},"status":{status},"detail":{}}}"#,
        json::string(title),
        json::string(detail)
    );
    Response::new(status, "application/problem+json", body)
}

/// The trimmed text of a valid request, or the problem to answer.
pub fn text_of(req: &Request) -> Result<String, Response> {
    let body = std::str::from_utf8(&req.body).ok().and_then(json::parse);
    let Some(Json::Obj(_)) = &body else {
        return Err(problem(
            400,
            "Bad Request",
            "the body must be a JSON object",
        ));
    };
    let Some(Json::Str(text)) = body.as_ref().and_then(|b| b.get("text")) else {
        return Err(problem(400, "Bad Request", "`text` must be a string"));
    };
    let text = text.trim();
    let chars = text.chars().count();
    if !defect("llm-no-validation") && (chars == 0 || chars > MAX_CHARS) {
        return Err(problem(
            422,
            "Unprocessable Content",
            "`text` must hold 1 to 4000 characters after trimming",
        ));
    }
    Ok(text.to_string())
}

fn cache_key(text: &str) -> String {
    if variant("llm-cache-by-digest") {
        let model = std::env::var("LLM_MODEL").unwrap_or_default();
        let h = format!("{model}\n{text}")
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
            });
        format!("{h:016x}")
    } else {
        text.to_string()
    }
}

fn triage(req: &Request) -> Response {
    let text = match text_of(req) {
        Ok(t) => t,
        Err(r) => return r,
    };
    lock(&USAGE).requests += 1;
    let key = cache_key(&text);
    let caching = !defect("llm-no-cache");
    let mut cache = lock(&CACHE);
    loop {
        if caching {
            if let Some(t) = cache.answers.get(&key) {
                let mut u = lock(&USAGE);
                u.cache_hits += 1;
                if defect("llm-cost-counts-cache") {
                    u.prompt_tokens += t.tokens.0;
                    u.completion_tokens += t.tokens.1;
                }
                return t.answer(true);
            }
            if let Some(f) = cache.failures.get(&key) {
                return f.answer();
            }
        }
        if !caching || defect("llm-no-single-flight") || !cache.in_flight.contains(&key) {
            break;
        }
        cache = SETTLED.wait(cache).unwrap_or_else(|p| p.into_inner());
    }
    cache.in_flight.insert(key.clone());
    drop(cache);
    let result = triage_model::call(&text);
    let mut cache = lock(&CACHE);
    cache.in_flight.remove(&key);
    let response = match result {
        Ok(t) => {
            let r = t.answer(false);
            if caching {
                cache.answers.insert(key, t);
            }
            r
        }
        Err(f) => {
            let r = f.answer();
            if defect("llm-cache-failures") {
                cache.failures.insert(key, f);
            }
            r
        }
    };
    SETTLED.notify_all();
    response
}

/// `cost_usd` as a decimal string: tokens times the price per million tokens, in nano-dollars to stay exact.
fn cost(prompt: u64, completion: u64) -> String {
    let nanos = |tokens: u64, var: &str| -> u128 {
        let price = std::env::var(var).unwrap_or_default();
        u128::from(tokens) * nano_dollars(price.trim()) / 1_000_000
    };
    let total =
        nanos(prompt, "PRICE_PROMPT_PER_MTOK") + nanos(completion, "PRICE_COMPLETION_PER_MTOK");
    format!("{}.{:09}", total / 1_000_000_000, total % 1_000_000_000)
}

/// A decimal string such as `2.50` in nano-units (0 when it is not one).
fn nano_dollars(price: &str) -> u128 {
    let (whole, frac) = price.split_once('.').unwrap_or((price, ""));
    let frac: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
    match (whole.parse::<u128>(), frac.parse::<u128>()) {
        (Ok(w), Ok(f)) => w * 1_000_000_000 + f,
        _ => 0,
    }
}

fn usage() -> Response {
    let u = *lock(&USAGE);
    Response::json(
        200,
        format!(
            r#"{{"requests":{},"cache_hits":{},"upstream_calls":{},"prompt_tokens":{},"completion_tokens":{},"cost_usd":"{}"}}"#,
            u.requests,
            u.cache_hits,
            u.upstream_calls,
            u.prompt_tokens,
            u.completion_tokens,
            cost(u.prompt_tokens, u.completion_tokens)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_read_as_exact_decimals() {
        assert_eq!(nano_dollars("2.5"), 2_500_000_000);
        assert_eq!(nano_dollars("0.000000001"), 1);
        assert_eq!(nano_dollars("ten"), 0);
    }
}
