//! The run id every Docker object is labelled and named with.

use std::collections::HashMap;
use std::fmt;

use super::error::SandboxError;

/// Label key carrying the run id on every container, network and volume the sandbox creates; `remove_run` and
/// `reap` find them by it.
pub const LABEL_RUN: &str = "gauntlet.run";
/// The repository every image of a run is tagged in, as `gauntlet-run/<run>:<tag>`. Images are found by this
/// name, not by a label: a build label costs the classic builder a step of its own, and a label cannot reach the
/// layers a build commits along the way, which a tag can (see `build`).
pub const IMAGE_REPO: &str = "gauntlet-run";
/// Label key saying what the object is for (`network`, `service`, `volume`), for operators.
pub const LABEL_KIND: &str = "gauntlet.kind";

/// A run id checked to be safe in Docker object names, image tags and label filters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunLabel(String);

impl RunLabel {
    /// Accepts 1 to 48 of `a-z 0-9 - _`, starting with a letter or digit (what image tags and names allow).
    pub fn parse(id: &str) -> Result<Self, SandboxError> {
        let valid_char =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
        let valid = (1..=48).contains(&id.len())
            && id.chars().all(valid_char)
            && id.starts_with(|c: char| c.is_ascii_alphanumeric());
        if valid {
            Ok(Self(id.to_string()))
        } else {
            Err(SandboxError::InvalidRunId(id.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The repository this run's images are tagged in.
    pub(crate) fn image_repo(&self) -> String {
        format!("{IMAGE_REPO}/{}", self.0)
    }

    /// The labels for one object of this run.
    pub(crate) fn labels(&self, kind: &str) -> HashMap<String, String> {
        HashMap::from([
            (LABEL_RUN.to_string(), self.0.clone()),
            (LABEL_KIND.to_string(), kind.to_string()),
        ])
    }

    /// The Docker name of this run's network, container and volume (their namespaces are separate).
    pub(crate) fn object_name(&self) -> String {
        format!("gauntlet-{}", self.0)
    }
}

impl fmt::Display for RunLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_must_be_safe_in_docker_names() {
        assert_eq!(
            RunLabel::parse("abc-1").map(|r| r.image_repo()).ok(),
            Some("gauntlet-run/abc-1".to_string())
        );
        assert!(RunLabel::parse("run-42_a").is_ok());
        for bad in ["", "-x", "Run", "a/b", "a b", &"x".repeat(49)] {
            assert!(RunLabel::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
