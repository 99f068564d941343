//! The `http` kind: a scenario of HTTP requests against the learner's service, each with expectations on the
//! answer and captures that feed later steps.
//!
//! - `parse.rs`: from the raw TOML step to these types, with diagnostics;
//! - `expect.rs`: matching an answer against a step's expectations (status, headers, JSON, JSON Schema);
//! - `exec.rs`: sending the steps, the per-request deadline, captures;
//! - `burst.rs`: a step sent many times at once, and the judgement of its answers together;
//! - `transcript.rs`: the instructor-only record of what was sent and what came back.

mod burst;
mod exec;
mod expect;
pub use expect::reports_no_answer;
pub(super) mod parse;
mod transcript;

pub(super) use exec::{
    build, client, error_chain, prepare, receive, run_observed, run_scenario, Observer, StepError,
};
pub(super) use expect::{contains, glob, Answer, Failure};

/// The steps of one http check, run in order; the first failing step ends the check.
#[derive(Debug, Clone)]
pub struct HttpScenario {
    pub steps: Vec<Step>,
}

/// One request and what its answer must look like.
#[derive(Debug, Clone)]
pub struct Step {
    /// An upper-case method from [`METHODS`].
    pub method: String,
    /// Starts with `/` or with a `{{var}}` holding a path (e.g. a captured `Location`); may hold `{{var}}`s.
    pub path: String,
    /// Request headers; values may hold `{{var}}`s.
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
    pub expect: Expect,
    pub capture: Vec<Capture>,
    /// A step that sends nothing: it restarts the service with its data kept (persistence checks) and waits
    /// until it is healthy; later steps go to wherever it answers then. `restart = true` is a graceful restart
    /// (SIGTERM, a grace period, then SIGKILL), `restart = "kill"` a crash (SIGKILL only), which a service that
    /// saves only on shutdown does not survive.
    pub restart: Option<crate::checks::RestartMode>,
    /// Sends the request many times at once instead of once (race conditions); no captures then.
    pub burst: Option<Burst>,
}

/// How many copies of a step are sent at once, and what their answers must show together.
#[derive(Debug, Clone)]
pub struct Burst {
    /// Copies sent, from 2 to [`MAX_BURST`]; each renders `{{i}}` as its index from 0.
    pub count: usize,
    /// Status and the exact number of answers that must have it; statuses not named are not counted (each
    /// answer still meets the step's `expect`).
    pub status_counts: Vec<(u16, usize)>,
    /// Values (JSON pointers or `header:name`) that must differ between every two answers.
    pub distinct: Vec<CaptureSource>,
}

/// The most copies a burst sends: enough to expose any race, few enough for a 128-process sandbox.
pub const MAX_BURST: usize = 64;

/// Methods a step may use.
pub const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// A request body; string values may hold `{{var}}`s.
#[derive(Debug, Clone)]
pub enum Body {
    /// Sent with `Content-Type: application/json` unless the step's headers set one.
    Json(serde_json::Value),
    /// Sent verbatim with `Content-Type: text/plain` unless the step's headers set one (so a malformed JSON
    /// body is `text` plus a JSON content type).
    Text(String),
}

/// What the answer to a step must satisfy; every field given must hold.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub status: Option<StatusExpect>,
    /// Lower-case header name and a pattern where `*` matches any run of characters.
    pub headers: Vec<(String, String)>,
    /// Partial match: every key given must match, recursively; arrays must match exactly.
    pub json: Option<serde_json::Value>,
    /// JSON pointer and the value there; the string `"*"` only asks that the pointer exist.
    pub json_pointer: Vec<(String, serde_json::Value)>,
    /// JSON pointer and a pattern the string there must match, `*` standing for any run of characters (as in
    /// `headers`): for a value whose exact form the contract leaves open (a field named `tags` or `tags[3]`).
    pub json_glob: Vec<(String, String)>,
    /// JSON pointer and the JSON type of the value there (TOML has no `null`, so this is how to ask for one).
    pub json_types: Vec<(String, JsonType)>,
    /// JSON pointer to an array (or object, or string) and its exact length.
    pub json_len: Vec<(String, usize)>,
    /// JSON pointers that must not exist.
    pub json_absent: Vec<String>,
    /// A JSON Schema the whole body must conform to, compiled when the check file is loaded.
    pub schema: Option<crate::checks::schema::JsonSchema>,
    pub max_body_bytes: Option<usize>,
    pub max_ms: Option<u64>,
}

/// The accepted status codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusExpect {
    Exact(u16),
    OneOf(Vec<u16>),
}

impl StatusExpect {
    pub fn accepts(&self, status: u16) -> bool {
        match self {
            StatusExpect::Exact(s) => *s == status,
            StatusExpect::OneOf(all) => all.contains(&status),
        }
    }
}

/// A JSON type for `json_types`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    Null,
    Boolean,
    Number,
    Integer,
    String,
    Array,
    Object,
}

impl JsonType {
    pub fn parse(s: &str) -> Option<JsonType> {
        Some(match s {
            "null" => JsonType::Null,
            "boolean" => JsonType::Boolean,
            "number" => JsonType::Number,
            "integer" => JsonType::Integer,
            "string" => JsonType::String,
            "array" => JsonType::Array,
            "object" => JsonType::Object,
            _ => return None,
        })
    }

    pub fn matches(self, v: &serde_json::Value) -> bool {
        use serde_json::Value as V;
        match self {
            JsonType::Null => v.is_null(),
            JsonType::Boolean => v.is_boolean(),
            JsonType::Number => v.is_number(),
            JsonType::Integer => v.is_i64() || v.is_u64(),
            JsonType::String => v.is_string(),
            JsonType::Array => matches!(v, V::Array(_)),
            JsonType::Object => matches!(v, V::Object(_)),
        }
    }
}

/// A value saved from an answer as a variable for later steps.
#[derive(Debug, Clone)]
pub struct Capture {
    pub name: String,
    pub source: CaptureSource,
}

#[derive(Debug, Clone)]
pub enum CaptureSource {
    /// A JSON pointer into the body; the variable keeps the JSON value (a number stays a number).
    JsonPointer(String),
    /// A response header, lower-case name.
    Header(String),
}
