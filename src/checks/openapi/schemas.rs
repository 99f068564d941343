//! Schemas of a document compiled for validation, in the dialect of its OpenAPI version.
//!
//! A schema at some pointer is compiled as the root of a small document made of the schema plus the
//! document's `components`, so `#/components/...` references resolve exactly as they do in the learner's
//! document. OpenAPI 3.1 schemas are JSON Schema 2020-12 as they stand. OpenAPI 3.0 schemas are read as
//! draft 4 (their base), after rewriting `nullable: true` into what draft 4 understands: `null` added to
//! `type` (and to `enum`), or, beside a `$ref` or a combinator, an `anyOf` with `{"type": "null"}`.
//!
//! Approximations: a `$ref` to anywhere but `#/components/...` does not resolve here (validation of the
//! document reports it), `jsonSchemaDialect` and `$schema` in 3.1 documents are not honoured beyond what the
//! crate does with `$schema`, and 3.0's `discriminator`, `readOnly`/`writeOnly` are annotations only.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::document::{Document, Version};
use crate::checks::schema::{Dialect, JsonSchema, SchemaError};

/// Compiled schemas by pointer, so each is compiled once per check.
#[derive(Debug, Default)]
pub struct Schemas {
    compiled: BTreeMap<String, Result<JsonSchema, SchemaError>>,
}

impl Schemas {
    /// The compiled schema at `pointer` in `doc`.
    pub fn get(&mut self, doc: &Document, pointer: &str) -> Result<&JsonSchema, SchemaError> {
        self.compiled
            .entry(pointer.to_string())
            .or_insert_with(|| compile(doc, pointer))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// Compiles the schema at `pointer` with the document's components beside it.
pub fn compile(doc: &Document, pointer: &str) -> Result<JsonSchema, SchemaError> {
    let Some(schema) = doc.raw.pointer(pointer) else {
        return Err(SchemaError::new(format!("nothing at `{pointer}`")));
    };
    let root = with_components(schema, doc.raw.get("components"));
    match doc.version {
        Version::V31 => JsonSchema::compile(&root, Dialect::Default),
        Version::V30 => JsonSchema::compile(&nullable_to_draft4(&root), Dialect::Draft4),
    }
}

fn with_components(schema: &Value, components: Option<&Value>) -> Value {
    match (schema, components) {
        (Value::Object(map), Some(c)) if !map.contains_key("components") => {
            let mut map = map.clone();
            map.insert("components".to_string(), c.clone());
            Value::Object(map)
        }
        // A boolean schema (3.1) or one without components needs nothing beside it.
        (Value::Bool(true), Some(c)) => {
            let mut map = Map::new();
            map.insert("components".to_string(), c.clone());
            Value::Object(map)
        }
        _ => schema.clone(),
    }
}

/// Rewrites every `nullable: true` of an OpenAPI 3.0 schema (and its components) for draft 4.
pub fn nullable_to_draft4(v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(nullable_to_draft4).collect()),
        Value::Object(map) => {
            let mut out: Map<String, Value> = map
                .iter()
                .map(|(k, v)| (k.clone(), nullable_to_draft4(v)))
                .collect();
            if out.get("nullable") != Some(&Value::Bool(true)) {
                return Value::Object(out);
            }
            out.remove("nullable");
            match out.get("type").cloned() {
                Some(Value::String(t)) => {
                    out.insert("type".into(), Value::Array(vec![t.into(), "null".into()]));
                    if let Some(Value::Array(e)) = out.get_mut("enum") {
                        if !e.contains(&Value::Null) {
                            e.push(Value::Null);
                        }
                    }
                    Value::Object(out)
                }
                _ if ["$ref", "allOf", "oneOf", "anyOf"]
                    .iter()
                    .any(|k| out.contains_key(*k)) =>
                {
                    let mut null = Map::new();
                    null.insert("type".into(), "null".into());
                    let mut wrapper = Map::new();
                    wrapper.insert(
                        "anyOf".into(),
                        Value::Array(vec![Value::Object(null), Value::Object(out)]),
                    );
                    Value::Object(wrapper)
                }
                _ => Value::Object(out),
            }
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(version: Version, openapi: &str) -> Document {
        Document::new(
            json!({
                "openapi": openapi,
                "paths": {},
                "components": {"schemas": {
                    "Note": {"type": "object", "required": ["id"], "properties": {
                        "id": {"type": "string"},
                        "next": {"type": "string", "nullable": true},
                        "kind": {"type": "string", "enum": ["a"], "nullable": true},
                        "parent": {"allOf": [{"$ref": "#/components/schemas/Ref"}], "nullable": true}
                    }},
                    "Ref": {"type": "object"},
                    "Holder": {"$ref": "#/components/schemas/Note"}
                }}
            }),
            version,
        )
    }

    #[test]
    fn resolves_component_references() {
        let d = doc(Version::V31, "3.1.0");
        let s = compile(&d, "/components/schemas/Holder").expect("compiles");
        assert!(s.is_valid(&json!({"id": "n_1"})));
        assert!(!s.is_valid(&json!({"id": 1})));
        assert!(!s.is_valid(&json!({})));
    }

    #[test]
    fn reads_3_0_nullable_as_draft_4() {
        let d = doc(Version::V30, "3.0.3");
        let s = compile(&d, "/components/schemas/Note").expect("compiles");
        assert!(s.is_valid(&json!({"id": "x", "next": null, "kind": null, "parent": null})));
        assert!(s.is_valid(&json!({"id": "x", "next": "c1", "kind": "a", "parent": {}})));
        assert!(!s.is_valid(&json!({"id": "x", "kind": "b"})));
        assert!(!s.is_valid(&json!({"id": "x", "parent": 3})));
        // In 3.1, `nullable` means nothing: null is not a string.
        let d31 = doc(Version::V31, "3.1.0");
        let s31 = compile(&d31, "/components/schemas/Note").expect("compiles");
        assert!(!s31.is_valid(&json!({"id": "x", "next": null})));
    }
}
