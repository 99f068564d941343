//! The learner's OpenAPI document once it is known to be valid: its version, its operations, and the lookups
//! the checks need (the operation a request went to, the response object for a status, `$ref`s).
//!
//! Every location is kept as a JSON pointer into the document, so that schemas are compiled from the document
//! itself (their `#/components/...` references resolve) and messages can say where the learner should look.

use serde_json::Value;

use super::operation::{OperationName, Template};

/// The OpenAPI line of the document; it decides how schemas are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// 3.0.x: schemas are an extended subset of JSON Schema draft 4, with `nullable`.
    V30,
    /// 3.1.x: schemas are JSON Schema 2020-12.
    V31,
}

impl Version {
    /// From the `openapi` field; `None` for anything but 3.0.x and 3.1.x.
    pub fn parse(s: &str) -> Option<Version> {
        let mut parts = s.split('.');
        let (major, minor, patch) = (parts.next()?, parts.next()?, parts.next()?);
        let patch_ok = patch
            .split('-')
            .next()
            .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        if major != "3" || !patch_ok || parts.next().is_some() {
            return None;
        }
        match minor {
            "0" => Some(Version::V30),
            "1" => Some(Version::V31),
            _ => None,
        }
    }
}

/// The methods an OpenAPI path item may hold, lower-case as written there.
pub const PATH_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One documented operation.
#[derive(Debug, Clone)]
pub struct DocOperation {
    /// Upper-case.
    pub method: String,
    pub template: Template,
    pub operation_id: Option<String>,
    /// JSON pointer to the operation object.
    pub pointer: String,
}

impl DocOperation {
    /// How messages name the operation: its `operationId`, else `METHOD /template` (both are the learner's).
    pub fn label(&self) -> String {
        match &self.operation_id {
            Some(id) => id.clone(),
            None => format!("{} {}", self.method, self.template.text),
        }
    }
}

/// A valid document.
#[derive(Debug, Clone)]
pub struct Document {
    pub raw: Value,
    pub version: Version,
    pub operations: Vec<DocOperation>,
}

impl Document {
    /// Indexes a document that `validate::problems` found no problem in.
    pub fn new(raw: Value, version: Version) -> Document {
        let mut operations = Vec::new();
        let prefix = server_prefix(&raw);
        if let Some(paths) = raw.get("paths").and_then(Value::as_object) {
            for (path, item) in paths {
                for m in PATH_METHODS {
                    let Some(op) = item.get(*m) else { continue };
                    operations.push(DocOperation {
                        method: m.to_ascii_uppercase(),
                        template: Template::parse(&format!("{prefix}{path}")),
                        operation_id: op
                            .get("operationId")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        pointer: format!("/paths/{}/{m}", escape(path)),
                    });
                }
            }
        }
        Document {
            raw,
            version,
            operations,
        }
    }

    /// The documented operation a lab's name refers to.
    pub fn operation(&self, name: &OperationName) -> Option<&DocOperation> {
        self.operations
            .iter()
            .find(|o| o.method == name.method && o.template.same_shape(&name.template))
    }

    /// The operation a request went to: the method's templates that fit the path, most literal first.
    pub fn route(&self, method: &str, path: &str) -> Option<&DocOperation> {
        self.operations
            .iter()
            .filter(|o| o.method == method)
            .filter_map(|o| o.template.fit(path).map(|score| (score, o)))
            .max_by_key(|(score, _)| *score)
            .map(|(_, o)| o)
    }

    /// The value at `pointer`, following `$ref`s (within the document) until a value without one.
    pub fn resolved(&self, pointer: &str) -> Option<(String, &Value)> {
        let mut at = pointer.to_string();
        // A chain longer than this is a loop; the document's validation already refused unresolvable ones.
        for _ in 0..16 {
            let v = self.raw.pointer(&at)?;
            match v.get("$ref").and_then(Value::as_str) {
                Some(r) => at = local_pointer(r)?,
                None => return Some((at, v)),
            }
        }
        None
    }

    /// `v` with its `$ref` chain followed (at most a few hops; a loop stays where it is).
    pub fn deref<'a>(&'a self, v: &'a Value) -> &'a Value {
        let mut cur = v;
        for _ in 0..16 {
            let next = cur
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(local_pointer)
                .and_then(|p| self.raw.pointer(&p));
            match next {
                Some(n) => cur = n,
                None => return cur,
            }
        }
        cur
    }

    /// The response object documented for `status`: the exact code, then its range (`2XX`), then `default`.
    /// Returns the key it was found under and the (resolved) pointer to the response object.
    pub fn response_for(&self, op: &DocOperation, status: u16) -> Option<(String, String)> {
        let responses = format!("{}/responses", op.pointer);
        let map = self.raw.pointer(&responses)?.as_object()?;
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        let key = map
            .keys()
            .find(|k| **k == exact)
            .or_else(|| map.keys().find(|k| k.eq_ignore_ascii_case(&range)))
            .or_else(|| map.keys().find(|k| *k == "default"))?;
        let (pointer, _) = self.resolved(&format!("{responses}/{}", escape(key)))?;
        Some((key.clone(), pointer))
    }

    /// The JSON media type of a response or request body object at `pointer` (`application/json`, any
    /// `+json`, or a wildcard), as the pointer to its schema; `None` when it documents no JSON body.
    pub fn json_schema_of(&self, pointer: &str) -> Option<String> {
        let content = self.raw.pointer(pointer)?.get("content")?.as_object()?;
        let media = content
            .keys()
            .find(|m| is_json(m))
            .or_else(|| content.keys().find(|m| m.starts_with("*/*")))?;
        let schema = format!("{pointer}/content/{}/schema", escape(media));
        self.raw.pointer(&schema).map(|_| schema)
    }
}

/// Whether a media type is JSON (`application/json`, `application/problem+json`, with or without parameters).
pub fn is_json(media: &str) -> bool {
    let essence = media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// RFC 6901 escaping of one pointer token.
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The JSON pointer of a local `$ref` (`#/components/schemas/Note`, percent-decoded); `None` for anything
/// that points outside the document.
pub fn local_pointer(reference: &str) -> Option<String> {
    let fragment = reference.strip_prefix('#')?;
    let decoded = percent_encoding::percent_decode_str(fragment)
        .decode_utf8()
        .ok()?
        .into_owned();
    (decoded.is_empty() || decoded.starts_with('/')).then_some(decoded)
}

/// The path of the document's first `servers` URL, which its paths are relative to: `/v1` for `url: /v1` and
/// for `url: https://api.example.com/v1/` alike. Only the path is kept, since requests always go to the
/// learner's service; server variables take their `default`. Empty when there is no server or its path is `/`.
/// (Servers given on a path item or an operation are not read: the labs describe one service.)
fn server_prefix(raw: &Value) -> String {
    let Some(server) = raw
        .get("servers")
        .and_then(Value::as_array)
        .and_then(|s| s.first())
    else {
        return String::new();
    };
    let Some(written) = server.get("url").and_then(Value::as_str) else {
        return String::new();
    };
    let mut url = written.to_string();
    if let Some(vars) = server.get("variables").and_then(Value::as_object) {
        for (name, v) in vars {
            if let Some(d) = v.get("default").and_then(Value::as_str) {
                url = url.replace(&format!("{{{name}}}"), d);
            }
        }
    }
    let after_host = |rest: &str| {
        rest.find('/')
            .map_or(String::new(), |i| rest[i..].to_string())
    };
    let path = match url.split_once("://") {
        Some((_, rest)) => after_host(rest),
        None => match url.strip_prefix("//") {
            Some(rest) => after_host(rest),
            None => url.clone(),
        },
    };
    let path = path
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .trim_end_matches('/');
    match path {
        "" => String::new(),
        p if p.starts_with('/') => p.to_string(),
        p => format!("/{p}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_are_relative_to_the_first_servers_path() {
        for (servers, expected) in [
            (json!([{"url": "/v1"}]), "/v1"),
            (
                json!([{"url": "https://api.example.com/v1/"}, {"url": "/v2"}]),
                "/v1",
            ),
            (json!([{"url": "//api.example.com/v1"}]), "/v1"),
            (
                json!([{"url": "{base}/notes-api", "variables": {"base": {"default": "/v1"}}}]),
                "/v1/notes-api",
            ),
            (json!([{"url": "https://api.example.com"}]), ""),
            (json!([{"url": "/"}]), ""),
        ] {
            assert_eq!(
                server_prefix(&json!({"servers": servers})),
                expected,
                "{servers}"
            );
        }
        let d = Document::new(
            json!({"openapi": "3.1.0", "servers": [{"url": "/v1"}], "paths": {
                "/notes/{id}": {"get": {"responses": {"200": {"description": "ok"}}}}
            }}),
            Version::V31,
        );
        assert!(d.route("GET", "/v1/notes/n_1").is_some());
        assert!(d.route("GET", "/notes/n_1").is_none());
        assert_eq!(d.operations[0].pointer, "/paths/~1notes~1{id}/get");
    }

    fn doc() -> Document {
        Document::new(
            json!({
                "openapi": "3.1.0",
                "paths": {
                    "/notes/{id}": {"get": {"operationId": "getNote", "responses": {
                        "200": {"$ref": "#/components/responses/Note"},
                        "4XX": {"description": "client error"},
                        "default": {"description": "other"}
                    }}},
                    "/notes/search": {"get": {"responses": {"200": {"description": "ok"}}}}
                },
                "components": {"responses": {"Note": {"description": "a note", "content": {
                    "application/json; charset=utf-8": {"schema": {"type": "object"}}
                }}}}
            }),
            Version::V31,
        )
    }

    #[test]
    fn versions_are_3_0_and_3_1_only() {
        assert_eq!(Version::parse("3.0.3"), Some(Version::V30));
        assert_eq!(Version::parse("3.1.0"), Some(Version::V31));
        assert_eq!(Version::parse("3.1.1-rc1"), Some(Version::V31));
        for bad in ["2.0", "3.2.0", "3.1", "3.1.x", "3.0.0.1"] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn routes_a_request_to_the_most_literal_template() {
        let d = doc();
        assert_eq!(
            d.route("GET", "/notes/search").map(DocOperation::label),
            Some("GET /notes/search".into())
        );
        assert_eq!(
            d.route("GET", "/notes/n_1").map(DocOperation::label),
            Some("getNote".into())
        );
        assert!(d.route("POST", "/notes/n_1").is_none());
    }

    #[test]
    fn picks_exact_then_range_then_default() {
        let d = doc();
        let op = d.route("GET", "/notes/n_1").expect("routed").clone();
        let (key, ptr) = d.response_for(&op, 200).expect("200");
        assert_eq!(
            (key.as_str(), ptr.as_str()),
            ("200", "/components/responses/Note")
        );
        assert_eq!(
            d.json_schema_of(&ptr).as_deref(),
            Some("/components/responses/Note/content/application~1json; charset=utf-8/schema")
        );
        assert_eq!(d.response_for(&op, 404).expect("4XX").0, "4XX");
        assert_eq!(d.response_for(&op, 500).expect("default").0, "default");
    }

    #[test]
    fn local_pointers_are_decoded_and_remote_ones_refused() {
        assert_eq!(
            local_pointer("#/paths/~1notes~1%7Bid%7D").as_deref(),
            Some("/paths/~1notes~1{id}")
        );
        assert_eq!(local_pointer("other.json#/a"), None);
        assert_eq!(local_pointer("#anchor"), None);
    }
}
