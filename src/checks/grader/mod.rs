//! The `grader` kind: an instructor's own grader, shipped with the lab in `labs/<id>/grader/` (a Dockerfile and
//! whatever it builds), run once per run beside the learner's service, writing `results.json` in the format of
//! Exercism's test-runner interface (version 3). Each `grader` check names one test of those results.
//!
//! Why one execution per run and one check per test: the checks keep everything the other kinds have
//! (`depends_on`, weight, pillar, a mutant's `fails`), while the grader, which may take seconds to drive a
//! protocol, runs once. The first grader check to run asks [`ServiceControl::run_grader`]; the grader's
//! execution is kept for the run, and every later grader check reads its own test from the same results.
//!
//! Whose fault is what: a test's `fail` or `error` is the learner's (the grader judged their service); a grader
//! that crashes, hangs past its budget, or leaves no, an oversized or a malformed `results.json`, or results
//! without a declared test, is the platform's (`error`, never counted), with the grader's log for staff.
//!
//! - `parse.rs`: `[check.grader]` and the lab-wide rules (`labs/<id>/grader/Dockerfile` exists, test names
//!   unique), every problem with file and line;
//! - `results.rs`: `results.json` read and checked;
//! - `judge.rs`: one check's verdict and texts from the execution.

mod judge;
pub(super) mod parse;
pub mod results;

use std::sync::Arc;
use std::time::Duration;

pub(super) use judge::run;

/// The folder of a lab that holds its grader (a `Dockerfile` at its root).
pub const GRADER_DIR: &str = "grader";
/// Where the grader finds the learner's submitted project, read-only.
pub const SUBMISSION_PATH: &str = "/submission";
/// The grader's writable results folder; it writes [`RESULTS_FILE`] there.
pub const RESULTS_PATH: &str = "/results";
/// The file the grader leaves in [`RESULTS_PATH`].
pub const RESULTS_FILE: &str = "results.json";
/// The largest `results.json` read: thousands of tests with their output fit, and it bounds what a runaway
/// grader costs the worker's memory.
pub const RESULTS_CAP: usize = 1 << 20;

/// A `grader` check: which test of the grader's results it reports.
#[derive(Debug, Clone)]
pub struct GraderCheck {
    /// The test's `name` in `results.json` (`[check.grader] test`, by default the check's id).
    pub test: String,
    /// Every test the lab's grader checks name, so tests in the results that no check declares are reported
    /// to staff; filled in when the whole suite is read.
    pub declared: Arc<Vec<String>>,
}

/// What a grader check asks of the run: its seed (passed to the grader) and the time the grader may take.
#[derive(Debug, Clone, Copy)]
pub struct GraderRequest {
    pub seed: u64,
    /// From start to exit; past it the grader is killed and its run is a platform error.
    pub budget: Duration,
}

/// How one execution of the lab's grader ended, with its log (instructors only).
#[derive(Debug, Clone)]
pub struct GraderExecution {
    pub ended: GraderEnd,
    /// The grader's stdout and stderr, the end of it.
    pub log: String,
}

/// How the grader's container ended.
#[derive(Debug, Clone)]
pub enum GraderEnd {
    /// It exited 0 and left these bytes as `results.json`.
    Results(Vec<u8>),
    /// It exited 0 without a `results.json`.
    NoResults,
    /// Its `results.json` is larger than [`RESULTS_CAP`], or not a regular file.
    Unreadable(String),
    /// It exited with a non-zero code (Exercism's interface: a test runner exits 0 whatever the tests did).
    Crashed { code: i64, oom: bool },
    /// It was still running when its budget ran out, and was killed.
    TimedOut { after: Duration },
    /// It could not be run at all (no grader, its image did not build, the engine failed).
    Platform(String),
}

impl GraderExecution {
    /// An execution that never started, for `why`.
    pub fn platform(why: impl Into<String>) -> Arc<GraderExecution> {
        Arc::new(GraderExecution {
            ended: GraderEnd::Platform(why.into()),
            log: String::new(),
        })
    }
}

/// Gives each grader check of `checks` the names every grader check declares.
pub(super) fn declare_all(checks: &mut [super::CheckDef]) {
    let names: Vec<String> = checks
        .iter()
        .filter_map(|c| match &c.kind {
            super::CheckKind::Grader(g) => Some(g.test.clone()),
            _ => None,
        })
        .collect();
    let names = Arc::new(names);
    for c in checks {
        if let super::CheckKind::Grader(g) = &mut c.kind {
            g.declared = Arc::clone(&names);
        }
    }
}
