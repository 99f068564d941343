//! From `[check.manifests]` to a [`ManifestsCheck`], every problem with its line: an unknown rule name, both
//! or a wrong source.

use serde::Deserialize;
use toml::Spanned;

use super::{ManifestSource, ManifestsCheck, Rule};
use crate::checks::load::Source;
use crate::diagnostics::Diagnostic;

/// Where the manifests are served when a check names no source (the w06 README's contract).
pub const DEFAULT_PATH: &str = "/manifests";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::checks) struct RawManifests {
    /// The policy rule this check judges.
    rule: Spanned<String>,
    /// The path the service serves its YAML at; `/manifests` when neither this nor `file` is given.
    served: Option<Spanned<String>>,
    /// A file of the submitted project instead, relative to its root (`deploy/k8s.yaml`).
    file: Option<Spanned<String>>,
}

/// Reads one manifests check that starts at byte `start`; `None` when any problem was found.
pub(in crate::checks) fn check(
    src: &Source,
    start: usize,
    raw: Option<Spanned<RawManifests>>,
    has_steps: bool,
    problems: &mut Vec<Diagnostic>,
) -> Option<ManifestsCheck> {
    let before = problems.len();
    if has_steps {
        problems.push(src.at(
            start,
            "a manifests check has no [[check.step]]; it reads the manifests itself",
        ));
    }
    let Some(raw) = raw.map(Spanned::into_inner) else {
        problems.push(src.at(
            start,
            format!(
                "a manifests check needs a [check.manifests] table with `rule` (one of {})",
                Rule::names()
            ),
        ));
        return None;
    };
    let rule = match raw.rule.get_ref().trim().parse::<Rule>() {
        Ok(r) => Some(r),
        Err(e) => {
            problems.push(src.at(
                raw.rule.span().start,
                format!("{e} (known: {})", Rule::names()),
            ));
            None
        }
    };
    let source = match (raw.served, raw.file) {
        (Some(_), Some(f)) => {
            problems.push(src.at(
                f.span().start,
                "give `served` or `file`, not both: a check reads one source",
            ));
            None
        }
        (Some(s), None) => {
            let path = s.get_ref().trim();
            if path.starts_with('/') && !path.starts_with("//") && !path.contains(['\\', '#']) {
                Some(ManifestSource::Served(path.to_string()))
            } else {
                problems.push(src.at(
                    s.span().start,
                    "`served` is a path on the service starting with a single `/`",
                ));
                None
            }
        }
        (None, Some(f)) => {
            let path = f.get_ref().trim();
            if relative_file(path) {
                Some(ManifestSource::File(path.to_string()))
            } else {
                problems.push(src.at(
                    f.span().start,
                    "`file` is a path inside the submitted project (relative, no `..`)",
                ));
                None
            }
        }
        (None, None) => Some(ManifestSource::Served(DEFAULT_PATH.to_string())),
    };
    match (rule, source) {
        (Some(rule), Some(source)) if problems.len() == before => {
            Some(ManifestsCheck { source, rule })
        }
        _ => None,
    }
}

/// A path that stays inside the project: relative, `/`-separated, without `.` or `..` parts.
pub fn relative_file(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

#[cfg(test)]
mod tests {
    use super::relative_file;

    #[test]
    fn submitted_files_stay_inside_the_project() {
        assert!(relative_file("deploy/k8s.yaml"));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "deploy/../../x",
            "deploy//k8s.yaml",
            "a\\b",
            "./k8s.yaml",
        ] {
            assert!(!relative_file(bad), "{bad}");
        }
    }
}
