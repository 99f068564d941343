//! Query, header and path parameters of an operation, valid ones drawn from their schemas and invalid ones
//! made by breaking one: a number out of range (a negative offset, say), a value of the wrong type, an empty
//! string. Like bodies, every value is confirmed valid or invalid by the compiled schema of the parameter, so
//! what is sent as invalid is invalid by the document's own measure. Valid path parameters come from the
//! check's `params`, since they name things the service holds; invalid ones replace one of them (`abc` for an
//! integer id, a number out of range, a string past `maxLength`), and an empty or over-long segment tries the
//! service's routing itself.

use rand::Rng;
use serde_json::Value;

use super::document::{DocOperation, Document};
use super::generate::{bounds, primary_type, uint, Generator, MAX_STRING};
use super::mutate::Invalid;
use super::schemas::Schemas;

/// Header parameters OpenAPI says are ignored (the request's own machinery sets them).
const IGNORED_HEADERS: [&str; 3] = ["accept", "content-type", "authorization"];

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    Query,
    Header,
    Path,
}

/// One documented query, header or path parameter.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub at: In,
    pub required: bool,
    /// Pointer to its schema.
    pub schema: String,
}

/// The query, header and path parameters of `op` (the path item's, overridden by the operation's own).
pub fn of(doc: &Document, op: &DocOperation) -> Vec<Param> {
    let item = op.pointer.rsplit_once('/').map_or("", |(item, _)| item);
    let mut out: Vec<Param> = Vec::new();
    for list in [
        format!("{item}/parameters"),
        format!("{}/parameters", op.pointer),
    ] {
        let n = doc
            .raw
            .pointer(&list)
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        for i in 0..n {
            let Some((at, p)) = doc.resolved(&format!("{list}/{i}")) else {
                continue;
            };
            let name = p.get("name").and_then(Value::as_str).unwrap_or("");
            let place = match p.get("in").and_then(Value::as_str) {
                Some("query") => In::Query,
                Some("path") => In::Path,
                Some("header")
                    if !IGNORED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) =>
                {
                    In::Header
                }
                _ => continue,
            };
            if p.get("schema").is_none() {
                continue;
            }
            out.retain(|o| !(o.name == name && o.at == place));
            out.push(Param {
                name: name.to_string(),
                at: place,
                required: p.get("required") == Some(&Value::Bool(true)),
                schema: format!("{at}/schema"),
            });
        }
    }
    out
}

/// A valid value for every required parameter and, by a coin toss, for optional query parameters; `None`
/// when a required one gets none. Optional headers are left out: they are mostly preconditions (`If-Match`)
/// whose random values would only get a 412 and hide what the request was for. Each value is the
/// parameter's index and its text.
pub fn valid(
    gen: &mut Generator<'_, '_>,
    schemas: &mut Schemas,
    params: &[Param],
) -> Option<Vec<(usize, String)>> {
    let mut out = Vec::new();
    for (i, p) in params.iter().enumerate() {
        // Path parameters come from the check's `params`.
        if p.at == In::Path || (!p.required && (p.at == In::Header || !gen.rng.gen_bool(0.5))) {
            continue;
        }
        let value = draw(gen, schemas, p);
        match value {
            Some(v) => out.push((i, v)),
            None if p.required => return None,
            None => {}
        }
    }
    Some(out)
}

/// A valid value of one parameter as text, confirmed by its compiled schema.
fn draw(gen: &mut Generator<'_, '_>, schemas: &mut Schemas, p: &Param) -> Option<String> {
    let compiled = schemas.get(gen.doc, &p.schema).ok()?.clone();
    let schema = gen.doc.raw.pointer(&p.schema)?.clone();
    // A header value must be visible ASCII, or the request could not be built at all.
    gen.ascii = p.at == In::Header;
    let drawn = (0..8).find_map(|_| {
        let v = gen.value(&schema).filter(|v| compiled.is_valid(v))?;
        let sendable =
            |t: &String| p.at == In::Query || t.bytes().all(|b| (0x20..0x7f).contains(&b));
        text(&v).filter(|t| !t.contains("{{") && sendable(t))
    });
    gen.ascii = false;
    drawn
}

/// A scalar (or an array of scalars, comma-separated) as a parameter's text.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Array(_) | Value::Object(_) => None,
                other => text(other),
            })
            .collect::<Option<Vec<_>>>()
            .map(|parts| parts.join(",")),
        _ => None,
    }
}

/// `values` with one parameter broken by `kind` (added if it was not there); `None` when no parameter has
/// anything of that kind to break.
pub fn invalid(
    gen: &mut Generator<'_, '_>,
    schemas: &mut Schemas,
    params: &[Param],
    values: &[(usize, String)],
    kind: Invalid,
) -> Option<Vec<(usize, String)>> {
    let mut order: Vec<usize> = (0..params.len()).collect();
    rand::seq::SliceRandom::shuffle(order.as_mut_slice(), gen.rng);
    for i in order {
        let p = &params[i];
        if p.at == In::Path {
            continue;
        }
        let broken = match kind {
            Invalid::ParamWrongType => Breakage::WrongType,
            Invalid::ParamPastLimit => Breakage::PastLimit { enums: true },
            Invalid::ParamEmpty => Breakage::Empty,
            _ => continue,
        };
        let Some(sent) = first_invalid(gen, schemas, p, broken) else {
            continue;
        };
        let mut out: Vec<(usize, String)> =
            values.iter().filter(|(j, _)| *j != i).cloned().collect();
        out.push((i, sent));
        return Some(out);
    }
    None
}

/// One path parameter broken by `kind` (a path kind): its name and the segment sent in its place; `None` when
/// no path parameter has anything of that kind to break. Wrong types and limits are confirmed invalid by the
/// parameter's schema; an empty segment or one of [`MAX_STRING`] letters is tried on any path parameter.
pub fn path_invalid(
    gen: &mut Generator<'_, '_>,
    schemas: &mut Schemas,
    params: &[Param],
    kind: Invalid,
) -> Option<(String, String)> {
    let mut order: Vec<usize> = (0..params.len())
        .filter(|i| params[*i].at == In::Path)
        .collect();
    rand::seq::SliceRandom::shuffle(order.as_mut_slice(), gen.rng);
    for i in order {
        let p = &params[i];
        match kind {
            Invalid::PathEmpty => return Some((p.name.clone(), String::new())),
            Invalid::PathLong => return Some((p.name.clone(), gen.word(MAX_STRING, MAX_STRING))),
            _ => {}
        }
        let broken = match kind {
            Invalid::PathWrongType => Breakage::WrongType,
            Invalid::PathPastLimit => Breakage::PastLimit { enums: false },
            _ => continue,
        };
        if let Some(sent) = first_invalid(gen, schemas, p, broken) {
            return Some((p.name.clone(), sent));
        }
    }
    None
}

/// How a parameter's value is broken, for [`first_invalid`].
#[derive(Clone, Copy)]
enum Breakage {
    /// Text where the schema wants a number or a boolean.
    WrongType,
    /// One past a numeric bound or `maxLength`; with `enums`, also a word outside a string enum.
    PastLimit { enums: bool },
    /// The empty string.
    Empty,
}

/// The first candidate of `broken` that the parameter's compiled schema refuses, as the text to send; `None` when
/// the schema cannot be read or accepts every candidate.
fn first_invalid(
    gen: &mut Generator<'_, '_>,
    schemas: &mut Schemas,
    p: &Param,
    broken: Breakage,
) -> Option<String> {
    let compiled = schemas.get(gen.doc, &p.schema).ok()?.clone();
    let Some(Value::Object(s)) = gen
        .doc
        .raw
        .pointer(&p.schema)
        .map(|v| gen.doc.deref(v).clone())
    else {
        return None;
    };
    // Each candidate: the JSON value the schema judges, and the text that is sent.
    let candidates: Vec<(Value, String)> = match broken {
        Breakage::WrongType => match primary_type(&s).as_str() {
            "integer" | "number" | "boolean" => vec![(Value::from("abc"), "abc".into())],
            _ => Vec::new(),
        },
        Breakage::PastLimit { enums } => {
            let (low, high) = bounds(&s);
            let mut c: Vec<(Value, String)> = [
                high.map(|h| h.saturating_add(1)),
                low.map(|l| l.saturating_sub(1)),
            ]
            .into_iter()
            .flatten()
            .map(|n| (Value::from(n), n.to_string()))
            .collect();
            if let Some(max) = uint(&s, "maxLength").filter(|m| *m < MAX_STRING) {
                let w = gen.word(max + 1, max + 1);
                c.push((Value::from(w.clone()), w));
            }
            if enums
                && s.get("enum")
                    .and_then(Value::as_array)
                    .is_some_and(|e| e.iter().all(Value::is_string))
            {
                let w = "not-one-of-the-documented-values".to_string();
                c.push((Value::from(w.clone()), w));
            }
            c
        }
        Breakage::Empty => vec![(Value::from(""), String::new())],
    };
    candidates
        .into_iter()
        .find(|(v, _)| !compiled.is_valid(v))
        .map(|(_, sent)| sent)
}

/// The request path with the query parameters of `values`, and the header parameters as headers.
pub fn apply(
    path: &str,
    params: &[Param],
    values: &[(usize, String)],
) -> (String, Vec<(String, String)>) {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let mut headers = Vec::new();
    let mut any = false;
    for (i, v) in values {
        let p = &params[*i];
        match p.at {
            In::Query => {
                query.append_pair(&p.name, v);
                any = true;
            }
            In::Header => headers.push((p.name.to_ascii_lowercase(), v.clone())),
            In::Path => {}
        }
    }
    let path = if any {
        format!("{path}?{}", query.finish())
    } else {
        path.to_string()
    };
    (path, headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::openapi::document::Version;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use serde_json::json;

    fn doc() -> Document {
        Document::new(
            json!({"openapi": "3.1.0", "paths": {"/notes": {
                "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                "get": {"parameters": [
                    {"name": "limit", "in": "query", "required": true,
                     "schema": {"type": "integer", "minimum": 0, "maximum": 100}},
                    {"name": "X-Tag", "in": "header", "required": true,
                     "schema": {"type": "string", "example": "café"}},
                    {"name": "Accept", "in": "header", "schema": {"type": "string"}}
                ], "responses": {}}
            }}}),
            Version::V31,
        )
    }

    #[test]
    fn the_operations_own_parameters_override_the_path_items() {
        let d = doc();
        let ps = of(&d, &d.operations[0]);
        let names: Vec<&str> = ps.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["limit", "X-Tag"]);
        assert!(ps[0].required);
        assert_eq!(ps[0].schema, "/paths/~1notes/get/parameters/0/schema");
    }

    #[test]
    fn values_are_valid_and_each_kind_breaks_one() {
        let d = doc();
        let ps = of(&d, &d.operations[0]);
        let mut schemas = Schemas::default();
        for seed in 0..20 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut gen = Generator::new(&d, &mut rng);
            let values = valid(&mut gen, &mut schemas, &ps).expect("values");
            let limit = &values.iter().find(|(i, _)| *i == 0).expect("required").1;
            assert!(
                (0..=100).contains(&limit.parse::<i64>().expect("a number")),
                "{limit}"
            );
            for (kind, sent) in [
                (Invalid::ParamWrongType, vec!["abc"]),
                (Invalid::ParamPastLimit, vec!["101", "-1"]),
                (Invalid::ParamEmpty, vec![""]),
            ] {
                let broken = invalid(&mut gen, &mut schemas, &ps, &values, kind).expect("broken");
                let limit = &broken.iter().find(|(i, _)| *i == 0).expect("limit").1;
                assert!(sent.contains(&limit.as_str()), "{kind:?}: {limit}");
            }
            let (path, headers) = apply("/notes", &ps, &values);
            assert!(path.starts_with("/notes?limit="), "{path}");
            // The non-ASCII example cannot be a header value: another value is drawn.
            assert_eq!(headers.len(), 1, "{headers:?}");
            assert!(
                headers.iter().all(|(n, v)| n == "x-tag" && v.is_ascii()),
                "{headers:?}"
            );
        }
    }
}
