//! `gauntlet cohort …`: cohorts from the server's terminal, by name, acting as the operator (`command line` in
//! the audit log).

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::auth::invite;
use crate::store::{Actor, Store};

#[derive(Debug, Subcommand)]
pub enum CohortCommand {
    /// Create a cohort and print its invite code
    Create { name: String },
    /// List cohorts: id, code, name, learners, instructors, code limits and state
    List,
    /// Rename a cohort
    Rename {
        /// The cohort's name now
        cohort: String,
        /// Its new name
        new_name: String,
    },
    /// Archive a cohort: it keeps its learners and runs, and its invite code takes no one new
    Archive {
        cohort: String,
        /// Reopen an archived cohort instead
        #[arg(long)]
        reopen: bool,
    },
    /// Give a cohort a new invite code and print it; the old code stops working at once
    RotateCode { cohort: String },
    /// Set (or lift) the invite code's expiry and cap on uses; a limit left out is lifted
    SetLimits {
        cohort: String,
        /// When the code stops working, UTC: 2026-12-01T18:00 [default: never]
        #[arg(long)]
        expires: Option<String>,
        /// How many accounts the code may create [default: no cap]
        #[arg(long)]
        max_uses: Option<String>,
    },
    /// Put a learner into a cohort (from no cohort, or moving them from another); their runs stay theirs
    MoveLearner {
        /// The cohort to put them in
        cohort: String,
        /// The learner's e-mail
        email: String,
    },
    /// Make an instructor staff of a cohort: they see its learners' runs (admins see every cohort)
    AddInstructor {
        /// The cohort's name
        cohort: String,
        /// The instructor's e-mail
        email: String,
    },
    /// Take an instructor off a cohort: they no longer see its learners' runs
    RemoveInstructor {
        /// The cohort's name
        cohort: String,
        /// The instructor's e-mail
        email: String,
    },
    /// A cohort's schedule: start date, its own week openings and due dates, weeks opened early
    Schedule {
        #[command(subcommand)]
        cmd: super::schedule::ScheduleCommand,
    },
}

pub async fn cohort(store: &Store, cmd: CohortCommand) -> anyhow::Result<ExitCode> {
    let operator = Actor::command_line();
    match cmd {
        CohortCommand::Create { name } => {
            let code = invite::new_code();
            store
                .create_cohort_as(&operator, crate::store::cohort_name(&name)?, &code)
                .await
                .with_context(|| format!("could not create cohort {name}"))?;
            println!("{code}");
        }
        CohortCommand::List => list(store).await?,
        CohortCommand::Rename { cohort, new_name } => {
            let id = store.cohort_named(&cohort).await?.id;
            store.rename_cohort(&operator, id, &new_name).await?;
            println!("{cohort} is now {}", new_name.trim());
        }
        CohortCommand::Archive { cohort, reopen } => {
            let id = store.cohort_named(&cohort).await?.id;
            store.set_cohort_archived(&operator, id, !reopen).await?;
            if reopen {
                println!("{cohort} is open again");
            } else {
                println!("{cohort} is archived: its code takes no one new");
            }
        }
        CohortCommand::RotateCode { cohort } => {
            let id = store.cohort_named(&cohort).await?.id;
            let code = invite::new_code();
            store.rotate_invite(&operator, id, &code).await?;
            println!("{code}");
        }
        CohortCommand::SetLimits {
            cohort,
            expires,
            max_uses,
        } => {
            let id = store.cohort_named(&cohort).await?.id;
            let expires = invite::parse_expiry(expires.as_deref().unwrap_or(""))?;
            let cap = invite::parse_cap(max_uses.as_deref().unwrap_or(""))?;
            store.set_invite_limits(&operator, id, expires, cap).await?;
            println!(
                "{cohort}: expires {}, cap {}",
                expires.map_or_else(|| "never".to_string(), crate::web::runs::format_time),
                cap.map_or_else(|| "none".to_string(), |c| c.to_string())
            );
        }
        CohortCommand::MoveLearner { cohort, email } => {
            let id = store.cohort_named(&cohort).await?.id;
            let email = crate::domain::Email::parse(&email)?;
            store.place_learner(&operator, id, email.as_str()).await?;
            println!("{email} is in {cohort}");
        }
        CohortCommand::AddInstructor { cohort, email } => {
            store.add_cohort_instructor(&cohort, &email).await?;
            println!("{email} teaches {cohort}");
        }
        // `cli::run` hands schedules to `schedule.rs`, which needs the curriculum as well.
        CohortCommand::Schedule { .. } => anyhow::bail!("schedules are run by `cli::schedule`"),
        CohortCommand::RemoveInstructor { cohort, email } => {
            if store.remove_cohort_instructor(&cohort, &email).await? {
                println!("{email} no longer teaches {cohort}");
            } else {
                println!("{email} did not teach {cohort}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per cohort; the first columns are as they were before limits existed, so scripts keep working.
async fn list(store: &Store) -> anyhow::Result<()> {
    for c in store.list_cohorts().await? {
        let staff = store.cohort_instructors(c.id).await?;
        println!(
            "{}\t{}\t{}\t{} learner(s)\tinstructors: {}\tuses: {}/{}\texpires: {}{}",
            c.id,
            c.invite_code,
            c.name,
            c.members,
            if staff.is_empty() {
                "none".to_string()
            } else {
                staff.join(", ")
            },
            c.invite_uses,
            c.invite_max_uses
                .map_or_else(|| "no cap".to_string(), |m| m.to_string()),
            c.invite_expires_at
                .map_or_else(|| "never".to_string(), crate::web::runs::format_time),
            if c.archived_at.is_some() {
                "\tarchived"
            } else {
                ""
            }
        );
    }
    Ok(())
}
