//! `mutants.toml`: the wrong services a lab's checks must catch. Each mutant is the lab's reference service with
//! a defect switched on through its environment, and the ids of the checks it must fail; `gauntlet prove`
//! grades each and compares. A mutant may instead need an image of its own: built with `build_args`, or from
//! another Dockerfile of the reference's folder (`dockerfile`). Parsed here, beside the checks it names, so `gauntlet validate` can report an
//! unknown check id with its file and line.
//!
//! The same file declares near misses (`[[near_miss]]`): the reference with an unusual but correct design
//! switched on, which must pass every check. A check is only as good as the wrong service it fails and the right
//! one it lets through; a near miss that fails shows a check demanding more than the lab asks.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::CheckSuite;
use crate::diagnostics::Diagnostic;

/// One wrong service.
#[derive(Debug, Clone)]
pub struct Mutant {
    pub name: String,
    /// Environment given to the reference service on top of the run's own.
    pub env: BTreeMap<String, String>,
    /// Build arguments (`--build-arg`) for a mutant that needs its own image, e.g. a defect switched on where
    /// the reference's `test` stage runs its tests; mutants without them share the reference's image.
    pub build_args: BTreeMap<String, String>,
    /// Another Dockerfile of the reference's folder to build instead of `Dockerfile` (a plain file name), for a
    /// defect no build argument can switch on, such as a shell-form `ENTRYPOINT`; the mutant gets its own image.
    pub dockerfile: Option<String>,
    /// The checks it must fail, exactly.
    pub fails: Vec<String>,
    /// When set, the mutant must fail before the checks, at this stage; then no check runs.
    pub fails_at: Option<FailStage>,
    /// For a near miss, why it is correct though unusual; it must then pass every check (`fails` is empty).
    pub near_miss: Option<String>,
}

/// A stage a mutant must fail at instead of failing checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailStage {
    /// Its image must not build: its `test` stage's tests fail (needs `build_args`).
    Build,
    /// It must never become healthy.
    Start,
}

impl FailStage {
    fn parse(s: &str) -> Option<FailStage> {
        match s {
            "build" => Some(FailStage::Build),
            "start" => Some(FailStage::Start),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FailStage::Build => "build",
            FailStage::Start => "start",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    mutant: Vec<RawMutant>,
    #[serde(default)]
    near_miss: Vec<RawNearMiss>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNearMiss {
    name: Spanned<String>,
    because: Spanned<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    build_args: BTreeMap<String, String>,
    #[serde(default)]
    dockerfile: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMutant {
    name: Spanned<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    build_args: BTreeMap<String, String>,
    #[serde(default)]
    dockerfile: Option<Spanned<String>>,
    #[serde(default)]
    fails: Vec<Spanned<String>>,
    #[serde(default)]
    fails_at: Option<Spanned<String>>,
}

/// The lab's mutants (none when there is no `mutants.toml`), checked against its suite.
pub fn load(lab_dir: &Path, suite: &CheckSuite) -> Result<Vec<Mutant>, Vec<Diagnostic>> {
    let path = lab_dir.join("mutants.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    let at = |offset: usize, msg: String| Diagnostic::at_offset(&path, &text, offset, msg);
    let raw: RawFile = toml::from_str(&text)
        .map_err(|e| vec![at(e.span().map_or(0, |s| s.start), e.message().to_string())])?;
    let mut problems = Vec::new();
    let mut mutants: Vec<Mutant> = Vec::new();
    for m in raw.mutant {
        let name = m.name.get_ref().trim().to_string();
        if let Some(problem) = name_problem(&name, &mutants) {
            problems.push(at(m.name.span().start, problem));
        }
        for id in &m.fails {
            if !suite.checks.iter().any(|c| &c.id == id.get_ref()) {
                problems.push(at(
                    id.span().start,
                    format!(
                        "mutant `{name}` names check `{}`, which this lab does not have",
                        id.get_ref()
                    ),
                ));
            }
        }
        let fails_at = match &m.fails_at {
            None => None,
            Some(stage) => match FailStage::parse(stage.get_ref()) {
                Some(st) => Some(st),
                None => {
                    problems.push(at(
                        stage.span().start,
                        format!(
                            "fails_at can be `build` or `start`, not `{}`",
                            stage.get_ref()
                        ),
                    ));
                    None
                }
            },
        };
        match (&m.fails_at, fails_at) {
            (Some(stage), Some(st)) if !m.fails.is_empty() => problems.push(at(
                stage.span().start,
                format!(
                    "a mutant that fails at {} runs no check: leave `fails` empty",
                    st.as_str()
                ),
            )),
            (Some(stage), Some(FailStage::Build)) if m.build_args.is_empty() => {
                problems.push(at(
                    stage.span().start,
                    "a mutant that fails at build needs `build_args` (without them it is the reference's build)"
                        .into(),
                ))
            }
            (None, _) if m.fails.is_empty() => problems.push(at(
                m.name.span().start,
                format!(
                    "mutant `{name}` must fail at least one check (or set fails_at = \"build\" or \"start\")"
                ),
            )),
            _ => {}
        }
        if let Some(problem) = dockerfile_problem(m.dockerfile.as_ref()) {
            problems.push(at(problem.0, problem.1));
        }
        mutants.push(Mutant {
            name,
            env: m.env,
            build_args: m.build_args,
            dockerfile: m.dockerfile.map(|d| d.into_inner()),
            fails: m.fails.iter().map(|f| f.get_ref().clone()).collect(),
            fails_at,
            near_miss: None,
        });
    }
    for n in raw.near_miss {
        let name = n.name.get_ref().trim().to_string();
        if let Some(problem) = name_problem(&name, &mutants) {
            problems.push(at(n.name.span().start, problem));
        }
        let because = n.because.get_ref().trim().to_string();
        if because.is_empty() {
            problems.push(at(
                n.because.span().start,
                format!("near miss `{name}` needs `because`: why it is correct though unusual"),
            ));
        }
        if let Some(problem) = dockerfile_problem(n.dockerfile.as_ref()) {
            problems.push(at(problem.0, problem.1));
        }
        mutants.push(Mutant {
            name,
            env: n.env,
            build_args: n.build_args,
            dockerfile: n.dockerfile.map(|d| d.into_inner()),
            fails: Vec::new(),
            fails_at: None,
            near_miss: Some(because),
        });
    }
    if problems.is_empty() {
        Ok(mutants)
    } else {
        Err(problems)
    }
}

/// A missing name, or one a mutant or near miss before it already has.
fn name_problem(name: &str, seen: &[Mutant]) -> Option<String> {
    if name.is_empty() {
        Some("a mutant or near miss needs a name".into())
    } else if seen.iter().any(|m| m.name == name) {
        Some(format!("`{name}` is declared twice"))
    } else {
        None
    }
}

/// A `dockerfile` that is not a plain file name of the reference's folder: its offset and the problem.
fn dockerfile_problem(file: Option<&Spanned<String>>) -> Option<(usize, String)> {
    let file = file?;
    let f = file.get_ref();
    (f.is_empty() || f.contains(['/', '\\']) || f.starts_with('.')).then(|| {
        (
            file.span().start,
            format!(
                "dockerfile `{f}` must be a file name in the reference's folder, without a path"
            ),
        )
    })
}
