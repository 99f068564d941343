//! The lab's queries against REST: each query is sent (after the steps created data), its answer must be a
//! GraphQL success (200, JSON, no `errors` where values are compared), and each pair of pointers must hold
//! equal values in the GraphQL answer and the REST read; a missing id must come back `null`, never a 5xx.

use serde_json::Value;

use super::request::{self, At, Payload};
use super::{Outcome, Query};
use crate::checks::template::{self, Vars};

pub(super) async fn run(
    queries: &[Query],
    at: &At<'_>,
    vars: &mut Vars,
    t: &mut String,
) -> Result<(), Outcome> {
    let of = queries.len();
    for (i, q) in queries.iter().enumerate() {
        let n = i + 1;
        one(q, n, of, at, vars, t).await?;
    }
    Ok(())
}

async fn one(
    q: &Query,
    n: usize,
    of: usize,
    at: &At<'_>,
    vars: &mut Vars,
    t: &mut String,
) -> Result<(), Outcome> {
    let broken = |t: &mut String, e: template::TemplateError| {
        t.push_str(&format!("ERROR: {e}\n"));
        Outcome::Broken
    };
    let text = vars.render(&q.query).map_err(|e| broken(t, e))?;
    let mut body = serde_json::json!({ "query": text });
    if let Some(v) = &q.variables {
        body["variables"] = vars.render_json(v).map_err(|e| broken(t, e))?;
    }
    let what = format!("query {n} of {of}");
    let label = format!("{what} of the lab");
    let reply = request::send(at, &label, Payload::Json(&body), None, t)
        .await
        .map_err(|e| e.outcome(&what))?;
    let fail = |why: String| Outcome::Failed(format!("failed at {what}: {why}"));
    if reply.status >= 500 {
        return Err(fail(format!(
            "the service answered a server error ({})",
            reply.status
        )));
    }
    if reply.status != 200 {
        return Err(fail(format!("the status was {}, not 200", reply.status)));
    }
    let Some(doc) = reply.json.as_ref() else {
        return Err(fail("the answer was not JSON".to_string()));
    };
    for p in &q.null {
        if !request::null_at(doc, p) {
            t.push_str(&format!(
                "expected null at {p}, found {}\n",
                shown(doc.pointer(p))
            ));
            return Err(fail(format!(
                "`{p}` is not null for an id that does not exist (a missing note is null)"
            )));
        }
    }
    if (!q.same.is_empty() || !q.capture.is_empty()) && reply.errors().is_some() {
        return Err(fail(format!(
            "the answer has errors (the first says: {})",
            reply.first_error()
        )));
    }
    capture(&q.capture, doc, "the GraphQL answer", vars, t).map_err(&fail)?;
    let Some(rest) = &q.rest else {
        return Ok(());
    };
    let path = vars.render(rest).map_err(|e| broken(t, e))?;
    // A captured value could turn `/{{x}}` into `//host`: requests stay on the learner's service.
    if path.starts_with("//") || path.starts_with("/\\") {
        return Err(fail(
            "the REST path would have gone to another host".to_string(),
        ));
    }
    let reply_rest = request::get(at, &path, t)
        .await
        .map_err(|e| e.outcome(&format!("the REST read of {what}")))?;
    if reply_rest.status != 200 {
        return Err(fail(format!(
            "the REST read it is compared with answered {}, not 200",
            reply_rest.status
        )));
    }
    let Some(rest_doc) = reply_rest.json.as_ref() else {
        return Err(fail(
            "the REST read it is compared with was not JSON".to_string(),
        ));
    };
    for (g, r) in &q.same {
        let (gv, rv) = (doc.pointer(g), rest_doc.pointer(r));
        let equal = match (gv, rv) {
            (Some(a), Some(b)) => agrees(a, b),
            _ => false,
        };
        if !equal {
            t.push_str(&format!(
                "differs: GraphQL {g} = {}, REST {r} = {}\n",
                shown(gv),
                shown(rv)
            ));
            let why = match (gv, rv) {
                (None, _) => format!("the GraphQL answer has nothing at `{g}`"),
                (_, None) => format!("the REST read has nothing at `{r}`"),
                _ => format!("GraphQL's `{g}` differs from REST's `{r}` for the same data"),
            };
            return Err(fail(why));
        }
        t.push_str(&format!("same: GraphQL {g} = REST {r}\n"));
    }
    capture(&q.rest_capture, rest_doc, "the REST read", vars, t).map_err(&fail)
}

fn capture(
    captures: &[(String, String)],
    doc: &Value,
    from: &str,
    vars: &mut Vars,
    t: &mut String,
) -> Result<(), String> {
    for (name, pointer) in captures {
        let Some(v) = doc.pointer(pointer) else {
            return Err(format!(
                "{from} has nothing at `{pointer}`, which later queries need"
            ));
        };
        t.push_str(&format!("captured {name} = {}\n", template::as_text(v)));
        vars.set(name, v.clone());
    }
    Ok(())
}

fn shown(v: Option<&Value>) -> String {
    v.map_or("nothing".to_string(), |v| request::cut(&v.to_string(), 300))
}

/// Whether a GraphQL value agrees with a REST one: scalars equal (numbers by value), arrays item by item,
/// and an object when every member it has agrees with the REST object's (a query selects fields; REST sends
/// every field).
pub fn agrees(graphql: &Value, rest: &Value) -> bool {
    match (graphql, rest) {
        (Value::Object(g), Value::Object(r)) => g
            .iter()
            .all(|(k, v)| r.get(k).is_some_and(|rv| agrees(v, rv))),
        (Value::Array(g), Value::Array(r)) => {
            g.len() == r.len() && g.iter().zip(r).all(|(a, b)| agrees(a, b))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selected_fields_agree_with_the_full_rest_object_and_a_changed_one_does_not() {
        let rest = json!({"id": "n_1", "title": "t", "version": 2, "tags": ["a"]});
        assert!(agrees(&json!({"id": "n_1", "version": 2.0}), &rest));
        assert!(!agrees(&json!({"id": "n_1", "version": 1}), &rest));
        assert!(!agrees(&json!({"nextCursor": null}), &rest));
        assert!(agrees(&json!([{"id": "n_1"}]), &json!([rest.clone()])));
        assert!(!agrees(
            &json!([{"id": "n_1"}]),
            &json!([rest.clone(), rest])
        ));
    }
}
