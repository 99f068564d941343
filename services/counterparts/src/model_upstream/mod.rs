//! `model-upstream`: a deterministic OpenAI-compatible model for week 12 (`POST /v1/chat/completions`,
//! `POST /v1/embeddings`), which the learner's service calls with the run's `LLM_API_KEY`. The same request
//! always gets the same answer and `usage` (`answer.rs`), so checks can predict both; a check arms faults on cue
//! (`faults.rs`) and reads the ledger of every call (`ledger.rs`) through the token-protected control routes:
//!
//! - `POST /_gauntlet/faults` with a [`faults::Rule`]; `DELETE /_gauntlet/faults` clears them;
//! - `GET /_gauntlet/ledger[?contains=MARKER]`: `{"calls": [Entry...]}`.

mod answer;
mod chat;
mod faults;
mod ledger;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

/// What every handler shares.
pub(crate) struct Upstream {
    started: Instant,
    /// The run's key (`LLM_API_KEY`); a call without `Bearer <key>` answers 401. `None` accepts any key, for
    /// trying the counterpart by hand.
    key: Option<String>,
    faults: Mutex<faults::Faults>,
    ledger: Mutex<ledger::Ledger>,
}

impl Upstream {
    fn new(key: Option<String>) -> Upstream {
        Upstream {
            started: Instant::now(),
            key,
            faults: Mutex::default(),
            ledger: Mutex::default(),
        }
    }

    /// The ledger, even after a panicking handler poisoned the lock (its entries stay consistent: each is
    /// pushed whole).
    fn ledger(&self) -> MutexGuard<'_, ledger::Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn faults(&self) -> MutexGuard<'_, faults::Faults> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The counterpart's routes, keyed by the `LLM_API_KEY` of its environment.
pub fn router() -> Router {
    let key = std::env::var("LLM_API_KEY").ok().filter(|k| !k.is_empty());
    router_with(key)
}

fn router_with(key: Option<String>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat::completions))
        .route("/v1/embeddings", post(chat::embeddings))
        .route("/_gauntlet/faults", post(arm).delete(clear))
        .route("/_gauntlet/ledger", get(read_ledger))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(Arc::new(Upstream::new(key)))
}

async fn arm(
    State(up): State<Arc<Upstream>>,
    headers: HeaderMap,
    Json(rule): Json<faults::Rule>,
) -> Response {
    if let Err(s) = crate::control::authorize(&headers) {
        return s.into_response();
    }
    up.faults().arm(rule);
    StatusCode::NO_CONTENT.into_response()
}

async fn clear(State(up): State<Arc<Upstream>>, headers: HeaderMap) -> Response {
    if let Err(s) = crate::control::authorize(&headers) {
        return s.into_response();
    }
    up.faults().clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn read_ledger(
    State(up): State<Arc<Upstream>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(s) = crate::control::authorize(&headers) {
        return s.into_response();
    }
    let calls = up.ledger().select(q.get("contains").map(String::as_str));
    Json(serde_json::json!({ "calls": calls })).into_response()
}

#[cfg(test)]
mod tests;
