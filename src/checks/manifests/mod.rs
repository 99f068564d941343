//! The `manifests` kind: the learner's Kubernetes YAML, read into the Kubernetes API's own types and judged
//! against one rule of the lab's policy per check (kube-linter style), so a learner's feedback names the rule
//! that failed, the object (`Deployment/notes`) and the field (`spec.template.spec.containers[notes]...`).
//!
//! The manifests are the learner's own text, so naming their objects and fields tells the learner nothing
//! hidden; the transcript (instructors only) adds the fetch, every object read and every finding.
//!
//! - `parse.rs`: from `[check.manifests]` to a [`ManifestsCheck`], with diagnostics;
//! - `rule.rs`: the rules by name;
//! - `source.rs`: where the YAML comes from (served by the service, or a file of the submission);
//! - `document.rs`: multi-document YAML to typed objects, refusing what `kubectl --validate=strict` refuses;
//! - `finding.rs`: one policy violation, as the learner reads it;
//! - `policy/`: the rules themselves, one file per area;
//! - `run.rs`: one check, from source to verdict.

mod document;
mod finding;
pub(super) mod parse;
mod policy;
mod rule;
mod run;
mod source;

pub use document::{Manifest, Manifests, Object, ParseError};
pub use finding::Finding;
pub use rule::Rule;
pub(super) use run::{run, ManifestsError};

/// Where a check reads the manifests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestSource {
    /// Fetched from the running service at this path (`/manifests`): exactly what ships with the image.
    Served(String),
    /// Read from the submitted project at this relative path (`deploy/k8s.yaml`), through the grader's
    /// [`crate::checks::ServiceControl`].
    File(String),
}

/// One manifests check: where the YAML is and the one rule it must pass.
#[derive(Debug, Clone)]
pub struct ManifestsCheck {
    pub source: ManifestSource,
    pub rule: Rule,
}

/// Judges already-read YAML against one rule, without a service: for `gauntlet`'s own tests and tools.
///
/// `Err` when the text is not a set of valid Kubernetes objects; otherwise every violation of `rule` (none when
/// the manifests pass).
pub fn judge(yaml: &str, rule: Rule) -> Result<Vec<Finding>, ParseError> {
    let manifests = Manifests::parse(yaml)?;
    Ok(policy::judge(rule, &manifests))
}

#[cfg(test)]
mod tests;
