//! The check engine's `http` kind, run against the `testsvc` fixture as a plain local process: each
//! expectation passes on the correct service and fails on its defect, the learner-safe message never leaks a
//! hidden value, check files are refused with file and line, and the bundled w01/w02 suites catch their
//! defects.

mod common;

#[allow(dead_code)] // shared with checks_security and checks_openapi; not every helper is used here
#[path = "checks_http/support.rs"]
mod support;

#[path = "checks_http/engine.rs"]
mod engine;

#[path = "checks_http/flow.rs"]
mod flow;

#[path = "checks_http/load.rs"]
mod load;

#[path = "checks_http/labs.rs"]
mod labs;

#[path = "checks_http/burst.rs"]
mod burst;
