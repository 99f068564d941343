//! Grading: what happens to a submission after it is queued.
//!
//! - `pipeline.rs`: one run, start to end, with no database: unpack, build, start, wait healthy, check, collect
//!   logs, and always remove what was created. `gauntlet grade` calls it directly.
//! - `worker.rs`: the queue side: a supervised pool of workers claiming runs with a lease; bounded shutdown.
//! - `attempt.rs`: one claimed attempt: heartbeat, cancel on lease loss, record the result once, put the run
//!   back on a platform fault; `journal.rs`: its events into the store in batches, capped.
//! - `explain.rs`: what the learner reads about a limit their service hit, or its last lines when it did not
//!   start.
//! - `events.rs`: what a run reports as it goes (stages, build log lines, verdicts).
//! - `test_stage.rs`: a lab's test stage, built before the final image, and the shared build budget;
//!   `junit.rs`: counting the tests of the JUnit XML report the stage leaves in its image.
//! - `counterparts.rs`: the lab's counterparts (a broker) started, made ready and given their topics before the
//!   service, and their logs after it.
//! - `service.rs`: the service's environment and container settings; `control.rs`: restarting it for checks,
//!   and starting instances of it (`instance.rs`);
//!   `secrets.rs`: per-run secrets under the server's key; `submitted.rs`: a file of the submission for a check.
//! - `grader.rs`: a lab's own grader (the `grader` check kind): its image made ready before the checks, its one
//!   execution per run.
//! - `submit.rs`, `reaper.rs`, `prove.rs`: taking an upload, start-up clean-up, `gauntlet prove`.

mod attempt;
pub mod control;
pub mod counterparts;
pub mod events;
mod explain;
pub mod grader;
mod instance;
pub mod journal;
mod junit;
pub mod pipeline;
pub mod prove;
pub mod reaper;
pub mod secrets;
pub mod service;
pub mod submit;
mod submitted;
mod test_stage;
pub mod worker;

pub use events::RunEvent;
pub use journal::EventLimits;
pub use pipeline::{execute, Job, Report};
pub use worker::{ClaimHook, WorkerPool, WorkerSettings};
