//! One manifests check: read the YAML, parse it strictly, judge the check's rule, and word the verdict.

use std::fmt::Write as _;

use tokio::time::Instant;

use super::source::{self, SourceError};
use super::{policy, Manifests, ManifestsCheck, Rule};
use crate::checks::{ServiceControl, Target};

/// How many findings the learner's message lists (the transcript has all).
const SHOWN: usize = 3;

/// Media types accepted for the served YAML (the README asks for the first).
const YAML_TYPES: [&str; 4] = [
    "application/yaml",
    "application/x-yaml",
    "text/yaml",
    "text/x-yaml",
];

/// Why a check did not pass: the learner's doing (with the learner-safe reason) or a platform fault.
#[derive(Debug, thiserror::Error)]
pub enum ManifestsError {
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    Broken(String),
}

/// The verdict of one check and its transcript (instructors only).
pub struct Done {
    pub result: Result<(), ManifestsError>,
    pub transcript: String,
}

pub async fn run(
    check: &ManifestsCheck,
    client: &reqwest::Client,
    target: &Target,
    control: Option<&dyn ServiceControl>,
    deadline: Instant,
) -> Done {
    let mut t = format!("rule: {}\n", check.rule);
    let result = judge(check, client, target, control, deadline, &mut t).await;
    Done {
        result,
        transcript: t,
    }
}

async fn judge(
    check: &ManifestsCheck,
    client: &reqwest::Client,
    target: &Target,
    control: Option<&dyn ServiceControl>,
    deadline: Instant,
    t: &mut String,
) -> Result<(), ManifestsError> {
    let read = source::read(&check.source, client, target, control, deadline, t)
        .await
        .map_err(|e| match e {
            SourceError::Failed(why) => ManifestsError::Failed(format!("failed: {why}")),
            SourceError::Broken(why) => ManifestsError::Broken(why),
        })?;
    let manifests = match Manifests::parse(&read.text) {
        Ok(m) => m,
        Err(e) => {
            for p in &e.problems {
                let _ = writeln!(t, "problem: {p}");
            }
            return Err(ManifestsError::Failed(format!(
                "failed: the manifests are not valid Kubernetes objects: {e}"
            )));
        }
    };
    for m in &manifests.objects {
        let _ = writeln!(t, "object: {} (line {})", m.object.reference(), m.line);
    }
    let mut findings: Vec<String> = Vec::new();
    if check.rule == Rule::Valid {
        if let Some(why) = read.content_type.as_deref().and_then(not_yaml) {
            findings.push(why);
        }
        if read.content_type.is_none() && matches!(check.source, super::ManifestSource::Served(_)) {
            findings.push("the answer has no Content-Type; it must be application/yaml".into());
        }
    }
    findings.extend(
        policy::judge(check.rule, &manifests)
            .iter()
            .map(ToString::to_string),
    );
    for f in &findings {
        let _ = writeln!(t, "finding: {f} (rule {})", check.rule);
    }
    if findings.is_empty() {
        let _ = writeln!(t, "the rule holds");
        return Ok(());
    }
    let mut message = findings
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if findings.len() > SHOWN {
        let _ = write!(message, "; and {} more", findings.len() - SHOWN);
    }
    Err(ManifestsError::Failed(format!(
        "failed (rule {}): {message}",
        check.rule
    )))
}

/// Why a served `Content-Type` is not YAML, or `None` when it is.
fn not_yaml(content_type: &str) -> Option<String> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if YAML_TYPES.contains(&media.as_str()) {
        None
    } else {
        Some(format!(
            "the answer's Content-Type is {media}; it must be application/yaml"
        ))
    }
}
