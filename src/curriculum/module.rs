//! A week's module: `week-NN-…/module.md`, TOML front matter and a markdown body.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::frontmatter;
use super::markdown::{self, TocEntry};
use crate::diagnostics::{line_of, Diagnostic};
use crate::domain::{LabId, PillarId, Week};

/// A week of teaching.
#[derive(Debug, Clone)]
pub struct Module {
    pub week: Week,
    pub title: String,
    pub summary: String,
    pub pillars: Vec<PillarId>,
    pub objectives: Vec<String>,
    pub labs: Vec<LabId>,
    pub html: String,
    pub toc: Vec<TocEntry>,
    pub path: PathBuf,
    /// The graded quiz from the `quiz.toml` beside the module, if it has one.
    pub quiz: Option<super::Quiz>,
}

impl Module {
    /// Parses one module file on its own: the front matter, its fields and the markdown body, without the
    /// course's cross-references (pillars and labs that exist). The course loader runs the same parse; this
    /// is for callers that hold one file (the fuzz target).
    pub fn parse_file(path: &Path, text: &str) -> Result<Module, Vec<Diagnostic>> {
        let mut problems = Vec::new();
        match parse(path, text, &mut problems) {
            Some(parsed) if problems.is_empty() => Ok(parsed.module),
            _ => Err(problems),
        }
    }
}

/// A module as parsed, with the lines of what cross-references must check later.
pub(super) struct Parsed {
    pub module: Module,
    pub week_line: usize,
    pub pillar_lines: Vec<(PillarId, usize)>,
    pub lab_lines: Vec<(LabId, usize)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFront {
    week: Spanned<i64>,
    title: String,
    #[serde(default)]
    summary: String,
    pillars: Vec<Spanned<String>>,
    #[serde(default)]
    objectives: Vec<String>,
    #[serde(default)]
    labs: Vec<Spanned<String>>,
}

/// Parses one module file; problems found in the file itself go to `problems`.
pub(super) fn parse(path: &Path, text: &str, problems: &mut Vec<Diagnostic>) -> Option<Parsed> {
    let split = match frontmatter::split(text) {
        Ok(s) => s,
        Err(e) => {
            problems.push(Diagnostic::new(path, Some(1), e.to_string()));
            return None;
        }
    };
    // Lines inside the front matter are counted from the file's start.
    let line = |offset: usize| line_of(text, split.front_offset + offset);
    let raw: RawFront = match toml::from_str(split.front) {
        Ok(r) => r,
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            problems.push(Diagnostic::new(
                path,
                Some(line(offset)),
                format!("front matter: {}", e.message()),
            ));
            return None;
        }
    };
    let week_line = line(raw.week.span().start);
    let week = match Week::parse(*raw.week.get_ref()) {
        Ok(w) => w,
        Err(e) => {
            problems.push(Diagnostic::new(path, Some(week_line), e.to_string()));
            return None;
        }
    };
    if raw.title.trim().is_empty() {
        problems.push(Diagnostic::new(path, Some(1), "the title is empty"));
    }
    let mut pillar_lines = Vec::new();
    for p in &raw.pillars {
        match PillarId::parse(p.get_ref()) {
            Ok(id) => pillar_lines.push((id, line(p.span().start))),
            Err(e) => problems.push(Diagnostic::new(
                path,
                Some(line(p.span().start)),
                e.to_string(),
            )),
        }
    }
    let mut lab_lines: Vec<(LabId, usize)> = Vec::new();
    for l in &raw.labs {
        let at = line(l.span().start);
        match LabId::parse(l.get_ref()) {
            Ok(id) if lab_lines.iter().any(|(seen, _)| seen == &id) => problems.push(
                Diagnostic::new(path, Some(at), format!("lab `{id}` is listed twice")),
            ),
            Ok(id) => lab_lines.push((id, at)),
            Err(e) => problems.push(Diagnostic::new(path, Some(at), e.to_string())),
        }
    }
    let rendered = markdown::render(split.body);
    Some(Parsed {
        module: Module {
            week,
            title: raw.title.trim().to_string(),
            summary: raw.summary.trim().to_string(),
            pillars: pillar_lines.iter().map(|(p, _)| p.clone()).collect(),
            objectives: raw.objectives,
            labs: lab_lines.iter().map(|(l, _)| l.clone()).collect(),
            html: rendered.html,
            toc: rendered.toc,
            path: path.to_path_buf(),
            quiz: None,
        },
        week_line,
        pillar_lines,
        lab_lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_parses_alone_and_a_broken_front_matter_is_pinned_to_its_line() {
        let path = Path::new("week-01/module.md");
        let text = "+++\nweek = 1\ntitle = \"First\"\npillars = [\"language\"]\n+++\n# Hello\n";
        let module = Module::parse_file(path, text).expect("valid");
        assert_eq!((module.week.number(), module.title.as_str()), (1, "First"));
        let problems =
            Module::parse_file(path, "+++\nweek = 1\ntitle = 3\n+++\n").expect_err("bad title");
        assert_eq!(problems[0].line, Some(3), "{problems:?}");
    }
}
