//! The check engine: a lab's hidden checks, parsed from `labs/<id>/checks/*.toml`, run against the learner's
//! running service, each ending in a verdict with two texts: a learner-safe `message` and an instructor-only
//! `detail` (the full transcript).
//!
//! Every kind of check shares the fields of [`CheckDef`] and adds its own scenario in [`CheckKind`]; `http` is
//! the first kind, and later kinds (openapi, security, load) slot in as further variants with their own file
//! under this folder. The split of files:
//!
//! - `load.rs`: reading and validating check files, every problem with file and line;
//! - `graph.rs`: the `depends_on` graph (unknown ids, cycles, the order checks run in);
//! - `include.rs`: `[[include]]`, checks of an earlier lab re-run under a lab-qualified id;
//! - `run.rs`: running a suite, dependency skips, events, the whole-check deadline;
//! - `score.rs`: the weighted score of a run;
//! - `template.rs`: `{{var}}` substitution shared by all kinds;
//! - `http/`: the `http` kind (definition, parsing, matching, execution, transcript);
//! - `load_kind/`: the `load` kind (throughput and latency under load, through [`crate::loadgen`]); not
//!   `load.rs`, which loads check files.
//! - `security/`: the `security` kind (one attack probe per check: tokens, roles, injection, leaks, limits).
//! - `openapi/`: the `openapi` kind (the learner's own API document: valid, complete, true to the service, and
//!   requests generated from it);
//! - `lifecycle/`: the `lifecycle` kind (readiness while starting, SIGTERM with requests in flight, the exit),
//!   on an instance of the service the check starts itself;
//! - `counterpart.rs`: the containers a lab runs beside the service (a broker), as checks find and pause them;
//! - `instance.rs`: the `Instance` trait, more copies of the service a check starts and stops itself;
//! - `swap/`: the `swap` kind (a zero-downtime release: two instances of the learner's image behind Gauntlet's
//!   own router, steady traffic moved from blue to green);
//! - `image/`: the `image` kind (the built image itself: user, entrypoint, build tools, secrets, size), read
//!   through [`ServiceControl`];
//! - `events/`: the `events` kind (records produced to the lab's broker, the service's state settling, topics
//!   and a consumer group's offsets read back), through [`crate::kafka`];
//! - `metrics/`: the `metrics` kind (the learner's Prometheus exposition: families, types and labels, counts
//!   that move exactly with the traffic the check sends, histogram resolution, no raw ids as label values);
//! - `manifests/`: the `manifests` kind (the learner's Kubernetes YAML, typed, against one policy rule per
//!   check);
//! - `llm/`: the `llm` kind (a service wrapping a language model, judged through the lab's model upstream
//!   counterpart: answers, cache, retries, deadlines and the usage report against the model's ledger);
//! - `tracing/`: the `tracing` kind (W3C trace context continued and spans exported over OTLP, read back from
//!   the lab's `otlp-receiver` counterpart);
//! - `grader/`: the `grader` kind (the lab's own grader container, run once per run beside the service; each
//!   check reports one test of its Exercism-style `results.json`);
//! - `graphql/`: the `graphql` kind (the learner's GraphQL endpoint: introspection and the contract's types,
//!   the lab's queries against the REST reads, abusive and malformed requests refused with GraphQL errors);
//! - `schema.rs`: compiled JSON Schemas, shared by the `http` kind's `schema` expectation and `openapi/`.

pub mod counterpart;
mod done;
pub mod env_refs;
pub mod events;
pub mod grader;
mod graph;
pub mod graphql;
pub mod http;
pub mod image;
mod include;
pub mod instance;
mod judged;
pub mod lifecycle;
pub mod llm;
mod load;
pub mod load_kind;
pub mod manifests;
pub mod metrics;
pub mod mutants;
pub mod openapi;
mod run;
pub mod schema;
mod score;
pub mod security;
pub mod swap;
mod template;
pub mod tracing;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use counterpart::{CounterpartInfo, CounterpartKind};
pub use events::EventsCheck;
pub use grader::{GraderCheck, GraderEnd, GraderExecution, GraderRequest};
pub use graphql::GraphqlCheck;
pub use http::HttpScenario;
pub use image::ImageCheck;
pub use instance::{
    BoxFuture, Exit, Instance, InstanceData, InstanceError, InstanceSpec, RestartMode, Signal,
};
pub use lifecycle::LifecycleCheck;
pub use llm::LlmCheck;
pub use load_kind::{Limits, LoadCheck, LoadStop};
pub use manifests::ManifestsCheck;
pub use metrics::MetricsCheck;
pub use openapi::OpenApiCheck;
pub use run::run_suite;
pub use score::{score, Score};
pub use security::SecurityProbe;
pub use swap::SwapCheck;
pub use tracing::TracingCheck;

/// Every check of one lab, in file order (files sorted by name, checks in the order written).
#[derive(Debug, Clone, Default)]
pub struct CheckSuite {
    pub checks: Vec<CheckDef>,
}

/// One hidden check: what it is worth and what it does.
#[derive(Debug, Clone)]
pub struct CheckDef {
    /// Unique within the lab; `depends_on` and stored results refer to it.
    pub id: String,
    /// Shown to the learner: names the behaviour checked, never the payload.
    pub title: String,
    /// Shown to the learner when the check fails.
    pub hint: String,
    /// The skill pillar the check counts toward.
    pub pillar: String,
    /// Relative weight in the run's score; always positive.
    pub weight: f64,
    /// A run passes only when every required check passes.
    pub required: bool,
    /// Ids of checks that must pass first; otherwise this one is skipped rather than failed twice.
    pub depends_on: Vec<String>,
    /// Deadline for the whole check, every step included.
    pub timeout: Duration,
    pub kind: CheckKind,
}

/// What a check does; one variant per kind.
#[derive(Debug, Clone)]
pub enum CheckKind {
    Http(HttpScenario),
    /// Boxed: a request or mix, set-up steps and the open loop's settings.
    Load(Box<LoadCheck>),
    /// Boxed: a probe holds routes and claims, much larger than the other kinds.
    Security(Box<SecurityProbe>),
    /// Boxed: a scenario, operations and generation settings, much larger than the other kinds.
    OpenApi(Box<OpenApiCheck>),
    /// What a platform does to the service (start-up readiness, SIGTERM), on an instance of its own.
    Lifecycle(Box<LifecycleCheck>),
    /// Boxed: versions, paths, lanes and waits, much larger than the other kinds.
    Swap(Box<SwapCheck>),
    Image(ImageCheck),
    Manifests(ManifestsCheck),
    /// Boxed: steps with records, requests and expectations. Records through the lab's broker and the service.
    Events(Box<EventsCheck>),
    /// A scenario against a service that calls the lab's model upstream counterpart.
    Llm(LlmCheck),
    /// Boxed: rules and requests. Spans read back from the lab's OTLP receiver.
    Tracing(Box<TracingCheck>),
    /// Boxed: steps, routes and rules. The learner's `/metrics` judged against traffic the check sends.
    Metrics(Box<MetricsCheck>),
    /// One test of the lab's own grader, run once per run beside the service.
    Grader(GraderCheck),
    /// Boxed: steps, queries and abusive requests. The learner's GraphQL endpoint, against the REST reads.
    Graphql(Box<GraphqlCheck>),
}

impl CheckKind {
    /// The `kind = "..."` name in check files.
    pub fn name(&self) -> &'static str {
        match self {
            CheckKind::Http(_) => "http",
            CheckKind::Load(_) => "load",
            CheckKind::Security(_) => "security",
            CheckKind::OpenApi(_) => "openapi",
            CheckKind::Lifecycle(_) => "lifecycle",
            CheckKind::Swap(_) => "swap",
            CheckKind::Image(_) => "image",
            CheckKind::Manifests(_) => "manifests",
            CheckKind::Events(_) => "events",
            CheckKind::Llm(_) => "llm",
            CheckKind::Tracing(_) => "tracing",
            CheckKind::Metrics(_) => "metrics",
            CheckKind::Grader(_) => "grader",
            CheckKind::Graphql(_) => "graphql",
        }
    }
}

/// Where the learner's service answers.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL of the service, e.g. `http://172.18.0.2:8080/`; check paths are joined to it.
    pub base_url: url::Url,
}

/// What a run knows beyond the target, so that verdicts are reproducible.
#[derive(Debug, Clone, Default)]
pub struct CheckContext {
    /// Seeds every random value the checks use (`{{rand}}`); recorded with the run to replay it.
    pub seed: u64,
    /// The environment the container was started with (`{{env.NAME}}`), e.g. a JWT secret later on.
    pub env: BTreeMap<String, String>,
    /// Lets a check restart the service (an http step with `restart = true`); `None` where nothing can be
    /// restarted (a step that asks for it is then a platform fault).
    pub control: Option<std::sync::Arc<dyn ServiceControl>>,
}

/// What the grader can do to the running service besides calling it.
pub trait ServiceControl: Send + Sync {
    /// Stops the service (`Graceful`: SIGTERM, then a kill after a grace period; `Kill`: SIGKILL only) and
    /// starts the same container again with its data kept; resolves to the base URL it answers on once
    /// healthy again.
    fn restart(&self, mode: RestartMode) -> BoxFuture<'_, Result<url::Url, String>>;
    /// Where the service answers now (its address may change across a restart).
    fn base_url(&self) -> Option<url::Url>;
    /// Starts another instance of the service's image, sandboxed like it, as `spec` says; resolves once the
    /// engine started it (it may not listen yet). See [`instance`].
    fn launch(
        &self,
        spec: InstanceSpec,
    ) -> BoxFuture<'_, Result<std::sync::Arc<dyn Instance>, InstanceError>>;
    /// The configuration, history and base of the image the service runs, for `image` checks; by default
    /// there is none to read (the check is then a platform fault).
    fn image_facts(&self) -> BoxFuture<'_, Result<image::ImageFacts, String>> {
        Box::pin(async { Err("this grader cannot read the run's image".to_string()) })
    }
    /// The image the service runs as `docker save` writes it, streamed, for `image` checks.
    fn export_image(&self) -> BoxFuture<'_, Result<image::ExportStream, String>> {
        Box::pin(async { Err("this grader cannot export the run's image".to_string()) })
    }
    /// Reads a regular file of the submitted project at `path` (relative to the project's root) of at most
    /// `max` bytes, for checks that grade a file shipped beside the image (the `manifests` kind's `file`);
    /// `Ok(None)` when there is no such file (or a link, a folder, a larger file). By default the submission is
    /// not at hand, which is a platform fault of the check that asks.
    fn submitted_file(&self, path: String, max: usize) -> SubmittedFile<'_> {
        let _ = (path, max);
        Box::pin(async { Err("the submitted project is not at hand".to_string()) })
    }
    /// The counterpart `name` of the lab (`[[counterpart]]` in `lab.toml`), started beside the service; `None`
    /// when the lab declares none of that name (or this grader starts none).
    fn counterpart(&self, name: &str) -> Option<CounterpartInfo> {
        let _ = name;
        None
    }
    /// Freezes (`paused = true`) or thaws the counterpart `name`: its processes stop without being told, its
    /// connections stay open and unanswered, as in a network partition or a stalled broker.
    fn pause_counterpart(&self, name: &str, paused: bool) -> BoxFuture<'_, Result<(), String>> {
        let message = format!(
            "this grader cannot {} counterpart `{name}`",
            if paused { "pause" } else { "unpause" }
        );
        Box::pin(async move { Err(message) })
    }
    /// Runs the lab's grader (`labs/<id>/grader/`) beside the service, once per run: the first call starts it and
    /// waits for it within `request.budget`; every later call gets that same execution. By default there is no
    /// grader to run, which is a platform fault of the check that asks.
    fn run_grader(&self, request: GraderRequest) -> BoxFuture<'_, std::sync::Arc<GraderExecution>> {
        let _ = request;
        Box::pin(async { GraderExecution::platform("this grader cannot run a lab's grader") })
    }
}

/// The answer of [`ServiceControl::submitted_file`]: the file's bytes, `None` when there is no such file.
pub type SubmittedFile<'a> = BoxFuture<'a, Result<Option<Vec<u8>>, String>>;

impl std::fmt::Debug for dyn ServiceControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceControl")
    }
}

/// Progress of a run, for the live run page.
///
/// A check that runs sends `Started` then `Finished`; a check skipped because of a dependency sends only
/// `Finished`, since it never started.
#[derive(Debug, Clone)]
pub enum CheckEvent {
    Started { check_id: String, title: String },
    Finished(CheckOutcome),
}

/// The result of one check in one run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckOutcome {
    pub check_id: String,
    pub title: String,
    pub pillar: String,
    pub weight: f64,
    pub required: bool,
    pub verdict: Verdict,
    /// Safe to show the learner: which behaviour failed, in general terms; never a hidden payload, header value
    /// or expected value.
    pub message: String,
    /// Hidden, for instructors: the full transcript of requests, expectations and answers.
    pub detail: String,
    pub duration_ms: u64,
}

/// How a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// Not run because a check it depends on did not pass.
    Skipped,
    /// A platform fault (a broken check definition, the grader's own client): never counts against the learner.
    Error,
}
