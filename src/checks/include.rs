//! `[[include]]`: a lab re-runs chosen checks of an earlier lab, so the service learners grow week by week must
//! keep doing what earlier weeks graded.
//!
//! ```toml
//! [[include]]
//! lab = "w02-crud"
//! checks = ["create-note", "list-pagination"]
//! ```
//!
//! An included check is the earlier lab's own definition, unchanged but for its id, which becomes
//! `<lab>/<id>` (a `/` never appears in a check's own id, so it cannot clash), and the `depends_on` it names,
//! which must be included by the same `[[include]]` and are renamed alike. It counts in the including lab's
//! score like the lab's own checks, so toward the including lab's pillars; its `pillar` label stays the
//! original's unless the include gives one. Only checks a lab defines itself can be included, not ones it
//! includes: the id says where the check lives.
//!
//! Refused, with the file and line: an unknown lab, an unknown check id, a lab of a later week, a lab including
//! itself or a cycle of includes between labs, a dependency left out, a lab whose own checks do not load.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::load::{read_lab, LabFiles, Loaded, Source};
use super::CheckDef;
use crate::diagnostics::Diagnostic;
use crate::domain::LabId;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInclude {
    lab: Spanned<String>,
    checks: Spanned<Vec<Spanned<String>>>,
    pillar: Option<Spanned<String>>,
    weight: Option<Spanned<f64>>,
    required: Option<bool>,
}

/// One `[[include]]` as written, its shape checked.
#[derive(Debug, Clone)]
pub(super) struct IncludeDecl {
    path: PathBuf,
    lab: LabId,
    lab_line: usize,
    /// Each id with its line.
    checks: Vec<(String, usize)>,
    pillar: Option<String>,
    weight: Option<f64>,
    required: Option<bool>,
    /// How many checks of the including lab come before the ones this brings (the end of its file).
    at: usize,
}

/// Checks the shape of one `[[include]]`; `None` (with the problems pushed) when it cannot be used.
pub(super) fn declaration(
    src: &Source,
    raw: Spanned<RawInclude>,
    at: usize,
    known_pillars: &[String],
    problems: &mut Vec<Diagnostic>,
) -> Option<IncludeDecl> {
    let before = problems.len();
    let raw = raw.into_inner();
    let name = raw.lab.get_ref().trim();
    let lab = LabId::parse(name);
    if lab.is_err() {
        problems.push(src.at(
            raw.lab.span().start,
            format!("`{name}` is not a lab id (lower-case letters, digits and single hyphens)"),
        ));
    }
    if raw.checks.get_ref().is_empty() {
        problems.push(src.at(
            raw.checks.span().start,
            "an include names at least one check",
        ));
    }
    let mut checks: Vec<(String, usize)> = Vec::new();
    for c in raw.checks.get_ref() {
        let id = c.get_ref().trim().to_string();
        let line = src.line(c.span().start);
        if checks.iter().any(|(seen, _)| *seen == id) {
            problems.push(src.at(c.span().start, format!("`{id}` is listed twice")));
        } else {
            checks.push((id, line));
        }
    }
    if let Some(p) = &raw.pillar {
        if !known_pillars.contains(p.get_ref()) {
            problems.push(src.at(
                p.span().start,
                format!(
                    "unknown pillar `{}` (known: {})",
                    p.get_ref(),
                    known_pillars.join(", ")
                ),
            ));
        }
    }
    if let Some(w) = &raw.weight {
        if !(w.get_ref().is_finite() && *w.get_ref() > 0.0) {
            problems.push(src.at(w.span().start, "weight must be a positive number"));
        }
    }
    let lab = lab.ok().filter(|_| problems.len() == before)?;
    Some(IncludeDecl {
        path: src.path.to_path_buf(),
        lab,
        lab_line: src.line(raw.lab.span().start),
        checks,
        pillar: raw.pillar.map(Spanned::into_inner),
        weight: raw.weight.map(Spanned::into_inner),
        required: raw.required,
        at,
    })
}

/// The lab's own checks with the included ones put at the end of the file that includes them.
pub(super) fn resolve(
    lab_dir: &Path,
    files: LabFiles,
    known_pillars: &[String],
    problems: &mut Vec<Diagnostic>,
) -> Vec<Loaded> {
    let LabFiles { loaded, includes } = files;
    if includes.is_empty() {
        return loaded;
    }
    let mut brought: Vec<(usize, Vec<Loaded>)> = includes
        .iter()
        .map(|decl| (decl.at, included(lab_dir, decl, known_pillars, problems)))
        .collect();
    let mut out = Vec::new();
    for (i, own) in loaded.into_iter().enumerate() {
        for (_, checks) in brought.iter_mut().filter(|(at, _)| *at == i) {
            out.append(checks);
        }
        out.push(own);
    }
    for (_, checks) in &mut brought {
        out.append(checks);
    }
    out
}

/// The checks one `[[include]]` brings, renamed; none when it is refused.
fn included(
    lab_dir: &Path,
    decl: &IncludeDecl,
    known_pillars: &[String],
    problems: &mut Vec<Diagnostic>,
) -> Vec<Loaded> {
    let name = decl.lab.as_str();
    let refused = |msg: String| Diagnostic::new(&decl.path, Some(decl.lab_line), msg);
    let other_dir = match other_lab(lab_dir, name) {
        Ok(dir) => dir,
        Err(why) => {
            problems.push(refused(why));
            return Vec::new();
        }
    };
    let mut theirs = Vec::new();
    let Some(files) = read_lab(&other_dir, known_pillars, &mut theirs) else {
        problems.push(refused(format!("`{name}` has no checks folder")));
        return Vec::new();
    };
    if !theirs.is_empty() {
        problems.push(refused(format!(
            "the checks of `{name}` have problems of their own (gauntlet validate lists them)"
        )));
        return Vec::new();
    }
    let mut out = Vec::new();
    for (id, line) in &decl.checks {
        let at = |msg: String| Diagnostic::new(&decl.path, Some(*line), msg);
        let Some(def) = files
            .loaded
            .iter()
            .find(|l| l.id == *id)
            .and_then(|l| l.def.as_ref())
        else {
            let also = if id.contains('/') {
                " (a lab's included checks cannot be included again: include them from their own lab)"
            } else {
                ""
            };
            problems.push(at(format!("`{name}` has no check `{id}`{also}")));
            continue;
        };
        for dep in &def.depends_on {
            if !decl.checks.iter().any(|(wanted, _)| wanted == dep) {
                problems.push(at(format!(
                    "`{id}` of `{name}` depends on `{dep}`, which this include does not list: add it to `checks`"
                )));
            }
        }
        let def = renamed(def, decl);
        out.push(Loaded {
            id: def.id.clone(),
            depends_on: def.depends_on.clone(),
            path: decl.path.clone(),
            id_line: *line,
            dep_lines: vec![*line; def.depends_on.len()],
            def: Some(def),
        });
    }
    out
}

/// The folder of the lab `name` that the lab in `lab_dir` includes, or why it may not: unknown, itself, of a
/// later week, or closing a cycle of includes.
fn other_lab(lab_dir: &Path, name: &str) -> Result<PathBuf, String> {
    // `gauntlet grade .` inside a lab folder names it `.`: its name and its siblings need the real path.
    let lab_dir = &lab_dir
        .canonicalize()
        .unwrap_or_else(|_| lab_dir.to_path_buf());
    let labs_dir = lab_dir.parent().unwrap_or(Path::new("."));
    let this = lab_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let other_dir = labs_dir.join(name);
    if !other_dir.join("lab.toml").is_file() {
        return Err(format!(
            "unknown lab `{name}` (no {name}/lab.toml beside this lab)"
        ));
    }
    if name == this {
        return Err(format!(
            "`{name}` includes its own checks: list them as checks instead"
        ));
    }
    match (week_of(lab_dir), week_of(&other_dir)) {
        (Some(mine), Some(theirs)) if theirs > mine => {
            return Err(format!(
                "`{name}` is a week {theirs} lab: a week {mine} lab can only include checks of its own or earlier weeks"
            ))
        }
        (Some(_), Some(_)) => {}
        _ => {
            return Err(format!(
                "cannot tell the week of this lab or of `{name}` from their lab.toml"
            ))
        }
    }
    if let Some(path) = cycle_through(labs_dir, name, &this) {
        return Err(format!(
            "including `{name}` forms a cycle of includes: {this} → {}",
            path.join(" → ")
        ));
    }
    Ok(other_dir)
}

/// The earlier lab's check under its lab-qualified id, its dependencies renamed alike, with the include's
/// overrides.
fn renamed(def: &CheckDef, decl: &IncludeDecl) -> CheckDef {
    let name = decl.lab.as_str();
    let mut def = def.clone();
    def.id = format!("{name}/{}", def.id);
    def.depends_on = def
        .depends_on
        .iter()
        .map(|d| format!("{name}/{d}"))
        .collect();
    if let Some(p) = &decl.pillar {
        def.pillar.clone_from(p);
    }
    if let Some(w) = decl.weight {
        def.weight = w;
    }
    if let Some(r) = decl.required {
        def.required = r;
    }
    def
}

/// The `week` of the lab in `dir`, read from its `lab.toml` (the curriculum reports any other problem there).
fn week_of(dir: &Path) -> Option<i64> {
    #[derive(Deserialize)]
    struct WeekOnly {
        week: i64,
    }
    let text = std::fs::read_to_string(dir.join("lab.toml")).ok()?;
    toml::from_str::<WeekOnly>(&text).ok().map(|w| w.week)
}

/// The labs `lab` includes, read from its check files' `[[include]]` tables only.
fn includes_of(labs_dir: &Path, lab: &str) -> Vec<String> {
    #[derive(Deserialize)]
    struct IncludesOnly {
        #[serde(default)]
        include: Vec<LabOnly>,
    }
    #[derive(Deserialize)]
    struct LabOnly {
        lab: String,
    }
    let Ok(entries) = std::fs::read_dir(labs_dir.join(lab).join("checks")) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter_map(|t| toml::from_str::<IncludesOnly>(&t).ok())
        .flat_map(|f| f.include.into_iter().map(|l| l.lab.trim().to_string()))
        .collect()
}

/// The chain of includes from `from` back to `target`, if any (`from` first, `target` last), following only
/// includes of the same or an earlier week.
fn cycle_through(labs_dir: &Path, from: &str, target: &str) -> Option<Vec<String>> {
    fn walk(
        labs_dir: &Path,
        lab: &str,
        target: &str,
        seen: &mut HashSet<String>,
        path: &mut Vec<String>,
    ) -> bool {
        path.push(lab.to_string());
        if lab == target {
            return true;
        }
        if seen.insert(lab.to_string()) {
            // An include of a later week is refused where it is written; it closes no cycle worth a second report.
            let week = week_of(&labs_dir.join(lab));
            for next in includes_of(labs_dir, lab)
                .into_iter()
                .filter(|n| week_of(&labs_dir.join(n)) <= week)
            {
                if walk(labs_dir, &next, target, seen, path) {
                    return true;
                }
            }
        }
        path.pop();
        false
    }
    let mut path = Vec::new();
    walk(labs_dir, from, target, &mut HashSet::new(), &mut path).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::super::CheckSuite;
    use super::*;

    const HEALTH: &str =
        "[[check]]\nid = \"health\"\nkind = \"http\"\ntitle = \"Up\"\npillar = \"language\"\n\n\
                          [[check.step]]\npath = \"/healthz\"\nexpect.status = 200\n";
    const NEEDS_HEALTH: &str = "[[check]]\nid = \"after\"\nkind = \"http\"\ntitle = \"After\"\n\
                                pillar = \"language\"\ndepends_on = [\"health\"]\n\n\
                                [[check.step]]\npath = \"/x\"\nexpect.status = 200\n";

    fn pillars() -> Vec<String> {
        vec!["language".to_string(), "security".to_string()]
    }

    /// Check files of one lab: name and text.
    type Files<'a> = &'a [(&'a str, &'a str)];

    /// A labs folder: each lab with its week and check files.
    fn labs(spec: &[(&str, i64, Files)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (lab, week, files) in spec {
            let d = dir.path().join(lab);
            std::fs::create_dir_all(d.join("checks")).unwrap();
            std::fs::write(d.join("lab.toml"), format!("week = {week}\n")).unwrap();
            for (name, text) in *files {
                std::fs::write(d.join("checks").join(name), text).unwrap();
            }
        }
        dir
    }

    fn problems_of(dir: &tempfile::TempDir, lab: &str) -> Vec<Diagnostic> {
        CheckSuite::load(&dir.path().join(lab), &pillars()).expect_err("must be refused")
    }

    #[test]
    fn included_checks_keep_their_definition_under_a_lab_qualified_id() {
        let a = format!("{HEALTH}\n{NEEDS_HEALTH}");
        let b = "[[include]]\nlab = \"wa\"\nchecks = [\"health\", \"after\"]\npillar = \"security\"\n\n\
                 [[check]]\nid = \"own\"\nkind = \"http\"\ntitle = \"Own\"\npillar = \"security\"\n\
                 depends_on = [\"wa/health\"]\n[[check.step]]\npath = \"/own\"\nexpect.status = 200\n";
        let dir = labs(&[("wa", 1, &[("a.toml", &a)]), ("wb", 2, &[("b.toml", b)])]);
        let suite = CheckSuite::load(&dir.path().join("wb"), &pillars()).expect("loads");
        let ids: Vec<&str> = suite.checks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["own", "wa/health", "wa/after"]);
        let after = &suite.checks[2];
        assert_eq!(after.depends_on, ["wa/health"]);
        assert_eq!(after.title, "After");
        assert_eq!(after.pillar, "security");
    }

    #[test]
    fn unknown_lab_and_unknown_check_are_refused_at_their_lines() {
        let b = "[[include]]\nlab = \"nowhere\"\nchecks = [\"health\"]\n\n\
                 [[include]]\nlab = \"wa\"\nchecks = [\n  \"health\",\n  \"missing\",\n]\n";
        let dir = labs(&[
            ("wa", 1, &[("a.toml", HEALTH)]),
            ("wb", 2, &[("b.toml", b)]),
        ]);
        let p = problems_of(&dir, "wb");
        assert!(
            p.iter()
                .any(|d| d.line == Some(2) && d.message.contains("unknown lab `nowhere`")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|d| d.line == Some(9) && d.message.contains("no check `missing`")),
            "{p:?}"
        );
        assert_eq!(p.len(), 2, "{p:?}");
    }

    #[test]
    fn a_later_week_is_refused() {
        let a = "[[include]]\nlab = \"wb\"\nchecks = [\"health\"]\n";
        let dir = labs(&[
            ("wa", 1, &[("a.toml", a)]),
            ("wb", 2, &[("b.toml", HEALTH)]),
        ]);
        let p = problems_of(&dir, "wa");
        assert!(
            p.iter()
                .any(|d| d.line == Some(2) && d.message.contains("week 2 lab")),
            "{p:?}"
        );
    }

    #[test]
    fn a_cycle_of_includes_is_refused() {
        let a = format!("{HEALTH}\n[[include]]\nlab = \"wb\"\nchecks = [\"other\"]\n");
        let b =
            "[[check]]\nid = \"other\"\nkind = \"http\"\ntitle = \"O\"\npillar = \"language\"\n\
                 [[check.step]]\npath = \"/o\"\nexpect.status = 200\n\n\
                 [[include]]\nlab = \"wa\"\nchecks = [\"health\"]\n";
        let dir = labs(&[("wa", 3, &[("a.toml", &a)]), ("wb", 3, &[("b.toml", b)])]);
        let p = problems_of(&dir, "wa");
        assert!(
            p.iter().any(
                |d| d.line == Some(12) && d.message.contains("cycle of includes: wa → wb → wa")
            ),
            "{p:?}"
        );
        let own = "[[include]]\nlab = \"wc\"\nchecks = [\"health\"]\n";
        let dir = labs(&[("wc", 3, &[("a.toml", HEALTH), ("b.toml", own)])]);
        let p = problems_of(&dir, "wc");
        assert!(
            p.iter()
                .any(|d| d.line == Some(2) && d.message.contains("its own checks")),
            "{p:?}"
        );
    }

    #[test]
    fn a_dependency_left_out_is_refused() {
        let a = format!("{HEALTH}\n{NEEDS_HEALTH}");
        let b = "[[include]]\nlab = \"wa\"\nchecks = [\"after\"]\n";
        let dir = labs(&[("wa", 1, &[("a.toml", &a)]), ("wb", 2, &[("b.toml", b)])]);
        let p = problems_of(&dir, "wb");
        assert!(
            p.iter()
                .any(|d| d.line == Some(3) && d.message.contains("depends on `health`")),
            "{p:?}"
        );
    }

    #[test]
    fn an_included_id_cannot_clash_with_an_own_one_nor_be_included_twice() {
        let b = "[[include]]\nlab = \"wa\"\nchecks = [\"health\"]\n";
        let c = "[[include]]\nlab = \"wa\"\nchecks = [\"health\"]\n";
        let dir = labs(&[
            ("wa", 1, &[("a.toml", HEALTH)]),
            ("wb", 2, &[("a.toml", HEALTH), ("b.toml", b), ("c.toml", c)]),
        ]);
        let p = problems_of(&dir, "wb");
        assert_eq!(p.len(), 1, "own `health` and `wa/health` coexist: {p:?}");
        assert!(
            p[0].message.contains("duplicate check id `wa/health`"),
            "{p:?}"
        );
    }
}
