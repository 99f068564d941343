//! The control token: every `/_gauntlet/...` route (faults on cue, ledgers, received spans) steers or reads the
//! counterpart for the grader, so it answers only `Authorization: Bearer <GAUNTLET_CONTROL_TOKEN>`. The grader
//! derives the token per run and gives it to the counterpart alone; the learner's service, on the same network,
//! never sees it. Without a token in the environment every control request is refused.

use axum::http::{HeaderMap, StatusCode};
use subtle::ConstantTimeEq;

/// The token this process was started with, if any.
fn expected() -> Option<String> {
    std::env::var("GAUNTLET_CONTROL_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
}

/// `Ok` when `headers` carry the run's control token, else 401 (403 when no token was configured at all).
pub fn authorize(headers: &HeaderMap) -> Result<(), StatusCode> {
    let Some(expected) = expected() else {
        return Err(StatusCode::FORBIDDEN);
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(StatusCode::UNAUTHORIZED)
    }
}
