//! Abusive and malformed requests, each of which must be refused with a GraphQL error (`errors` non-empty)
//! with status 200 or 4xx, as GraphQL-over-HTTP allows, within `within_ms`: never a server error, never a
//! hang, never executed. Every request is sent whatever the answers before it, and every failure is reported
//! with the time measured.

use std::time::Duration;

use serde_json::Value;

use super::request::{self, At, NoReply, Payload};
use super::{Abuse, Outcome};
use crate::checks::template::Vars;

/// One request to refuse: what the learner is told it was, and what is sent.
pub(super) struct Case {
    pub label: String,
    pub body: Body,
}

pub(super) enum Body {
    Json(Value),
    /// Not JSON at all: a 4xx without a GraphQL body is a refusal too.
    Raw(String),
}

/// The requests an abuse table asks for, rendered with the check's variables.
pub(super) fn cases(abuse: &Abuse, vars: &Vars) -> Result<Vec<Case>, String> {
    let mut out = Vec::new();
    if let Some(d) = &abuse.deep {
        let root = vars.render(&d.root).map_err(|e| e.to_string())?;
        out.push(Case {
            label: format!("the query nesting `{}` {} levels deep", d.field, d.levels),
            body: Body::Json(
                serde_json::json!({ "query": deep_query(&root, &d.field, d.levels, &d.leaf) }),
            ),
        });
    }
    if let Some(a) = &abuse.aliases {
        let field = vars.render(&a.field).map_err(|e| e.to_string())?;
        out.push(Case {
            label: format!("the query with {} aliases of one field", a.count),
            body: Body::Json(serde_json::json!({ "query": alias_query(&field, a.count) })),
        });
    }
    for (name, q) in &abuse.queries {
        let q = vars.render(q).map_err(|e| e.to_string())?;
        out.push(Case {
            label: format!("the query with {name}"),
            body: Body::Json(serde_json::json!({ "query": q })),
        });
    }
    if let Some(b) = &abuse.batch {
        let q = vars.render(&b.query).map_err(|e| e.to_string())?;
        let one = serde_json::json!({ "query": q });
        out.push(Case {
            label: format!("a batch of {} operations", b.count),
            body: Body::Json(Value::Array(vec![one; b.count])),
        });
    }
    if abuse.malformed {
        out.extend(malformed());
    }
    Ok(out)
}

/// `query { root { field { field … { leaf } } } }`, `levels` times `field`.
pub fn deep_query(root: &str, field: &str, levels: usize, leaf: &str) -> String {
    format!(
        "query {{ {root} {{ {}{leaf}{} }} }}",
        format!("{field} {{ ").repeat(levels),
        " }".repeat(levels)
    )
}

/// `query { a0: field a1: field … }`.
pub fn alias_query(field: &str, count: usize) -> String {
    let aliases: Vec<String> = (0..count).map(|i| format!("a{i}: {field}")).collect();
    format!("query {{ {} }}", aliases.join(" "))
}

/// Requests no GraphQL service may execute, whatever its schema.
fn malformed() -> Vec<Case> {
    let json = |label: &str, v: Value| Case {
        label: label.to_string(),
        body: Body::Json(v),
    };
    vec![
        json(
            "a query that does not parse",
            serde_json::json!({ "query": "query { __typename " }),
        ),
        json(
            "a query of a field the schema does not have",
            serde_json::json!({ "query": "query { gauntletNoSuchField }" }),
        ),
        json(
            "a request without a query",
            serde_json::json!({ "variables": {} }),
        ),
        Case {
            label: "a body that is not JSON".to_string(),
            body: Body::Raw("{\"query\": ".to_string()),
        },
    ]
}

/// How one answer was judged: `Err` with the learner's words.
fn judge(case: &Case, reply: &request::Reply) -> Result<(), String> {
    let within = |s: u16| s == 200 || (400..500).contains(&s);
    if reply.status >= 500 {
        return Err(format!("a server error ({})", reply.status));
    }
    if !within(reply.status) {
        return Err(format!("status {}, neither 200 nor a 4xx", reply.status));
    }
    // A service that supports batching may refuse each operation of it: an array of errors and no data.
    if let Some(Value::Array(items)) = &reply.json {
        let refused = |i: &Value| {
            i.get("errors")
                .and_then(Value::as_array)
                .is_some_and(|e| !e.is_empty())
                && i.get("data").is_none_or(Value::is_null)
        };
        if !items.is_empty() && items.iter().all(refused) {
            return Ok(());
        }
        return Err(format!(
            "executed: an array of {} answers instead of an error",
            items.len()
        ));
    }
    if reply.errors().is_some() {
        return Ok(());
    }
    if matches!(case.body, Body::Raw(_)) && reply.status != 200 {
        return Ok(());
    }
    Err(format!(
        "answered {} without a GraphQL error (a non-empty `errors` array)",
        reply.status
    ))
}

pub(super) async fn run(
    abuse: &Abuse,
    at: &At<'_>,
    vars: &Vars,
    t: &mut String,
) -> Result<(), Outcome> {
    let cases = cases(abuse, vars).map_err(|e| {
        t.push_str(&format!("ERROR: {e}\n"));
        Outcome::Broken
    })?;
    let cap = Duration::from_millis(abuse.within_ms);
    let mut problems = Vec::new();
    let mut times = Vec::new();
    for case in &cases {
        let payload = match &case.body {
            Body::Json(v) => Payload::Json(v),
            Body::Raw(s) => Payload::Raw(s),
        };
        let judged = match request::send(at, &case.label, payload, Some(cap), t).await {
            Ok(reply) => {
                times.push(format!("{} ms", reply.elapsed_ms));
                judge(case, &reply).map(|()| {
                    format!(
                        "refused in {} ms ({}, {} bytes): {}",
                        reply.elapsed_ms,
                        reply.status,
                        reply.size,
                        if reply.errors().is_some() {
                            reply.first_error()
                        } else {
                            "no JSON errors, a 4xx".to_string()
                        }
                    )
                })
            }
            Err(NoReply::Timeout { after_ms }) => {
                times.push(format!("over {after_ms} ms"));
                Err(format!("no answer within {} ms", abuse.within_ms))
            }
            Err(NoReply::Transport { said, .. }) => {
                times.push("no answer".to_string());
                Err(said)
            }
            Err(NoReply::Broken(_)) => return Err(Outcome::Broken),
        };
        match judged {
            Ok(line) => t.push_str(&format!("  judged: {line}\n")),
            Err(why) => {
                t.push_str(&format!("  judged: FAILED: {why}\n"));
                problems.push(format!("{}: {why}", case.label));
            }
        }
    }
    t.push_str(&format!(
        "{} abusive or malformed requests, answered in: {}\n",
        cases.len(),
        times.join(", ")
    ));
    if problems.is_empty() {
        return Ok(());
    }
    Err(Outcome::Failed(format!(
        "failed: {} of {} abusive or malformed requests were not refused with a GraphQL error: {}",
        problems.len(),
        cases.len(),
        super::schema::first_three(&problems)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_queries_parse_and_nest_as_asked() {
        let deep = deep_query("note(id: \"n_1\")", "related", 3, "id");
        assert_eq!(
            deep,
            "query { note(id: \"n_1\") { related { related { related { id } } } } }"
        );
        graphql_parser::parse_query::<String>(&deep).expect("parses");
        let aliases = alias_query("notes(limit: 100) { items { id } }", 3);
        assert!(aliases.starts_with("query { a0: notes"), "{aliases}");
        assert!(aliases.contains("a2: notes"), "{aliases}");
        graphql_parser::parse_query::<String>(&aliases).expect("parses");
    }

    fn reply(status: u16, json: Option<Value>) -> request::Reply {
        request::Reply {
            status,
            content_type: "application/json".to_string(),
            json,
            elapsed_ms: 1,
            size: 0,
            text: String::new(),
        }
    }

    #[test]
    fn a_refusal_is_an_error_array_with_200_or_4xx_and_nothing_else() {
        let case = Case {
            label: "x".to_string(),
            body: Body::Json(Value::Null),
        };
        let errors = serde_json::json!({"errors": [{"message": "too deep"}]});
        assert!(judge(&case, &reply(200, Some(errors.clone()))).is_ok());
        assert!(judge(&case, &reply(400, Some(errors.clone()))).is_ok());
        assert!(judge(&case, &reply(500, Some(errors))).is_err());
        let no_errors = serde_json::json!({"data": {"x": 1}, "errors": []});
        assert!(judge(&case, &reply(200, Some(no_errors))).is_err());
        assert!(judge(&case, &reply(400, None)).is_err());
        let raw = Case {
            label: "raw".to_string(),
            body: Body::Raw("{".to_string()),
        };
        assert!(judge(&raw, &reply(400, None)).is_ok());
        assert!(judge(&raw, &reply(200, None)).is_err());
        let batch = serde_json::json!([{"data": {}}, {"data": {}}]);
        let e = judge(&case, &reply(200, Some(batch))).expect_err("executed");
        assert!(e.contains("array of 2"), "{e}");
        let each_refused = serde_json::json!([{"errors": [{"message": "too many"}]}, {"errors": [{"message": "too many"}], "data": null}]);
        assert!(judge(&case, &reply(200, Some(each_refused))).is_ok());
    }
}
