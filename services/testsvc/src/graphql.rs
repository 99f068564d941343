//! Lab w09's GraphQL endpoint (`POST /graphql`) over the same notes store as `/v1`, and its schema as SDL
//! (`GET /graphql/schema.graphql`). Requests are parsed with `graphql-parser` and run by `graphql_exec.rs`;
//! refusals are GraphQL errors (`{"errors": [{"message": …}]}`), with 200 as GraphQL-over-HTTP's
//! `application/json` answers use, and 400 for a body that is no GraphQL request at all (not JSON, no query,
//! a batch: this endpoint runs one operation per request).
//!
//! Limits (the README's): fields nest at most 15 deep (the standard introspection query nests 13), at most 20
//! aliases, `notes(limit:)` from 1 to 100 as in REST, at most 100,000 fields resolved per operation.
//!
//! Defects (`TESTSVC_DEFECT`): `graphql-no-depth-limit` (no depth limit, and the executor falls over, 500, once
//! a runaway query has resolved 2,000,000 fields), `graphql-no-list-cap` (any positive `limit`),
//! `graphql-no-alias-limit`, `graphql-no-introspection`, `graphql-stale-version` (`version` as created, not as
//! REST has it now), `graphql-malformed-500` (a query that does not parse crashes the handler),
//! `graphql-errors-bare` (refusals carry `{"error": "…"}` instead of an `errors` array). Near misses
//! (`TESTSVC_VARIANT`): `graphql-400` (every refusal is a 400), `graphql-strict-depth` (at most 13 levels, no
//! more than introspection needs), `graphql-extra-fields` (`Query.noteCount`, `Note.words` beyond the contract).
//! For the `graphql` kind's own tests: `graphql-sdl-stale` (the SDL served lacks `Note.related`).

use std::collections::BTreeMap;

use crate::graphql_exec::{self, Limits, Refusal};
use crate::http::{Request, Response};
use crate::json::{self, Json};
use crate::routes::{defect, variant};

const ENDPOINT: &str = "/graphql";
const SDL_PATH: &str = "/graphql/schema.graphql";

/// Whether `path` is this endpoint's.
pub fn owns(path: &str) -> bool {
    path == ENDPOINT || path == SDL_PATH
}

pub fn handle(req: &Request) -> Response {
    match (req.method.as_str(), req.path.as_str()) {
        ("GET" | "HEAD", SDL_PATH) => Response::new(
            200,
            "text/plain; charset=utf-8",
            crate::graphql_types::sdl(),
        ),
        ("POST", ENDPOINT) => post(req),
        (_, ENDPOINT) => refuse(405, "use POST on /graphql").with_header("Allow", "POST"),
        _ => refuse(405, "use GET on the schema").with_header("Allow", "GET, HEAD"),
    }
}

fn post(req: &Request) -> Response {
    let text = String::from_utf8_lossy(&req.body);
    let request = match json::parse(&text) {
        Some(r @ Json::Obj(_)) => r,
        Some(Json::Arr(_)) => {
            return refuse(
                400,
                "batching is not supported: send one operation per request",
            )
        }
        _ => return refuse(400, "the body must be a JSON object with a query"),
    };
    let Some(Json::Str(query)) = request.get("query") else {
        return refuse(400, "a GraphQL request needs `query`, a string");
    };
    let name = match request.get("operationName") {
        Some(Json::Str(n)) => Some(n.as_str()),
        _ => None,
    };
    let variables: BTreeMap<String, Json> = match request.get("variables") {
        Some(Json::Obj(fields)) => fields.iter().cloned().collect(),
        _ => BTreeMap::new(),
    };
    let doc = match graphql_parser::parse_query::<String>(query) {
        Ok(d) => d,
        Err(_) if defect("graphql-malformed-500") => {
            return Response::text(
                500,
                "thread 'main' panicked at src/graphql.rs: parse failed",
            )
        }
        Err(e) => {
            let said = e.to_string().lines().collect::<Vec<_>>().join(": ");
            return refuse(refusal_status(), &format!("Syntax Error: {said}"));
        }
    };
    let notes = crate::notes::store().notes.clone();
    match graphql_exec::execute(&doc, name, &variables, &notes, &limits()) {
        Ok(data) => Response::json(200, format!(r#"{{"data":{data}}}"#)),
        Err(Refusal::Error(message)) => refuse(refusal_status(), &message),
        Err(Refusal::Crash(message)) => Response::text(500, message),
    }
}

fn limits() -> Limits {
    let no_depth = defect("graphql-no-depth-limit");
    Limits {
        depth: (!no_depth).then_some(if variant("graphql-strict-depth") {
            13
        } else {
            15
        }),
        aliases: (!defect("graphql-no-alias-limit")).then_some(20),
        list_cap: (!defect("graphql-no-list-cap")).then_some(100),
        budget: if no_depth { 2_000_000 } else { 100_000 },
        crash_over_budget: no_depth,
        introspection: !defect("graphql-no-introspection"),
        stale_version: defect("graphql-stale-version"),
    }
}

/// 200 for a refused operation, as GraphQL-over-HTTP answers `application/json`; 400 with `graphql-400`.
fn refusal_status() -> u16 {
    if variant("graphql-400") {
        400
    } else {
        200
    }
}

fn refuse(status: u16, message: &str) -> Response {
    if defect("graphql-errors-bare") {
        return Response::json(status, format!(r#"{{"error":{}}}"#, json::string(message)));
    }
    Response::json(
        status,
        format!(r#"{{"errors":[{{"message":{}}}]}}"#, json::string(message)),
    )
}
