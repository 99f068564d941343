//! Fetching the learner's document, JSON or YAML, and recording it once.
//!
//! The document is fetched here rather than as an `http` step so that the transcript references it (size,
//! content type, SHA-256) instead of repeating its first 2 KiB in every check of a lab: the instructor can
//! fetch it from the service, and the digest says whether two checks saw the same one. A document that is
//! neither JSON nor YAML is shown (cut short), since then its text is the whole story.

use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::run::{OpenApiError, Run};
use crate::checks::http::{self, Answer, Failure};

/// The most of a document read; a larger one is refused.
const KEEP_BYTES: usize = 1024 * 1024;

/// The most of an unreadable document the transcript shows.
const SHOWN_BYTES: usize = 512;

/// GETs the document at `at` and reads it as JSON, else as YAML.
pub async fn document(
    at: &str,
    r: &Run<'_>,
    t: &mut String,
) -> Result<serde_json::Value, OpenApiError> {
    t.push_str(&format!("══ document: GET {at}\n"));
    let failed = |why: String| {
        OpenApiError::Failed(format!(
            "failed: the OpenAPI document could not be fetched from GET {at}: {why}"
        ))
    };
    let url = r
        .target
        .base_url
        .join(at)
        .map_err(|e| OpenApiError::Broken(format!("cannot join `{at}` to the target: {e}")))?;
    let headers = [(
        "accept".to_string(),
        "application/json, application/yaml;q=0.9, */*;q=0.1".to_string(),
    )];
    let left = r.deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(failed(Failure::Timeout { after_ms: 0 }.to_string()));
    }
    let request = http::build(r.client, "GET", url, &headers, None)
        .map_err(|e| OpenApiError::Broken(e.to_string()))?
        .timeout(left);
    let answer = match http::receive(request, KEEP_BYTES).await {
        Ok(a) => a,
        Err(e) => {
            t.push_str(&format!("no answer: {}\n", http::error_chain(&e)));
            return Err(failed(if e.is_timeout() {
                "no answer within the time limit".into()
            } else {
                "the service could not be reached".into()
            }));
        }
    };
    t.push_str(&reference(&answer));
    if answer.status != 200 {
        return Err(failed(format!(
            "the status was {} (not what was expected)",
            answer.status
        )));
    }
    if answer.truncated {
        return Err(OpenApiError::Failed(format!(
            "failed: the OpenAPI document at {at} is larger than the grader reads"
        )));
    }
    parse(&answer.body).map_err(|e| {
        let shown = String::from_utf8_lossy(&answer.body[..answer.body.len().min(SHOWN_BYTES)]);
        t.push_str(&format!(
            "neither JSON nor YAML ({e}); it begins:\n{shown}\n"
        ));
        OpenApiError::Failed(format!(
            "failed: the OpenAPI document at {at} is neither JSON nor YAML"
        ))
    })
}

/// One line that identifies the answer without repeating it.
fn reference(a: &Answer) -> String {
    let content_type = a
        .headers
        .iter()
        .find(|(n, _)| n == "content-type")
        .map_or("no content type", |(_, v)| v.as_str());
    let digest = Sha256::digest(&a.body);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "< {} ({} ms), {} bytes of {content_type}, sha256 {hex}\n",
        a.status,
        a.elapsed_ms,
        a.body.len()
    )
}

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("as YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("a YAML mapping key that is not a string, number or boolean")]
    Key,
    /// YAML reads most text as a lone string (an HTML page, say): a document is a mapping.
    #[error("not a mapping of fields")]
    NotMapping,
}

/// The document as JSON: read as JSON if it is, else as YAML (whose `200:` keys become `"200"`).
pub fn parse(body: &[u8]) -> Result<serde_json::Value, ParseError> {
    if let Ok(v) = serde_json::from_slice(body) {
        return Ok(v);
    }
    let yaml: serde_norway::Value = serde_norway::from_slice(body)?;
    match to_json(yaml)? {
        v @ serde_json::Value::Object(_) => Ok(v),
        _ => Err(ParseError::NotMapping),
    }
}

fn to_json(v: serde_norway::Value) -> Result<serde_json::Value, ParseError> {
    use serde_norway::Value as Y;
    Ok(match v {
        Y::Null => serde_json::Value::Null,
        Y::Bool(b) => b.into(),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into()
            } else if let Some(u) = n.as_u64() {
                u.into()
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
        }
        Y::String(s) => s.into(),
        Y::Sequence(items) => items
            .into_iter()
            .map(to_json)
            .collect::<Result<Vec<_>, _>>()?
            .into(),
        Y::Mapping(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    _ => return Err(ParseError::Key),
                };
                out.insert(key, to_json(v)?);
            }
            out.into()
        }
        Y::Tagged(tagged) => to_json(tagged.value)?,
    })
}

#[cfg(test)]
mod tests {
    use super::parse;
    use serde_json::json;

    #[test]
    fn yaml_documents_read_as_their_json() {
        let yaml = b"openapi: 3.1.0\nservers:\n  - url: /v1\npaths:\n  /notes:\n    get:\n      responses:\n        200:\n          description: ok\n        '4XX':\n          description: bad\n";
        let v = parse(yaml).expect("reads");
        assert_eq!(v["openapi"], json!("3.1.0"));
        assert_eq!(
            v["paths"]["/notes"]["get"]["responses"]["200"]["description"],
            json!("ok")
        );
        assert!(v["paths"]["/notes"]["get"]["responses"]["4XX"].is_object());
        assert_eq!(
            parse(br#"{"a": [1, 2.5]}"#).expect("json"),
            json!({"a": [1, 2.5]})
        );
        assert!(parse(b"a: [unclosed").is_err());
        assert!(parse(b"<html>not found</html>").is_err());
    }
}
