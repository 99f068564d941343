//! From the TOML of a `[check.llm]` table to a checked [`LlmCheck`], every problem with its line:
//!
//! ```toml
//! [check.llm]
//! scenario = "repeated-prompt-cached"   # one of the names in `Scenario::ALL`
//! upstream = "llm"                      # the model-upstream counterpart's name; default "llm"
//! path = "/v1/triage"                   # the typed endpoint; default "/v1/triage"
//! usage_path = "/v1/usage"              # the usage report; default "/v1/usage"
//! embed_path = "/v1/embed"              # the embeddings endpoint; default "/v1/embed"
//! ```

use serde::Deserialize;
use toml::Spanned;

use super::{LlmCheck, Scenario};
use crate::checks::load::Source;
use crate::diagnostics::Diagnostic;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::checks) struct RawLlm {
    scenario: Spanned<String>,
    upstream: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    usage_path: Option<Spanned<String>>,
    embed_path: Option<Spanned<String>>,
}

/// A path the check joins to the service's URL: one leading `/`, no query, no spaces.
fn path(
    src: &Source,
    raw: Option<Spanned<String>>,
    default: &str,
    problems: &mut Vec<Diagnostic>,
) -> String {
    let Some(raw) = raw else {
        return default.to_string();
    };
    let p = raw.get_ref().trim();
    let ok = p.starts_with('/') && !p.starts_with("//") && !p.contains(['?', '#', ' ']);
    if !ok {
        problems.push(src.at(
            raw.span().start,
            format!("`{p}` must be a path starting with a single `/`, without a query"),
        ));
    }
    p.to_string()
}

/// Reads the `[check.llm]` table of the check starting at byte `start`; `None` when any problem was found.
pub(in crate::checks) fn check(
    src: &Source,
    start: usize,
    raw: Option<Spanned<RawLlm>>,
    has_steps: bool,
    problems: &mut Vec<Diagnostic>,
) -> Option<LlmCheck> {
    let before = problems.len();
    if has_steps {
        problems.push(src.at(
            start,
            "an llm check has no [[check.step]]; its scenario is named in [check.llm]",
        ));
    }
    let Some(raw) = raw else {
        problems.push(src.at(
            start,
            "an llm check needs a [check.llm] table with `scenario`",
        ));
        return None;
    };
    let raw = raw.into_inner();
    let scenario = Scenario::parse(raw.scenario.get_ref().trim());
    if scenario.is_none() {
        let known: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
        problems.push(src.at(
            raw.scenario.span().start,
            format!(
                "unknown llm scenario `{}` (known: {})",
                raw.scenario.get_ref(),
                known.join(", ")
            ),
        ));
    }
    let upstream = match raw.upstream {
        None => "llm".to_string(),
        Some(u) => {
            let name = u.get_ref().trim().to_string();
            let valid = name.len() <= 20
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !valid {
                problems.push(src.at(
                    u.span().start,
                    format!("`{name}` is not a counterpart name"),
                ));
            }
            name
        }
    };
    let path_ = path(src, raw.path, "/v1/triage", problems);
    let usage_path = path(src, raw.usage_path, "/v1/usage", problems);
    let embed_path = path(src, raw.embed_path, "/v1/embed", problems);
    (problems.len() == before).then_some(LlmCheck {
        scenario: scenario?,
        upstream,
        path: path_,
        usage_path,
        embed_path,
    })
}

#[cfg(test)]
mod tests {
    use crate::checks::CheckSuite;
    use std::path::Path;

    fn problems(toml: &str) -> Vec<String> {
        match CheckSuite::parse_file(Path::new("checks/llm.toml"), toml, &["ai".to_string()]) {
            Ok(_) => Vec::new(),
            Err(ps) => ps.iter().map(|p| p.to_string()).collect(),
        }
    }

    const HEAD: &str = "[[check]]\nid = \"c\"\nkind = \"llm\"\ntitle = \"t\"\npillar = \"ai\"\n";

    #[test]
    fn a_valid_check_loads_with_its_defaults() {
        let suite = CheckSuite::parse_file(
            Path::new("checks/llm.toml"),
            &format!("{HEAD}[check.llm]\nscenario = \"retries-429\"\n"),
            &["ai".to_string()],
        )
        .unwrap();
        let crate::checks::CheckKind::Llm(c) = &suite.checks[0].kind else {
            panic!("not an llm check")
        };
        assert_eq!(
            (c.upstream.as_str(), c.path.as_str(), c.usage_path.as_str()),
            ("llm", "/v1/triage", "/v1/usage")
        );
    }

    #[test]
    fn an_unknown_scenario_is_reported_at_its_line() {
        let ps = problems(&format!("{HEAD}[check.llm]\nscenario = \"retry\"\n"));
        assert!(
            ps.iter()
                .any(|p| p.contains("llm.toml:7") && p.contains("unknown llm scenario")),
            "{ps:?}"
        );
    }

    #[test]
    fn a_missing_table_steps_and_bad_fields_are_reported() {
        assert!(problems(HEAD)
            .iter()
            .any(|p| p.contains("needs a [check.llm]")));
        let ps = problems(&format!(
            "{HEAD}[check.llm]\nscenario = \"typed-answer\"\nupstream = \"LLM\"\npath = \"v1\"\n"
        ));
        assert!(
            ps.iter()
                .any(|p| p.contains("llm.toml:8") && p.contains("not a counterpart name")),
            "{ps:?}"
        );
        assert!(
            ps.iter()
                .any(|p| p.contains("llm.toml:9") && p.contains("single `/`")),
            "{ps:?}"
        );
        let ps = problems(&format!(
            "{HEAD}[check.llm]\nscenario = \"typed-answer\"\ncolour = 1\n"
        ));
        assert!(ps.iter().any(|p| p.contains("colour")), "{ps:?}");
        let ps = problems(&format!(
            "{HEAD}[check.llm]\nscenario = \"typed-answer\"\n[[check.step]]\npath = \"/x\"\n"
        ));
        assert!(
            ps.iter().any(|p| p.contains("has no [[check.step]]")),
            "{ps:?}"
        );
    }

    #[test]
    fn the_table_belongs_to_llm_checks_only() {
        let toml = "[[check]]\nid = \"c\"\nkind = \"http\"\ntitle = \"t\"\npillar = \"ai\"\n\
                    [[check.step]]\npath = \"/\"\n[check.llm]\nscenario = \"typed-answer\"\n";
        assert!(problems(toml)
            .iter()
            .any(|p| p.contains("belongs to `llm` checks")));
    }
}
