//! Invalid request bodies, each made from a valid one by breaking one rule of the document's schema.
//!
//! Every kind lists its candidates (which property to drop, retype or push past a limit), shuffles them with
//! the check's seeded generator, and keeps the first one the compiled schema really rejects, so an "invalid"
//! request is invalid by the document's own measure, not by a guess about it.

use rand::seq::SliceRandom;
use serde_json::{Map, Value};

use super::document::Document;
use super::generate::{bounds, merge, primary_type, uint, Generator, MAX_ITEMS, MAX_STRING};
use super::security::Bad;
use crate::checks::schema::JsonSchema;

/// The rule an invalid body breaks; named in the learner's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    MissingRequired,
    WrongType,
    PastLimit,
    NotJson,
    /// A query or header parameter (`params.rs`), not the body.
    ParamWrongType,
    ParamPastLimit,
    ParamEmpty,
    /// A path parameter (`params.rs`): confirmed invalid by its schema, must get a 4xx (a 404 too, documented
    /// or not: the path names nothing).
    PathWrongType,
    PathPastLimit,
    /// An empty path segment, or one of [`MAX_STRING`] letters, which the schema may allow: only a 5xx
    /// fails.
    PathEmpty,
    PathLong,
    /// The credential (`security.rs`), on an otherwise valid request: must get a 401.
    NoCredentials,
    BadCredentials,
    ExpiredCredentials,
}

impl Invalid {
    pub const ALL: [Invalid; 14] = [
        Invalid::MissingRequired,
        Invalid::WrongType,
        Invalid::PastLimit,
        Invalid::NotJson,
        Invalid::ParamWrongType,
        Invalid::ParamPastLimit,
        Invalid::ParamEmpty,
        Invalid::PathWrongType,
        Invalid::PathPastLimit,
        Invalid::PathEmpty,
        Invalid::PathLong,
        Invalid::NoCredentials,
        Invalid::BadCredentials,
        Invalid::ExpiredCredentials,
    ];

    /// Whether the kind breaks the body.
    pub fn in_body(self) -> bool {
        matches!(
            self,
            Invalid::MissingRequired | Invalid::WrongType | Invalid::PastLimit | Invalid::NotJson
        )
    }

    /// How the credential is broken, for the credential kinds.
    pub fn credentials(self) -> Option<Bad> {
        match self {
            Invalid::NoCredentials => Some(Bad::Missing),
            Invalid::BadCredentials => Some(Bad::Malformed),
            Invalid::ExpiredCredentials => Some(Bad::Expired),
            _ => None,
        }
    }

    /// Whether the kind breaks a parameter rather than the body.
    pub fn in_params(self) -> bool {
        matches!(
            self,
            Invalid::ParamWrongType | Invalid::ParamPastLimit | Invalid::ParamEmpty
        )
    }

    /// Whether the kind breaks a path parameter.
    pub fn in_path(self) -> bool {
        matches!(
            self,
            Invalid::PathWrongType
                | Invalid::PathPastLimit
                | Invalid::PathEmpty
                | Invalid::PathLong
        )
    }

    /// The request, in the learner's words: "a request body with …" or "a request with …".
    pub fn request(self) -> String {
        if !self.in_body() {
            format!("a request with {}", self.describe())
        } else {
            format!("a request body with {}", self.describe())
        }
    }

    /// What is wrong with the body, in the learner's words.
    pub fn describe(self) -> &'static str {
        match self {
            Invalid::MissingRequired => "a required property missing",
            Invalid::WrongType => "a property of the wrong type",
            Invalid::PastLimit => "a value past a documented limit",
            Invalid::NotJson => "a body that is not JSON",
            Invalid::ParamWrongType => "a parameter of the wrong type",
            Invalid::ParamPastLimit => "a parameter past a documented limit",
            Invalid::ParamEmpty => "an empty parameter",
            Invalid::PathWrongType => "a path parameter of the wrong type",
            Invalid::PathPastLimit => "a path parameter past a documented limit",
            Invalid::PathEmpty => "an empty path segment",
            Invalid::PathLong => "an over-long path segment",
            Invalid::NoCredentials => "no credentials",
            Invalid::BadCredentials => "malformed credentials",
            Invalid::ExpiredCredentials => "expired credentials",
        }
    }
}

/// An invalid body: JSON that breaks the schema, or text that is no JSON at all.
#[derive(Debug, Clone, PartialEq)]
pub enum Broken {
    Json(Value),
    Text(String),
}

/// A body of kind `kind` made from `valid`, or `None` when the schema gives that kind nothing to break.
pub fn invalid(
    gen: &mut Generator<'_, '_>,
    schema: &Value,
    compiled: &JsonSchema,
    valid: &Value,
    kind: Invalid,
) -> Option<Broken> {
    if kind == Invalid::NotJson {
        // Cut short mid-object: what a client that crashed while writing sends.
        return Some(Broken::Text(r#"{"gauntlet": "#.to_string()));
    }
    let props = object_view(gen.doc, schema);
    let mut candidates: Vec<Value> = match kind {
        Invalid::MissingRequired => missing_required(&props, valid),
        Invalid::WrongType => wrong_type(gen.doc, &props, valid),
        Invalid::PastLimit => past_limit(gen, &props, valid),
        Invalid::NotJson
        | Invalid::ParamWrongType
        | Invalid::ParamPastLimit
        | Invalid::ParamEmpty
        | Invalid::PathWrongType
        | Invalid::PathPastLimit
        | Invalid::PathEmpty
        | Invalid::PathLong
        | Invalid::NoCredentials
        | Invalid::BadCredentials
        | Invalid::ExpiredCredentials => Vec::new(),
    };
    candidates.shuffle(gen.rng);
    candidates
        .into_iter()
        .find(|c| !compiled.is_valid(c))
        .map(Broken::Json)
}

/// The top-level properties of an object schema (with `allOf` merged) and its required names.
pub struct ObjectView {
    pub properties: Vec<(String, Value)>,
    pub required: Vec<String>,
}

pub fn object_view(doc: &Document, schema: &Value) -> ObjectView {
    let s = match doc.deref(schema) {
        Value::Object(s) => match s.get("allOf") {
            Some(Value::Array(all)) => merge(doc, s, all),
            _ => Value::Object(s.clone()),
        },
        other => other.clone(),
    };
    let properties = s
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .map(|(k, v)| (k.clone(), doc.deref(v).clone()))
                .collect()
        })
        .unwrap_or_default();
    let required = s
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    ObjectView {
        properties,
        required,
    }
}

/// `valid` (an object) with property `name` set to `v`, or removed for `None`.
pub fn with(valid: &Value, name: &str, v: Option<Value>) -> Option<Value> {
    let mut obj: Map<String, Value> = valid.as_object()?.clone();
    match v {
        Some(v) => obj.insert(name.to_string(), v),
        None => obj.remove(name),
    };
    Some(Value::Object(obj))
}

fn missing_required(props: &ObjectView, valid: &Value) -> Vec<Value> {
    props
        .required
        .iter()
        .filter(|r| valid.get(r.as_str()).is_some())
        .filter_map(|r| with(valid, r, None))
        .collect()
}

fn wrong_type(doc: &Document, props: &ObjectView, valid: &Value) -> Vec<Value> {
    let mut out: Vec<Value> = props
        .properties
        .iter()
        .filter_map(|(name, p)| {
            let Value::Object(s) = doc.deref(p) else {
                return None;
            };
            // A value of another JSON type than the documented one.
            let other = match primary_type(s).as_str() {
                "string" => Value::from(12345),
                "integer" | "number" => Value::from("seven"),
                "boolean" => Value::from("yes"),
                "array" => Value::from("not a list"),
                _ => Value::from(42),
            };
            let mut bodies: Vec<Value> = with(valid, name, Some(other)).into_iter().collect();
            // And `null` where the schema plainly does not allow it: a parser that reads `null` as absent
            // accepts what the document refuses.
            if never_null(s) {
                bodies.extend(with(valid, name, Some(Value::Null)));
            }
            Some(bodies)
        })
        .flatten()
        .collect();
    // A body that should be an object but is a list.
    out.push(Value::Array(vec![valid.clone()]));
    out
}

/// A schema with one plain `type` other than `null`, not `nullable` (3.0), and no `null` among its `enum`
/// values: `null` is surely invalid for it. Anything more involved (`anyOf`, a type list) is left alone.
fn never_null(s: &Map<String, Value>) -> bool {
    let plain = matches!(s.get("type"), Some(Value::String(t)) if t != "null");
    let nullable = s.get("nullable") == Some(&Value::Bool(true));
    let null_in_enum = s
        .get("enum")
        .and_then(Value::as_array)
        .is_some_and(|e| e.contains(&Value::Null));
    plain && !nullable && !null_in_enum && !s.contains_key("anyOf") && !s.contains_key("oneOf")
}

fn past_limit(gen: &mut Generator<'_, '_>, props: &ObjectView, valid: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for (name, p) in &props.properties {
        let Value::Object(s) = gen.doc.deref(p).clone() else {
            continue;
        };
        for v in limit_breakers(gen, &s) {
            out.extend(with(valid, name, Some(v)));
        }
    }
    out
}

/// Values that break one limit of a property's schema: lengths, bounds, sizes, `enum`; and for an array of
/// limited strings, one item past its limit.
fn limit_breakers(gen: &mut Generator<'_, '_>, s: &Map<String, Value>) -> Vec<Value> {
    // Limits past what a generated value may hold (see `MAX_STRING`, `MAX_ITEMS`) get no breaker.
    let mut out = Vec::new();
    if let Some(max) = uint(s, "maxLength").filter(|m| *m < MAX_STRING) {
        out.push(Value::String(gen.word(max + 1, max + 1)));
    }
    if let Some(min) = uint(s, "minLength").filter(|m| (1..=MAX_STRING).contains(m)) {
        out.push(Value::String(gen.word(min - 1, min - 1)));
    }
    let (low, high) = bounds(s);
    if let Some(h) = high {
        out.push(Value::from(h.saturating_add(1)));
    }
    if let Some(l) = low {
        out.push(Value::from(l.saturating_sub(1)));
    }
    if let Some(Value::Array(options)) = s.get("enum") {
        if options.iter().all(Value::is_string) {
            out.push(Value::from("not-one-of-the-documented-values"));
        }
    }
    if primary_type(s) == "array" {
        let items = s.get("items").cloned().unwrap_or(Value::Bool(true));
        let item = gen.value(&items).unwrap_or(Value::from("x"));
        if let Some(max) = uint(s, "maxItems").filter(|m| *m < MAX_ITEMS) {
            out.push(Value::Array(vec![item.clone(); max + 1]));
        }
        if let Value::Object(is) = gen.doc.deref(&items).clone() {
            if let Some(max) = uint(&is, "maxLength").filter(|m| *m < MAX_STRING) {
                out.push(Value::Array(vec![Value::String(
                    gen.word(max + 1, max + 1),
                )]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::openapi::document::Version;
    use crate::checks::schema::Dialect;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use serde_json::json;

    #[test]
    fn every_kind_breaks_the_schema() {
        let schema = json!({"type": "object", "required": ["title"], "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": 5},
            "tags": {"type": "array", "maxItems": 2, "items": {"type": "string", "maxLength": 3}}
        }});
        let doc = Document::new(json!({"openapi": "3.1.0"}), Version::V31);
        let compiled = JsonSchema::compile(&schema, Dialect::Default).expect("compiles");
        let valid = json!({"title": "abc", "tags": ["x"]});
        for seed in 0..20 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut gen = Generator::new(&doc, &mut rng);
            for kind in Invalid::ALL.into_iter().filter(|k| k.in_body()) {
                match invalid(&mut gen, &schema, &compiled, &valid, kind) {
                    Some(Broken::Json(v)) => assert!(!compiled.is_valid(&v), "{kind:?}: {v}"),
                    Some(Broken::Text(t)) => assert!(serde_json::from_str::<Value>(&t).is_err()),
                    None => panic!("{kind:?} found nothing to break"),
                }
            }
        }
    }

    #[test]
    fn limits_too_large_to_break_are_left_alone() {
        let schema = json!({"type": "object", "properties": {
            "note": {"type": "string", "maxLength": u64::MAX},
            "tags": {"type": "array", "maxItems": 1_000_000_000u64, "items": {"type": "string"}}
        }});
        let doc = Document::new(json!({"openapi": "3.1.0"}), Version::V31);
        let compiled = JsonSchema::compile(&schema, Dialect::Default).expect("compiles");
        let mut rng = StdRng::seed_from_u64(1);
        let mut gen = Generator::new(&doc, &mut rng);
        let v = json!({"note": "a", "tags": []});
        assert_eq!(
            invalid(&mut gen, &schema, &compiled, &v, Invalid::PastLimit),
            None
        );
    }

    #[test]
    fn a_schema_without_limits_has_no_limit_to_break() {
        let schema = json!({"type": "object", "properties": {"note": {"type": "string"}}});
        let doc = Document::new(json!({"openapi": "3.1.0"}), Version::V31);
        let compiled = JsonSchema::compile(&schema, Dialect::Default).expect("compiles");
        let mut rng = StdRng::seed_from_u64(1);
        let mut gen = Generator::new(&doc, &mut rng);
        let v = json!({"note": "a"});
        assert_eq!(
            invalid(&mut gen, &schema, &compiled, &v, Invalid::PastLimit),
            None
        );
        assert_eq!(
            invalid(&mut gen, &schema, &compiled, &v, Invalid::MissingRequired),
            None
        );
    }

    #[test]
    fn null_is_sent_only_where_the_schema_plainly_refuses_it() {
        let schema = json!({"type": "object", "properties": {
            "title": {"type": "string"},
            "cursor": {"type": ["string", "null"]},
            "body": {"type": "string", "nullable": true},
            "kind": {"type": "string", "enum": ["a", null]}
        }});
        let doc = Document::new(json!({"openapi": "3.1.0"}), Version::V31);
        let compiled = JsonSchema::compile(&schema, Dialect::Default).expect("compiles");
        let valid = json!({"title": "t", "cursor": "c", "body": "b", "kind": "a"});
        let props = object_view(&doc, &schema);
        let bodies = wrong_type(&doc, &props, &valid);
        let nulled: Vec<&str> = bodies
            .iter()
            .filter_map(|v| v.as_object())
            .flat_map(|o| {
                o.iter()
                    .filter(|(_, x)| x.is_null())
                    .map(|(k, _)| k.as_str())
            })
            .collect();
        assert_eq!(nulled, ["title"]);
        assert!(
            !compiled.is_valid(&json!({"title": null, "cursor": "c", "body": "b", "kind": "a"}))
        );
    }
}
