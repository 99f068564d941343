//! Does an answer match the learner's document: the request's operation found by method and path template,
//! the response object picked for the status (exact code, then `2XX`-style range, then `default`; none is a
//! failure), a body's `Content-Type` among the response's documented media types, a 405's `Allow` header,
//! and a JSON body validated against that response's schema.
//!
//! Learner messages name the operation (its `operationId`, else `METHOD /template`) and the documented
//! status key; the violations (instance pointer and message) go to the transcript only, since for a hidden
//! scenario they would show what was sent.

use serde_json::Value;

use super::document::{DocOperation, Document};
use super::schemas::Schemas;
use crate::checks::http::{Answer, Failure, Observer};
use crate::checks::Target;

/// Judges answers against one document; compiled schemas are kept for the check's lifetime.
pub struct Responses<'d> {
    pub doc: &'d Document,
    schemas: Schemas,
    /// The target's base path, which the document's paths are relative to.
    base: String,
}

impl<'d> Responses<'d> {
    pub fn new(doc: &'d Document, target: &Target) -> Responses<'d> {
        Responses {
            doc,
            schemas: Schemas::default(),
            base: target.base_url.path().trim_end_matches('/').to_string(),
        }
    }

    /// The documented operation a request went to.
    pub fn operation(&self, method: &str, url: &url::Url) -> Option<&'d DocOperation> {
        let path = url.path();
        let path = path.strip_prefix(self.base.as_str()).unwrap_or(path);
        self.doc.route(method, path)
    }

    /// `Ok` with a line for the transcript when the answer matches the document.
    pub fn judge(
        &mut self,
        method: &str,
        url: &url::Url,
        answer: &Answer,
    ) -> Result<String, Failure> {
        let Some(op) = self.operation(method, url) else {
            return Err(contract(
                format!("the document describes no operation for this {method} request"),
                format!("no documented operation matches {method} {}", url.path()),
            ));
        };
        let label = op.label();
        let Some((key, response)) = self.doc.response_for(op, answer.status) else {
            return Err(contract(
                format!(
                    "a response to {label} had status {}, which the document does not describe",
                    answer.status
                ),
                format!(
                    "{label} ({}): status {} is not among its documented responses",
                    op.pointer, answer.status
                ),
            ));
        };
        let no_body = method == "HEAD" || answer.status == 204 || answer.status == 304;
        if answer.status == 405 && header(answer, "allow").is_none() {
            return Err(contract(
                format!("a 405 answer to {label} did not say which methods are allowed (no Allow header)"),
                format!("{label}: 405 without an Allow header"),
            ));
        }
        if !no_body && !answer.body.is_empty() {
            self.content_type(&label, &key, &response, answer)?;
        }
        let schema = self.doc.json_schema_of(&response).filter(|_| !no_body);
        let Some(schema) = schema else {
            return Ok(format!(
                "document: {label} documents {key}; no JSON body to check"
            ));
        };
        let Ok(body) = serde_json::from_slice::<Value>(&answer.body) else {
            return Err(contract(
                format!("a response to {label} was not JSON, though the document says so for {key}"),
                format!("{label}: the {key} response documents a JSON body at {schema}; the body is not JSON"),
            ));
        };
        let compiled = self.schemas.get(self.doc, &schema).map_err(|e| {
            contract(
                format!("the documented schema for {key} of {label} could not be used"),
                format!("{schema}: {e}"),
            )
        })?;
        let violations = compiled.violations(&body);
        if violations.is_empty() {
            return Ok(format!("document: matches {label} {key} ({schema})"));
        }
        let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
        Err(contract(
            format!("a response to {label} did not match the documented schema for {key}"),
            format!("{label} {key}, schema {schema}: {}", list.join("; ")),
        ))
    }
}

impl Responses<'_> {
    /// A body's `Content-Type` must be one the response object documents (`*/*` and `text/*` as wildcards);
    /// a response object without `content` says nothing about it.
    fn content_type(
        &self,
        label: &str,
        key: &str,
        response: &str,
        answer: &Answer,
    ) -> Result<(), Failure> {
        let Some(content) = self
            .doc
            .raw
            .pointer(response)
            .and_then(|r| r.get("content"))
            .and_then(Value::as_object)
            .filter(|c| !c.is_empty())
        else {
            return Ok(());
        };
        let got = header(answer, "content-type").map(essence);
        let fits = |documented: &String| {
            let d = essence(documented);
            got.as_deref().is_some_and(|g| match d.strip_suffix("/*") {
                Some("*") => true,
                Some(family) => g.split('/').next() == Some(family),
                None => d == g,
            })
        };
        if content.keys().any(fits) {
            return Ok(());
        }
        let documented: Vec<&str> = content.keys().map(String::as_str).collect();
        Err(contract(
            format!(
                "a response to {label} had a Content-Type the document does not give for {key}"
            ),
            format!(
                "{label} {key}: Content-Type {}, documented {}",
                got.as_deref().unwrap_or("(none)"),
                documented.join(", ")
            ),
        ))
    }
}

/// The first value of header `name` (lower-case).
fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// A media type without its parameters, lower-case: `application/json; charset=utf-8` is `application/json`.
fn essence(media: &str) -> String {
    media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Every answer of a scenario in an openapi check must match the document.
impl Observer for Responses<'_> {
    fn answered(
        &mut self,
        _n: usize,
        method: &str,
        url: &url::Url,
        answer: &Answer,
    ) -> Result<Option<String>, Failure> {
        self.judge(method, url, answer).map(Some)
    }
}

pub fn contract(learner: String, detail: String) -> Failure {
    Failure::Contract { learner, detail }
}
