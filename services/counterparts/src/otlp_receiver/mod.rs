//! `otlp-receiver` (week 11): an OTLP/HTTP trace receiver the lab runs beside the service, named in the service's
//! `OTEL_EXPORTER_OTLP_ENDPOINT`. It keeps what it is sent so that the `tracing` check can read it back.
//!
//! - `POST /v1/traces`: OTLP/HTTP export, protobuf or JSON, optionally gzipped; answers 200 with an
//!   `ExportTraceServiceResponse` in the request's encoding (a partial success when the store is full), 415 for
//!   a media type or content encoding it does not speak, 400 for a body it cannot decode;
//! - `GET /_gauntlet/spans[?since=<unix nanos>]` (control token): the spans kept, flattened (`flatten.rs`), with
//!   the receiver's ledger;
//! - `DELETE /_gauntlet/spans` (control token): forget them.
//!
//! - `decode.rs`: encodings, gzip, the answers; `flatten.rs`: spans as the grader reads them; `store.rs`: the
//!   bounded store and its ledger.

mod decode;
mod flatten;
mod store;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::control;
use store::Store;

/// Largest export body accepted before inflating: SDKs batch a few hundred spans, far below this.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// The receiver's routes.
pub fn router() -> Router {
    let store = Arc::new(Store::default());
    Router::new()
        .route("/v1/traces", post(export))
        .route("/_gauntlet/spans", get(spans).delete(clear))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(store)
}

async fn export(
    State(store): State<Arc<Store>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let encoding = match decode::encoding(&headers) {
        Ok(e) => e,
        Err(e) => {
            store.refused(e.to_string());
            return decode::refusal(None, &e).into_response();
        }
    };
    let request = match decode::request(encoding, &headers, &body) {
        Ok(r) => r,
        Err(e) => {
            store.refused(e.to_string());
            return decode::refusal(Some(encoding), &e).into_response();
        }
    };
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let spans = flatten::spans(&request, encoding);
    let dropped = store.add(spans, encoding == decode::Encoding::Protobuf, gzip);
    decode::success(encoding, i64::try_from(dropped).unwrap_or(i64::MAX)).into_response()
}

#[derive(Deserialize)]
struct Since {
    #[serde(default)]
    since: u64,
}

async fn spans(
    State(store): State<Arc<Store>>,
    headers: HeaderMap,
    Query(q): Query<Since>,
) -> Response {
    if let Err(status) = control::authorize(&headers) {
        return status.into_response();
    }
    Json(store.snapshot(q.since)).into_response()
}

async fn clear(State(store): State<Arc<Store>>, headers: HeaderMap) -> StatusCode {
    if let Err(status) = control::authorize(&headers) {
        return status;
    }
    store.clear();
    StatusCode::NO_CONTENT
}
