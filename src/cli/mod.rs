//! The command line: `gauntlet serve`, `validate`, `user`, `cohort`, … Each command is a thin call into the
//! library; this module only parses arguments and prints.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

mod grade;
mod load;
mod prove;
mod starter;
mod submit;
mod worker;

use std::path::PathBuf;

use crate::config::{self, ConfigArgs, ServerArgs};
use crate::domain::{DisplayName, Email, NewPassword, Role};
use crate::{auth, curriculum, startup, store, telemetry};

/// Gauntlet: a 12-week backend-engineering course that grades learners' services by running them.
#[derive(Debug, Parser)]
#[command(name = "gauntlet", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (SQLite and the bundled curriculum unless configured otherwise)
    Serve(ServerArgs),
    /// Check the curriculum and labs (`--curriculum DIR`, `--labs DIR`) and report every problem with its
    /// file and line; with `--lab DIR`, only that lab
    Validate {
        /// One lab's folder to validate on its own (lab.toml, checks/, mutants.toml)
        #[arg(long)]
        lab: Option<PathBuf>,
    },
    /// Run grading workers only, against the configured database (several may share it on PostgreSQL)
    Worker,
    /// Grade a project against a lab locally, with no server or database; prints hidden detail too
    Grade {
        /// The lab's folder (lab.toml, README.md, checks/)
        lab_dir: PathBuf,
        /// The project folder, with a Dockerfile at its root
        project_dir: PathBuf,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
        /// Seed for the checks' randomness (recorded in the report) [default: random]
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Prove a lab's checks: the reference passes all, each mutant in mutants.toml fails exactly its checks
    Prove {
        /// The lab's folder (lab.toml, checks/, mutants.toml)
        lab_dir: PathBuf,
        /// The reference project (a Dockerfile at its root)
        reference_dir: PathBuf,
        /// Print the proof as JSON
        #[arg(long)]
        json: bool,
        /// Seed of the checks' randomness
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Submit a project to a lab on a Gauntlet server and follow the grading
    Submit {
        /// The lab's id, as in its URL (e.g. w01-health)
        #[arg(long)]
        lab: String,
        /// The project folder
        #[arg(default_value = ".")]
        dir: PathBuf,
        #[command(flatten)]
        remote: Remote,
    },
    /// Download a lab's starter project into a new folder
    Starter {
        /// The lab's id, as in its URL (e.g. w01-health)
        #[arg(long)]
        lab: String,
        /// A new or empty folder to unpack it into [default: ./LAB]
        dir: Option<PathBuf>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Load a URL with N keep-alive connections and print requests/s and latency percentiles
    Load(load::LoadArgs),
    /// Manage accounts
    #[command(subcommand)]
    User(UserCommand),
    /// Manage cohorts and their invite codes
    #[command(subcommand)]
    Cohort(CohortCommand),
}

/// A Gauntlet server and the learner's token, for the commands that talk to one.
#[derive(Debug, Args)]
pub struct Remote {
    /// The server's address
    #[arg(long, env = "GAUNTLET_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// A personal API token (create one on your profile page)
    #[arg(long, env = "GAUNTLET_TOKEN", hide_env_values = true)]
    pub token: String,
}

impl Remote {
    /// The server's address without a trailing `/`, for joining API paths.
    pub fn base(&self) -> &str {
        self.server.trim_end_matches('/')
    }

    /// A client that shows redirects instead of following them (a redirect from the API is a misconfigured
    /// server address, not somewhere to send a token).
    pub fn client(&self) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
    }
}

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
    /// List accounts
    List,
    /// Create a personal API token for an account and print it (for scripts and CI; learners use their profile)
    Token {
        email: String,
        /// A name to recognise the token by
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CohortCommand {
    /// Create a cohort and print its invite code
    Create { name: String },
    /// List cohorts with their invite codes, sizes and instructors
    List,
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
}

/// Runs the parsed command; the exit code says whether it succeeded.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let server_args = match &cli.command {
        Command::Serve(a) => a.clone(),
        _ => ServerArgs::default(),
    };
    let (settings, server) = config::resolve(&cli.config, &server_args)?;
    telemetry::init_logging(settings.log_format);
    match cli.command {
        Command::Serve(_) => {
            let app = startup::Application::build(settings, server).await?;
            tracing::info!(address = %app.address(), "gauntlet is listening");
            app.run_until_stopped().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { lab: None } => {
            Ok(validate(&settings.curriculum_dir, &settings.labs_dir))
        }
        Command::Validate { lab: Some(dir) } => Ok(validate_lab(&settings.curriculum_dir, &dir)),
        Command::Worker => worker::run(settings).await,
        Command::Grade {
            lab_dir,
            project_dir,
            json,
            seed,
        } => grade::run(&lab_dir, &project_dir, json, seed, &settings.grading).await,
        Command::Prove {
            lab_dir,
            reference_dir,
            json,
            seed,
        } => prove::run(&lab_dir, &reference_dir, json, seed, &settings.grading).await,
        Command::Submit { lab, dir, remote } => submit::run(&remote, &lab, &dir).await,
        Command::Starter { lab, dir, remote } => starter::run(&remote, &lab, dir).await,
        Command::Load(args) => load::run(args).await,
        Command::User(cmd) => {
            let store = store::Store::connect(&settings.database_url).await?;
            user(&store, cmd).await
        }
        Command::Cohort(cmd) => {
            let store = store::Store::connect(&settings.database_url).await?;
            cohort(&store, cmd).await
        }
    }
}

fn validate(curriculum_dir: &std::path::Path, labs_dir: &std::path::Path) -> ExitCode {
    match curriculum::Curriculum::load(curriculum_dir, labs_dir) {
        Ok(c) => {
            println!(
                "ok: {} weeks, {} labs, {} pillars",
                c.modules.len(),
                c.labs.len(),
                c.course.pillars.len()
            );
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            eprintln!("{} problem(s) found", problems.len());
            ExitCode::FAILURE
        }
    }
}

fn validate_lab(curriculum_dir: &std::path::Path, lab_dir: &std::path::Path) -> ExitCode {
    match curriculum::Curriculum::validate_lab(curriculum_dir, lab_dir) {
        Ok((lab, checks)) => {
            println!("ok: lab {} with {checks} checks", lab.id);
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            eprintln!("{} problem(s) found", problems.len());
            ExitCode::FAILURE
        }
    }
}

async fn user(store: &store::Store, cmd: UserCommand) -> anyhow::Result<ExitCode> {
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
            let password = NewPassword::parse(&read_password(password_stdin)?)?;
            let hash = auth::password::hash(&password).await?;
            let id = store
                .create_user(&email, &name, &hash, role, None)
                .await
                .with_context(|| format!("could not create {email}"))?;
            println!("created {role} {email} (id {id})");
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::Token { email, name } => {
            let email = Email::parse(&email)?;
            let user = store
                .user_by_email(&email)
                .await?
                .with_context(|| format!("there is no account {email}"))?;
            let token = auth::tokens::new_api_token();
            store
                .create_api_token(user.id, &name, &auth::session::hash_token(&token))
                .await?;
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::List => {
            for u in store.list_users().await? {
                println!("{}\t{}\t{}\t{}", u.id, u.role, u.email, u.display_name);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn cohort(store: &store::Store, cmd: CohortCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CohortCommand::Create { name } => {
            let code = auth::invite::new_code();
            store
                .create_cohort(name.trim(), &code)
                .await
                .with_context(|| format!("could not create cohort {name}"))?;
            println!("{code}");
            Ok(ExitCode::SUCCESS)
        }
        CohortCommand::List => {
            for c in store.list_cohorts().await? {
                let staff = store.cohort_instructors(c.id).await?;
                println!(
                    "{}\t{}\t{}\t{} learner(s)\tinstructors: {}",
                    c.id,
                    c.invite_code,
                    c.name,
                    c.members,
                    if staff.is_empty() {
                        "none".to_string()
                    } else {
                        staff.join(", ")
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        CohortCommand::AddInstructor { cohort, email } => {
            store.add_cohort_instructor(&cohort, &email).await?;
            println!("{email} teaches {cohort}");
            Ok(ExitCode::SUCCESS)
        }
        CohortCommand::RemoveInstructor { cohort, email } => {
            if store.remove_cohort_instructor(&cohort, &email).await? {
                println!("{email} no longer teaches {cohort}");
            } else {
                println!("{email} did not teach {cohort}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = rpassword::prompt_password("Password: ")?;
    let again = rpassword::prompt_password("Password (again): ")?;
    std::io::stderr().flush()?;
    anyhow::ensure!(first == again, "the passwords do not match");
    Ok(first)
}
