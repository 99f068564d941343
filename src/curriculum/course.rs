//! `course.toml`: the course's title, its skill pillars, its schedule (`course_schedule.rs`) and how much the
//! modules' quizzes count toward a pillar (`[quizzes] weight`).

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::course_schedule::{self, CourseSchedule, RawSchedule};
use crate::diagnostics::Diagnostic;
use crate::domain::{LabId, PillarId, Week};

/// The course as a whole.
#[derive(Debug, Clone)]
pub struct Course {
    pub title: String,
    pub tagline: String,
    pub pillars: Vec<Pillar>,
    /// When weeks open and labs are due, in days from a cohort's start.
    pub schedule: CourseSchedule,
    /// The share of a pillar that its modules' quizzes make up, 0 to 1 (`[quizzes] weight`; 0 when absent:
    /// quizzes are then practice only). See `crate::progress` for the rule.
    pub quiz_weight: f64,
    /// The labs `[schedule.due]` names and their lines, checked once the labs are loaded.
    pub(super) schedule_labs: Vec<(LabId, usize)>,
}

/// A skill pillar: a strand of the course that labs count toward.
#[derive(Debug, Clone)]
pub struct Pillar {
    pub id: PillarId,
    pub name: String,
    pub blurb: String,
    pub weeks: Vec<Week>,
}

impl Course {
    pub fn pillar(&self, id: &PillarId) -> Option<&Pillar> {
        self.pillars.iter().find(|p| &p.id == id)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCourse {
    title: String,
    #[serde(default)]
    tagline: String,
    pillars: Vec<RawPillar>,
    #[serde(default)]
    schedule: Option<RawSchedule>,
    #[serde(default)]
    quizzes: Option<RawQuizzes>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuizzes {
    weight: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPillar {
    id: Spanned<String>,
    name: String,
    #[serde(default)]
    blurb: String,
    #[serde(default)]
    weeks: Vec<Spanned<i64>>,
}

/// Parses `course.toml`, adding every problem to `problems`; `None` when nothing usable could be read.
pub fn parse(path: &Path, text: &str, problems: &mut Vec<Diagnostic>) -> Option<Course> {
    let raw: RawCourse = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            problems.push(Diagnostic::at_offset(path, text, offset, e.message()));
            return None;
        }
    };
    if raw.pillars.is_empty() {
        problems.push(Diagnostic::new(
            path,
            Some(1),
            "the course declares no [[pillars]]",
        ));
    }
    let mut pillars: Vec<Pillar> = Vec::new();
    for p in raw.pillars {
        let at = |offset: usize, msg: String| Diagnostic::at_offset(path, text, offset, msg);
        let id = match PillarId::parse(p.id.get_ref()) {
            Ok(id) => id,
            Err(e) => {
                problems.push(at(p.id.span().start, e.to_string()));
                continue;
            }
        };
        if pillars.iter().any(|q| q.id == id) {
            problems.push(at(
                p.id.span().start,
                format!("pillar `{id}` is declared twice"),
            ));
            continue;
        }
        let mut weeks = Vec::new();
        for w in &p.weeks {
            match Week::parse(*w.get_ref()) {
                Ok(week) => weeks.push(week),
                Err(e) => problems.push(at(w.span().start, e.to_string())),
            }
        }
        pillars.push(Pillar {
            id,
            name: p.name,
            blurb: p.blurb,
            weeks,
        });
    }
    let quiz_weight = match raw.quizzes {
        None => 0.0,
        Some(q) => {
            let w = *q.weight.get_ref();
            if (0.0..=1.0).contains(&w) {
                w
            } else {
                problems.push(Diagnostic::at_offset(
                    path,
                    text,
                    q.weight.span().start,
                    format!("[quizzes] weight must be between 0 and 1, got {w}"),
                ));
                0.0
            }
        }
    };
    let schedule = course_schedule::parse(path, text, raw.schedule, problems);
    Some(Course {
        title: raw.title,
        tagline: raw.tagline,
        pillars,
        schedule: schedule.schedule,
        quiz_weight,
        schedule_labs: schedule.lab_lines,
    })
}
