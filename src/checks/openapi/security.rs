//! The document's security schemes, for requests whose credentials are missing, malformed or expired: each
//! must get a 401 (the documented one), not a 500 from a token the service could not parse, nor a 422 from
//! validating the body before the caller.
//!
//! An operation is secured when its `security` (else the document's) lists requirements and none is empty
//! (`{}` makes credentials optional). The first requirement whose schemes are all ones the grader can send
//! decides where the credential goes: `http` with scheme `bearer` (the `Authorization` header) or `apiKey`
//! in a header. Valid credentials are the lab's: the check's `headers` (e.g. `Authorization = "Bearer
//! {{token}}"`) are sent with every request, and a credential case replaces that header.

use base64::Engine as _;
use serde_json::Value;

use super::document::{DocOperation, Document};

/// Where an operation's credential goes, and how a valid one looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Lower-case header name.
    pub header: String,
    /// `Authorization: Bearer …` rather than a bare key.
    pub bearer: bool,
}

/// How a credential case is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bad {
    Missing,
    Malformed,
    Expired,
}

/// The credential header of a secured operation; `None` when it is not secured or uses only schemes the
/// grader cannot send (OAuth flows, cookies, keys in the query).
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
        let mut found = None;
        for name in r.as_object()?.keys() {
            let scheme = doc.deref(doc.raw.pointer(&format!(
                "/components/securitySchemes/{}",
                super::document::escape(name)
            ))?);
            found = Some(credential(scheme)?);
        }
        found
    })
}

fn credential(scheme: &Value) -> Option<Credential> {
    let field = |k: &str| scheme.get(k).and_then(Value::as_str).unwrap_or("");
    match field("type") {
        "http" if field("scheme").eq_ignore_ascii_case("bearer") => Some(Credential {
            header: "authorization".into(),
            bearer: true,
        }),
        "apiKey" if field("in") == "header" && !field("name").is_empty() => Some(Credential {
            header: field("name").to_ascii_lowercase(),
            bearer: false,
        }),
        _ => None,
    }
}

/// `headers` with the credential replaced as `bad` says.
pub fn apply(headers: &mut Vec<(String, String)>, c: &Credential, bad: Bad) {
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&c.header));
    let value = match bad {
        Bad::Missing => return,
        Bad::Malformed => "not-a-credential".to_string(),
        Bad::Expired => expired_jwt(),
    };
    let value = if c.bearer {
        format!("Bearer {value}")
    } else {
        value
    };
    headers.push((c.header.clone(), value));
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

    #[test]
    fn secured_operations_name_their_credential_header() {
        let d = Document::new(
            json!({"openapi": "3.1.0", "security": [{"bearer": []}],
            "components": {"securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "sid"}
            }},
            "paths": {"/a": {
                "get": {"responses": {}},
                "post": {"security": [{"key": []}], "responses": {}},
                "put": {"security": [{}, {"bearer": []}], "responses": {}},
                "patch": {"security": [{"cookie": []}], "responses": {}}
            }}}),
            Version::V31,
        );
        let by = |m: &str| of(&d, d.operations.iter().find(|o| o.method == m).expect("op"));
        assert_eq!(by("GET").map(|c| c.header), Some("authorization".into()));
        assert_eq!(by("POST").map(|c| c.header), Some("x-api-key".into()));
        assert_eq!(by("PUT"), None);
        assert_eq!(by("PATCH"), None);
        let mut h = vec![("Authorization".to_string(), "Bearer good".to_string())];
        apply(&mut h, &by("GET").expect("bearer"), Bad::Malformed);
        assert_eq!(
            h,
            [(
                "authorization".to_string(),
                "Bearer not-a-credential".to_string()
            )]
        );
        apply(&mut h, &by("GET").expect("bearer"), Bad::Missing);
        assert!(h.is_empty());
    }
}
