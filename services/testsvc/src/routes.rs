//! The HTTP routes and their defect switches.
//!
//! - `TESTSVC_DEFECT=<name>[,<name>...]`: break one behaviour on purpose: `health-500` (the health endpoint
//!   fails), `no-json-404` (unknown routes answer plain text), `create-200` (create answers 200, not 201),
//!   `no-location` (create sends no `Location`), `no-validation` (rule violations are accepted),
//!   `delete-noop` (DELETE answers 204 but keeps the note), `put-bumps-always` (an identical PUT still bumps
//!   `version`), `ignore-limit` (listing ignores `limit`).
//!   For `gauntlet prove` of w01/w02 also: `health-text` (health answers 200 in plain text), `bad-input-500` (a body on /healthz crashes the handler), `no-405`
//!   (a wrong method gets 404), `malformed-422`, `trust-client-version`, `get-missing-500`, `put-creates`,
//!   `update-noop`, `lenient-list`, `ignore-port` (listens on 8080 whatever `PORT` says), `ignore-cursor`
//!   (listing validates the cursor, then starts from the first note anyway), `unnamed-422` (a 422 counts the
//!   invalid fields but names each `input`).
//!   For w03: with `DATA_DIR` set, notes are kept in `$DATA_DIR/notes.jsonl`; `no-persist` keeps them in
//!   memory only, `reuse-ids` hands out the newest id again after a restart.
//!   For w04: ETags and If-Match (`etag.rs`) with `no-etag`, `weak-etag`, `ignore-if-match`; concurrency
//!   (`races.rs`) with `lost-update`, `racy-if-match`, `racy-create`, and the near miss `serial-writes` (each
//!   `PUT` holds the store's one lock 20 ms: no write overlaps another); its test stage's report
//!   (`selftest.rs`) with `selftest-no-tests`, `selftest-no-report`.
//!   With `JWT_SECRET` set (the w10 auth mode, `auth.rs`): `no-roles` (a non-admin may DELETE), `sql-500` (a
//!   quote in the search `q` answers 500 with database error text), `sql-injectable` (a quote in `q` escapes the
//!   owner filter and lists everyone's notes), `sql-sleep` (a `sleep(` in `q` delays the answer by 3 s, as a
//!   time-based blind injection does), `roles-401` (a non-admin's DELETE is refused with 401, not 403),
//!   `stack-trace` (error bodies carry a panic trace with file paths),
//!   `no-owner-read`, `no-owner-update`, `no-owner-list` (one user reads, replaces or lists another's notes),
//!   plus the token and header switches listed in `auth.rs` and the login, profile and mass-assignment
//!   switches listed in `users.rs` (`GET`/`PATCH /v1/me`), and `redos-search` (a search term is first run
//!   through a backtracking pattern, seconds of CPU on a long run of `a`).
//!   For the `openapi` kind (`GET /openapi.json`, `openapi.rs`): `openapi-bad-ref` (the document has a `$ref`
//!   that resolves to nothing), `openapi-no-delete` (the document leaves out `DELETE /notes/{id}`),
//!   `version-as-string` (notes carry `version` as a string where the document says integer), `missing-410` (a
//!   missing note answers 410, a status the document does not give); `bad-input-500` also crashes `POST`/`PUT`
//!   on notes with a body that is not a JSON object or has a field of the wrong type (500), and
//!   `no-validation` accepts bodies past the documented limits.
//!   For w05 (`lifecycle.rs`): `/readyz` and `/work?ms=N`, with `ready-always`, `ready-on-sigterm`,
//!   `drop-in-flight`, `exit-nonzero`, `ignore-sigterm`, `fixed-port`; for w03 also `save-on-shutdown`; with the
//!   near misses `ready-late`, `refuse-new-on-sigterm` and `linger-after-drain`.
//!   For w06's `manifests` kind (`GET /manifests`, `manifests.rs`): `no-manifests` (404), `manifests-text`
//!   (served as text/plain), and one `manifests-*` switch per policy rule, each listed in `manifests::EDITS`;
//!   the near miss `manifests-alternate`.
//!   For w08 (`GAUNTLET_LAB=w08-outbox` with `KAFKA_BOOTSTRAP_SERVERS`: the notes' outbox and its relay,
//!   `outbox.rs` and `relay.rs`, and `GET /outbox`): `publish-in-handler`, `publish-before-commit`,
//!   `new-id-on-retry`, `wrong-key`, `publishes-rejected`, `noop-publishes`, `out-of-order`, `outbox-in-memory`,
//!   `pending-lies`.
//!   For w09 (`GAUNTLET_LAB=w09-contract`, `contract.rs`: `/v1`, problem details, its own document):
//!   `v2-answered`, `problem-plain-json`, `problem-no-pointers`, `problem-status-wrong`, `location-unversioned`,
//!   `bad-limit-500`, `unlimited-title`, `allow-every-method` (a 405's `Allow` names every method on every
//!   path), with the near misses `problem-type-uri`, `openapi-full-paths`, `pointer-fragment`, `v1-only` and
//!   `allow-head-options` (a 405's `Allow` adds HEAD and OPTIONS, without spaces). Its GraphQL endpoint
//!   (`graphql.rs`): the `graphql-*` defects and near misses listed there.
//!   For w12 (`GAUNTLET_LAB=w12-llm`, `triage.rs`, `triage_model.rs`, `embed.rs`: `POST /v1/triage`,
//!   `POST /v1/embed`, `GET /v1/usage`): `llm-no-embed-cache`, `llm-no-validation`, `llm-no-cache`, `llm-no-single-flight`, `llm-cache-failures`, `llm-cost-counts-cache`,
//!   `llm-ignores-model`, `llm-pass-invalid`, `llm-no-retry`, `llm-no-backoff`, `llm-ignore-retry-after`,
//!   `llm-hang`, `llm-key-echoed`, `llm-malformed-final`, `llm-drop-final`, with the near misses
//!   `llm-cache-by-digest`, `llm-fixed-backoff` and `llm-no-repair`.
//!   For w11 (`GAUNTLET_LAB=w11-observability` with `OTEL_EXPORTER_OTLP_ENDPOINT`: a server span per request
//!   exported in OTLP/JSON, `tracing.rs` and `otlp_export.rs`): `trace-drop-parent`, `trace-wrong-parent`,
//!   `trace-fixed-service-name`, `trace-no-http-attrs`, `trace-client-kind`, `trace-reuse-trace`,
//!   `trace-accept-invalid`, `trace-no-flush` (5 s batches, queued spans dropped at SIGTERM), with the near
//!   misses `trace-old-attributes`, `trace-child-spans`, `trace-protobuf`, `trace-gzip` and `trace-slow-batches`
//!   (5 s batches, flushed at SIGTERM).
//!   For w11 (`GAUNTLET_LAB=w11-observability`: w09's `/v1` plus `GET /metrics`, `metrics.rs`):
//!   `metrics-raw-path`, `metrics-id-label`, `metrics-wrong-status`, `metrics-errors-uncounted`,
//!   `metrics-histogram-drift`, `metrics-coarse-buckets`, `metrics-gauge-as-counter`, `metrics-racy-counter`,
//!   `slow-under-load`, `errors-under-load`, with the near misses `metrics-openmetrics`, `metrics-skip-own` and
//!   `metrics-extra-labels`.
//! - `TESTSVC_DELAY_MS=<n>`: wait that long before every answer.
//!
//! `/echo` answers any request with what it received and `/redirect` answers 302 to `/healthz`, for the check
//! engine's own tests. `/count` counts the requests it answers and `/count/total` tells how many, so that the
//! load generator's own tests can compare its figures with the server's.
//!
//! For w07 (`consumer.rs`, on with `GAUNTLET_LAB=w07-consumer` and `KAFKA_BOOTSTRAP_SERVERS`):
//! `GET /accounts/{account}` and the consumer defects listed there.
//!
//! For w06 (`deploy.rs`): `GET /version` from `APP_VERSION`, a store that opens `STORE_OPEN_MS` after start,
//! with the defects `ready-before-store` and `version-ignores-env`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::http::{Request, Response};
use crate::json;

/// Requests answered on `/count` since the process started.
static COUNTED: AtomicU64 = AtomicU64::new(0);

/// Whether the defect `name` is switched on.
pub fn defect(name: &str) -> bool {
    std::env::var("TESTSVC_DEFECT").is_ok_and(|d| d.split(',').any(|x| x.trim() == name))
}

/// Whether `TESTSVC_VARIANT` (a comma-separated list) switches on `name`: a near miss, an unusual design that is
/// still correct, which every check must pass (the labs' `[[near_miss]]` entries).
pub fn variant(name: &str) -> bool {
    std::env::var("TESTSVC_VARIANT").is_ok_and(|d| d.split(',').any(|x| x.trim() == name))
}

/// A JSON error body of the labs' shape.
pub fn error(status: u16, code: &str, message: &str) -> Response {
    if status == 404 && defect("no-json-404") {
        return Response::text(404, "Not Found");
    }
    if defect("stack-trace") {
        let trace = "thread 'worker' panicked at src/notes.rs:87:14:\nstack backtrace:\n   0: testsvc::notes::parse_note\n             at /home/build/testsvc/src/notes.rs:87:14";
        return Response::json(
            status,
            format!(
                r#"{{"error":{},"message":{},"trace":"{trace}"}}"#,
                json::string(code),
                json::string(message)
            ),
        );
    }
    Response::json(
        status,
        format!(
            r#"{{"error":{},"message":{}}}"#,
            json::string(code),
            json::string(message)
        ),
    )
}

/// Routes one request; in the auth mode, every answer is hardened; in w11, every answer is counted (`metrics.rs`)
/// and traced (`tracing.rs`).
pub fn handle(req: &Request) -> Response {
    let span = crate::tracing::start(req);
    let response = if crate::metrics::enabled() {
        crate::metrics::observe(req, route)
    } else if crate::auth::enabled() {
        crate::auth::harden(route(req))
    } else {
        route(req)
    };
    crate::tracing::finish(span, req, &response);
    response
}

fn route(req: &Request) -> Response {
    crate::lifecycle::on_request(&req.path);
    if let Some(ms) = std::env::var("TESTSVC_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        std::thread::sleep(Duration::from_millis(ms));
    }
    if crate::contract::enabled() {
        if let Some(response) = crate::contract::route(req) {
            return response;
        }
    }
    if crate::triage::enabled() {
        if let Some(response) = crate::triage::route(req) {
            return response;
        }
    }
    if crate::hostile::enabled() && req.path.starts_with("/hostile/") {
        if let Some(response) = crate::hostile::handle(req) {
            return response;
        }
    }
    match (req.method.as_str(), req.path.as_str()) {
        // w06 (`deploy.rs`): the version, and the store that opens after start.
        ("GET" | "HEAD", "/readyz") if crate::deploy::holds_readiness() => {
            crate::deploy::not_ready()
        }
        ("GET" | "HEAD", "/version") => crate::deploy::version(),
        ("GET" | "HEAD", "/outbox") if crate::outbox::enabled() => crate::outbox::status(),
        (_, p) if (p == "/notes" || p.starts_with("/notes/")) && crate::deploy::store_closed() => {
            crate::deploy::store_opening()
        }
        ("GET" | "HEAD", "/healthz") if defect("health-500") => {
            error(500, "internal", "broken on purpose")
        }
        ("GET" | "HEAD", "/healthz") if defect("health-text") => Response::text(200, "OK"),
        ("GET" | "HEAD", "/healthz") => Response::json(200, r#"{"status":"ok"}"#),
        (_, "/healthz") if defect("bad-input-500") && !req.body.is_empty() => {
            Response::text(500, "panicked at src/main.rs")
        }
        (_, "/healthz") if defect("no-405") => error(404, "not_found", "no such route"),
        (_, "/healthz") => error(405, "method_not_allowed", "use GET on /healthz"),
        ("GET" | "HEAD", "/readyz") => crate::lifecycle::readyz(),
        ("GET", "/work") => crate::lifecycle::work(&req.query),
        (_, "/echo") => echo(req),
        (_, "/count") => {
            let n = COUNTED.fetch_add(1, Ordering::SeqCst) + 1;
            Response::json(200, format!(r#"{{"count":{n}}}"#))
        }
        (_, "/count/total") => Response::json(
            200,
            format!(r#"{{"count":{}}}"#, COUNTED.load(Ordering::SeqCst)),
        ),
        ("GET" | "HEAD", "/openapi.json") => crate::openapi::document(),
        ("GET" | "HEAD", "/manifests") => crate::manifests::serve(),
        // w07 (`consumer.rs`): the accounts the consumer keeps.
        ("GET" | "HEAD", p) if p.starts_with("/accounts/") && crate::consumer::enabled() => {
            crate::consumer::account(&p["/accounts/".len()..])
        }
        (_, "/redirect") => Response::json(302, "{}").with_header("Location", "/healthz"),
        ("POST", "/login") if crate::auth::enabled() => crate::auth::login(req),
        (_, "/v1/me") if crate::auth::enabled() => match crate::auth::authenticate(req) {
            Ok(caller) => crate::users::me(req, &caller),
            Err(r) => r,
        },
        (_, p) if crate::contract::enabled() && crate::graphql::owns(p) => {
            crate::graphql::handle(req)
        }
        (_, p) if p == "/notes" || p.starts_with("/notes/") => notes(req, p),
        (_, p) if p == "/v1/notes" || p.starts_with("/v1/notes/") => notes(req, &p[3..]),
        _ => error(404, "not_found", "no such route"),
    }
}

fn echo(req: &Request) -> Response {
    let mut headers: Vec<(&String, &String)> = req.headers.iter().collect();
    headers.sort();
    let headers: Vec<String> = headers
        .iter()
        .map(|(k, v)| format!("{}:{}", json::string(k), json::string(v)))
        .collect();
    let body = format!(
        r#"{{"method":{},"path":{},"query":{},"headers":{{{}}},"body":{}}}"#,
        json::string(&req.method),
        json::string(&req.path),
        json::string(&req.query),
        headers.join(","),
        json::string(&String::from_utf8_lossy(&req.body)),
    );
    Response::json(200, body).with_header("X-Echo", "yes")
}

/// The notes routes (`/notes` and, as in the w09+ contracts, `/v1/notes`), behind a token in the auth mode.
fn notes(req: &Request, path: &str) -> Response {
    if !crate::auth::enabled() {
        return crate::notes::handle(req, path, None);
    }
    match crate::auth::authenticate(req) {
        Ok(caller) => crate::notes::handle(req, path, Some(&caller)),
        Err(r) => r,
    }
}
