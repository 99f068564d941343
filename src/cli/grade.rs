//! `gauntlet grade LAB_DIR PROJECT_DIR`: the grading pipeline with no server and no database, for instructors and
//! their CI. It prints everything, hidden detail included, and exits non-zero when a required check fails.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

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
    let lab = Lab::load(lab_dir).map_err(|p| problems("the lab", &p))?;
    let mut pillars: Vec<String> = crate::domain::STANDARD_PILLARS
        .iter()
        .map(|p| p.to_string())
        .collect();
    pillars.extend(lab.pillars.iter().map(|(p, _)| p.to_string()));
    let suite =
        CheckSuite::load(lab_dir, &pillars).map_err(|p| problems("the lab's checks", &p))?;
    let limits = ArchiveLimits::default();
    let archive = archive::pack(project, &limits)
        .with_context(|| format!("cannot pack {}", project.display()))?;
    let sandbox = grading.configure(
        Sandbox::connect()
            .await
            .context("the Docker engine cannot be reached")?,
    );
    let id = format!("grade-{}", hex::encode(rand::random::<[u8; 4]>()));
    let work = tempfile::tempdir().context("cannot create a work folder")?;
    let job = Job {
        label: RunLabel::parse(&id)?,
        lab,
        suite,
        archive,
        seed: seed.unwrap_or_else(|| u64::from(rand::random::<u32>())),
        // A local grade has no server key: its secrets only need to be unknown to the service beforehand.
        secrets: crate::grading::secrets::RunSecrets::ephemeral(),
        limits,
        work_dir: work.path().join(&id),
    };
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

fn problems(what: &str, p: &[crate::diagnostics::Diagnostic]) -> anyhow::Error {
    let lines: Vec<String> = p.iter().map(|d| d.to_string()).collect();
    anyhow::anyhow!("{what} did not load:\n{}", lines.join("\n"))
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
