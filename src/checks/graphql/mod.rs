//! The `graphql` kind: the learner's GraphQL endpoint judged as a client and an attacker would see it. A check
//! grades any of three parts, in this order, the first that fails ending it:
//!
//! - the **schema**: the standard introspection query is answered (`application/json`, `data.__schema`), the
//!   schema it describes is coherent (every type referenced exists), and it has the types, fields and
//!   arguments the lab's contract names, written as SDL in the check and parsed with `graphql-parser`; when the
//!   check names a path serving the schema as SDL, that parses and agrees with introspection;
//! - the **queries**: the lab's queries, after REST steps that create data, return the same values as the
//!   REST reads they are paired with, and a missing id is `null`, never a server error;
//! - **abuse**: a deeply nested query, many aliases of an expensive field, a huge list argument, a batch of
//!   many operations and malformed requests are each refused with a GraphQL error (`errors` non-empty, status
//!   200 or 4xx as GraphQL-over-HTTP allows) within a time bound: never a 5xx, never a hang.
//!
//! - `parse.rs`: from `[check.graphql]` and the steps to a [`GraphqlCheck`], with diagnostics (`source.rs`:
//!   where things are in the check file);
//! - `request.rs`: one GraphQL-over-HTTP request and what its answer says;
//! - `schema.rs`: the schema read from introspection and its coherence;
//! - `require.rs`: the contract's requirements (SDL in the check) and what a schema lacks of them;
//! - `sdl.rs`: the SDL the service serves, against introspection;
//! - `queries.rs`: the lab's queries against the REST reads;
//! - `abuse.rs`: the abusive and malformed requests and their refusals.

mod abuse;
pub(super) mod parse;
mod queries;
mod request;
mod require;
mod schema;
mod sdl;
mod source;

use tokio::time::Instant;

use super::http::{self, HttpScenario, StepError};
use super::template::Vars;
use super::{ServiceControl, Target};

pub use require::Requirement;

/// One graphql check, as written under `[check.graphql]` with its `[[check.step]]`s.
#[derive(Debug, Clone)]
pub struct GraphqlCheck {
    /// Where the endpoint answers `POST`; default `/graphql`.
    pub path: String,
    /// REST steps run first (create the data the queries read); may be empty.
    pub steps: HttpScenario,
    /// The schema part, when the check grades it.
    pub schema: Option<SchemaPart>,
    /// The lab's queries paired with REST reads; empty when the check does not grade them.
    pub queries: Vec<Query>,
    /// The abusive and malformed requests, when the check grades them.
    pub abuse: Option<Abuse>,
}

/// What the schema part asks of introspection.
#[derive(Debug, Clone)]
pub struct SchemaPart {
    /// Types, fields and arguments the schema must have (from the check's SDL), in the order written.
    pub require: Vec<Requirement>,
    /// A path serving the schema as SDL, which must parse and agree with introspection.
    pub sdl: Option<String>,
}

/// One of the lab's queries and the REST read it must agree with.
#[derive(Debug, Clone)]
pub struct Query {
    /// The GraphQL document; may hold `{{var}}`s.
    pub query: String,
    /// The request's `variables`; strings may hold `{{var}}`s.
    pub variables: Option<serde_json::Value>,
    /// A path read with `GET` (status 200) whose answer the pairs in `same` compare with; may hold `{{var}}`s.
    pub rest: Option<String>,
    /// (pointer into the GraphQL answer, pointer into the REST answer): the values must be equal, an object
    /// of the GraphQL answer matching when every member it has is equal in the REST one (a query selects
    /// fields, REST sends them all).
    pub same: Vec<(String, String)>,
    /// Pointers into the GraphQL answer that must be `null` (or under a `null`): a missing note.
    pub null: Vec<String>,
    /// Variables captured from the GraphQL answer, and from the REST answer.
    pub capture: Vec<(String, String)>,
    pub rest_capture: Vec<(String, String)>,
}

/// The abusive and malformed requests of the abuse part; each must be refused with a GraphQL error.
#[derive(Debug, Clone)]
pub struct Abuse {
    /// Each answer must come within this many milliseconds.
    pub within_ms: u64,
    pub deep: Option<Deep>,
    pub aliases: Option<Aliases>,
    /// Further queries that must be refused (a huge list argument), each with the name the learner is shown
    /// ("the query with a huge limit"); may hold `{{var}}`s.
    pub queries: Vec<(String, String)>,
    pub batch: Option<Batch>,
    /// Also send the built-in malformed requests (a syntax error, an unknown field, no query, a body that is
    /// not JSON).
    pub malformed: bool,
}

/// `{ <root> { <field> { <field> … { <leaf> } } } }`, `levels` fields deep.
#[derive(Debug, Clone)]
pub struct Deep {
    pub root: String,
    pub field: String,
    pub levels: usize,
    pub leaf: String,
}

/// `{ a0: <field> a1: <field> … }`, `count` aliases of one expensive selection.
#[derive(Debug, Clone)]
pub struct Aliases {
    pub field: String,
    pub count: usize,
}

/// A JSON array of `count` copies of one operation.
#[derive(Debug, Clone)]
pub struct Batch {
    pub query: String,
    pub count: usize,
}

pub(super) use super::done::{Done, Outcome};

/// Runs the check: the steps, then each part it grades.
pub(super) async fn run(
    check: &GraphqlCheck,
    client: &reqwest::Client,
    target: &Target,
    control: Option<&dyn ServiceControl>,
    vars: &mut Vars,
    deadline: Instant,
) -> Done {
    let mut t = String::new();
    if !check.steps.steps.is_empty() {
        let done = http::run_scenario(&check.steps, client, target, control, vars, deadline).await;
        t.push_str(&done.transcript);
        match done.result {
            Ok(()) => {}
            Err((n, StepError::Failed(f))) => {
                let why = format!("failed at step {n} of {}: {f}", done.steps);
                return Done {
                    result: Err(Outcome::Failed(why)),
                    transcript: t,
                };
            }
            Err((_, StepError::Broken(_))) => {
                return Done {
                    result: Err(Outcome::Broken),
                    transcript: t,
                }
            }
        }
    }
    let endpoint = match target.base_url.join(&check.path) {
        Ok(u) => u,
        Err(e) => {
            t.push_str(&format!("ERROR: the endpoint path cannot be joined: {e}\n"));
            return Done {
                result: Err(Outcome::Broken),
                transcript: t,
            };
        }
    };
    let at = request::At {
        client,
        endpoint: &endpoint,
        target,
        deadline,
    };
    let result = run_parts(check, &at, vars, &mut t).await;
    match &result {
        Ok(()) => t.push_str("passed\n"),
        Err(Outcome::Failed(why)) => t.push_str(&format!("FAILED: {why}\n")),
        Err(Outcome::Broken) => {}
    }
    Done {
        result,
        transcript: t,
    }
}

async fn run_parts(
    check: &GraphqlCheck,
    at: &request::At<'_>,
    vars: &mut Vars,
    t: &mut String,
) -> Result<(), Outcome> {
    if let Some(part) = &check.schema {
        schema::run(part, at, t).await?;
    }
    if !check.queries.is_empty() {
        queries::run(&check.queries, at, vars, t).await?;
    }
    if let Some(abuse) = &check.abuse {
        abuse::run(abuse, at, vars, t).await?;
    }
    Ok(())
}
