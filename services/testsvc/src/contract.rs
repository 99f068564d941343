//! Lab w09 (`GAUNTLET_LAB=w09-contract`): the notes API under `/v1`, every error under it as RFC 9457 problem
//! details, and `GET /openapi.json` describing `/v1` (`openapi_v1.json`). The handlers are `notes.rs`'s own;
//! this module only routes to them and rewrites their answers, so weeks 2-4's behaviour is unchanged.
//!
//! Defects (see `routes.rs`): `v2-answered` (`/v2/notes` serves the notes too), `problem-plain-json` (errors
//! keep `application/json`), `problem-no-pointers` (a 422 has no `errors` array), `problem-status-wrong` (the
//! `status` member is a string), `location-unversioned` (`Location` without `/v1`), `bad-limit-500` (an invalid
//! `limit` crashes the listing with 500), `unlimited-title` (`notes.rs`: a title past 200 characters is kept),
//! `allow-every-method` (a 405's `Allow` is one list for every path), `title-bytes` (`notes.rs`: a title's length
//! counted in UTF-8 bytes), `control-500` (`notes.rs`: a control character in a title crashes it), plus `openapi-no-delete` and `openapi-bad-ref` on the document. Near misses (`TESTSVC_VARIANT`):
//! `problem-type-uri` (problem `type`s are URIs of their own, not `about:blank`) and `openapi-full-paths` (the
//! document writes `/v1/notes` in its paths and has no `servers`), `pointer-fragment` (a 422's pointers are
//! written `#/title`), `v1-only` (the unversioned `/notes` paths answer 404) and `allow-head-options` (a 405's
//! `Allow` also names HEAD and OPTIONS, without spaces), `refuse-controls` (`notes.rs`: a control character in a
//! title gets the documented 422).

use crate::http::{Request, Response};
use crate::json::{self, Json};
use crate::routes::{defect, variant};

/// The document as served; kept as JSON so it is read, reviewed and diffed as what learners write.
const DOCUMENT: &str = include_str!("openapi_v1.json");

/// Whether the service runs as the w09 reference, or as w11's, which serves the same `/v1` notes.
pub fn enabled() -> bool {
    std::env::var("GAUNTLET_LAB").is_ok_and(|l| l == "w09-contract" || l == "w11-observability")
}

/// The answer to a request this lab owns (`/openapi.json`, `/v1/...`, any other `/v<n>/...`), else `None`.
pub fn route(req: &Request) -> Option<Response> {
    let path = req.path.as_str();
    if path == "/openapi.json" && matches!(req.method.as_str(), "GET" | "HEAD") {
        return Some(document());
    }
    if variant("v1-only") && (path == "/notes" || path.starts_with("/notes/")) {
        return Some(error(404, "not_found", "the notes live under /v1"));
    }
    let (version, rest) = split_version(path)?;
    if version != "v1" && !(version == "v2" && defect("v2-answered")) {
        return Some(problem(error(404, "not_found", "no such API version")));
    }
    if rest != "/notes" && !rest.starts_with("/notes/") {
        return Some(problem(error(404, "not_found", "no such route")));
    }
    if req.method == "GET" && rest == "/notes" && defect("bad-limit-500") && bad_limit(&req.query) {
        return Some(problem(error(500, "internal", "limit could not be read")));
    }
    let answer = crate::notes::handle(req, rest, None);
    let answer = versioned_location(answer);
    let answer = if answer.status == 405 {
        let allow = match (
            rest == "/notes",
            defect("allow-every-method"),
            variant("allow-head-options"),
        ) {
            (_, true, _) => "GET, POST, PUT, DELETE",
            (true, _, true) => "GET,HEAD,POST,OPTIONS",
            (false, _, true) => "GET,HEAD,PUT,DELETE,OPTIONS",
            (true, _, _) => "GET, POST",
            (false, _, _) => "GET, PUT, DELETE",
        };
        answer.with_header("Allow", allow)
    } else {
        answer
    };
    Some(problem(answer))
}

/// `/v1/notes` → `("v1", "/notes")`; `None` for a path that does not start with a version segment.
fn split_version(path: &str) -> Option<(&str, &str)> {
    let after = path.strip_prefix('/')?;
    let (segment, rest) = match after.find('/') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, ""),
    };
    let digits = segment.strip_prefix('v')?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some((segment, rest))
}

fn error(status: u16, code: &str, message: &str) -> Response {
    crate::routes::error(status, code, message)
}

/// Whether the query has a `limit` the listing refuses (not an integer from 1 to 100).
fn bad_limit(query: &str) -> bool {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .any(|(k, v)| k == "limit" && !v.parse::<u32>().is_ok_and(|n| (1..=100).contains(&n)))
}

/// `notes.rs` answers `Location: /notes/{id}`; under `/v1` the note lives at `/v1/notes/{id}`.
fn versioned_location(mut r: Response) -> Response {
    if defect("location-unversioned") {
        return r;
    }
    for (name, value) in &mut r.headers {
        if name.eq_ignore_ascii_case("location") && value.starts_with("/notes") {
            *value = format!("/v1{value}");
        }
    }
    r
}

/// An error answer of `notes.rs` (`{"error", "message", "fields"?}`) rewritten as problem details; the
/// earlier weeks' `error` member is kept as an extension. Success answers pass through.
fn problem(mut r: Response) -> Response {
    if r.status < 400 {
        return r;
    }
    let doc = json::parse(&String::from_utf8_lossy(&r.body));
    let text = |k: &str| match doc.as_ref().and_then(|d| d.get(k)) {
        Some(Json::Str(s)) => s.clone(),
        _ => String::new(),
    };
    let code = text("error");
    let kind = if variant("problem-type-uri") {
        json::string(&format!("https://testsvc.invalid/problems/{code}"))
    } else {
        r#""about:blank""#.to_string()
    };
    let status = if defect("problem-status-wrong") {
        format!(r#""{}""#, r.status)
    } else {
        r.status.to_string()
    };
    let mut body = format!(
        r#"{{"type":{kind},"title":{},"status":{status},"detail":{},"error":{}"#,
        json::string(title(r.status)),
        json::string(&text("message")),
        json::string(&code),
    );
    if r.status == 422 && !defect("problem-no-pointers") {
        body.push_str(&format!(
            r#","errors":[{}]"#,
            pointers(doc.as_ref()).join(",")
        ));
    }
    body.push('}');
    r.body = body.into_bytes();
    let media = if defect("problem-plain-json") {
        "application/json"
    } else {
        "application/problem+json"
    };
    for (name, value) in &mut r.headers {
        if name.eq_ignore_ascii_case("content-type") {
            *value = media.to_string();
        }
    }
    r
}

/// The `errors` entries of a 422: one per invalid field of `notes.rs`'s `fields`, as a JSON Pointer.
fn pointers(doc: Option<&Json>) -> Vec<String> {
    let Some(Json::Arr(fields)) = doc.and_then(|d| d.get("fields")) else {
        return Vec::new();
    };
    // `pointer-fragment`: the pointer in its URI fragment form (`#/title`), as RFC 9457's own example writes it.
    let prefix = if variant("pointer-fragment") { "#" } else { "" };
    fields
        .iter()
        .map(|f| {
            let text = |k: &str| match f.get(k) {
                Some(Json::Str(s)) => s.clone(),
                _ => String::new(),
            };
            format!(
                r#"{{"pointer":{},"detail":{}}}"#,
                json::string(&format!("{prefix}/{}", text("field"))),
                json::string(&text("problem"))
            )
        })
        .collect()
}

/// The problem's `title`: the status's reason phrase, as `about:blank` asks.
fn title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        412 => "Precondition Failed",
        422 => "Unprocessable Content",
        500 => "Internal Server Error",
        _ => "Error",
    }
}

/// `GET /openapi.json` in this lab: `/v1` as a server path, or in full with `openapi-full-paths`.
fn document() -> Response {
    let mut doc = crate::openapi::with_defects(DOCUMENT);
    if variant("openapi-full-paths") {
        doc = doc
            .replace("\"servers\": [{ \"url\": \"/v1\" }],\n", "")
            .replace("\"/notes\": {", "\"/v1/notes\": {")
            .replace("\"/notes/{id}\": {", "\"/v1/notes/{id}\": {");
    }
    Response::json(200, doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_segment_is_split_off_and_nothing_else_is() {
        assert_eq!(split_version("/v1/notes/n_1"), Some(("v1", "/notes/n_1")));
        assert_eq!(split_version("/v2"), Some(("v2", "")));
        assert_eq!(split_version("/v/notes"), None);
        assert_eq!(split_version("/vx/notes"), None);
        assert_eq!(split_version("/notes"), None);
        assert_eq!(split_version("/healthz"), None);
    }

    #[test]
    fn a_422_becomes_problem_details_with_one_pointer_per_field() {
        let body = r#"{"error":"validation_failed","message":"2 fields are invalid","fields":[{"field":"title","problem":"p1"},{"field":"tags","problem":"p2"}]}"#;
        let r = problem(Response::json(422, body));
        assert_eq!(
            r.headers[0],
            (
                "Content-Type".to_string(),
                "application/problem+json".to_string()
            )
        );
        let doc = json::parse(&String::from_utf8(r.body).unwrap()).unwrap();
        assert_eq!(doc.get("status"), Some(&Json::Num(422.0)));
        assert_eq!(doc.get("type"), Some(&Json::Str("about:blank".into())));
        let Some(Json::Arr(errors)) = doc.get("errors") else {
            panic!("no errors array")
        };
        let pointers: Vec<_> = errors.iter().map(|e| e.get("pointer").cloned()).collect();
        assert_eq!(
            pointers,
            [
                Some(Json::Str("/title".into())),
                Some(Json::Str("/tags".into()))
            ]
        );
    }

    #[test]
    fn only_a_limit_the_listing_refuses_is_bad() {
        assert!(bad_limit("limit=0"));
        assert!(bad_limit("cursor=c1&limit=abc"));
        assert!(bad_limit("limit=101"));
        assert!(!bad_limit("limit=100&q=x"));
        assert!(!bad_limit(""));
    }
}
