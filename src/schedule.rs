//! The course schedule's rules: when a week opens and when a lab is due for one learner, whether a submission
//! is taken now, and whether it is late. Pure functions of the course's offsets (`course.toml`'s `[schedule]`),
//! the learner's cohort dates and the time, so the web pages, the API, the command line and the gradebook all
//! answer alike and tests can pin every date.
//!
//! Nothing is scheduled for staff, for a learner in no cohort, or for a cohort without a start date: every week
//! is open and nothing is due, as before schedules existed.

use std::collections::{BTreeMap, BTreeSet};

use crate::curriculum::{CourseSchedule, Curriculum};
use crate::domain::{LabId, Week};

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// A cohort's dates: its start and the openings and due dates it moved away from the course's offsets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CohortDates {
    /// When week 1's offset counts from (Unix ms, UTC).
    pub starts_at: i64,
    /// Weeks that open at a date of the cohort's own.
    pub weeks: BTreeMap<Week, i64>,
    /// Labs due at a date of the cohort's own.
    pub labs: BTreeMap<LabId, i64>,
}

/// One learner's schedule: their cohort's dates, if it has any, and the weeks opened early for them alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LearnerPlan {
    /// `None`: nothing is scheduled for this person (staff, no cohort, or a cohort without a start date).
    pub cohort: Option<CohortDates>,
    pub early: BTreeSet<Week>,
}

/// What a cohort can move: a week's opening or a lab's due date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleItem {
    Week(Week),
    Lab(LabId),
}

impl ScheduleItem {
    /// How the store keys it: the kind and the item.
    pub fn key(&self) -> (&'static str, String) {
        match self {
            ScheduleItem::Week(w) => ("week", w.number().to_string()),
            ScheduleItem::Lab(l) => ("lab", l.to_string()),
        }
    }

    /// Reads the store's key back; `None` for what this version does not know.
    pub fn from_key(kind: &str, item: &str) -> Option<ScheduleItem> {
        match kind {
            "week" => item
                .parse::<i64>()
                .ok()
                .and_then(|n| Week::parse(n).ok())
                .map(ScheduleItem::Week),
            "lab" => LabId::parse(item).ok().map(ScheduleItem::Lab),
            _ => None,
        }
    }
}

/// When `week` opens for the cohort.
pub fn week_opens_at(course: &CourseSchedule, cohort: &CohortDates, week: Week) -> i64 {
    cohort
        .weeks
        .get(&week)
        .copied()
        .unwrap_or_else(|| cohort.starts_at + i64::from(course.opens_day(week)) * DAY_MS)
}

/// When `lab`, of `week`, is due for the cohort: its own date, else its offset from when its week opens for
/// the cohort (a week opened early for one learner does not move their due dates).
pub fn lab_due_at(course: &CourseSchedule, cohort: &CohortDates, lab: &LabId, week: Week) -> i64 {
    cohort.labs.get(lab).copied().unwrap_or_else(|| {
        week_opens_at(course, cohort, week) + i64::from(course.due_days_of(lab)) * DAY_MS
    })
}

/// When `week` opens for this learner, or `None` when it is open to them whatever the time (nothing scheduled,
/// or opened early for them).
pub fn opens_at(course: &CourseSchedule, plan: &LearnerPlan, week: Week) -> Option<i64> {
    let cohort = plan.cohort.as_ref()?;
    if plan.early.contains(&week) {
        return None;
    }
    Some(week_opens_at(course, cohort, week))
}

/// Whether `week` is open to this learner at `now`.
pub fn is_open(course: &CourseSchedule, plan: &LearnerPlan, week: Week, now: i64) -> bool {
    opens_at(course, plan, week).is_none_or(|at| at <= now)
}

/// The due date of `lab` for this learner, `None` when nothing is due (or there is no such lab): what the
/// gradebook and the at-risk flags ask.
pub fn due_at(curriculum: &Curriculum, plan: &LearnerPlan, lab: &LabId) -> Option<i64> {
    let cohort = plan.cohort.as_ref()?;
    let week = curriculum.lab(lab)?.week;
    Some(lab_due_at(&curriculum.course.schedule, cohort, lab, week))
}

/// A submission refused because its week is not open to the learner yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("week {week} is not open yet: it opens on {}, and its labs take submissions from then", crate::web::runs::format_time(*.opens_at))]
pub struct Closed {
    pub week: Week,
    pub opens_at: i64,
}

/// How a submission taken now stands against its due date; stored on its run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    /// When the lab was due for the learner (`None`: nothing was due).
    pub due_at: Option<i64>,
    /// Submitted after `due_at`: graded all the same, and marked late.
    pub late: bool,
}

/// Whether a submission of `lab` (of `week`) is taken from this learner at `now`, and if so how it stands
/// against the due date. The one rule the lab page, the API and the command line share.
pub fn admit(
    course: &CourseSchedule,
    plan: &LearnerPlan,
    lab: &LabId,
    week: Week,
    now: i64,
) -> Result<Timing, Closed> {
    if let Some(opens_at) = opens_at(course, plan, week).filter(|at| *at > now) {
        return Err(Closed { week, opens_at });
    }
    let due_at = plan
        .cohort
        .as_ref()
        .map(|c| lab_due_at(course, c, lab, week));
    Ok(Timing {
        due_at,
        late: due_at.is_some_and(|due| now > due),
    })
}

/// A lab on the course map, in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabStanding {
    /// Nothing is due.
    Unscheduled,
    /// Due at this time, still ahead.
    Due(i64),
    /// Was due at this time and the learner has passed it.
    WasDue(i64),
    /// Was due at this time and the learner has not passed it: late.
    Late(i64),
}

/// How `lab` stands for the learner at `now`, given whether they have passed it.
pub fn standing(
    course: &CourseSchedule,
    plan: &LearnerPlan,
    lab: &LabId,
    week: Week,
    passed: bool,
    now: i64,
) -> LabStanding {
    let Some(cohort) = plan.cohort.as_ref() else {
        return LabStanding::Unscheduled;
    };
    let due = lab_due_at(course, cohort, lab, week);
    if now <= due {
        LabStanding::Due(due)
    } else if passed {
        LabStanding::WasDue(due)
    } else {
        LabStanding::Late(due)
    }
}

/// Why a date typed on a form or the command line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a UTC date such as 2027-01-15 or 2027-01-15T09:00 (or empty for none)")]
pub struct BadDate(pub String);

/// A date as typed, `YYYY-MM-DD` (midnight UTC, what a `date` field sends) or `YYYY-MM-DDTHH:MM` (UTC), into
/// Unix milliseconds; empty or `none` is none.
pub fn parse_date(typed: &str) -> Result<Option<i64>, BadDate> {
    let t = typed.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let with_time = if t.len() == 10 {
        format!("{t}T00:00")
    } else {
        t.to_string()
    };
    match crate::auth::invite::parse_expiry(&with_time) {
        Ok(Some(ms)) => Ok(Some(ms)),
        _ => Err(BadDate(t.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2027-01-04 00:00 UTC, a Monday.
    const START: i64 = 1_799_020_800_000;

    fn week(n: i64) -> Week {
        Week::parse(n).unwrap()
    }

    fn lab(id: &str) -> LabId {
        LabId::parse(id).unwrap()
    }

    fn cohort() -> CohortDates {
        CohortDates {
            starts_at: START,
            ..CohortDates::default()
        }
    }

    fn scheduled() -> LearnerPlan {
        LearnerPlan {
            cohort: Some(cohort()),
            early: BTreeSet::new(),
        }
    }

    #[test]
    fn the_start_date_is_the_one_the_tests_say() {
        assert_eq!(parse_date("2027-01-04").unwrap(), Some(START));
        assert_eq!(crate::web::runs::format_time(START), "2027-01-04 00:00 UTC");
    }

    #[test]
    fn weeks_open_at_their_offsets_from_the_start() {
        let course = CourseSchedule::default();
        assert_eq!(week_opens_at(&course, &cohort(), week(1)), START);
        assert_eq!(
            week_opens_at(&course, &cohort(), week(3)),
            START + 14 * DAY_MS
        );
    }

    #[test]
    fn a_cohort_date_overrides_the_offset_and_moves_the_weeks_labs() {
        let course = CourseSchedule::default();
        let mut c = cohort();
        c.weeks.insert(week(2), START + 10 * DAY_MS);
        assert_eq!(week_opens_at(&course, &c, week(2)), START + 10 * DAY_MS);
        assert_eq!(
            lab_due_at(&course, &c, &lab("w02-x"), week(2)),
            START + 17 * DAY_MS
        );
        c.labs.insert(lab("w02-x"), START + 30 * DAY_MS);
        assert_eq!(
            lab_due_at(&course, &c, &lab("w02-x"), week(2)),
            START + 30 * DAY_MS
        );
    }

    #[test]
    fn a_lab_is_due_its_own_days_after_its_week_opens() {
        let mut course = CourseSchedule::default();
        course.due.insert(lab("w01-a"), 3);
        assert_eq!(
            lab_due_at(&course, &cohort(), &lab("w01-a"), week(1)),
            START + 3 * DAY_MS
        );
        assert_eq!(
            lab_due_at(&course, &cohort(), &lab("w01-b"), week(1)),
            START + 7 * DAY_MS
        );
    }

    #[test]
    fn nothing_is_scheduled_without_a_cohort_start() {
        let course = CourseSchedule::default();
        let plan = LearnerPlan::default();
        assert!(is_open(&course, &plan, week(12), 0));
        assert_eq!(
            admit(&course, &plan, &lab("w12-x"), week(12), 0),
            Ok(Timing::default())
        );
        assert_eq!(
            standing(&course, &plan, &lab("w12-x"), week(12), false, i64::MAX),
            LabStanding::Unscheduled
        );
    }

    #[test]
    fn a_closed_week_refuses_until_the_moment_it_opens() {
        let course = CourseSchedule::default();
        let plan = scheduled();
        let opens = START + 7 * DAY_MS;
        assert_eq!(
            admit(&course, &plan, &lab("w02-x"), week(2), opens - 1),
            Err(Closed {
                week: week(2),
                opens_at: opens
            })
        );
        let taken = admit(&course, &plan, &lab("w02-x"), week(2), opens).unwrap();
        assert_eq!(taken.due_at, Some(opens + 7 * DAY_MS));
        assert!(!taken.late);
    }

    #[test]
    fn a_week_opened_early_is_open_for_that_learner_and_keeps_its_due_date() {
        let course = CourseSchedule::default();
        let mut plan = scheduled();
        plan.early.insert(week(3));
        assert!(is_open(&course, &plan, week(3), START));
        assert!(!is_open(&course, &plan, week(4), START));
        let taken = admit(&course, &plan, &lab("w03-x"), week(3), START).unwrap();
        assert_eq!(taken.due_at, Some(START + 21 * DAY_MS));
    }

    #[test]
    fn a_submission_after_the_due_date_is_taken_and_late() {
        let course = CourseSchedule::default();
        let due = START + 7 * DAY_MS;
        let at_due = admit(&course, &scheduled(), &lab("w01-x"), week(1), due).unwrap();
        assert!(!at_due.late, "on the due instant is on time");
        let after = admit(&course, &scheduled(), &lab("w01-x"), week(1), due + 1).unwrap();
        assert!(after.late);
    }

    #[test]
    fn the_map_says_due_then_late_unless_passed() {
        let course = CourseSchedule::default();
        let due = START + 7 * DAY_MS;
        let at = |passed, now| standing(&course, &scheduled(), &lab("w01-x"), week(1), passed, now);
        assert_eq!(at(false, START), LabStanding::Due(due));
        assert_eq!(at(false, due + 1), LabStanding::Late(due));
        assert_eq!(at(true, due + 1), LabStanding::WasDue(due));
    }

    #[test]
    fn dates_are_typed_as_a_day_or_a_day_and_time() {
        assert_eq!(parse_date("").unwrap(), None);
        assert_eq!(parse_date("none").unwrap(), None);
        assert_eq!(
            parse_date("2027-01-04T09:30").unwrap(),
            Some(START + (9 * 60 + 30) * 60_000)
        );
        assert!(parse_date("2027-02-30").is_err());
        assert!(parse_date("next monday").is_err());
    }

    #[test]
    fn schedule_items_round_trip_through_their_keys() {
        for item in [ScheduleItem::Week(week(5)), ScheduleItem::Lab(lab("w05-x"))] {
            let (kind, key) = item.key();
            assert_eq!(ScheduleItem::from_key(kind, &key), Some(item));
        }
        assert_eq!(ScheduleItem::from_key("week", "13"), None);
    }
}
