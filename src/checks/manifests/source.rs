//! Where the YAML comes from: `GET /manifests` on the running service (exactly what ships in the image), or a
//! file of the submitted project read through the grader's [`ServiceControl`]. Either way the text is the
//! learner's and capped in size before anything parses it. A service that does not answer is worded as the
//! `http` kind words it (`crate::checks::http::reports_no_answer` knows those words), so grading can tell a
//! stalled service from wrong manifests.

use std::fmt::Write as _;

use tokio::time::Instant;

use super::ManifestSource;
use crate::checks::{ServiceControl, Target};

/// The most YAML read: a chart for one service renders to a few KiB; a larger answer is refused rather
/// than parsed.
pub const MAX_BYTES: usize = 1024 * 1024;

/// The YAML as read, and how it was served.
#[derive(Debug)]
pub struct Read {
    pub text: String,
    /// The `Content-Type` the service sent (`None` for a file of the submission).
    pub content_type: Option<String>,
}

/// Why the YAML could not be read: the learner's doing (`Failed`, with a learner-safe reason) or the
/// grader's (`Broken`).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    Broken(String),
}

/// Reads the manifests from `source`, noting what happened in the transcript `t`.
pub async fn read(
    source: &ManifestSource,
    client: &reqwest::Client,
    target: &Target,
    control: Option<&dyn ServiceControl>,
    deadline: Instant,
    t: &mut String,
) -> Result<Read, SourceError> {
    match source {
        ManifestSource::Served(path) => served(path, client, target, deadline, t).await,
        ManifestSource::File(path) => file(path, control, t).await,
    }
}

async fn served(
    path: &str,
    client: &reqwest::Client,
    target: &Target,
    deadline: Instant,
    t: &mut String,
) -> Result<Read, SourceError> {
    let url = target
        .base_url
        .join(path.trim_start_matches('/'))
        .map_err(|e| SourceError::Broken(format!("the URL of {path}: {e}")))?;
    let _ = writeln!(t, "> GET {url}");
    let started = Instant::now();
    let left = deadline.saturating_duration_since(started);
    let sent = tokio::time::timeout(left, client.get(url.clone()).send()).await;
    let mut response = match sent {
        Err(_) => return Err(unanswered(t, path, "no answer within the time limit")),
        Ok(Err(e)) if e.is_timeout() => {
            return Err(unanswered(t, path, "no answer within the time limit"))
        }
        Ok(Err(e)) if e.is_connect() => {
            let _ = writeln!(t, "< {e}");
            return Err(SourceError::Failed(format!(
                "GET {path}: the service could not be reached"
            )));
        }
        Ok(Err(e)) if e.is_builder() => return Err(SourceError::Broken(e.to_string())),
        Ok(Err(e)) => {
            let _ = writeln!(t, "< {e}");
            return Err(SourceError::Failed(format!(
                "GET {path}: the connection failed before a complete answer arrived"
            )));
        }
        Ok(Ok(r)) => r,
    };
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let _ = writeln!(
        t,
        "< {status} content-type: {}",
        content_type.as_deref().unwrap_or("(none)")
    );
    if status != 200 {
        return Err(SourceError::Failed(format!(
            "GET {path} answered {status}, not 200 with the manifests"
        )));
    }
    let mut body = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, response.chunk()).await {
            Err(_) => {
                return Err(unanswered(
                    t,
                    path,
                    "the body did not arrive within the time limit",
                ))
            }
            Ok(Err(e)) => {
                let _ = writeln!(t, "< body: {e}");
                return Err(SourceError::Failed(format!(
                    "GET {path}: the connection failed before a complete answer arrived"
                )));
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(chunk))) => {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_BYTES {
                    let _ = writeln!(t, "< body: more than {MAX_BYTES} bytes, not read further");
                    return Err(SourceError::Failed(format!(
                        "GET {path} sent more than {} KiB, more than the grader reads",
                        MAX_BYTES / 1024
                    )));
                }
            }
        }
    }
    let _ = writeln!(
        t,
        "< {} bytes in {} ms",
        body.len(),
        started.elapsed().as_millis()
    );
    let text = utf8(body, path)?;
    Ok(Read { text, content_type })
}

fn unanswered(t: &mut String, path: &str, why: &str) -> SourceError {
    let _ = writeln!(t, "< {why}");
    SourceError::Failed(format!("GET {path}: {why}"))
}

fn utf8(body: Vec<u8>, from: &str) -> Result<String, SourceError> {
    String::from_utf8(body).map_err(|_| SourceError::Failed(format!("{from} is not UTF-8 text")))
}

async fn file(
    path: &str,
    control: Option<&dyn ServiceControl>,
    t: &mut String,
) -> Result<Read, SourceError> {
    let _ = writeln!(t, "> the submission's file {path}");
    let Some(control) = control else {
        return Err(SourceError::Broken(
            "the grader has no submitted project to read files from".into(),
        ));
    };
    match control.submitted_file(path.to_string(), MAX_BYTES).await {
        Ok(Some(bytes)) => {
            let _ = writeln!(t, "< {} bytes", bytes.len());
            Ok(Read {
                text: utf8(bytes, path)?,
                content_type: None,
            })
        }
        Ok(None) => {
            let _ = writeln!(t, "< no such file");
            Err(SourceError::Failed(format!(
                "the submission has no file {path} (a regular file, at most {} KiB)",
                MAX_BYTES / 1024
            )))
        }
        Err(e) => {
            let _ = writeln!(t, "< {e}");
            Err(SourceError::Broken(e))
        }
    }
}
