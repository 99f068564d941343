//! `gauntlet prove LAB_DIR REFERENCE_DIR`: shows that a lab's checks pass its reference service and catch each
//! declared mutant; exits non-zero on any mismatch or on a check that no mutant fails.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::config::GradingSettings;
use crate::grading::prove::{self, Proof, Trial};
use crate::sandbox::Sandbox;

pub async fn run(
    lab_dir: &Path,
    reference: &Path,
    json: bool,
    seed: u64,
    grading: &GradingSettings,
) -> anyhow::Result<ExitCode> {
    let sandbox = grading.configure(
        Sandbox::connect()
            .await
            .context("the Docker engine cannot be reached")?,
    );
    let pillars: Vec<String> = crate::domain::STANDARD_PILLARS
        .iter()
        .map(|p| p.to_string())
        .collect();
    let proof = prove::prove(&sandbox, lab_dir, reference, &pillars, seed).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&proof)?);
    } else {
        print(&proof);
    }
    Ok(if proof.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print(p: &Proof) {
    println!("lab {}", p.lab);
    line(&p.reference, "passes every check");
    for m in &p.mutants {
        line(m, "fails exactly its declared checks");
    }
    for n in &p.near_misses {
        line(n, "(a near miss) passes every check");
    }
    if !p.never_failed.is_empty() {
        println!(
            "  FAIL  no mutant fails: {} (a check that cannot fail proves nothing)",
            p.never_failed.join(", ")
        );
    }
    println!("{}", if p.ok { "proved" } else { "NOT proved" });
}

fn line(t: &Trial, claim: &str) {
    let mark = if t.ok { "ok  " } else { "FAIL" };
    println!("  {mark}  {} {claim}", t.name);
    if t.ok {
        return;
    }
    if let (Some(stage), Some(why)) = (t.failed_at, &t.failure) {
        println!("          failed at {}: {why}", stage.as_str());
    }
    if let Some(stage) = t.expected_fails_at.filter(|s| t.failed_at != Some(*s)) {
        println!(
            "          expected to fail at {}, but it did not",
            stage.as_str()
        );
    }
    if t.expected_fails_at.is_none() {
        println!("          expected to fail: [{}]", t.expected.join(", "));
        println!("          failed:           [{}]", t.failed.join(", "));
    }
    for o in t
        .outcomes
        .iter()
        .filter(|o| o.verdict == crate::checks::Verdict::Error)
    {
        println!(
            "          check {} could not run: {}",
            o.check_id, o.message
        );
    }
}
