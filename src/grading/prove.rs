//! `gauntlet prove`: evidence that a lab's hidden checks are right. The reference service is built once and
//! graded: every check must pass. Then each mutant (the reference with a defect switched on through its
//! environment, from `mutants.toml`) is graded on the same image and must fail exactly the checks it declares.
//! A check no mutant fails is reported: a check that cannot fail proves nothing.
//!
//! A lab with a `test` stage has it built first, as grading does, and its JUnit report judged (`test_report`);
//! a mutant with `build_args` gets images of its own (its defect switched on where the reference's tests run)
//! and is expected to fail at build: a failing test, or a report that shows none ran; so does a mutant with a
//! `dockerfile` of its own (the reference's context with that file as its `Dockerfile`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::counterparts::StartFailure;
use super::secrets::RunSecrets;
use super::service::{service_env, start_spec};
use super::test_stage::ReportProblem;
use crate::archive::{self, ArchiveLimits};
use crate::checks::mutants::{self, FailStage, Mutant};
use crate::checks::{self, CheckContext, CheckOutcome, CheckSuite, Target, Verdict};
use crate::curriculum::Lab;
use crate::diagnostics::Diagnostic;
use crate::sandbox::{BuildError, BuildRequest, ImageId, RunLabel, Sandbox, StartError};

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
    #[error("a counterpart of the lab could not be started: {0}")]
    Counterpart(String),
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
    /// Set when it failed before the checks (its image did not build, or it never became healthy): no check
    /// ran; `failure` says why.
    pub failed_at: Option<FailStage>,
    pub failure: Option<String>,
    pub outcomes: Vec<CheckOutcome>,
    /// Checks with verdict `fail`.
    pub failed: Vec<String>,
    pub expected: Vec<String>,
    pub expected_fails_at: Option<FailStage>,
    pub ok: bool,
}

/// How building an image ended, when the engine itself did not fail.
enum Built {
    Image(ImageId),
    /// A step of the lab's test stage failed: the project's own tests refused it. The text says why.
    TestsFailed(String),
    /// Any other failure (the final image, a timeout): never proof that tests caught a defect.
    Failed(String),
}

/// The whole proof.
#[derive(Debug, Clone, Serialize)]
pub struct Proof {
    pub lab: String,
    pub reference: Trial,
    pub mutants: Vec<Trial>,
    /// Unusual but correct variants of the reference, each of which must pass every check.
    pub near_misses: Vec<Trial>,
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
    let no_args = BTreeMap::new();
    let image = match build(sandbox, &lab, &image_label, &context, &no_args).await {
        Ok(Built::Image(image)) => image,
        Ok(Built::TestsFailed(why) | Built::Failed(why)) => {
            let _ = sandbox.remove_run(&image_label).await;
            return Err(ProveError::Build(why));
        }
        Err(e) => {
            let _ = sandbox.remove_run(&image_label).await;
            return Err(e);
        }
    };
    let reference_mutant = Mutant {
        name: "reference".to_string(),
        env: Default::default(),
        build_args: Default::default(),
        dockerfile: None,
        fails: Vec::new(),
        fails_at: None,
        near_miss: None,
    };
    let all = std::iter::once(&reference_mutant).chain(mutants.iter());
    let subject = Subject {
        lab: &lab,
        suite: &suite,
        reference,
    };
    let trials = async {
        let mut trials = Vec::new();
        for (i, m) in all.enumerate() {
            let label = RunLabel::parse(&format!("{base}-{i}"))?;
            let trial = if m.build_args.is_empty() && m.dockerfile.is_none() {
                try_one(sandbox, subject, &image, &label, m, seed).await
            } else {
                let own_context = match &m.dockerfile {
                    Some(name) => with_dockerfile(&context, &reference.join(name))?,
                    None => context.clone(),
                };
                match build(sandbox, &lab, &label, &own_context, &m.build_args).await {
                    Ok(Built::Image(own)) => try_one(sandbox, subject, &own, &label, m, seed).await,
                    Ok(Built::TestsFailed(why)) => {
                        Ok(Trial::before_checks(m, FailStage::Build, why))
                    }
                    Ok(Built::Failed(why)) => Ok(Trial::not_by_tests(m, why)),
                    Err(e) => Err(e),
                }
            };
            let _ = sandbox.remove_run(&label).await;
            trials.push(trial?);
        }
        Ok::<_, ProveError>(trials)
    }
    .await;
    // The reference image goes whatever happened to the trials.
    let _ = sandbox.remove_run(&image_label).await;
    let mut trials = trials?;
    let reference = trials.remove(0);
    // Trials are in the order of `mutants`, where near misses follow the mutants.
    let near_misses = trials.split_off(mutants.iter().filter(|m| m.near_miss.is_none()).count());
    let caught: BTreeSet<&String> = trials.iter().flat_map(|t| t.failed.iter()).collect();
    let never_failed: Vec<String> = suite
        .checks
        .iter()
        .map(|c| c.id.clone())
        .filter(|id| !caught.contains(id))
        .collect();
    let ok =
        reference.ok && trials.iter().chain(&near_misses).all(|t| t.ok) && never_failed.is_empty();
    Ok(Proof {
        lab: lab.id.to_string(),
        reference,
        mutants: trials,
        near_misses,
        never_failed,
        ok,
    })
}

/// The packed reference `context` with its `Dockerfile` replaced by the file at `replacement`, for a mutant
/// that names another Dockerfile.
fn with_dockerfile(context: &[u8], replacement: &Path) -> Result<Vec<u8>, ProveError> {
    let text = std::fs::read(replacement)
        .map_err(|e| ProveError::Build(format!("the mutant's {}: {e}", replacement.display())))?;
    let io = |e: std::io::Error| ProveError::Build(format!("repacking the reference: {e}"));
    let mut packed = tar::Archive::new(flate2::read::GzDecoder::new(context));
    let mut out = tar::Builder::new(Vec::new());
    for entry in packed.entries().map_err(io)? {
        let mut entry = entry.map_err(io)?;
        let mut header = entry.header().clone();
        let path = entry.path().map_err(io)?.into_owned();
        if path.to_string_lossy().trim_start_matches("./") == "Dockerfile" {
            header.set_size(text.len() as u64);
            out.append_data(&mut header, &path, text.as_slice())
                .map_err(io)?;
        } else {
            out.append_data(&mut header, &path, &mut entry)
                .map_err(io)?;
        }
    }
    out.into_inner().map_err(io)
}

/// Builds the lab's test stage, when it has one, then the final image, as grading does.
async fn build(
    sandbox: &Sandbox,
    lab: &Lab,
    label: &RunLabel,
    context: &[u8],
    args: &BTreeMap<String, String>,
) -> Result<Built, ProveError> {
    // One budget for the test stage and the final image together, as in grading.
    let budget = Duration::from_secs(lab.timeouts.build_secs);
    let started = tokio::time::Instant::now();
    let stages = lab
        .build
        .test_stage
        .iter()
        .map(|s| Some(s.clone()))
        .chain([None]);
    let mut image: Option<ImageId> = None;
    for target in stages {
        let what = target.as_ref().map_or("the final image".to_string(), |t| {
            format!("the `{t}` stage")
        });
        // As in grading: the final build reuses the test stage's layers, so the tests run once.
        let request = BuildRequest {
            target,
            args: args.clone(),
            cache_from: image.take(),
            limits: lab.build.limits.clone(),
        };
        match sandbox
            .build_with(
                label,
                context.to_vec(),
                &request,
                budget.saturating_sub(started.elapsed()),
                64 * 1024,
                |_| {},
            )
            .await
        {
            Ok(built) => {
                // As in grading: the test stage must leave a report of passing tests.
                if let (Some(_), Some(path)) = (&request.target, &lab.build.test_report) {
                    match super::test_stage::judge_report(sandbox, label, &built, path).await {
                        Ok(_) => {}
                        Err(ReportProblem::Learner(why)) => return Ok(Built::TestsFailed(why)),
                        Err(ReportProblem::Platform(e)) => return Err(e.into()),
                    }
                }
                image = Some(built);
            }
            Err(BuildError::Platform(e)) => return Err(e.into()),
            Err(e) => {
                let why = format!("{what} did not build: {e}: {}", e.log_tail());
                let tests = request.target.is_some() && matches!(e, BuildError::Failed { .. });
                return Ok(if tests {
                    Built::TestsFailed(why)
                } else {
                    Built::Failed(why)
                });
            }
        }
    }
    image
        .map(Built::Image)
        .ok_or_else(|| ProveError::Build("nothing was built".into()))
}

impl Trial {
    /// A mutant whose image did not build for another reason than its test stage's tests (the final image, a
    /// timeout): that proves nothing about the checks or the tests, so it is never what was expected.
    fn not_by_tests(mutant: &Mutant, why: String) -> Trial {
        Trial {
            ok: false,
            failure: Some(format!("{why} (not a failing test stage)")),
            ..Trial::before_checks(mutant, FailStage::Build, String::new())
        }
    }

    /// A service that failed before any check ran.
    fn before_checks(mutant: &Mutant, stage: FailStage, why: String) -> Trial {
        Trial {
            name: mutant.name.clone(),
            failed_at: Some(stage),
            failure: Some(why),
            outcomes: Vec::new(),
            failed: Vec::new(),
            expected: mutant.fails.clone(),
            expected_fails_at: mutant.fails_at,
            ok: mutant.fails_at == Some(stage),
        }
    }
}

/// What is being proved: the lab, its checks and the reference project (the submission a check may read, and
/// that a lab's grader finds at `/submission`).
#[derive(Clone, Copy)]
struct Subject<'a> {
    lab: &'a Lab,
    suite: &'a CheckSuite,
    reference: &'a Path,
}

async fn try_one(
    sandbox: &Sandbox,
    Subject {
        lab,
        suite,
        reference,
    }: Subject<'_>,
    image: &ImageId,
    label: &RunLabel,
    mutant: &Mutant,
    seed: u64,
) -> Result<Trial, ProveError> {
    let secrets = RunSecrets::ephemeral();
    let mut env = service_env(lab, seed, &secrets);
    env.extend(mutant.env.clone());
    let spec = start_spec(lab, &env);
    let mut counterparts = Vec::new();
    let started = super::counterparts::start_with_service(
        sandbox,
        label,
        lab,
        image,
        &spec,
        super::counterparts::RunKeys {
            seed,
            secrets: &secrets,
        },
        &mut counterparts,
    )
    .await;
    let running = match started {
        Ok(running) => running,
        Err(StartFailure::Counterparts(e)) => return Err(ProveError::Counterpart(e.detail())),
        Err(StartFailure::Service(StartError::Platform(e))) => return Err(e.into()),
        Err(StartFailure::Service(e)) => {
            return Ok(Trial::before_checks(
                mutant,
                FailStage::Start,
                e.to_string(),
            ))
        }
    };
    let healthy = sandbox
        .wait_healthy(
            &running,
            &lab.service.health,
            Duration::from_secs(lab.timeouts.start_secs),
        )
        .await;
    let outcomes = match healthy {
        Err(e) => {
            return Ok(Trial::before_checks(
                mutant,
                FailStage::Start,
                e.to_string(),
            ))
        }
        Ok(address) => {
            let base_url = url::Url::parse(&crate::sandbox::base_url(address))
                .map_err(|e| ProveError::Build(e.to_string()))?;
            // Built by the first trial, then found on this host by its hash.
            let grader = super::grader::prepare(sandbox, lab, suite).await;
            let control = super::control::DockerControl::new(
                sandbox.clone(),
                running.clone(),
                lab.service.health.clone(),
                Duration::from_secs(lab.timeouts.start_secs),
                base_url.clone(),
            )
            .with_counterparts(counterparts)
            .with_project(reference.to_path_buf())
            .with_grader(grader);
            let target = Target { base_url };
            let ctx = CheckContext {
                seed,
                env,
                control: Some(std::sync::Arc::new(control)),
            };
            let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
            checks::run_suite(suite, &target, &ctx, &tx).await
        }
    };
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::Fail)
        .map(|o| o.check_id.clone())
        .collect();
    let errors = outcomes.iter().any(|o| o.verdict == Verdict::Error);
    let want: BTreeSet<&String> = mutant.fails.iter().collect();
    let got: BTreeSet<&String> = failed.iter().collect();
    let ok = mutant.fails_at.is_none() && !errors && want == got;
    Ok(Trial {
        name: mutant.name.clone(),
        failed_at: None,
        failure: None,
        outcomes,
        failed,
        expected: mutant.fails.clone(),
        expected_fails_at: mutant.fails_at,
        ok,
    })
}
