//! `gauntlet grade LAB_DIR PROJECT_DIR`: the grading pipeline with no server and no database, for instructors and
//! their CI. It prints everything, hidden detail included, and exits non-zero when a required check fails.

use std::path::Path;
use std::process::ExitCode;

use crate::archive::{self, ArchiveLimits};
use crate::checks::{CheckSuite, Verdict};
use crate::config::GradingSettings;
use crate::curriculum::Lab;
use crate::domain::RunState;
use crate::grading::{self, Job, Report, RunEvent};
use crate::sandbox::{RunLabel, Sandbox};

pub async fn run(
    lab_dir: &Path,
    project: &Path,
    json: bool,
    seed: Option<u64>,
    grading: &GradingSettings,
) -> anyhow::Result<ExitCode> {
    let (sandbox, job) = match prepare(lab_dir, project, seed, grading).await {
        Ok(ready) => ready,
        // A grade that could not begin is still a report under `--json`, so that a script reading stdout
        // always gets one JSON document (with `problems` at file:line when the lab is what is wrong).
        Err(e) if json => {
            println!("{}", serde_json::to_string_pretty(&e.to_json())?);
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e.into_error()),
    };
    // `_work` lives until the run ends: the job's work folder is inside it.
    let (job, _work) = job;
    let seed = job.seed;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<RunEvent>();
    let printer = tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            if !json {
                print_event(&e);
            }
        }
    });
    let report = grading::execute(&sandbox, job, &tx).await;
    drop(tx);
    let _ = printer.await;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report_json(&report, seed))?
        );
    } else {
        print_report(&report, seed);
    }
    Ok(if report.state == RunState::Passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Why a grade could not begin, and whose fault that is.
enum NotGraded {
    /// The lab or its checks do not load: the instructor's files, each problem with its file and line.
    Lab {
        what: &'static str,
        problems: Vec<crate::diagnostics::Diagnostic>,
    },
    /// The project cannot be packed as an upload would be (the learner's files).
    Project(anyhow::Error),
    /// Docker or the file system of this machine.
    Platform(anyhow::Error),
}

impl NotGraded {
    fn to_json(&self) -> serde_json::Value {
        let (state, stage, reason, problems) = match self {
            NotGraded::Lab { what, problems } => (
                RunState::Error,
                "lab",
                format!("{what} did not load ({} problem(s))", problems.len()),
                problems
                    .iter()
                    .map(|d| {
                        serde_json::json!({
                            "file": d.path.display().to_string(),
                            "line": d.line,
                            "message": d.message,
                        })
                    })
                    .collect(),
            ),
            NotGraded::Project(e) => (RunState::Failed, "upload", format!("{e:#}"), Vec::new()),
            NotGraded::Platform(e) => (RunState::Error, "setup", format!("{e:#}"), Vec::new()),
        };
        serde_json::json!({
            "state": state,
            "stage": stage,
            "reason": reason,
            "problems": problems,
            "score": null,
            "checks": [],
        })
    }

    fn into_error(self) -> anyhow::Error {
        match self {
            NotGraded::Lab { what, problems } => {
                let lines: Vec<String> = problems.iter().map(|d| d.to_string()).collect();
                anyhow::anyhow!("{what} did not load:\n{}", lines.join("\n"))
            }
            NotGraded::Project(e) | NotGraded::Platform(e) => e,
        }
    }
}

type Prepared = (Sandbox, (Job, tempfile::TempDir));

/// Loads the lab, packs the project and reaches Docker: everything before the pipeline runs.
async fn prepare(
    lab_dir: &Path,
    project: &Path,
    seed: Option<u64>,
    grading: &GradingSettings,
) -> Result<Prepared, NotGraded> {
    let lab = Lab::load(lab_dir).map_err(|problems| NotGraded::Lab {
        what: "the lab",
        problems,
    })?;
    let mut pillars: Vec<String> = crate::domain::STANDARD_PILLARS
        .iter()
        .map(|p| p.to_string())
        .collect();
    pillars.extend(lab.pillars.iter().map(|(p, _)| p.to_string()));
    let suite = CheckSuite::load(lab_dir, &pillars).map_err(|problems| NotGraded::Lab {
        what: "the lab's checks",
        problems,
    })?;
    let limits = ArchiveLimits::default();
    let archive = archive::pack(project, &limits).map_err(|e| {
        NotGraded::Project(
            anyhow::Error::new(e).context(format!("cannot pack {}", project.display())),
        )
    })?;
    let sandbox = grading.configure(Sandbox::connect().await.map_err(|e| {
        NotGraded::Platform(anyhow::Error::new(e).context("the Docker engine cannot be reached"))
    })?);
    let id = format!("grade-{}", hex::encode(rand::random::<[u8; 4]>()));
    let work = tempfile::tempdir().map_err(|e| {
        NotGraded::Platform(anyhow::Error::new(e).context("cannot create a work folder"))
    })?;
    let label = RunLabel::parse(&id).map_err(|e| NotGraded::Platform(anyhow::Error::new(e)))?;
    let job = Job {
        label,
        lab,
        suite,
        archive,
        seed: seed.unwrap_or_else(|| u64::from(rand::random::<u32>())),
        // A local grade has no server key: its secrets only need to be unknown to the service beforehand.
        secrets: crate::grading::secrets::RunSecrets::ephemeral(),
        limits,
        work_dir: work.path().join(&id),
    };
    Ok((sandbox, (job, work)))
}

fn print_event(e: &RunEvent) {
    match e {
        RunEvent::State { state } => eprintln!("==> {state}"),
        RunEvent::Log { line } => eprintln!("    {line}"),
        RunEvent::CheckStarted { .. } => {}
        RunEvent::CheckFinished { verdict, title, .. } => eprintln!("  {} {title}", mark(*verdict)),
    }
}

pub fn mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Skipped => "SKIP",
        Verdict::Error => "ERR ",
    }
}

fn print_report(r: &Report, seed: u64) {
    println!();
    println!(
        "{} at stage {} (seed {seed})",
        r.state.as_str().to_uppercase(),
        r.stage.as_str()
    );
    println!("{}", r.reason);
    if let Some(s) = r.score {
        println!("score: {:.0}%", s * 100.0);
    }
    for c in &r.checks {
        println!(
            "\n[{}] {} ({}, {} ms)",
            mark(c.verdict),
            c.title,
            c.check_id,
            c.duration_ms
        );
        if c.verdict != Verdict::Pass {
            println!("  {}", c.message);
            for line in c.detail.lines() {
                println!("  | {line}");
            }
        }
    }
    if !r.detail.is_empty() {
        println!("\ndetail:\n{}", r.detail);
    }
    if !r.container_log.is_empty() {
        println!("\ncontainer log:\n{}", r.container_log);
    }
}

fn report_json(r: &Report, seed: u64) -> serde_json::Value {
    serde_json::json!({
        "state": r.state,
        "stage": r.stage.as_str(),
        "reason": r.reason,
        "detail": r.detail,
        "score": r.score,
        "seed": seed,
        "checks": r.checks,
        "build_log": r.build_log,
        "container_log": r.container_log,
    })
}
