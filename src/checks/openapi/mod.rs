//! The `openapi` kind: the learner's own API document, judged as a contract.
//!
//! One check fetches the document and then does any of: require operations, run a scenario (the `http`
//! kind's steps) whose every answer must match the document, and send requests generated from the document.
//! A lab splits these over several checks for granular feedback. The learner's message names the document's
//! own places (a JSON pointer, an `operationId`, `METHOD /template`) and the kind of mismatch, never a hidden
//! payload or a generated input; the transcript has everything.
//!
//! - `parse.rs`: from `[check.openapi]` (and the steps) to an [`OpenApiCheck`], with diagnostics;
//! - `operation.rs`: operation names (`"GET /notes/{id}"`) and path templates, and matching them;
//! - `fetch.rs`: the document fetched (JSON or YAML) and referenced once in the transcript;
//! - `validate.rs`, `structure.json`: is the fetched JSON a usable OpenAPI 3.0/3.1 document;
//! - `document.rs`: a valid document's operations, responses and `$ref`s;
//! - `schemas.rs`: its schemas compiled in the version's dialect (3.0's `nullable` included);
//! - `responses.rs`: does an answer match the document (documented status, body schema);
//! - `generate.rs`: seeded valid values from a schema; `mutate.rs`: invalid bodies made from valid ones;
//! - `params.rs`: query, header and path parameters, valid and broken;
//! - `security.rs`: the credential of a secured operation (a bearer token, a key in a header, the query or a
//!   cookie), missing, malformed or expired;
//! - `methods.rs`: methods the document does not give for a path, which must get 405 and a true `Allow`;
//! - `cases.rs`: the bounded, seeded list of generated requests and what each must get;
//! - `observe.rs`: each generated request's answer judged by what its case wants;
//! - `failures.rs`: every failing generated request, reported grouped;
//! - `run.rs`: the phases of one check, in order.

mod cases;
mod document;
mod failures;
mod fetch;
mod generate;
mod methods;
mod mutate;
mod observe;
mod operation;
mod params;
pub(super) mod parse;
mod responses;
mod run;
mod schemas;
mod security;
mod validate;

pub use operation::{OperationError, OperationName};
pub(super) use run::{run, OpenApiError, Run};

use super::http::HttpScenario;

/// One openapi check.
#[derive(Debug, Clone)]
pub struct OpenApiCheck {
    /// Where the service serves its document, e.g. `/openapi.json` (JSON, or YAML).
    pub document: String,
    /// Operations the document must describe.
    pub require: Vec<OperationName>,
    /// Unjudged steps run once the document is known good (register, sign in, create what `params` names):
    /// only their own expectations count, so a service whose login deviates from its document can still be
    /// exercised signed in. Their captures serve the scenario, the generated requests and the checks that
    /// depend on this one.
    pub setup: Option<HttpScenario>,
    /// Steps run after the setup; every answer must match the document. With `generate`, their captures
    /// fill path parameters too.
    pub scenario: Option<HttpScenario>,
    pub generate: Option<Generate>,
    /// Variables `generate` uses that neither the setup nor the steps capture, with their lines: each must be
    /// captured by a check this one depends on (checked once every check is read).
    pub needs: Vec<(String, usize)>,
}

impl OpenApiCheck {
    /// The variables the check's setup and steps capture, which the checks that depend on it may use.
    pub fn captures(&self) -> std::collections::BTreeSet<String> {
        self.setup
            .iter()
            .chain(&self.scenario)
            .flat_map(|s| s.steps.iter().flat_map(|st| st.capture.iter()))
            .map(|c| c.name.clone())
            .collect()
    }
}

/// Requests generated from the document's JSON request bodies and query and header parameters.
#[derive(Debug, Clone)]
pub struct Generate {
    /// The operations to generate for; empty means every documented operation with a JSON request body or
    /// a query parameter.
    pub operations: Vec<OperationName>,
    /// At most this many requests in all, shared round-robin between the operations.
    pub cases: usize,
    /// Path parameter values by name (the document's or, for a listed operation, the name in the lab's
    /// operation string); may hold `{{var}}`s captured by the steps.
    pub params: Vec<(String, String)>,
    /// Headers sent with every generated request (e.g. a token, a session cookie); may hold `{{var}}`s.
    pub headers: Vec<(String, String)>,
    /// Query parameters sent with every generated request (e.g. an API key the document puts in the
    /// query); may hold `{{var}}`s.
    pub query: Vec<(String, String)>,
    /// Whether to send invalid bodies too (default true).
    pub invalid: bool,
    /// Whether to send each generated-for path the methods the document does not give for it, after the
    /// other requests and beyond `cases` (default false: a lab opts in when its contract says 405).
    pub unsupported_methods: bool,
}

/// Default bound on generated requests.
pub const DEFAULT_CASES: usize = 20;
/// Largest bound a check may ask for: enough to cover a lab's API, small enough to stay in a check's deadline.
pub const MAX_CASES: usize = 200;
