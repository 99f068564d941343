//! Lab w06 (`GAUNTLET_LAB=w06-deploy`): what a zero-downtime swap asks of a release.
//!
//! - `GET /version` answers `{"version": "<APP_VERSION>"}` (default `dev`), in every lab;
//! - in w06, the store "opens" `STORE_OPEN_MS` (default 500) after the listener is bound, as a real service
//!   opens its database and runs migrations: until then the notes routes answer `503` and `/readyz` too, so a
//!   router that waits for readiness never sends a notes request to a version whose store is not open.
//!
//! Defects (`TESTSVC_DEFECT`): `ready-before-store` (`/readyz` does not wait for the store: green gets traffic
//! while its notes routes still answer `503`), `version-ignores-env` (`/version` always says `dev`). The
//! shutdown defects the swap also catches are w05's (`lifecycle.rs`): `drop-in-flight`, `exit-nonzero`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::http::Response;
use crate::json;
use crate::routes::{defect, error};

/// When the listener was bound; the store opens `STORE_OPEN_MS` later.
static LISTENING: OnceLock<Instant> = OnceLock::new();

/// Called once the listener is bound.
pub fn start() {
    LISTENING.get_or_init(Instant::now);
}

fn w06() -> bool {
    std::env::var("GAUNTLET_LAB").is_ok_and(|l| l == "w06-deploy")
}

/// In w06, whether the store is still opening.
pub fn store_closed() -> bool {
    if !w06() {
        return false;
    }
    let delay = std::env::var("STORE_OPEN_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    LISTENING
        .get()
        .is_none_or(|t| t.elapsed() < Duration::from_millis(delay))
}

/// Whether `/readyz` must say "not ready" because the store is still opening (never with `ready-before-store`);
/// otherwise `/readyz` answers as `lifecycle.rs` says.
pub fn holds_readiness() -> bool {
    store_closed() && !defect("ready-before-store")
}

/// `/readyz` while the store opens.
pub fn not_ready() -> Response {
    Response::json(503, r#"{"status":"opening the store"}"#)
}

/// A notes request while the store opens.
pub fn store_opening() -> Response {
    error(503, "unavailable", "the store is not open yet")
}

/// `GET /version`.
pub fn version() -> Response {
    let version = if defect("version-ignores-env") {
        "dev".to_string()
    } else {
        std::env::var("APP_VERSION").unwrap_or_else(|_| "dev".to_string())
    };
    Response::json(200, format!(r#"{{"version":{}}}"#, json::string(&version)))
}
