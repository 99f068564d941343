//! `[schedule]` in `course.toml`: when each week opens and when each lab is due, as offsets in days, so that one
//! course serves every cohort and a cohort only needs a start date (`crate::schedule` turns offsets into dates).
//!
//! ```toml
//! [schedule]
//! opens = [0, 7, 14, 21, 28, 35, 42, 49, 56, 63, 70, 77]  # days after the cohort's start, week 1 first
//! due_days = 7                                            # a lab is due this many days after its week opens
//! [schedule.due]
//! w04-durability = 10                                     # unless it names its own
//! ```
//! Every key may be left out: weeks open a week apart and labs are due 7 days after their week opens.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostics::Diagnostic;
use crate::domain::{LabId, Week};

/// A schedule offset may not reach further than this many days (about ten years): a typo, not a course.
pub const MAX_DAYS: i64 = 3650;
/// Days between one week's opening and the next when `opens` is left out.
pub const DEFAULT_WEEK_DAYS: u32 = 7;
/// Days from a week's opening to its labs' due date when `due_days` is left out.
pub const DEFAULT_DUE_DAYS: u32 = 7;

/// The course's schedule in days, relative to a cohort's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseSchedule {
    /// Days after the start that each week opens, week 1 first (twelve entries, never decreasing).
    pub opens: Vec<u32>,
    /// Days after its week opens that a lab is due, unless `due` names it.
    pub due_days: u32,
    /// Labs with their own number of days.
    pub due: BTreeMap<LabId, u32>,
}

impl Default for CourseSchedule {
    fn default() -> Self {
        CourseSchedule {
            opens: Week::all()
                .map(|w| u32::from(w.number() - 1) * DEFAULT_WEEK_DAYS)
                .collect(),
            due_days: DEFAULT_DUE_DAYS,
            due: BTreeMap::new(),
        }
    }
}

impl CourseSchedule {
    /// Days after the start that `week` opens.
    pub fn opens_day(&self, week: Week) -> u32 {
        self.opens
            .get(usize::from(week.number() - 1))
            .copied()
            .unwrap_or(0)
    }

    /// Days after its week opens that `lab` is due.
    pub fn due_days_of(&self, lab: &LabId) -> u32 {
        self.due.get(lab).copied().unwrap_or(self.due_days)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchedule {
    #[serde(default)]
    opens: Option<Spanned<Vec<Spanned<i64>>>>,
    #[serde(default)]
    due_days: Option<Spanned<i64>>,
    /// Keyed by the lab's id; a problem with the key is reported at its value's line, which is the key's.
    #[serde(default)]
    due: BTreeMap<String, Spanned<i64>>,
}

/// The schedule as parsed, with the line of each lab it names (the labs are checked once they are loaded).
pub(super) struct Parsed {
    pub schedule: CourseSchedule,
    pub lab_lines: Vec<(LabId, usize)>,
}

/// Checks `raw` (from `path`, whose text is `text`), adding every problem to `problems`.
pub(super) fn parse(
    path: &Path,
    text: &str,
    raw: Option<RawSchedule>,
    problems: &mut Vec<Diagnostic>,
) -> Parsed {
    let mut schedule = CourseSchedule::default();
    let mut lab_lines = Vec::new();
    let Some(raw) = raw else {
        return Parsed {
            schedule,
            lab_lines,
        };
    };
    let at = |offset: usize, msg: String| Diagnostic::at_offset(path, text, offset, msg);
    let days = |v: &Spanned<i64>, what: &str, problems: &mut Vec<Diagnostic>| {
        let n = *v.get_ref();
        if (0..=MAX_DAYS).contains(&n) {
            Some(n as u32)
        } else {
            problems.push(at(
                v.span().start,
                format!("{what} is {n} days; it must be 0 to {MAX_DAYS}"),
            ));
            None
        }
    };
    if let Some(opens) = &raw.opens {
        let list = opens.get_ref();
        if list.len() != usize::from(Week::LAST) {
            problems.push(at(
                opens.span().start,
                format!(
                    "`opens` lists {} week(s); it needs one number per week, {} in all (days after the cohort's start, week 1 first)",
                    list.len(),
                    Week::LAST
                ),
            ));
        } else {
            let mut parsed = Vec::with_capacity(list.len());
            for (i, v) in list.iter().enumerate() {
                let what = format!("week {}'s opening", i + 1);
                let Some(d) = days(v, &what, problems) else {
                    continue;
                };
                if let Some(&before) = parsed.last() {
                    if d < before {
                        problems.push(at(
                            v.span().start,
                            format!("week {} opens on day {d}, before week {} (day {before}): weeks open in order", i + 1, i),
                        ));
                    }
                }
                parsed.push(d);
            }
            if parsed.len() == list.len() {
                schedule.opens = parsed;
            }
        }
    }
    if let Some(d) = &raw.due_days {
        if let Some(n) = days(d, "`due_days`", problems) {
            schedule.due_days = n;
        }
    }
    for (lab, d) in &raw.due {
        let line = crate::diagnostics::line_of(text, d.span().start);
        let id = match LabId::parse(lab) {
            Ok(id) => id,
            Err(e) => {
                problems.push(at(d.span().start, e.to_string()));
                continue;
            }
        };
        if let Some(n) = days(d, &format!("lab `{id}`'s due date"), problems) {
            schedule.due.insert(id.clone(), n);
        }
        lab_lines.push((id, line));
    }
    Parsed {
        schedule,
        lab_lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Doc {
        schedule: Option<RawSchedule>,
    }

    fn parsed(text: &str) -> (CourseSchedule, Vec<String>) {
        let doc: Doc = toml::from_str(text).unwrap();
        let mut problems = Vec::new();
        let p = parse(Path::new("course.toml"), text, doc.schedule, &mut problems);
        (
            p.schedule,
            problems.iter().map(ToString::to_string).collect(),
        )
    }

    #[test]
    fn no_schedule_means_weekly_openings_and_a_week_to_finish() {
        let (s, problems) = parsed("");
        assert!(problems.is_empty());
        assert_eq!(s.opens_day(Week::parse(1).unwrap()), 0);
        assert_eq!(s.opens_day(Week::parse(12).unwrap()), 77);
        assert_eq!(s.due_days_of(&LabId::parse("w01-hello").unwrap()), 7);
    }

    #[test]
    fn a_lab_named_under_due_gets_its_own_days() {
        let (s, problems) = parsed("[schedule]\ndue_days = 5\n[schedule.due]\nw01-hello = 10\n");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(s.due_days_of(&LabId::parse("w01-hello").unwrap()), 10);
        assert_eq!(s.due_days_of(&LabId::parse("w02-other").unwrap()), 5);
    }

    #[test]
    fn weeks_opening_out_of_order_are_reported_at_their_line() {
        let text = "[schedule]\nopens = [\n0, 7, 14, 21, 28, 35,\n30, 49, 56, 63, 70, 77]\n";
        let (_, problems) = parsed(text);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("course.toml:4: week 7 opens on day 30, before week 6"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_short_opens_list_and_negative_days_are_refused() {
        let (_, problems) = parsed("[schedule]\nopens = [0, 7]\ndue_days = -1\n");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("course.toml:2: `opens` lists 2 week(s)"));
        assert!(problems[1].contains("course.toml:3: `due_days` is -1 days"));
    }
}
