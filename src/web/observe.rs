//! One log line and two metrics per request: method, route, status and latency.
//!
//! Every label takes its value from a fixed set, whatever the client sends: HTTP allows any token as a method,
//! and a label per distinct value would let anyone grow `/metrics` (and the server's memory) without bound.
//! The log line keeps a bounded, escaped prefix of the method and path for the same reason.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, Error};

use super::AppState;

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let logged_method = loggable(req.method().as_str(), LOGGED_METHOD_CHARS);
    let path = loggable(req.path(), LOGGED_PATH_CHARS);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let mut res = next.call(req).await?;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    // The route pattern, not the path, labels metrics: paths would make one series per learner and lab.
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    if let Some(state) = state {
        state
            .metrics
            .http_requests
            .with_label_values(&[route.as_str(), method, &status.to_string()])
            .inc();
        state
            .metrics
            .http_duration
            .with_label_values(&[route.as_str()])
            .observe(elapsed.as_secs_f64());
    }
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    tracing::info!(
        method = %logged_method,
        path = %path,
        route = %route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    Ok(res)
}

/// How much of a request's method and path a log line keeps.
const LOGGED_METHOD_CHARS: usize = 16;
const LOGGED_PATH_CHARS: usize = 256;

/// The method as a metrics label: the standard ones by name, anything else as `other`.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    KNOWN
        .iter()
        .find(|(m, _)| m == method)
        .map_or("other", |(_, name)| name)
}

/// At most `max` characters of `s`, control characters escaped (a path may hold a decoded line break that would
/// forge a log line), with `…` when cut.
fn loggable(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).flat_map(char::escape_debug).collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        let odd = Method::from_bytes("X".repeat(20_000).as_bytes()).unwrap();
        assert_eq!(method_label(&odd), "other");
    }

    #[test]
    fn logged_request_parts_are_bounded_and_escaped() {
        let long = "a".repeat(20_000);
        let logged = loggable(&long, LOGGED_PATH_CHARS);
        assert_eq!(logged.chars().count(), LOGGED_PATH_CHARS + 1);
        assert!(logged.ends_with('…'));
        assert_eq!(loggable("/runs/1", LOGGED_PATH_CHARS), "/runs/1");
        assert_eq!(loggable("/a\nstatus=200", 64), "/a\\nstatus=200");
        assert!(!loggable("/a\nforged", 64).contains('\n'));
    }
}
