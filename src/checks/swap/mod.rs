//! The `swap` kind: a zero-downtime release of the learner's service, graded the way a platform performs one.
//!
//! The learner's image is started twice beside the run's service, as `blue` then `green` (`APP_VERSION`), both
//! on the run's data volume. Gauntlet's own router ([`router`]) stands in front: steady mixed traffic (reads,
//! writes, slow requests; [`traffic`]) goes through it to blue; green is started, and only once green's
//! readiness path answers 200 do new requests go to green; then blue gets SIGTERM and must finish what it has
//! in flight and exit 0 within its grace period. Every request of the traffic must get a whole, successful
//! answer, and `/version` must move from blue to green and never back ([`judge`]).
//!
//! The learner reads a one-line summary (requests, errors, when green took over, how blue exited); the
//! instructor reads the timeline in slices of 100 ms ([`timeline`]) and the failed requests in full.
//!
//! - `parse.rs`: the `[check.swap]` table, with diagnostics;
//! - `steps.rs`: the swap itself, step by step, through [`crate::checks::ServiceControl::launch`];
//! - `router.rs`, `traffic.rs`, `timeline.rs`, `judge.rs`: as above.

mod judge;
pub(super) mod parse;
pub mod router;
mod steps;
#[cfg(test)]
mod testing;
mod timeline;
pub mod traffic;

use std::time::Duration;

use super::{CheckContext, Verdict};

/// How long the move to green may wait for a slow request to have just left for blue (`steps.rs`).
const SLOW_WAIT: Duration = Duration::from_secs(3);

/// One swap check, as written under `[check.swap]`.
#[derive(Debug, Clone)]
pub struct SwapCheck {
    /// The variable each instance gets its version name in (`APP_VERSION`).
    pub version_env: String,
    /// The old and the new version's names (`blue`, `green`); also the router's backend names.
    pub blue: String,
    pub green: String,
    /// Green gets traffic only once this answers 200 (polled on green directly, not through the router).
    pub ready_path: String,
    /// Answers `{"version": "<name>"}`; one of `reads`.
    pub version_path: String,
    /// GET paths the read lanes cycle through.
    pub reads: Vec<String>,
    /// Where write lanes POST `write_json`.
    pub write_path: String,
    pub write_json: String,
    /// A GET that takes a while to answer, so that requests are in flight on blue when it gets SIGTERM.
    pub slow_path: String,
    pub read_lanes: usize,
    pub write_lanes: usize,
    pub slow_lanes: usize,
    /// Pause between two requests of one lane.
    pub pace: Duration,
    /// Traffic on blue alone before green starts.
    pub before: Duration,
    /// Traffic on green after blue exited (or its grace ended).
    pub after: Duration,
    /// How long blue, then green, may take to answer 200 on `ready_path` from their start.
    pub ready_within: Duration,
    /// How long blue may take to exit after SIGTERM; also how long the last requests may take once the
    /// traffic is told to stop.
    pub grace: Duration,
    /// Whether a note written to blue before green starts must be read back from green (the data is shared).
    pub carry_over: bool,
}

impl SwapCheck {
    /// The settings, for the detail.
    fn describe(&self) -> String {
        format!(
            "swap {blue} → {green} ({env}); ready on {ready} within {within} s; lanes: {r} read ({reads}), \
             {w} write (POST {wp}), {s} slow ({sp}), {pace} ms apart; {before} ms before green starts, \
             {after} ms after blue exits; blue's grace {grace} s; carry-over {carry}",
            blue = self.blue,
            green = self.green,
            env = self.version_env,
            ready = self.ready_path,
            within = self.ready_within.as_secs(),
            r = self.read_lanes,
            reads = self.reads.join(" "),
            w = self.write_lanes,
            wp = self.write_path,
            s = self.slow_lanes,
            sp = self.slow_path,
            pace = self.pace.as_millis(),
            before = self.before.as_millis(),
            after = self.after.as_millis(),
            grace = self.grace.as_secs(),
            carry = if self.carry_over { "on" } else { "off" },
        )
    }

    /// The longest a swap can take when every wait runs out: what the check's `timeout_secs` must exceed.
    pub fn longest(&self) -> Duration {
        // Blue's and green's start, before and after, the wait for a slow request, blue's grace, then the wait
        // for the last answers.
        self.ready_within * 2 + self.before + self.after + SLOW_WAIT + self.grace * 2
    }
}

/// What a swap check concluded: the learner's one-line summary and what failed; for the instructor the settings,
/// the swap's own requests, the failed requests and the timeline.
pub(super) use super::judged::Judged;

/// Runs the swap with the run's service control; `token` marks the note carried over (from the run's seed).
pub(super) async fn run(check: &SwapCheck, ctx: &CheckContext, token: &str) -> Judged {
    let Some(control) = ctx.control.as_deref() else {
        return Judged {
            verdict: Verdict::Error,
            message: String::new(),
            detail: "no service control: the grader cannot start instances here".to_string(),
        };
    };
    steps::swap(check, control, token).await
}
