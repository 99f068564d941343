//! The HTTP routes and their defect switches.

use crate::http::{Request, Response};

/// Routes one request.
pub fn handle(req: &Request) -> Response {
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/healthz") => Response::json(200, r#"{"status":"ok"}"#),
        _ => Response::json(
            404,
            r#"{"error":{"code":"not_found","message":"no such route"}}"#,
        ),
    }
}
