//! From the TOML of a `[check.image]` table to a checked [`ImageCheck`], every problem with its line:
//!
//! ```toml
//! [check.image]
//! rules = ["non-root-user", "exec-form"]   # one or more of the names in `Rule::ALL`
//! max_added_mb = 40                         # only, and then required, with "added-size"
//! ```

use serde::Deserialize;
use toml::Spanned;

use super::{ImageCheck, Rule};
use crate::checks::load::Source;
use crate::diagnostics::Diagnostic;

/// More than this is a typo: a learner's layers are graded in minutes on a shared machine.
const MAX_ADDED_MB: f64 = 100_000.0;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::checks) struct RawImage {
    rules: Spanned<Vec<Spanned<String>>>,
    max_added_mb: Option<Spanned<f64>>,
}

/// Reads the `[check.image]` table of the check starting at byte `start`; `None` when any problem was found.
pub(in crate::checks) fn check(
    src: &Source,
    start: usize,
    raw: Option<Spanned<RawImage>>,
    has_steps: bool,
    problems: &mut Vec<Diagnostic>,
) -> Option<ImageCheck> {
    let before = problems.len();
    if has_steps {
        problems.push(src.at(
            start,
            "an image check has no [[check.step]]; it reads the built image, not the service",
        ));
    }
    let Some(raw) = raw else {
        problems.push(src.at(
            start,
            "an image check needs a [check.image] table with `rules`",
        ));
        return None;
    };
    let table_at = raw.span().start;
    let raw = raw.into_inner();
    let mut rules = Vec::new();
    if raw.rules.get_ref().is_empty() {
        problems.push(src.at(raw.rules.span().start, "`rules` names at least one rule"));
    }
    for name in raw.rules.get_ref() {
        match Rule::parse(name.get_ref().trim()) {
            Some(rule) if rules.contains(&rule) => problems.push(src.at(
                name.span().start,
                format!("rule `{}` is named twice", rule.name()),
            )),
            Some(rule) => rules.push(rule),
            None => {
                let known: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
                problems.push(src.at(
                    name.span().start,
                    format!(
                        "unknown image rule `{}` (known: {})",
                        name.get_ref(),
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    rules.sort();
    let sized = rules.contains(&Rule::AddedSize);
    let max_added_bytes = match &raw.max_added_mb {
        Some(mb) if !sized => {
            problems.push(src.at(
                mb.span().start,
                "`max_added_mb` belongs with the `added-size` rule",
            ));
            None
        }
        Some(mb)
            if mb.get_ref().is_finite() && *mb.get_ref() > 0.0 && *mb.get_ref() <= MAX_ADDED_MB =>
        {
            Some((*mb.get_ref() * 1_000_000.0) as u64)
        }
        Some(mb) => {
            problems.push(src.at(
                mb.span().start,
                format!("`max_added_mb` must be above 0 and at most {MAX_ADDED_MB}"),
            ));
            None
        }
        None if sized => {
            problems.push(src.at(
                table_at,
                "the `added-size` rule needs `max_added_mb`, the megabytes (10^6 bytes) a learner may add",
            ));
            None
        }
        None => None,
    };
    (problems.len() == before).then_some(ImageCheck {
        rules,
        max_added_bytes,
    })
}
