//! `GET /openapi.json`: an OpenAPI 3.1 description of the notes API in `notes.rs` (without `JWT_SECRET`), true
//! to its routes, limits, pagination and errors, so the check engine's `openapi` kind can be shown to pass.
//!
//! Defects (see `routes.rs`): `openapi-bad-ref` (a `$ref` that resolves to nothing), `openapi-no-delete` (the
//! `deleteNote` operation is left out); `version-as-string` and `missing-410` break the service instead.
//! `TESTSVC_OPENAPI_SERVER` puts a `servers` entry with that URL in the document.

use crate::http::Response;
use crate::routes::defect;

/// The document as served; kept as JSON so it is read, reviewed and diffed as what learners write.
const DOCUMENT: &str = include_str!("openapi.json");

/// `document` with the document defects every lab's document shares switched on (w09's too): `openapi-bad-ref`
/// and `openapi-no-delete`.
pub fn with_defects(document: &str) -> String {
    let mut doc = document.to_string();
    if defect("openapi-bad-ref") {
        doc = doc.replace(
            "#/components/schemas/NotePage",
            "#/components/schemas/NotesPage",
        );
    }
    if defect("openapi-no-delete") {
        // An extension key instead of `delete`: still a well-formed document, just without the operation.
        doc = doc.replace("\"delete\":", "\"x-removed-delete\":");
    }
    doc
}

pub fn document() -> Response {
    let mut doc = with_defects(DOCUMENT);
    // `TESTSVC_OPENAPI_SERVER=/v1`: the document's paths are relative to that server path (`servers`), as
    // week 9's document is; testsvc serves the notes under `/v1` too.
    if let Ok(server) = std::env::var("TESTSVC_OPENAPI_SERVER") {
        let servers = format!(
            r#"{{"servers":[{{"url":{}}}],"#,
            crate::json::string(&server)
        );
        doc = doc.replacen('{', &servers, 1);
    }
    Response::json(200, doc)
}
