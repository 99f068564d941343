//! Grading: what happens to a submission after it is queued.
//!
//! - `pipeline.rs`: one run, start to end, with no database: unpack, build, start, wait healthy, check, collect
//!   logs, and always remove what was created. `gauntlet grade` calls it directly.
//! - `worker.rs`: the queue side: claim a run with a lease, heartbeat, feed the pipeline's events into the
//!   store, record the result once, put the run back on a platform fault.
//! - `events.rs`: what a run reports as it goes (stages, build log lines, verdicts).
//! - `test_stage.rs`: a lab's test stage, built before the final image, and the shared build budget.
//! - `service.rs`: the service's environment and container settings; `control.rs`: restarting it for checks;
//!   `secrets.rs`: per-run secrets under the server's key.
//! - `submit.rs`, `reaper.rs`, `prove.rs`: taking an upload, start-up clean-up, `gauntlet prove`.

pub mod control;
pub mod events;
pub mod pipeline;
pub mod prove;
pub mod reaper;
pub mod secrets;
pub mod service;
pub mod submit;
mod test_stage;
pub mod worker;

pub use events::RunEvent;
pub use pipeline::{execute, Job, Report};
pub use worker::{WorkerPool, WorkerSettings};
