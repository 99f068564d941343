//! `gauntlet cohort schedule …`: a cohort's start date, its own week openings and due dates, and weeks opened
//! early for one learner, from the server's terminal (audited as `command line`). The course's offsets come from
//! the curriculum the server serves, so `show` prints the dates learners see.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Subcommand;

use crate::curriculum::Curriculum;
use crate::domain::{Email, LabId, Week};
use crate::schedule::{self, ScheduleItem};
use crate::store::{Actor, Store};
use crate::web::runs::format_time;

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Print when each week opens and each lab is due for a cohort, and the weeks opened early
    Show { cohort: String },
    /// Set the day week 1 opens (UTC: 2027-01-04 or 2027-01-04T09:00); `none` unschedules the cohort
    Start { cohort: String, date: String },
    /// Set when a week opens for this cohort; `none` goes back to the course's offset
    Week {
        cohort: String,
        week: i64,
        date: String,
    },
    /// Set when a lab is due for this cohort; `none` goes back to the course's offset
    Due {
        cohort: String,
        lab: String,
        date: String,
    },
    /// Open a week now for one learner of the cohort, whatever its date
    OpenEarly {
        cohort: String,
        /// The learner's e-mail
        email: String,
        week: i64,
    },
}

pub async fn run(
    store: &Store,
    cmd: ScheduleCommand,
    curriculum_dir: &Path,
    labs_dir: &Path,
) -> anyhow::Result<ExitCode> {
    let operator = Actor::command_line();
    let course = || {
        Curriculum::load(curriculum_dir, labs_dir).map_err(|problems| {
            anyhow::anyhow!(
                "the curriculum has {} problem(s); run `gauntlet validate`",
                problems.len()
            )
        })
    };
    match cmd {
        ScheduleCommand::Show { cohort } => show(store, &course()?, &cohort).await?,
        ScheduleCommand::Start { cohort, date } => {
            let id = store.cohort_named(&cohort).await?.id;
            let at = schedule::parse_date(&date)?;
            store.set_cohort_start(&operator, id, at).await?;
            match at {
                Some(at) => println!("{cohort} starts on {}", format_time(at)),
                None => println!("{cohort} has no schedule: every week is open"),
            }
        }
        ScheduleCommand::Week { cohort, week, date } => {
            let id = store.cohort_named(&cohort).await?.id;
            let item = ScheduleItem::Week(Week::parse(week)?);
            set(store, &operator, id, &item, &date).await?;
        }
        ScheduleCommand::Due { cohort, lab, date } => {
            let id = store.cohort_named(&cohort).await?.id;
            let lab = LabId::parse(&lab)?;
            if course()?.lab(&lab).is_none() {
                bail!("there is no lab `{lab}` in the curriculum");
            }
            set(store, &operator, id, &ScheduleItem::Lab(lab), &date).await?;
        }
        ScheduleCommand::OpenEarly {
            cohort,
            email,
            week,
        } => {
            let id = store.cohort_named(&cohort).await?.id;
            let email = Email::parse(&email)?;
            let week = Week::parse(week)?;
            store
                .open_week_early(&operator, id, email.as_str(), week)
                .await?;
            println!("week {week} is open for {email}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn set(
    store: &Store,
    operator: &Actor,
    cohort: i64,
    item: &ScheduleItem,
    date: &str,
) -> anyhow::Result<()> {
    let at = schedule::parse_date(date)?;
    store.set_cohort_date(operator, cohort, item, at).await?;
    let (kind, key) = item.key();
    match at {
        Some(at) => println!("{kind} {key}: {}", format_time(at)),
        None => println!("{kind} {key}: the course's offset"),
    }
    Ok(())
}

/// One line per week and lab: what, when, and whether the cohort set it.
async fn show(store: &Store, curriculum: &Curriculum, name: &str) -> anyhow::Result<()> {
    let cohort = store.cohort_named(name).await?;
    let Some(dates) = store
        .cohort_dates(cohort.id)
        .await
        .context("reading the schedule")?
    else {
        println!("{name} has no start date: every week is open and nothing is due");
        return Ok(());
    };
    let course = &curriculum.course.schedule;
    let own = |yes: bool| if yes { "\t(this cohort)" } else { "" };
    for m in &curriculum.modules {
        let at = schedule::week_opens_at(course, &dates, m.week);
        println!(
            "week {}\topens {}{}",
            m.week,
            format_time(at),
            own(dates.weeks.contains_key(&m.week))
        );
        for lab in curriculum.labs_of(m) {
            let due = schedule::lab_due_at(course, &dates, &lab.id, lab.week);
            println!(
                "  {}\tdue {}{}",
                lab.id,
                format_time(due),
                own(dates.labs.contains_key(&lab.id))
            );
        }
    }
    for e in store.early_weeks_in(cohort.id).await? {
        println!("open early: {} week {}", e.email, e.week);
    }
    Ok(())
}
