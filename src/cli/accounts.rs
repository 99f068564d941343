//! `gauntlet user …` and `gauntlet audit …`: accounts from the server's terminal. Whoever runs these can read the
//! database anyway, so they act as the operator (`command line` in the audit log), with no sign-in.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::domain::{DisplayName, Email, NewPassword, Role};
use crate::store::{Actor, Store, StoreError, UserRow};
use crate::{auth, web::runs::format_time};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account (the password is asked for, or read from standard input)
    Add {
        email: String,
        /// The account's role
        #[arg(long, value_enum, default_value = "learner")]
        role: Role,
        /// Display name [default: the part of the email before @]
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of standard input instead of a prompt
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts (id, role, e-mail, name, and `deactivated` for those that are)
    List,
    /// Create a personal API token for an account and print it (for scripts and CI; learners use their profile)
    Token {
        email: String,
        /// A name to recognise the token by
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// Print a one-time password-reset code (valid 24 hours) and its /reset link to hand to the person
    ResetPassword {
        email: String,
        /// The server's public address, for the link
        #[arg(long, env = "GAUNTLET_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
    },
    /// Deactivate an account: it cannot sign in, and its sessions and API tokens end at once
    Deactivate { email: String },
    /// Let a deactivated account sign in again (its old sessions and tokens stay ended)
    Activate { email: String },
    /// Change an account's role (an instructor who stops being one leaves every cohort's staff)
    SetRole {
        email: String,
        #[arg(value_enum)]
        role: Role,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print audit entries, newest first: id, time (UTC), who, action, target, details
    List {
        /// How many entries
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Only entries older than this id (for paging)
        #[arg(long)]
        before: Option<i64>,
    },
}

async fn account(store: &Store, email: &str) -> anyhow::Result<UserRow> {
    let email = Email::parse(email)?;
    store
        .user_by_email(&email)
        .await?
        .with_context(|| format!("there is no account {email}"))
}

pub async fn user(store: &Store, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    let operator = Actor::command_line();
    match cmd {
        UserCommand::Add {
            email,
            role,
            name,
            password_stdin,
        } => {
            let email = Email::parse(&email)?;
            let name = match name {
                Some(n) => DisplayName::parse(&n)?,
                None => DisplayName::parse(email.as_str().split('@').next().unwrap_or("user"))?,
            };
            let password = NewPassword::parse(&super::read_password(password_stdin)?)?;
            let hash = auth::password::hash(&password).await?;
            let id = store
                .create_user(&email, &name, &hash, role, None)
                .await
                .with_context(|| format!("could not create {email}"))?;
            println!("created {role} {email} (id {id})");
        }
        UserCommand::Token { email, name } => {
            let user = account(store, &email).await?;
            anyhow::ensure!(user.deactivated_at.is_none(), "{email} is deactivated");
            let token = auth::tokens::new_api_token();
            store
                .create_api_token(user.id, &name, &auth::session::hash_token(&token))
                .await?;
            println!("{token}");
        }
        UserCommand::List => {
            for u in store.list_users().await? {
                let state = if u.deactivated_at.is_some() {
                    "\tdeactivated"
                } else {
                    ""
                };
                println!(
                    "{}\t{}\t{}\t{}{state}",
                    u.id, u.role, u.email, u.display_name
                );
            }
        }
        UserCommand::ResetPassword { email, server } => {
            let user = account(store, &email).await?;
            let code = match auth::account::issue_reset(store, &operator, user.id).await {
                Err(StoreError::Conflict) => {
                    anyhow::bail!("{email} is deactivated: `gauntlet user activate {email}` first")
                }
                other => other?,
            };
            println!("reset code for {email} (works once, for 24 hours): {code}");
            println!("{}/reset?code={code}", server.trim_end_matches('/'));
        }
        UserCommand::Deactivate { email } => {
            let user = account(store, &email).await?;
            store.deactivate_user(&operator, user.id).await?;
            println!("{email} is deactivated; their sessions and API tokens have ended");
        }
        UserCommand::Activate { email } => {
            let user = account(store, &email).await?;
            store.activate_user(&operator, user.id).await?;
            println!("{email} may sign in again");
        }
        UserCommand::SetRole { email, role } => {
            let user = account(store, &email).await?;
            store.set_role(&operator, user.id, role).await?;
            println!("{email} is now {role}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn audit(store: &Store, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::List { limit, before } => {
            anyhow::ensure!((1..=10_000).contains(&limit), "--limit is 1 to 10000");
            for e in store.audit_entries(before, limit).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    e.id,
                    format_time(e.at),
                    e.actor,
                    e.action,
                    e.target,
                    e.details
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
