//! JSON Schema, compiled once and checked many times, shared by the `http` kind's `schema` expectation and
//! the `openapi` kind's documents.
//!
//! The `jsonschema` crate does the work: it checks a schema against its draft's meta-schema when compiling
//! (so an author's typo such as `type = "strnig"` is refused when the check file is loaded, not at run time)
//! and reports each violation with the JSON pointer of the offending value. It is built without its remote
//! resolvers, so a schema can never make the grader fetch anything: a `$ref` outside the schema is an error.

use std::sync::Arc;

use serde_json::Value;

/// Which JSON Schema draft a schema is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The draft the schema names with `$schema`, else 2020-12: what an author writing a check expects, and
    /// what OpenAPI 3.1 uses.
    Default,
    /// Draft 4, the closest to OpenAPI 3.0's schema object (boolean `exclusiveMaximum`, no `const`).
    Draft4,
}

/// Why a schema could not be compiled; the text names the keyword or reference at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(String);

impl SchemaError {
    pub fn new(message: impl Into<String>) -> SchemaError {
        SchemaError(message.into())
    }
}

/// A compiled schema; cheap to clone, since a suite's checks are cloned into each run.
#[derive(Clone)]
pub struct JsonSchema {
    /// What the author wrote, for the transcript.
    source: Arc<Value>,
    validator: Arc<jsonschema::Validator>,
}

impl std::fmt::Debug for JsonSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JsonSchema({})", self.source)
    }
}

/// One way a value broke a schema: where (a JSON pointer into the value) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub at: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at `{}`: {}", self.at, self.message)
    }
}

/// At most this many violations are kept per value: the first few explain a mismatch, a thousand bury it.
pub const MAX_VIOLATIONS: usize = 10;

impl JsonSchema {
    /// Compiles `schema`, checking it against its draft's meta-schema first.
    pub fn compile(schema: &Value, dialect: Dialect) -> Result<JsonSchema, SchemaError> {
        let mut options = jsonschema::options();
        if dialect == Dialect::Draft4 {
            options = options.with_draft(jsonschema::Draft::Draft4);
        }
        let validator = options
            .build(schema)
            .map_err(|e| SchemaError(describe(&e)))?;
        Ok(JsonSchema {
            source: Arc::new(schema.clone()),
            validator: Arc::new(validator),
        })
    }

    /// The schema as written.
    pub fn source(&self) -> &Value {
        &self.source
    }

    /// Every way `value` breaks the schema (at most [`MAX_VIOLATIONS`]); empty when it conforms.
    pub fn violations(&self, value: &Value) -> Vec<Violation> {
        self.validator
            .iter_errors(value)
            .take(MAX_VIOLATIONS)
            .map(|e| Violation {
                at: e.instance_path().to_string(),
                message: e.to_string(),
            })
            .collect()
    }

    pub fn is_valid(&self, value: &Value) -> bool {
        self.validator.is_valid(value)
    }
}

/// A compile error with where in the schema it was found, when the crate knows.
fn describe(e: &jsonschema::ValidationError<'_>) -> String {
    let at = e.instance_path().to_string();
    if at.is_empty() {
        e.to_string()
    } else {
        format!("at `{at}`: {e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_each_violation_with_its_pointer() {
        let s = JsonSchema::compile(
            &json!({"type": "object", "required": ["id"], "properties": {"n": {"type": "integer"}}}),
            Dialect::Default,
        )
        .expect("compiles");
        assert!(s.is_valid(&json!({"id": 1, "n": 2})));
        let v = s.violations(&json!({"n": "x"}));
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(v.iter().any(|v| v.at == "/n"), "{v:?}");
    }

    #[test]
    fn refuses_a_schema_that_breaks_the_meta_schema() {
        let e = JsonSchema::compile(&json!({"type": "strnig"}), Dialect::Default).unwrap_err();
        assert!(e.to_string().contains("strnig"), "{e}");
    }

    #[test]
    fn never_resolves_a_remote_reference() {
        let r = JsonSchema::compile(
            &json!({"$ref": "http://127.0.0.1:9/s.json"}),
            Dialect::Default,
        );
        assert!(r.is_err());
    }
}
