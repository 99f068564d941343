//! The course as authored in files: `course.toml`, twelve week modules and the labs' public sides.
//!
//! Loading reads everything and collects every problem, each with its file and line, so that `gauntlet validate`
//! and a reload on the server tell an author all that is wrong at once. A loaded [`Curriculum`] is immutable;
//! a reload builds a new one and swaps it in whole.

mod course;
mod course_schedule;
mod frontmatter;
mod lab;
mod lab_build;
mod lab_counterpart;
pub mod markdown;
mod module;
pub mod quiz;
pub mod starter;
mod version;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use course::{Course, Pillar};
pub use course_schedule::CourseSchedule;
pub use lab::{CounterpartSpec, Lab, Limits, ReportPath, RunAs, ServiceSpec, Timeouts, TopicSpec};
pub use lab_counterpart::{CONTROL_TOKEN, KAFKA_BOOTSTRAP, KAFKA_PORT};
pub use module::Module;
pub use quiz::Quiz;
pub use version::LabVersion;

use crate::diagnostics::Diagnostic;
use crate::domain::{LabId, PillarId, Week};

/// The course as the server holds it: swapped whole on reload, so every reader sees one consistent course.
pub type SharedCurriculum = std::sync::Arc<std::sync::RwLock<std::sync::Arc<Curriculum>>>;

/// The course as it is now.
pub fn current(shared: &SharedCurriculum) -> std::sync::Arc<Curriculum> {
    match shared.read() {
        Ok(c) => c.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

/// The whole course, valid: every cross-reference resolves.
#[derive(Debug, Clone)]
pub struct Curriculum {
    pub course: Course,
    /// One module per week, in week order.
    pub modules: Vec<Module>,
    pub labs: BTreeMap<LabId, Lab>,
    /// Each lab's version (the hash of its folder's files), recorded with every run submitted under it.
    pub versions: BTreeMap<LabId, LabVersion>,
    /// The whole course's version: a hash of the curriculum folder's files and every lab's version, shown to
    /// staff so they can tell which files the server holds after a reload.
    pub course_version: LabVersion,
    pub curriculum_dir: PathBuf,
    pub labs_dir: PathBuf,
}

impl Curriculum {
    /// Loads and cross-checks the course; on any problem returns all of them, sorted by file and line.
    pub fn load(curriculum_dir: &Path, labs_dir: &Path) -> Result<Curriculum, Vec<Diagnostic>> {
        let mut problems = Vec::new();
        let course = load_course(curriculum_dir, &mut problems);
        let modules = load_modules(curriculum_dir, &mut problems);
        let labs = load_labs(labs_dir, &mut problems);
        let curriculum = cross_check(course, modules, labs, curriculum_dir, &mut problems);
        // The hidden checks are not part of the course's public side, but an author wants their mistakes
        // reported by the same command, with the same file-and-line precision.
        if let Some(c) = &curriculum {
            let pillars = c.pillar_ids();
            for lab in c.labs.values() {
                problems.extend(crate::checks::env_refs::unknown(&lab.dir, &lab.env_names()));
                match crate::checks::CheckSuite::load(&lab.dir, &pillars) {
                    Ok(suite) => {
                        if let Err(found) = crate::checks::mutants::load(&lab.dir, &suite) {
                            problems.extend(found);
                        }
                    }
                    Err(found) => problems.extend(found),
                }
            }
        }
        let mut versions = BTreeMap::new();
        for lab in curriculum.iter().flat_map(|c| c.labs.values()) {
            match LabVersion::of_dir(&lab.dir) {
                Ok(v) => {
                    versions.insert(lab.id.clone(), v);
                }
                Err(e) => problems.push(Diagnostic::new(
                    lab.dir.clone(),
                    None,
                    format!("the lab's files could not be read to compute its version: {e}"),
                )),
            }
        }
        let course_version = match LabVersion::of_dir(curriculum_dir) {
            Ok(files) => LabVersion::of_parts(files.as_str(), versions.iter()),
            Err(e) => {
                problems.push(Diagnostic::new(
                    curriculum_dir,
                    None,
                    format!("the course's files could not be read to compute its version: {e}"),
                ));
                LabVersion::of_parts("", versions.iter())
            }
        };
        if problems.is_empty() {
            if let Some(c) = curriculum {
                return Ok(Curriculum {
                    versions,
                    course_version,
                    curriculum_dir: curriculum_dir.to_path_buf(),
                    labs_dir: labs_dir.to_path_buf(),
                    ..c
                });
            }
        }
        problems.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        problems.dedup();
        Err(problems)
    }

    /// Checks one lab folder without a whole curriculum (`validate --lab`): its lab.toml, checks, mutants and
    /// `{{env.NAME}}` references. Pillars are the course's when `curriculum_dir` has a readable course.toml,
    /// else the lab's own. Returns the lab and its number of checks.
    pub fn validate_lab(
        curriculum_dir: &Path,
        lab_dir: &Path,
    ) -> Result<(Lab, usize), Vec<Diagnostic>> {
        let lab = Lab::load(lab_dir)?;
        let mut ignored = Vec::new();
        let mut pillars: Vec<String> = load_course(curriculum_dir, &mut ignored)
            .map(|c| c.pillars.iter().map(|p| p.id.to_string()).collect())
            .unwrap_or_default();
        pillars.extend(lab.pillars.iter().map(|(p, _)| p.to_string()));
        let mut problems = crate::checks::env_refs::unknown(&lab.dir, &lab.env_names());
        let checks = match crate::checks::CheckSuite::load(&lab.dir, &pillars) {
            Ok(suite) => {
                if let Err(found) = crate::checks::mutants::load(&lab.dir, &suite) {
                    problems.extend(found);
                }
                suite.checks.len()
            }
            Err(found) => {
                problems.extend(found);
                0
            }
        };
        if problems.is_empty() {
            return Ok((lab, checks));
        }
        problems.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        problems.dedup();
        Err(problems)
    }

    pub fn module(&self, week: Week) -> Option<&Module> {
        self.modules.iter().find(|m| m.week == week)
    }

    pub fn lab(&self, id: &LabId) -> Option<&Lab> {
        self.labs.get(id)
    }

    /// The labs of one week, in the order its module lists them.
    pub fn labs_of(&self, module: &Module) -> Vec<&Lab> {
        module
            .labs
            .iter()
            .filter_map(|id| self.labs.get(id))
            .collect()
    }

    /// The version of a lab's files that a run of it is submitted under.
    pub fn lab_version(&self, id: &LabId) -> Option<&LabVersion> {
        self.versions.get(id)
    }

    /// `lab_id:version` for every lab, as the queue matches runs against a worker's files.
    pub fn version_keys(&self) -> Vec<String> {
        self.versions
            .iter()
            .map(|(id, v)| format!("{}:{}", id.as_str(), v.as_str()))
            .collect()
    }

    pub fn pillar_ids(&self) -> Vec<String> {
        self.course
            .pillars
            .iter()
            .map(|p| p.id.to_string())
            .collect()
    }
}

fn load_course(dir: &Path, problems: &mut Vec<Diagnostic>) -> Option<Course> {
    let path = dir.join("course.toml");
    match std::fs::read_to_string(&path) {
        Ok(text) => course::parse(&path, &text, problems),
        Err(e) => {
            problems.push(Diagnostic::new(&path, None, format!("cannot read: {e}")));
            None
        }
    }
}

/// Every `*/module.md` below the curriculum folder, in folder-name order, each with the `quiz.toml` beside it
/// when there is one.
fn load_modules(dir: &Path, problems: &mut Vec<Diagnostic>) -> Vec<module::Parsed> {
    let mut parsed = Vec::new();
    for sub in sorted_subdirs(dir, problems) {
        let path = sub.join("module.md");
        if !path.exists() {
            continue;
        }
        let module = match std::fs::read_to_string(&path) {
            Ok(text) => module::parse(&path, &text, problems),
            Err(e) => {
                problems.push(Diagnostic::new(&path, None, format!("cannot read: {e}")));
                None
            }
        };
        let quiz = load_quiz(&sub.join("quiz.toml"), problems);
        parsed.extend(module.map(|mut m| {
            m.module.quiz = quiz;
            m
        }));
    }
    parsed
}

/// A module's quiz, when its folder has a `quiz.toml`.
fn load_quiz(path: &Path, problems: &mut Vec<Diagnostic>) -> Option<Quiz> {
    if !path.exists() {
        return None;
    }
    match std::fs::read_to_string(path) {
        Ok(text) => quiz::parse(path, &text, problems),
        Err(e) => {
            problems.push(Diagnostic::new(path, None, format!("cannot read: {e}")));
            None
        }
    }
}

fn load_labs(dir: &Path, problems: &mut Vec<Diagnostic>) -> Vec<lab::Parsed> {
    let mut parsed = Vec::new();
    for sub in sorted_subdirs(dir, problems) {
        let name = sub
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        match LabId::parse(&name) {
            Ok(id) => parsed.extend(lab::parse(&sub, id, problems)),
            Err(e) => problems.push(Diagnostic::new(
                &sub,
                None,
                format!("a lab's folder name is its id: {e}"),
            )),
        }
    }
    parsed
}

fn sorted_subdirs(dir: &Path, problems: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            problems.push(Diagnostic::new(
                dir,
                None,
                format!("cannot read folder: {e}"),
            ));
            return Vec::new();
        }
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    dirs.sort();
    dirs
}

/// Resolves references between the course, its modules and its labs.
fn cross_check(
    course: Option<Course>,
    modules: Vec<module::Parsed>,
    labs: Vec<lab::Parsed>,
    curriculum_dir: &Path,
    problems: &mut Vec<Diagnostic>,
) -> Option<Curriculum> {
    let known = |p: &PillarId| course.as_ref().is_none_or(|c| c.pillar(p).is_some());
    let unknown_pillar = |p: &PillarId| {
        let names = course
            .as_ref()
            .map(|c| {
                c.pillars
                    .iter()
                    .map(|p| p.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        format!("unknown pillar `{p}` (the course declares: {names})")
    };
    // Each lab's week, and where its `week =` line is, to point at when no module uses it.
    let lab_weeks: BTreeMap<LabId, (Week, PathBuf, usize)> = labs
        .iter()
        .map(|l| {
            let at = l.lab.dir.join("lab.toml");
            (l.lab.id.clone(), (l.lab.week, at, l.week_line))
        })
        .collect();
    for l in &labs {
        for (p, line) in &l.pillar_lines {
            if !known(p) {
                problems.push(Diagnostic::new(
                    l.lab.dir.join("lab.toml"),
                    Some(*line),
                    unknown_pillar(p),
                ));
            }
        }
    }
    let mut weeks: BTreeMap<Week, PathBuf> = BTreeMap::new();
    let mut used_by: BTreeMap<LabId, PathBuf> = BTreeMap::new();
    for m in &modules {
        let path = &m.module.path;
        if let Some(first) = weeks.get(&m.module.week) {
            problems.push(Diagnostic::new(
                path,
                Some(m.week_line),
                format!(
                    "week {} already has a module ({})",
                    m.module.week,
                    first.display()
                ),
            ));
        } else {
            weeks.insert(m.module.week, path.clone());
        }
        for (p, line) in &m.pillar_lines {
            if !known(p) {
                problems.push(Diagnostic::new(path, Some(*line), unknown_pillar(p)));
            }
        }
        for (lab, line) in &m.lab_lines {
            match lab_weeks.get(lab) {
                None => problems.push(Diagnostic::new(
                    path,
                    Some(*line),
                    format!("names lab `{lab}`, but there is no folder labs/{lab} with a valid lab.toml"),
                )),
                Some((week, _, _)) if *week != m.module.week => problems.push(Diagnostic::new(
                    path,
                    Some(*line),
                    format!("lab `{lab}` is set for week {week}, but this is week {}", m.module.week),
                )),
                Some(_) => {}
            }
            if let Some(other) = used_by.get(lab) {
                problems.push(Diagnostic::new(
                    path,
                    Some(*line),
                    format!("lab `{lab}` is already used by {}", other.display()),
                ));
            } else {
                used_by.insert(lab.clone(), path.clone());
            }
        }
    }
    if let Some(c) = &course {
        for (lab, line) in &c.schedule_labs {
            if !lab_weeks.contains_key(lab) {
                problems.push(Diagnostic::new(
                    curriculum_dir.join("course.toml"),
                    Some(*line),
                    format!("[schedule.due] names lab `{lab}`, but there is no folder labs/{lab} with a valid lab.toml"),
                ));
            }
        }
    }
    for (lab, (week, toml_path, line)) in &lab_weeks {
        if !used_by.contains_key(lab) {
            problems.push(Diagnostic::new(
                toml_path,
                Some(*line),
                format!("lab `{lab}` is not used by any module (add it to the `labs` of week {week}'s module)"),
            ));
        }
    }
    // When the folder itself is missing that one problem says it all.
    for week in Week::all().filter(|_| curriculum_dir.is_dir()) {
        if !weeks.contains_key(&week) {
            problems.push(Diagnostic::new(
                curriculum_dir,
                None,
                format!("no module for week {week} (add a folder with a module.md whose front matter says week = {week})"),
            ));
        }
    }
    let course = course?;
    let mut modules: Vec<Module> = modules.into_iter().map(|m| m.module).collect();
    modules.sort_by_key(|m| m.week);
    modules.dedup_by_key(|m| m.week);
    Some(Curriculum {
        course,
        modules,
        labs: labs
            .into_iter()
            .map(|l| (l.lab.id.clone(), l.lab))
            .collect(),
        versions: BTreeMap::new(),
        course_version: LabVersion::of_parts("", std::iter::empty::<(&LabId, &LabVersion)>()),
        curriculum_dir: PathBuf::new(),
        labs_dir: PathBuf::new(),
    })
}
