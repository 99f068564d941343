//! Running a suite: dependency skips, the whole-check deadline, live events and the two texts of every
//! outcome (the learner-safe message and the hidden detail).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

use super::events;
use super::grader;
use super::graphql::{self, GraphqlCheck};
use super::http::{self, HttpScenario, StepError};
use super::image;
use super::judged::Judged;
use super::lifecycle;
use super::llm;
use super::load_kind;
use super::manifests::{self, ManifestsCheck, ManifestsError};
use super::metrics::{self, MetricsCheck};
use super::openapi::{self, OpenApiCheck, OpenApiError};
use super::security::{self, ProbeError, SecurityProbe};
use super::swap;
use super::template::Vars;
use super::tracing;
use super::{
    graph, CheckContext, CheckDef, CheckEvent, CheckKind, CheckOutcome, CheckSuite, Target, Verdict,
};

/// Slack past a check's own deadline before the runner stops waiting: requests already carry the deadline, so
/// this only catches a step that ignores it.
const GRACE: Duration = Duration::from_secs(1);

/// Runs the checks in file order (a check waits for the checks it depends on), sending events as it goes.
///
/// A check whose dependency did not pass is `Skipped` with the reason. The outcomes come back in the suite's
/// order, one per check. Send errors are ignored: nobody watching does not stop a run.
pub async fn run_suite(
    suite: &CheckSuite,
    target: &Target,
    ctx: &CheckContext,
    events: &UnboundedSender<CheckEvent>,
) -> Vec<CheckOutcome> {
    let client = http::client().map_err(|e| e.to_string());
    let ids: Vec<&str> = suite.checks.iter().map(|c| c.id.as_str()).collect();
    let edges = graph::edges(&ids, suite.checks.iter().map(|c| c.depends_on.as_slice()));
    let mut outcomes: Vec<Option<CheckOutcome>> = vec![None; suite.checks.len()];
    // What each passed openapi check captured, for the checks that depend on it.
    let mut exports: Vec<BTreeMap<String, Value>> = vec![BTreeMap::new(); suite.checks.len()];
    let mut current = target.clone();
    for i in graph::run_order(&edges) {
        let def = &suite.checks[i];
        // A check that restarted the service may have moved it; the next checks follow.
        if let Some(url) = ctx.control.as_ref().and_then(|c| c.base_url()) {
            current.base_url = url;
        }
        let target = &current;
        let outcome = match blocker(def, suite, &outcomes) {
            Some(Blocker::Unknown(dep)) => {
                let detail = format!("`{}` depends on `{dep}`, which is not in the suite", def.id);
                outcome(def, Verdict::Error, platform_fault(), detail, 0)
            }
            Some(Blocker::NotPassed(j)) => {
                let dep = &suite.checks[j];
                let message = format!("skipped because “{}” did not pass", dep.title);
                let detail = format!("skipped: dependency `{}` did not pass", dep.id);
                outcome(def, Verdict::Skipped, message, detail, 0)
            }
            None => {
                let _ = events.send(CheckEvent::Started {
                    check_id: def.id.clone(),
                    title: def.title.clone(),
                });
                let imports = imports(suite, i, &exports);
                run_check(def, &client, target, ctx, imports, &mut exports[i]).await
            }
        };
        let _ = events.send(CheckEvent::Finished(outcome.clone()));
        outcomes[i] = Some(outcome);
    }
    outcomes.into_iter().flatten().collect()
}

/// The captures of every check that check `i` depends on, directly or through others (all passed, or it
/// would be skipped); a nearer dependency's value wins.
fn imports(
    suite: &CheckSuite,
    i: usize,
    exports: &[BTreeMap<String, Value>],
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut seen = Vec::new();
    let mut queue: std::collections::VecDeque<&str> = suite.checks[i]
        .depends_on
        .iter()
        .map(String::as_str)
        .collect();
    while let Some(id) = queue.pop_front() {
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        if let Some(j) = suite.checks.iter().position(|c| c.id == id) {
            for (k, v) in &exports[j] {
                out.entry(k.clone()).or_insert_with(|| v.clone());
            }
            queue.extend(suite.checks[j].depends_on.iter().map(String::as_str));
        }
    }
    out
}

enum Blocker {
    Unknown(String),
    NotPassed(usize),
}

fn blocker(
    def: &CheckDef,
    suite: &CheckSuite,
    outcomes: &[Option<CheckOutcome>],
) -> Option<Blocker> {
    def.depends_on
        .iter()
        .find_map(|dep| match suite.checks.iter().position(|c| c.id == *dep) {
            None => Some(Blocker::Unknown(dep.clone())),
            Some(j)
                if outcomes[j]
                    .as_ref()
                    .is_some_and(|o| o.verdict == Verdict::Pass) =>
            {
                None
            }
            Some(j) => Some(Blocker::NotPassed(j)),
        })
}

async fn run_check(
    def: &CheckDef,
    client: &Result<reqwest::Client, String>,
    target: &Target,
    ctx: &CheckContext,
    imports: BTreeMap<String, Value>,
    exports: &mut BTreeMap<String, Value>,
) -> CheckOutcome {
    // The kinds that judge themselves, each its own way.
    match &def.kind {
        CheckKind::Load(l) => {
            let (rand, deadline) = (rand_for(ctx.seed, &def.id), Instant::now() + def.timeout);
            return run_judged(def, load_kind::run(l, target, ctx, rand, deadline)).await;
        }
        CheckKind::Lifecycle(l) => {
            // An instance of its own, on a port drawn from the run's seed and the check's id.
            let service_port = ctx.env.get("PORT").and_then(|p| p.parse().ok());
            let port = lifecycle::port_for(&mut check_rng(ctx.seed, &def.id), service_port);
            return run_judged(def, lifecycle::run(l, ctx.control.as_deref(), port)).await;
        }
        CheckKind::Swap(s) => {
            let token = rand_for(ctx.seed, &def.id);
            return run_judged(def, swap::run(s, ctx, &token)).await;
        }
        CheckKind::Image(c) => return run_judged(def, image::run(c, ctx.control.as_deref())).await,
        CheckKind::Events(c) => {
            let (rand, rng) = (rand_for(ctx.seed, &def.id), check_rng(ctx.seed, &def.id));
            let run = events::run(c, ctx, target, rand, rng, def.timeout);
            return run_judged(def, run).await;
        }
        CheckKind::Llm(c) => {
            let marker = format!("gx-{}", rand_for(ctx.seed, &def.id));
            return run_judged(def, llm::run(c, ctx, target, marker)).await;
        }
        CheckKind::Tracing(c) => {
            let (rand, rng) = (rand_for(ctx.seed, &def.id), check_rng(ctx.seed, &def.id));
            let run = tracing::run(c, ctx, target, rand, rng, def.timeout);
            return run_judged(def, run).await;
        }
        CheckKind::Grader(g) => return run_grader(def, g, ctx).await,
        CheckKind::Http(_)
        | CheckKind::Security(_)
        | CheckKind::OpenApi(_)
        | CheckKind::Manifests(_)
        | CheckKind::Metrics(_)
        | CheckKind::Graphql(_) => {}
    }
    // The kinds below talk HTTP through the suite's one client.
    let client = match client {
        Ok(c) => c,
        Err(e) => {
            let detail = format!("HTTP client: {e}");
            return outcome(def, Verdict::Error, platform_fault(), detail, 0);
        }
    };
    let start = Instant::now();
    let deadline = start + def.timeout;
    let run = async {
        match &def.kind {
            CheckKind::Http(s) => run_http(def, s, client, target, ctx, deadline).await,
            CheckKind::Security(p) => run_security(def, p, client, target, ctx, deadline).await,
            CheckKind::OpenApi(c) => {
                let (ended, captured) =
                    run_openapi(def, c, client, target, ctx, imports, deadline).await;
                if matches!(ended, Ended::Passed(_)) {
                    *exports = captured;
                }
                ended
            }
            CheckKind::Manifests(m) => run_manifests(m, client, target, ctx, deadline).await,
            CheckKind::Metrics(m) => run_metrics(def, m, client, target, ctx, deadline).await,
            CheckKind::Graphql(g) => run_graphql(def, g, client, target, ctx, deadline).await,
            // Handled above; kept so a new kind is a compile error here rather than a silent gap.
            CheckKind::Load(_)
            | CheckKind::Lifecycle(_)
            | CheckKind::Swap(_)
            | CheckKind::Image(_)
            | CheckKind::Events(_)
            | CheckKind::Llm(_)
            | CheckKind::Tracing(_)
            | CheckKind::Grader(_) => Ended::Broken(String::new()),
        }
    };
    let result = tokio::time::timeout(def.timeout + GRACE, run).await;
    let took = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    match result {
        Err(_) => timed_out(def, took),
        Ok(Ended::Passed(transcript)) => {
            let message = "passed".to_string();
            outcome(def, Verdict::Pass, message, transcript, took)
        }
        Ok(Ended::Failed(why, transcript)) => outcome(def, Verdict::Fail, why, transcript, took),
        Ok(Ended::Broken(transcript)) => {
            outcome(def, Verdict::Error, platform_fault(), transcript, took)
        }
    }
}

/// How an HTTP-driven check ended, each with its hidden transcript: passed, failed (with the learner-safe
/// reason that follows the title) or broken (a platform fault).
enum Ended {
    Passed(String),
    Failed(String, String),
    Broken(String),
}

impl From<super::done::Done> for Ended {
    fn from(done: super::done::Done) -> Ended {
        match done.result {
            Ok(()) => Ended::Passed(done.transcript),
            Err(super::done::Outcome::Failed(why)) => Ended::Failed(why, done.transcript),
            Err(super::done::Outcome::Broken) => Ended::Broken(done.transcript),
        }
    }
}

async fn run_security(
    def: &CheckDef,
    probe: &SecurityProbe,
    client: &reqwest::Client,
    target: &Target,
    ctx: &CheckContext,
    deadline: Instant,
) -> Ended {
    let done = security::run_probe(probe, &def.id, client, target, ctx, deadline).await;
    match done.result {
        Ok(()) => Ended::Passed(done.transcript),
        Err(ProbeError::Failed(why)) => Ended::Failed(format!("failed: {why}"), done.transcript),
        Err(ProbeError::Broken(_)) => Ended::Broken(done.transcript),
    }
}

async fn run_http(
    def: &CheckDef,
    scenario: &HttpScenario,
    client: &reqwest::Client,
    target: &Target,
    ctx: &CheckContext,
    deadline: Instant,
) -> Ended {
    let mut vars = Vars::new(ctx.seed, rand_for(ctx.seed, &def.id), &ctx.env);
    let control = ctx.control.as_deref();
    let done = http::run_scenario(scenario, client, target, control, &mut vars, deadline).await;
    match done.result {
        Ok(()) => Ended::Passed(done.transcript),
        Err((n, StepError::Failed(f))) => Ended::Failed(
            format!("failed at step {n} of {}: {f}", done.steps),
            done.transcript,
        ),
        Err((_, StepError::Broken(_))) => Ended::Broken(done.transcript),
    }
}

/// Runs an openapi check with the captures of the checks it depends on; also returns what it captured.
async fn run_openapi(
    def: &CheckDef,
    check: &OpenApiCheck,
    client: &reqwest::Client,
    target: &Target,
    ctx: &CheckContext,
    imports: BTreeMap<String, Value>,
    deadline: Instant,
) -> (Ended, BTreeMap<String, Value>) {
    let mut vars = Vars::new(ctx.seed, rand_for(ctx.seed, &def.id), &ctx.env);
    for (name, value) in imports {
        vars.set(&name, value);
    }
    let run = openapi::Run {
        client,
        target,
        control: ctx.control.as_deref(),
        vars,
        rng: check_rng(ctx.seed, &def.id),
        deadline,
    };
    let done = openapi::run(check, run).await;
    let ended = match done.result {
        Ok(()) => Ended::Passed(done.transcript),
        Err(OpenApiError::Failed(why)) => Ended::Failed(why, done.transcript),
        Err(OpenApiError::Broken(_)) => Ended::Broken(done.transcript),
    };
    (ended, done.captured)
}

async fn run_manifests(
    check: &ManifestsCheck,
    client: &reqwest::Client,
    target: &Target,
    ctx: &CheckContext,
    deadline: Instant,
) -> Ended {
    let done = manifests::run(check, client, target, ctx.control.as_deref(), deadline).await;
    match done.result {
        Ok(()) => Ended::Passed(done.transcript),
        Err(ManifestsError::Failed(why)) => Ended::Failed(why, done.transcript),
        Err(ManifestsError::Broken(_)) => Ended::Broken(done.transcript),
    }
}

async fn run_metrics(
    def: &CheckDef,
    check: &MetricsCheck,
    client: &reqwest::Client,
    target: &Target,
    ctx: &CheckContext,
    deadline: Instant,
) -> Ended {
    let mut vars = Vars::new(ctx.seed, rand_for(ctx.seed, &def.id), &ctx.env);
    let control = ctx.control.as_deref();
    let done = metrics::run(check, client, target, control, &mut vars, deadline).await;
    Ended::from(done)
}

async fn run_graphql(
    def: &CheckDef,
    check: &GraphqlCheck,
    client: &reqwest::Client,
    target: &Target,
    ctx: &CheckContext,
    deadline: Instant,
) -> Ended {
    let mut vars = Vars::new(ctx.seed, rand_for(ctx.seed, &def.id), &ctx.env);
    let control = ctx.control.as_deref();
    let done = graphql::run(check, client, target, control, &mut vars, deadline).await;
    Ended::from(done)
}

/// Runs a kind that judges itself under the check's deadline, and adds the timing and fault wording. Messages
/// never repeat the check's title: every page, the CLI and the API show the title beside them.
async fn run_judged(def: &CheckDef, judging: impl Future<Output = Judged>) -> CheckOutcome {
    let start = Instant::now();
    let result = tokio::time::timeout(def.timeout + GRACE, judging).await;
    let took = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let Ok(judged) = result else {
        return timed_out(def, took);
    };
    let message = match judged.verdict {
        Verdict::Error => platform_fault(),
        _ => judged.message,
    };
    outcome(def, judged.verdict, message, judged.detail, took)
}

/// The slack past a grader check's timeout before the runner stops waiting: the grader's budget is the check's
/// timeout, enforced where it runs; stopping it, reading its log and results and removing it come after.
const GRADER_SLACK: Duration = Duration::from_secs(30);

/// A grader check: its budget is kept where the grader runs, and a grader that overruns is the platform's fault,
/// so unlike other kinds, running out of time here is an error, never a failure counted against the learner.
async fn run_grader(
    def: &CheckDef,
    check: &grader::GraderCheck,
    ctx: &CheckContext,
) -> CheckOutcome {
    let start = Instant::now();
    let result =
        tokio::time::timeout(def.timeout + GRADER_SLACK, grader::run(def, check, ctx)).await;
    let took = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let judged = result.unwrap_or_else(|_| {
        Judged::broken(format!(
            "the grader did not finish, and could not be stopped, within {} s",
            (def.timeout + GRADER_SLACK).as_secs()
        ))
    });
    let message = match judged.verdict {
        Verdict::Error => platform_fault(),
        _ => judged.message,
    };
    outcome(def, judged.verdict, message, judged.detail, took)
}

fn timed_out(def: &CheckDef, took: u64) -> CheckOutcome {
    let message = "failed: no answer within the time limit".to_string();
    let detail = format!(
        "the check did not finish within {} s",
        def.timeout.as_secs()
    );
    outcome(def, Verdict::Fail, message, detail, took)
}

/// The learner's message of an `Error`: the outcome's title says which check; pages show it beside this.
fn platform_fault() -> String {
    "could not be run because of a platform fault; it does not count against you".to_string()
}

/// The check's `{{rand}}`: from the run's seed and the check's id (hashed with FNV-1a, which is stable across
/// Rust versions, unlike the std hasher), so a replayed run sends the same values whatever the order.
fn rand_for(seed: u64, id: &str) -> String {
    format!("{:08x}", check_rng(seed, id).gen::<u32>())
}

/// The check's own seeded generator (the same derivation as `{{rand}}`), for kinds that draw more values.
fn check_rng(seed: u64, id: &str) -> rand::rngs::StdRng {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    rand::rngs::StdRng::seed_from_u64(seed ^ h)
}

fn outcome(
    def: &CheckDef,
    verdict: Verdict,
    message: String,
    detail: String,
    duration_ms: u64,
) -> CheckOutcome {
    CheckOutcome {
        check_id: def.id.clone(),
        title: def.title.clone(),
        pillar: def.pillar.clone(),
        weight: def.weight,
        required: def.required,
        verdict,
        message,
        detail,
        duration_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rand_is_stable_per_seed_and_check() {
        assert_eq!(rand_for(1, "a"), rand_for(1, "a"));
        assert_ne!(rand_for(1, "a"), rand_for(2, "a"));
        assert_ne!(rand_for(1, "a"), rand_for(1, "b"));
        assert_eq!(rand_for(1, "a").len(), 8);
    }
}
