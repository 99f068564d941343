//! Does an answer match the learner's document: the request's operation found by method and path template,
//! the response object picked for the status (exact code, then `2XX`-style range, then `default`; none is a
//! failure), and a JSON body validated against that response's schema.
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
