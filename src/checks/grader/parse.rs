//! From the TOML of a `[check.grader]` table to a checked [`GraderCheck`], and the rules that need the whole lab:
//!
//! ```toml
//! [check.grader]
//! test = "conditional writers each win once"   # the test's `name` in results.json; by default the check's id
//! ```
//!
//! Lab-wide: a lab with grader checks ships `labs/<id>/grader/Dockerfile`, and no two grader checks report the
//! same test (each test is one outcome).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::{GraderCheck, GRADER_DIR};
use crate::checks::load::{Loaded, Source};
use crate::checks::CheckKind;
use crate::diagnostics::Diagnostic;

/// A test name longer than this is not a name.
const MAX_TEST_NAME: usize = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::checks) struct RawGrader {
    // Not `Spanned`, as the table itself (see `RawCheck::grader`).
    test: Option<String>,
}

/// Reads the `[check.grader]` table (optional) of the check `id` starting at byte `start`; `None` when any
/// problem was found.
pub(in crate::checks) fn check(
    src: &Source,
    start: usize,
    id: &str,
    raw: Option<RawGrader>,
    has_steps: bool,
    problems: &mut Vec<Diagnostic>,
) -> Option<GraderCheck> {
    let before = problems.len();
    if has_steps {
        problems.push(src.at(
            start,
            "a grader check has no [[check.step]]; the lab's grader (labs/<id>/grader/) drives the service",
        ));
    }
    let at = src.key_offset(start, "grader.test");
    let test = match raw.and_then(|r| r.test) {
        None => id.to_string(),
        Some(t) => {
            let name = t.trim().to_string();
            if name.is_empty() || name.len() > MAX_TEST_NAME {
                problems.push(src.at(
                    at,
                    format!("test must name a test of the grader's results.json (1 to {MAX_TEST_NAME} characters)"),
                ));
            }
            name
        }
    };
    (problems.len() == before).then(|| GraderCheck {
        test,
        declared: Arc::new(Vec::new()),
    })
}

/// The rules that need the lab's folder and all its checks: the grader exists when a check names it, and each
/// test is reported by one check.
pub(in crate::checks) fn lab_rules(
    lab_dir: &Path,
    loaded: &[Loaded],
    problems: &mut Vec<Diagnostic>,
) {
    let grader = lab_dir.join(GRADER_DIR);
    let dockerfile = grader.join("Dockerfile");
    if grader.is_dir() && !dockerfile.is_file() {
        problems.push(Diagnostic::new(
            &grader,
            None,
            "the lab's grader folder needs a Dockerfile at its root (see docs/authoring.md, \"A grader of your own\")",
        ));
    }
    let mut first: HashMap<&str, &Loaded> = HashMap::new();
    let mut told_missing = false;
    for l in loaded {
        let Some(CheckKind::Grader(g)) = l.def.as_ref().map(|d| &d.kind) else {
            continue;
        };
        if !l.path.starts_with(lab_dir) {
            // Brought by `[[include]]`: its test is in its own lab's grader, which this lab does not run.
            problems.push(Diagnostic::new(
                &l.path,
                Some(l.id_line),
                format!(
                    "`{}` is a grader check, which runs its own lab's grader only: another lab cannot include it",
                    l.id
                ),
            ));
            continue;
        }
        if !grader.is_dir() && !told_missing {
            told_missing = true;
            problems.push(Diagnostic::new(
                &l.path,
                Some(l.id_line),
                format!(
                    "`{}` is a grader check, but the lab has no grader: add {}/Dockerfile",
                    l.id,
                    grader.display()
                ),
            ));
        }
        match first.get(g.test.as_str()) {
            Some(f) => problems.push(Diagnostic::new(
                &l.path,
                Some(l.id_line),
                format!(
                    "`{}` reports the grader's test `{}`, as `{}` does already ({}:{})",
                    l.id,
                    g.test,
                    f.id,
                    f.path.display(),
                    f.id_line
                ),
            )),
            None => {
                first.insert(&g.test, l);
            }
        }
    }
}
