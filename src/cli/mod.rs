//! The command line: `gauntlet serve`, `validate`, `user`, `cohort`, … Each command is a thin call into the
//! library; this module only parses arguments and prints.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod accounts;
mod backup;
mod cohorts;
mod grade;
mod load;
mod probe;
mod prove;
mod schedule;
mod starter;
mod submit;
mod worker;

use std::path::PathBuf;

use crate::config::{self, ConfigArgs, ServerArgs};
use crate::{curriculum, startup, store, telemetry};

/// Gauntlet: a 12-week backend-engineering course that grades learners' services by running them.
#[derive(Debug, Parser)]
#[command(name = "gauntlet", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// The server's settings (`ConfigArgs`) belong to the commands that read them, and only those: `submit --help`
// lists what a learner can pass, not the database URL. Where a command has subcommands (`user`, `cohort`,
// `audit`), the settings are `global` below it, so they may follow either word.

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (SQLite and the bundled curriculum unless configured otherwise)
    Serve {
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Check the curriculum and labs (`--curriculum DIR`, `--labs DIR`) and report every problem with its
    /// file and line; with `--lab DIR`, only that lab
    Validate {
        /// One lab's folder to validate on its own (lab.toml, checks/, mutants.toml)
        #[arg(long)]
        lab: Option<PathBuf>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Run grading workers only, against the configured database (several may share it on PostgreSQL)
    Worker {
        #[command(flatten)]
        config: ConfigArgs,
    },
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
        #[command(flatten)]
        config: ConfigArgs,
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
        #[command(flatten)]
        config: ConfigArgs,
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
        /// Which of the lab's starters, when it offers several (the lab page lists them, e.g. `rust`)
        /// [default: the lab's default starter]
        #[arg(long)]
        name: Option<String>,
        /// A new or empty folder to unpack it into [default: ./LAB, or ./LAB-NAME with --name]
        dir: Option<PathBuf>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Ask a running server's /healthz once; exit 0 when it answers (the image's HEALTHCHECK)
    Probe(probe::ProbeArgs),
    /// Load a URL with N keep-alive connections and print requests/s and latency percentiles
    Load(load::LoadArgs),
    /// Manage accounts: create, list, tokens, password reset codes, deactivation, roles
    User {
        #[command(subcommand)]
        cmd: accounts::UserCommand,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Manage cohorts: invite codes and their limits, archiving, learners, instructors, schedules
    Cohort {
        #[command(subcommand)]
        cmd: cohorts::CohortCommand,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Copy the SQLite database to a new file while the server keeps running (PostgreSQL: use pg_dump)
    Backup(backup::BackupArgs),
    /// Read the audit log of changes to cohorts and accounts
    Audit {
        #[command(subcommand)]
        cmd: accounts::AuditCommand,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

impl Command {
    /// The settings given to this command; a command that reads none (`submit`, `starter`, `load`) gets the
    /// defaults, which is all its logging needs.
    fn config(&self) -> ConfigArgs {
        match self {
            Command::Serve { config, .. }
            | Command::Validate { config, .. }
            | Command::Worker { config }
            | Command::Grade { config, .. }
            | Command::Prove { config, .. }
            | Command::User { config, .. }
            | Command::Cohort { config, .. }
            | Command::Audit { config, .. } => config.clone(),
            Command::Backup(args) => args.config.clone(),
            Command::Submit { .. }
            | Command::Starter { .. }
            | Command::Load(_)
            | Command::Probe(_) => ConfigArgs::default(),
        }
    }
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

/// Runs the parsed command; the exit code says whether it succeeded.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let server_args = match &cli.command {
        Command::Serve { server, .. } => server.clone(),
        _ => ServerArgs::default(),
    };
    let (settings, server) = config::resolve(&cli.command.config(), &server_args)?;
    telemetry::init_logging(settings.log_format);
    match cli.command {
        Command::Serve { .. } => {
            let app = startup::Application::build(settings, server).await?;
            tracing::info!(address = %app.address(), "gauntlet is listening");
            app.run_until_stopped().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { lab: None, .. } => {
            Ok(validate(&settings.curriculum_dir, &settings.labs_dir))
        }
        Command::Validate { lab: Some(dir), .. } => {
            Ok(validate_lab(&settings.curriculum_dir, &dir))
        }
        Command::Worker { .. } => worker::run(settings).await,
        Command::Grade {
            lab_dir,
            project_dir,
            json,
            seed,
            ..
        } => grade::run(&lab_dir, &project_dir, json, seed, &settings.grading).await,
        Command::Prove {
            lab_dir,
            reference_dir,
            json,
            seed,
            ..
        } => prove::run(&lab_dir, &reference_dir, json, seed, &settings.grading).await,
        Command::Submit { lab, dir, remote } => submit::run(&remote, &lab, &dir).await,
        Command::Starter {
            lab,
            name,
            dir,
            remote,
        } => starter::run(&remote, &lab, name.as_deref(), dir).await,
        Command::Load(args) => load::run(args).await,
        Command::Probe(args) => probe::run(args).await,
        Command::User { cmd, .. } => {
            let store = store::Store::connect(&settings.database_url).await?;
            accounts::user(&store, cmd).await
        }
        Command::Cohort {
            cmd: cohorts::CohortCommand::Schedule { cmd },
            ..
        } => {
            let store = store::Store::connect(&settings.database_url).await?;
            schedule::run(&store, cmd, &settings.curriculum_dir, &settings.labs_dir).await
        }
        Command::Cohort { cmd, .. } => {
            let store = store::Store::connect(&settings.database_url).await?;
            cohorts::cohort(&store, cmd).await
        }
        Command::Backup(args) => backup::run(&settings, &args.to).await,
        Command::Audit { cmd, .. } => {
            let store = store::Store::connect(&settings.database_url).await?;
            accounts::audit(&store, cmd).await
        }
    }
}

fn validate(curriculum_dir: &std::path::Path, labs_dir: &std::path::Path) -> ExitCode {
    match curriculum::Curriculum::load(curriculum_dir, labs_dir) {
        Ok(c) => {
            println!(
                "ok: {} weeks, {} labs, {} pillars, {} quizzes",
                c.modules.len(),
                c.labs.len(),
                c.course.pillars.len(),
                c.modules.iter().filter(|m| m.quiz.is_some()).count()
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

pub(crate) fn read_password(from_stdin: bool) -> anyhow::Result<String> {
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
