//! Whether the learner's document is a usable OpenAPI 3.0.x or 3.1.x description, every problem with the JSON
//! pointer of where it is.
//!
//! Five passes, each only when the ones before found nothing, so the learner fixes the root cause first:
//! the structure (`structure.json`, a subset of the official schemas checked with the `jsonschema` crate, whose
//! messages name the usual mistakes plainly); the OpenAPI Initiative's own schema of the document's version
//! (`official/`, the final word on what a valid 3.0.x or 3.1.x document is); every `$ref` resolves within the document (external references are refused: the grader fetches nothing
//! else); every schema compiles in the document's dialect; every `{param}` of a path is declared as a path
//! parameter. A [`Document`] is only built from a document that passed them all.

use std::sync::OnceLock;

use serde_json::Value;

use super::document::{escape, local_pointer, Document, Version, PATH_METHODS};
use super::schemas;
use crate::checks::schema::{Dialect, JsonSchema};

/// The structure the checks rely on, as JSON Schema 2020-12.
const STRUCTURE: &str = include_str!("structure.json");

/// One thing wrong with the document, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON pointer into the learner's document (empty for the whole document).
    pub at: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.at.is_empty() { "/" } else { &self.at };
        write!(f, "at `{at}`: {}", self.message)
    }
}

/// Why no [`Document`] came out.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DocumentError {
    #[error("the document is not valid OpenAPI 3.0/3.1")]
    Invalid(Vec<Problem>),
    /// The grader's own structure schema did not compile: a platform fault.
    #[error("the OpenAPI structure schema does not compile: {0}")]
    Internal(String),
}

/// Checks `raw` and indexes it.
pub fn document(raw: Value) -> Result<Document, DocumentError> {
    let problems = structure(&raw)?;
    if !problems.is_empty() {
        return Err(DocumentError::Invalid(problems));
    }
    let version = raw
        .get("openapi")
        .and_then(Value::as_str)
        .and_then(Version::parse)
        .ok_or_else(|| {
            DocumentError::Invalid(vec![Problem {
                at: "/openapi".into(),
                message: "must be a 3.0.x or 3.1.x version".into(),
            }])
        })?;
    let problems = official(&raw, version)?;
    if !problems.is_empty() {
        return Err(DocumentError::Invalid(problems));
    }
    let mut problems = Vec::new();
    references(&raw, &raw, "", &mut problems);
    if !problems.is_empty() {
        return Err(DocumentError::Invalid(problems));
    }
    let doc = Document::new(raw, version);
    let problems: Vec<Problem> = schemas_compile(&doc)
        .into_iter()
        .chain(path_parameters(&doc))
        .collect();
    if problems.is_empty() {
        Ok(doc)
    } else {
        Err(DocumentError::Invalid(problems))
    }
}

fn structure(raw: &Value) -> Result<Vec<Problem>, DocumentError> {
    let schema: Value =
        serde_json::from_str(STRUCTURE).map_err(|e| DocumentError::Internal(e.to_string()))?;
    let structure = JsonSchema::compile(&schema, Dialect::Default)
        .map_err(|e| DocumentError::Internal(e.to_string()))?;
    Ok(structure
        .violations(raw)
        .into_iter()
        .map(|v| Problem {
            at: v.at,
            message: v.message,
        })
        .collect())
}

/// The official schemas, unchanged (Apache-2.0; see `official/NOTICE`).
const OFFICIAL_3_0: &str = include_str!("official/oas-3.0.json");
const OFFICIAL_3_1: &str = include_str!("official/oas-3.1.json");

/// The document against the OpenAPI Initiative's schema of its version, compiled once per process.
fn official(raw: &Value, version: Version) -> Result<Vec<Problem>, DocumentError> {
    static V30: OnceLock<Result<JsonSchema, String>> = OnceLock::new();
    static V31: OnceLock<Result<JsonSchema, String>> = OnceLock::new();
    let (cell, text, dialect) = match version {
        Version::V30 => (&V30, OFFICIAL_3_0, Dialect::Draft4),
        Version::V31 => (&V31, OFFICIAL_3_1, Dialect::Default),
    };
    let compiled = cell.get_or_init(|| {
        let schema: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        JsonSchema::compile(&schema, dialect).map_err(|e| e.to_string())
    });
    let schema = compiled
        .as_ref()
        .map_err(|e| DocumentError::Internal(format!("the official schema: {e}")))?;
    Ok(schema
        .violations(raw)
        .into_iter()
        .map(|v| Problem {
            at: v.at,
            message: format!("{} (OpenAPI's own schema)", v.message),
        })
        .collect())
}

/// Every `"$ref": "<string>"` below `at` must resolve within `root`.
fn references(root: &Value, v: &Value, at: &str, problems: &mut Vec<Problem>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                let message = match local_pointer(r) {
                    None => Some(format!(
                        "`{r}` points outside the document; only `#/...` references are supported"
                    )),
                    Some(p) if root.pointer(&p).is_none() => {
                        Some(format!("`{r}` does not resolve: nothing is there"))
                    }
                    Some(_) => None,
                };
                if let Some(message) = message {
                    problems.push(Problem {
                        at: format!("{at}/$ref"),
                        message,
                    });
                }
            }
            for (k, child) in map {
                references(root, child, &format!("{at}/{}", escape(k)), problems);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                references(root, child, &format!("{at}/{i}"), problems);
            }
        }
        _ => {}
    }
}

/// Every schema the checks may use must compile in the document's dialect.
fn schemas_compile(doc: &Document) -> Vec<Problem> {
    schema_pointers(&doc.raw)
        .into_iter()
        .filter_map(|at| {
            schemas::compile(doc, &at).err().map(|e| Problem {
                at,
                message: format!("not a valid schema: {e}"),
            })
        })
        .collect()
}

/// Where schemas sit: components, parameters, and the media types of request bodies and responses.
fn schema_pointers(raw: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let keys = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let content = |at: &str, out: &mut Vec<String>| {
        for media in keys(raw.pointer(&format!("{at}/content"))) {
            let p = format!("{at}/content/{}/schema", escape(&media));
            if raw.pointer(&p).is_some() {
                out.push(p);
            }
        }
    };
    let params = |at: &str, out: &mut Vec<String>| {
        let n = raw
            .pointer(at)
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        for i in 0..n {
            let p = format!("{at}/{i}/schema");
            if raw.pointer(&p).is_some() {
                out.push(p);
            }
        }
    };
    for name in keys(raw.pointer("/components/schemas")) {
        out.push(format!("/components/schemas/{}", escape(&name)));
    }
    for kind in ["responses", "requestBodies"] {
        for name in keys(raw.pointer(&format!("/components/{kind}"))) {
            content(&format!("/components/{kind}/{}", escape(&name)), &mut out);
        }
    }
    for name in keys(raw.pointer("/components/parameters")) {
        let p = format!("/components/parameters/{}/schema", escape(&name));
        if raw.pointer(&p).is_some() {
            out.push(p);
        }
    }
    for path in keys(raw.get("paths")) {
        let item = format!("/paths/{}", escape(&path));
        params(&format!("{item}/parameters"), &mut out);
        for m in PATH_METHODS {
            let op = format!("{item}/{m}");
            if raw.pointer(&op).is_none() {
                continue;
            }
            params(&format!("{op}/parameters"), &mut out);
            content(&format!("{op}/requestBody"), &mut out);
            for status in keys(raw.pointer(&format!("{op}/responses"))) {
                content(&format!("{op}/responses/{}", escape(&status)), &mut out);
            }
        }
    }
    out
}

/// Every `{name}` in a path must be declared as a path parameter of the path item or the operation.
fn path_parameters(doc: &Document) -> Vec<Problem> {
    let mut problems = Vec::new();
    for op in &doc.operations {
        let item = op.pointer.rsplit_once('/').map_or("", |(item, _)| item);
        let declared: Vec<String> = [
            format!("{item}/parameters"),
            format!("{}/parameters", op.pointer),
        ]
        .iter()
        .flat_map(|at| {
            let n = doc
                .raw
                .pointer(at)
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            (0..n).filter_map(move |i| {
                let (_, p) = doc.resolved(&format!("{at}/{i}"))?;
                (p.get("in")?.as_str()? == "path")
                    .then(|| p.get("name")?.as_str().map(str::to_string))
                    .flatten()
            })
        })
        .collect();
        for name in braces(&op.template.text) {
            if !declared.iter().any(|d| d == name) {
                problems.push(Problem {
                    at: op.pointer.clone(),
                    message: format!(
                        "path parameter `{name}` of `{}` is not declared in `parameters` (with `in: path`)",
                        op.template.text
                    ),
                });
            }
        }
    }
    problems
}

/// The names between `{}` in a path template.
fn braces(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {"/notes/{id}": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "get": {"responses": {"200": {"description": "ok", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Note"}}}}}}
            }},
            "components": {
                "schemas": {"Note": {"type": "object"}},
                "parameters": {"Id": {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}}
            }
        })
    }

    fn problems(v: Value) -> Vec<Problem> {
        match document(v) {
            Ok(_) => Vec::new(),
            Err(DocumentError::Invalid(p)) => p,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn accepts_a_minimal_valid_document() {
        assert_eq!(problems(minimal()), Vec::new());
    }

    #[test]
    fn names_a_missing_field_at_its_pointer() {
        let mut v = minimal();
        v["paths"]["/notes/{id}"]["get"]["responses"]["200"]
            .as_object_mut()
            .expect("object")
            .remove("description");
        let p = problems(v);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].at, "/paths/~1notes~1{id}/get/responses/200");
        assert!(p[0].message.contains("description"), "{p:?}");
    }

    #[test]
    fn the_official_schema_has_the_last_word() {
        // Past the friendlier subset, OpenAPI's own schema still refuses what the specification forbids.
        for version in ["3.1.0", "3.0.3"] {
            let mut v = minimal();
            v["openapi"] = json!(version);
            assert_eq!(problems(v.clone()), Vec::new(), "{version}");
            for (field, value, at, words) in [
                ("colour", json!("blue"), "", "colour"),
                (
                    "tags",
                    json!([{ "description": "no name" }]),
                    "/tags/0",
                    "\"name\"",
                ),
                (
                    "externalDocs",
                    json!({ "description": "x" }),
                    "/externalDocs",
                    "\"url\"",
                ),
            ] {
                let mut wrong = v.clone();
                wrong[field] = value;
                let p = problems(wrong);
                assert!(
                    p.iter().any(|p| p.at == at
                        && p.message.contains(words)
                        && p.message.contains("OpenAPI's own schema")),
                    "{version} {field}: {p:?}"
                );
            }
        }
    }

    #[test]
    fn refuses_paths_that_would_leave_the_service() {
        // `//host/x` and `/\\host/x` join as URLs of another host; generated requests must never go there.
        for path in ["//169.254.169.254/latest", "/\\evil/x", "/notes//x"] {
            let mut v = minimal();
            v["paths"][path] = json!({});
            let p = problems(v);
            assert!(p.iter().any(|p| p.at == "/paths"), "{path}: {p:?}");
        }
        let mut v = minimal();
        v["paths"]["/notes/"] = json!({});
        assert_eq!(
            problems(v),
            Vec::new(),
            "a trailing slash is a path like any other"
        );
    }

    #[test]
    fn refuses_other_versions() {
        let mut v = minimal();
        v["openapi"] = json!("2.0");
        assert_eq!(problems(v)[0].at, "/openapi");
    }

    #[test]
    fn refuses_unresolvable_and_remote_references() {
        let mut v = minimal();
        v["components"]["schemas"]["Note"] = json!({"properties": {
            "a": {"$ref": "#/components/schemas/Nope"},
            "b": {"$ref": "https://example.com/s.json"}
        }});
        let p = problems(v);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p
            .iter()
            .any(|p| p.at == "/components/schemas/Note/properties/a/$ref"
                && p.message.contains("does not resolve")));
    }

    #[test]
    fn refuses_a_schema_that_does_not_compile() {
        let mut v = minimal();
        v["components"]["schemas"]["Note"] = json!({"type": "strnig"});
        let p = problems(v);
        assert!(
            p.iter().any(|p| p.at == "/components/schemas/Note"),
            "{p:?}"
        );
    }

    #[test]
    fn refuses_an_undeclared_path_parameter() {
        let mut v = minimal();
        v["paths"]["/notes/{id}"]
            .as_object_mut()
            .expect("object")
            .remove("parameters");
        let p = problems(v);
        assert!(p[0].message.contains("`id`"), "{p:?}");
    }

    #[test]
    fn requires_responses_in_3_0_only() {
        let mut v = minimal();
        v["paths"]["/notes/{id}"]["get"]
            .as_object_mut()
            .expect("object")
            .remove("responses");
        assert_eq!(problems(v.clone()), Vec::new());
        v["openapi"] = json!("3.0.3");
        let p = problems(v);
        assert!(p.iter().any(|p| p.message.contains("responses")), "{p:?}");
    }
}
