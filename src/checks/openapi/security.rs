//! The document's security schemes, for requests whose credentials are missing, malformed or expired: each
//! must get a 401 (the documented one), not a 500 from a token the service could not parse, nor a 422 from
//! validating the body before the caller.
//!
//! An operation is secured when its `security` (else the document's) lists requirements and none is empty
//! (`{}` makes credentials optional). The first requirement whose schemes the grader can send decides where
//! the credential goes: `http` with scheme `bearer`, `oauth2` and `openIdConnect` (all three an
//! `Authorization: Bearer` token, which is what a client sends once it holds an OAuth access token or an ID
//! token), or `apiKey` in a header, the query or a cookie. Valid credentials are the lab's: the check's
//! `headers` (e.g. `Authorization = "Bearer {{token}}"`, `Cookie = "sid={{sid}}"`) and `query` (e.g.
//! `api_key = "{{key}}"`) are sent with every request, and a credential case replaces that one credential.

use base64::Engine as _;
use serde_json::Value;

use super::document::{DocOperation, Document};

/// Where an operation's credential goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer …` (`http` bearer, `oauth2`, `openIdConnect`).
    Bearer,
    /// A bare key in the header of this lower-case name.
    Header(String),
    /// A key in the query parameter of this name.
    Query(String),
    /// A key in the cookie of this name.
    Cookie(String),
}

/// How a credential case is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bad {
    Missing,
    Malformed,
    Expired,
}

/// The credential of a secured operation; `None` when it is not secured or uses only schemes the grader
/// cannot send (`http` basic or digest, mutual TLS).
pub fn of(doc: &Document, op: &DocOperation) -> Option<Credential> {
    let own = doc.raw.pointer(&format!("{}/security", op.pointer));
    let requirements = own.or_else(|| doc.raw.get("security"))?.as_array()?;
    if requirements.is_empty()
        || requirements
            .iter()
            .any(|r| r.as_object().is_some_and(|m| m.is_empty()))
    {
        return None;
    }
    requirements.iter().find_map(|r| {
        // Every scheme of a requirement is needed; breaking the first one the grader can send is enough.
        r.as_object()?.keys().find_map(|name| {
            let scheme = doc.deref(doc.raw.pointer(&format!(
                "/components/securitySchemes/{}",
                super::document::escape(name)
            ))?);
            credential(scheme)
        })
    })
}

fn credential(scheme: &Value) -> Option<Credential> {
    let field = |k: &str| scheme.get(k).and_then(Value::as_str).unwrap_or("");
    let name = field("name");
    match (field("type"), field("in")) {
        ("http", _) if field("scheme").eq_ignore_ascii_case("bearer") => Some(Credential::Bearer),
        ("oauth2" | "openIdConnect", _) => Some(Credential::Bearer),
        ("apiKey", _) if name.is_empty() => None,
        ("apiKey", "header") => Some(Credential::Header(name.to_ascii_lowercase())),
        ("apiKey", "query") => Some(Credential::Query(name.to_string())),
        ("apiKey", "cookie") => Some(Credential::Cookie(name.to_string())),
        _ => None,
    }
}

/// The credential in `headers` and `query` (name, value pairs) replaced as `bad` says.
pub fn apply(
    headers: &mut Vec<(String, String)>,
    query: &mut Vec<(String, String)>,
    c: &Credential,
    bad: Bad,
) {
    let value = match bad {
        Bad::Missing => None,
        Bad::Malformed => Some("not-a-credential".to_string()),
        Bad::Expired => Some(expired_jwt()),
    };
    match c {
        Credential::Bearer | Credential::Header(_) => {
            let (header, value) = match c {
                Credential::Header(h) => (h.as_str(), value),
                _ => ("authorization", value.map(|v| format!("Bearer {v}"))),
            };
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(header));
            headers.extend(value.map(|v| (header.to_string(), v)));
        }
        Credential::Query(name) => {
            query.retain(|(n, _)| n != name);
            query.extend(value.map(|v| (name.clone(), v)));
        }
        Credential::Cookie(name) => {
            // The other cookies of the lab's `Cookie` header stay; only this one is dropped or replaced.
            let mut cookies: Vec<String> = headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
                .flat_map(|(_, v)| v.split(';').map(|c| c.trim().to_string()))
                .filter(|c| !c.is_empty() && c.split('=').next() != Some(name.as_str()))
                .collect();
            cookies.extend(value.map(|v| format!("{name}={v}")));
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case("cookie"));
            if !cookies.is_empty() {
                headers.push(("cookie".to_string(), cookies.join("; ")));
            }
        }
    }
}

/// A well-formed HS256 JWT that expired in 2001, signed with a key the service cannot have: a service that
/// reads the claims before checking the signature or the expiry takes it.
fn expired_jwt() -> String {
    let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let header = b64(r#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = b64(r#"{"sub":"gauntlet","iat":1000000000,"exp":1000000060}"#);
    let signature = b64("gauntlet-expired-token-signature");
    format!("{header}.{claims}.{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::openapi::document::Version;
    use serde_json::json;

    fn doc() -> Document {
        Document::new(
            json!({"openapi": "3.1.0", "security": [{"bearer": []}],
            "components": {"securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"},
                "key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "sid"},
                "query": {"type": "apiKey", "in": "query", "name": "api_key"},
                "oauth": {"type": "oauth2", "flows": {"clientCredentials": {
                    "tokenUrl": "/token", "scopes": {}}}},
                "oidc": {"type": "openIdConnect", "openIdConnectUrl": "/.well-known/openid-configuration"}
            }},
            "paths": {
                "/a": {
                    "get": {"responses": {}},
                    "post": {"security": [{"key": []}], "responses": {}},
                    "put": {"security": [{}, {"bearer": []}], "responses": {}},
                    "patch": {"security": [{"cookie": []}], "responses": {}},
                    "delete": {"security": [{"query": []}], "responses": {}}
                },
                "/b": {
                    "get": {"security": [{"oauth": ["read"]}], "responses": {}},
                    "post": {"security": [{"oidc": []}], "responses": {}},
                    "put": {"security": [{"basic": []}], "responses": {}},
                    "patch": {"security": [{"basic": []}, {"query": []}], "responses": {}}
                }
            }}),
            Version::V31,
        )
    }

    fn by(d: &Document, path: &str, m: &str) -> Option<Credential> {
        let op = d
            .operations
            .iter()
            .find(|o| o.method == m && o.template.text == path)
            .expect("op");
        of(d, op)
    }

    #[test]
    fn secured_operations_name_where_their_credential_goes() {
        let d = doc();
        assert_eq!(by(&d, "/a", "GET"), Some(Credential::Bearer));
        assert_eq!(
            by(&d, "/a", "POST"),
            Some(Credential::Header("x-api-key".into()))
        );
        assert_eq!(by(&d, "/a", "PUT"), None);
        assert_eq!(
            by(&d, "/a", "PATCH"),
            Some(Credential::Cookie("sid".into()))
        );
        assert_eq!(
            by(&d, "/a", "DELETE"),
            Some(Credential::Query("api_key".into()))
        );
        // OAuth 2 and OpenID Connect: the client sends the token it holds as a bearer token.
        assert_eq!(by(&d, "/b", "GET"), Some(Credential::Bearer));
        assert_eq!(by(&d, "/b", "POST"), Some(Credential::Bearer));
        // Basic cannot be sent; a later requirement the grader can send is used instead.
        assert_eq!(by(&d, "/b", "PUT"), None);
        assert_eq!(
            by(&d, "/b", "PATCH"),
            Some(Credential::Query("api_key".into()))
        );
    }

    #[test]
    fn a_bearer_or_header_credential_is_replaced_or_dropped() {
        let mut q = Vec::new();
        let mut h = vec![("Authorization".to_string(), "Bearer good".to_string())];
        apply(&mut h, &mut q, &Credential::Bearer, Bad::Malformed);
        assert_eq!(
            h,
            [(
                "authorization".to_string(),
                "Bearer not-a-credential".to_string()
            )]
        );
        apply(&mut h, &mut q, &Credential::Bearer, Bad::Expired);
        assert!(h[0].1.starts_with("Bearer eyJ"), "{h:?}");
        apply(&mut h, &mut q, &Credential::Bearer, Bad::Missing);
        assert!(h.is_empty());
        let mut h = vec![("x-api-key".to_string(), "good".to_string())];
        apply(
            &mut h,
            &mut q,
            &Credential::Header("x-api-key".into()),
            Bad::Malformed,
        );
        assert_eq!(
            h,
            [("x-api-key".to_string(), "not-a-credential".to_string())]
        );
        assert!(q.is_empty());
    }

    #[test]
    fn a_query_key_is_replaced_or_dropped_and_other_parameters_stay() {
        let c = Credential::Query("api_key".into());
        let start = vec![
            ("api_key".to_string(), "{{key}}".to_string()),
            ("lang".to_string(), "en".to_string()),
        ];
        let (mut h, mut q) = (Vec::new(), start.clone());
        apply(&mut h, &mut q, &c, Bad::Missing);
        assert_eq!(q, [("lang".to_string(), "en".to_string())]);
        let mut q = start.clone();
        apply(&mut h, &mut q, &c, Bad::Malformed);
        assert!(q.contains(&("api_key".to_string(), "not-a-credential".to_string())));
        assert_eq!(q.len(), 2);
        let mut q = start;
        apply(&mut h, &mut q, &c, Bad::Expired);
        assert!(
            q.iter()
                .any(|(n, v)| n == "api_key" && v.starts_with("eyJ")),
            "{q:?}"
        );
        assert!(h.is_empty());
    }

    #[test]
    fn a_cookie_key_is_replaced_or_dropped_and_other_cookies_stay() {
        let c = Credential::Cookie("sid".into());
        let start = vec![("cookie".to_string(), "theme=dark; sid={{sid}}".to_string())];
        let mut q = Vec::new();
        let mut h = start.clone();
        apply(&mut h, &mut q, &c, Bad::Missing);
        assert_eq!(h, [("cookie".to_string(), "theme=dark".to_string())]);
        let mut h = start.clone();
        apply(&mut h, &mut q, &c, Bad::Malformed);
        assert_eq!(
            h,
            [(
                "cookie".to_string(),
                "theme=dark; sid=not-a-credential".to_string()
            )]
        );
        // The only cookie missing: no Cookie header at all.
        let mut h = vec![("Cookie".to_string(), "sid=good".to_string())];
        apply(&mut h, &mut q, &c, Bad::Missing);
        assert!(h.is_empty());
        let mut h = Vec::new();
        apply(&mut h, &mut q, &c, Bad::Expired);
        assert!(h[0].1.starts_with("sid=eyJ"), "{h:?}");
    }
}
