//! The `lifecycle` kind: what a platform does to a service, checked on an instance of it that the check starts
//! itself (`ServiceControl::launch`), so the run's own service is left alone.
//!
//! The instance gets a port drawn from the run's seed (never 8080, the default a hard-coded service would
//! use), the check's settings in its environment and, when the check says so, `READY_DELAY_MS`: the lab's
//! documented promise that the service listens at once but reports not ready for that long, as one warming a
//! cache would. The scenario then runs in two phases, as far as the check's expectations need:
//!
//! 1. start: `/readyz` is polled on fresh connections from the moment the container starts, until it answers
//!    200 (a refused connection is "not up yet");
//! 2. SIGTERM: slow requests (`/work?ms=N`) are sent and, once each is written, SIGTERM; `/readyz` is polled
//!    while they run, the answers are read in full, and the exit code and time are read from the engine.
//!
//! Each expectation ([`Expect`]) is one property a check grades, so a lab can give each property its own check
//! and each defect its own failing check. The learner reads which property failed with the measured times; the
//! instructor's transcript has the whole timeline.
//!
//! - `parse.rs`: the `[check.lifecycle]` table; `probe.rs`: HTTP on fresh connections, with "request written"
//!   known; `scenario.rs`: the two phases and the timeline; `judge.rs`: the verdict and its two texts.

mod judge;
pub(super) mod parse;
mod probe;
mod scenario;

use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng;

use super::ServiceControl;

/// The environment variable that asks the service for a start-up delay (documented in the w05 README).
pub const READY_DELAY_VAR: &str = "READY_DELAY_MS";

/// One lifecycle check, as written under `[check.lifecycle]`.
#[derive(Debug, Clone)]
pub struct LifecycleCheck {
    /// What this check grades, in scenario order; the scenario runs as far as the last one needs.
    pub expect: Vec<Expect>,
    /// Settings passed to the instance on top of the run's environment.
    pub env: BTreeMap<String, String>,
    /// Passed as [`READY_DELAY_VAR`] when set.
    pub ready_delay: Option<Duration>,
    /// From the container's start to the first 200 of the readiness route.
    pub ready_within: Duration,
    /// The readiness route, `/readyz` unless the check says otherwise.
    pub ready_path: String,
    /// The slow route, called as `<slow_path>?ms=<slow_ms>`.
    pub slow_path: String,
    /// Slow requests in flight when SIGTERM is sent.
    pub slow_requests: usize,
    pub slow_ms: u64,
    /// From SIGTERM to the platform's SIGKILL.
    pub grace: Duration,
}

/// One property of a service's life that a check grades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Expect {
    /// It accepts connections on the port given in `PORT` (not a default) within `ready_within`.
    Listens,
    /// Its readiness route answers not ready (503) before its first 200, for about the start-up delay from
    /// when it began to listen (at least half of it: the moment it began is seen up to a probe late).
    NotReadyWhileStarting,
    /// Its readiness route answers 200 within `ready_within`.
    Ready,
    /// From SIGTERM on, with requests still in flight, the readiness route never answers 2xx or 3xx.
    NotReadyAfterSigterm,
    /// Every request in flight at SIGTERM is answered 200 with its whole body.
    InFlightAnswered,
    /// The process exits with status 0 within the grace period after SIGTERM.
    ExitsZero,
}

impl Expect {
    pub const ALL: [Expect; 6] = [
        Expect::Listens,
        Expect::NotReadyWhileStarting,
        Expect::Ready,
        Expect::NotReadyAfterSigterm,
        Expect::InFlightAnswered,
        Expect::ExitsZero,
    ];

    /// The name in check files.
    pub fn name(self) -> &'static str {
        match self {
            Expect::Listens => "listens",
            Expect::NotReadyWhileStarting => "not-ready-while-starting",
            Expect::Ready => "ready",
            Expect::NotReadyAfterSigterm => "not-ready-after-sigterm",
            Expect::InFlightAnswered => "in-flight-answered",
            Expect::ExitsZero => "exits-zero",
        }
    }

    /// Whether the scenario must send SIGTERM to grade this.
    pub fn needs_sigterm(self) -> bool {
        matches!(
            self,
            Expect::NotReadyAfterSigterm | Expect::InFlightAnswered | Expect::ExitsZero
        )
    }
}

/// What a lifecycle check concluded: the property that failed, with measured times; for the instructor the
/// instance, its port and environment names, the whole timeline.
pub(super) use super::judged::Judged;

/// The instance's port: drawn from the check's seeded generator, never the default 8080 nor the run's own.
pub(super) fn port_for(rng: &mut impl Rng, service_port: Option<u16>) -> u16 {
    loop {
        let port = rng.gen_range(20_000..60_000);
        if port != 8080 && Some(port) != service_port {
            return port;
        }
    }
}

/// Runs the scenario on a new instance and judges it.
pub(super) async fn run(
    check: &LifecycleCheck,
    control: Option<&dyn ServiceControl>,
    port: u16,
) -> Judged {
    let Some(control) = control else {
        return judge::broken("this grader cannot start instances of the service");
    };
    let seen = scenario::run(check, control, port).await;
    judge::judge(check, port, &seen)
}
