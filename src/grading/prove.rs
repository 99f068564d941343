//! `gauntlet prove`: evidence that a lab's hidden checks are right. The reference service is built once and
//! graded: every check must pass. Then each mutant (the reference with a defect switched on through its
//! environment, from `mutants.toml`) is graded on the same image and must fail exactly the checks it declares.
//! A check no mutant fails is reported: a check that cannot fail proves nothing.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::service::{service_env, start_spec};
use crate::archive::{self, ArchiveLimits};
use crate::checks::mutants::{self, Mutant};
use crate::checks::{self, CheckContext, CheckOutcome, CheckSuite, Target, Verdict};
use crate::curriculum::Lab;
use crate::diagnostics::Diagnostic;
use crate::sandbox::{ImageId, RunLabel, Sandbox};

/// Why a proof could not be carried out at all (as opposed to a proof that found mismatches).
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error("the lab does not load:\n{}", lines(.0))]
    Lab(Vec<Diagnostic>),
    #[error("cannot pack the reference project: {0}")]
    Pack(#[from] archive::ArchiveError),
    #[error("the reference image could not be built: {0}")]
    Build(String),
    #[error(transparent)]
    Sandbox(#[from] crate::sandbox::SandboxError),
}

fn lines(d: &[Diagnostic]) -> String {
    d.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// What one service (the reference or a mutant) did.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    pub name: String,
    /// Set when the service never became healthy: no check ran.
    pub start_failure: Option<String>,
    pub outcomes: Vec<CheckOutcome>,
    /// Checks with verdict `fail`.
    pub failed: Vec<String>,
    pub expected: Vec<String>,
    pub expected_start_failure: bool,
    pub ok: bool,
}

/// The whole proof.
#[derive(Debug, Clone, Serialize)]
pub struct Proof {
    pub lab: String,
    pub reference: Trial,
    pub mutants: Vec<Trial>,
    /// Checks that no mutant fails.
    pub never_failed: Vec<String>,
    pub ok: bool,
}

/// Builds the reference once and grades it and every mutant.
pub async fn prove(
    sandbox: &Sandbox,
    lab_dir: &Path,
    reference: &Path,
    pillars: &[String],
    seed: u64,
) -> Result<Proof, ProveError> {
    let lab = Lab::load(lab_dir).map_err(ProveError::Lab)?;
    let suite = CheckSuite::load(lab_dir, pillars).map_err(ProveError::Lab)?;
    let mutants = mutants::load(lab_dir, &suite).map_err(ProveError::Lab)?;
    let limits = ArchiveLimits::default();
    let context = archive::pack(reference, &limits)?;
    let base = format!("prove-{}", hex::encode(rand::random::<[u8; 4]>()));
    let image_label = RunLabel::parse(&base)?;
    let built = sandbox
        .build(
            &image_label,
            context,
            Duration::from_secs(lab.timeouts.build_secs),
            64 * 1024,
            |_| {},
        )
        .await;
    let image = match built {
        Ok(image) => image,
        Err(e) => {
            let _ = sandbox.remove_run(&image_label).await;
            return Err(ProveError::Build(format!("{e}: {}", e.log_tail())));
        }
    };
    let reference_mutant = Mutant {
        name: "reference".to_string(),
        env: Default::default(),
        fails: Vec::new(),
        fails_at: None,
    };
    let mut trials = Vec::new();
    for (i, m) in std::iter::once(&reference_mutant)
        .chain(mutants.iter())
        .enumerate()
    {
        let label = RunLabel::parse(&format!("{base}-{i}"))?;
        let trial = try_one(sandbox, &lab, &suite, &image, &label, m, seed).await;
        let _ = sandbox.remove_run(&label).await;
        trials.push(trial?);
    }
    let _ = sandbox.remove_run(&image_label).await;
    let reference = trials.remove(0);
    let caught: BTreeSet<&String> = trials.iter().flat_map(|t| t.failed.iter()).collect();
    let never_failed: Vec<String> = suite
        .checks
        .iter()
        .map(|c| c.id.clone())
        .filter(|id| !caught.contains(id))
        .collect();
    let ok = reference.ok && trials.iter().all(|t| t.ok) && never_failed.is_empty();
    Ok(Proof {
        lab: lab.id.to_string(),
        reference,
        mutants: trials,
        never_failed,
        ok,
    })
}

async fn try_one(
    sandbox: &Sandbox,
    lab: &Lab,
    suite: &CheckSuite,
    image: &ImageId,
    label: &RunLabel,
    mutant: &Mutant,
    seed: u64,
) -> Result<Trial, ProveError> {
    let mut env = service_env(lab, seed);
    env.extend(mutant.env.clone());
    let spec = start_spec(lab, &env);
    let running = sandbox.start(label, image, &spec).await?;
    let healthy = sandbox
        .wait_healthy(
            &running,
            &lab.service.health,
            Duration::from_secs(lab.timeouts.start_secs),
        )
        .await;
    let (start_failure, outcomes) = match healthy {
        Err(e) => (Some(e.to_string()), Vec::new()),
        Ok(address) => {
            let base_url = url::Url::parse(&crate::sandbox::base_url(address))
                .map_err(|e| ProveError::Build(e.to_string()))?;
            let control = super::control::DockerControl::new(
                sandbox.clone(),
                running.clone(),
                lab.service.health.clone(),
                Duration::from_secs(lab.timeouts.start_secs),
                base_url.clone(),
            );
            let target = Target { base_url };
            let ctx = CheckContext {
                seed,
                env,
                control: Some(std::sync::Arc::new(control)),
            };
            let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
            (None, checks::run_suite(suite, &target, &ctx, &tx).await)
        }
    };
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::Fail)
        .map(|o| o.check_id.clone())
        .collect();
    let expected_start_failure = mutant.fails_at.as_deref() == Some("start");
    let ok = if expected_start_failure {
        start_failure.is_some()
    } else {
        let errors = outcomes.iter().any(|o| o.verdict == Verdict::Error);
        let want: BTreeSet<&String> = mutant.fails.iter().collect();
        let got: BTreeSet<&String> = failed.iter().collect();
        start_failure.is_none() && !errors && want == got
    };
    Ok(Trial {
        name: mutant.name.clone(),
        start_failure,
        outcomes,
        failed,
        expected: mutant.fails.clone(),
        expected_start_failure,
        ok,
    })
}
