//! The load generator against the `testsvc` fixture run as a local process: it counts what the server
//! answered, leaves the warm-up out, orders its percentiles, and counts a service that is down or broken as
//! errors instead of failing; the open loop against a server that stalls; then the `load` check kind, its file
//! errors, and `gauntlet load`.
//!
//! No assertion here is on the generator's own speed: that is `scripts/bench-loadgen`'s job.

mod common;

#[allow(dead_code)]
#[path = "checks_http/support.rs"]
mod support;

#[path = "loadgen/generator.rs"]
mod generator;

#[path = "loadgen/check.rs"]
mod check;

#[path = "loadgen/cli.rs"]
mod cli;

#[path = "loadgen/open.rs"]
mod open;
