//! `{{env.NAME}}` references in a lab's check files, against the names the run's environment will hold.
//!
//! The check loaders accept any `env.*` (the environment is the run's), so a misspelt or undeclared name only
//! showed at run time, as an `error` verdict on a run that could still pass. This pass reads the files' text,
//! not the parsed checks, so it covers every kind and field that takes variables, with the line of each use.

use std::collections::BTreeSet;
use std::path::Path;

use crate::diagnostics::Diagnostic;

/// Every `{{env.NAME}}` in `lab_dir/checks/*.toml` (comment lines aside) whose name is not in `known`.
pub fn unknown(lab_dir: &Path, known: &BTreeSet<String>) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let Ok(entries) = std::fs::read_dir(lab_dir.join("checks")) else {
        return problems;
    };
    let mut files: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // the check loader reports an unreadable file
        };
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            for name in names(line) {
                if !known.contains(name) {
                    let all: Vec<&str> = known.iter().map(String::as_str).collect();
                    problems.push(Diagnostic::new(
                        &path,
                        Some(n + 1),
                        format!(
                            "`{{{{env.{name}}}}}` is not in the run's environment (it holds {}); declare a fixed value in lab.toml's [env] or a secret in [service] secrets",
                            all.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    problems
}

/// The names of the `{{env.NAME}}` references in one line (a filter or modulo after the name aside).
fn names(line: &str) -> Vec<&str> {
    line.match_indices("{{env.")
        .filter_map(|(at, open)| {
            let rest = &line[at + open.len()..];
            let end = rest.find("}}")?;
            let name = rest[..end].split(['|', '%']).next().unwrap_or_default();
            Some(name.trim())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_name_with_or_without_a_filter() {
        assert_eq!(
            names(r#"path = "/x/{{env.A}}?q={{env.B|url}}&n={{ seed }}""#),
            vec!["A", "B"]
        );
        assert!(names("{{env.UNCLOSED").is_empty());
    }

    #[test]
    fn reports_an_unknown_name_at_its_line_and_skips_comments() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("checks")).expect("mkdir");
        std::fs::write(
            dir.path().join("checks/a.toml"),
            "# {{env.IN_A_COMMENT}}\nx = \"{{env.KNOWN}}\"\ny = \"{{env.TYPO}}\"\n",
        )
        .expect("write");
        let known: BTreeSet<String> = ["KNOWN".to_string()].into();
        let found: Vec<String> = unknown(dir.path(), &known)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].contains("a.toml:3") && found[0].contains("env.TYPO"),
            "{found:#?}"
        );
    }
}
