//! Entity tags and `If-Match` for lab w04: a strong tag per note version, and conditional writes that answer 412
//! when the client's tag is stale. Defects: `no-etag` (no header), `weak-etag` (`W/"…"`), `ignore-if-match`
//! (conditional writes proceed whatever the tag).

use crate::http::{Request, Response};
use crate::routes::{defect, error};

/// The note version's entity tag, as sent.
pub fn tag(version: u64) -> String {
    if defect("weak-etag") {
        format!("W/\"{version}\"")
    } else {
        format!("\"{version}\"")
    }
}

/// Adds the `ETag` of `version` to a response carrying a note.
pub fn with_etag(r: Response, version: u64) -> Response {
    if defect("no-etag") {
        r
    } else {
        r.with_header("ETag", &tag(version))
    }
}

/// `Ok` when the request may proceed on a note at `version`: no `If-Match`, `*`, or a listed tag that matches
/// strongly. Otherwise the 412 answer, with the note's current tag.
pub fn precondition(req: &Request, version: u64) -> Result<(), Response> {
    let Some(header) = req.header("if-match") else {
        return Ok(());
    };
    if defect("ignore-if-match") {
        return Ok(());
    }
    let current = format!("\"{version}\"");
    let matches = header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || (!t.starts_with("W/") && t == current));
    if matches {
        Ok(())
    } else {
        let r = error(
            412,
            "precondition_failed",
            "the note changed since you read it",
        );
        Err(with_etag(r, version))
    }
}
