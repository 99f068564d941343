//! The starters of the event labs (w07-consumer in Python and Rust, w08-outbox in Python), built by their own
//! Dockerfiles through
//! Gauntlet's pipeline (`gauntlet grade`) with the real broker beside them (tansu, `scripts/ci-broker`), and
//! graded by the lab's hidden checks: each passes every check but exactly the ones its README leaves to the
//! learner (its `TODO(week N)` lines), which are the checks of the week's lesson.
//!
//! Nothing can be pulled here, so `python:3.12-slim` is replaced by the local `gauntlet-ci/python:bookworm`
//! (`scripts/ci-images`: Debian's Python and pip) through the starters' `PYTHON_IMAGE` build argument; their
//! `pip install` downloads the pinned client library from PyPI, as the labs' `[build] network` allows. The Rust
//! starter's two stages get `gauntlet-ci/rust:bookworm` (the host's stable Rust and a C compiler) for
//! `rust:1.95-bookworm` and `gauntlet-ci/debian:bookworm` for `debian:bookworm-slim`; its `cargo build --locked`
//! downloads the crates Cargo.lock pins from crates.io and compiles them, librdkafka included, in the build.
//! scripts/test: needs the broker (tansu, scripts/ci-broker)

mod common;

use std::time::Instant;

use common::starter::{fails_exactly, grade_starter, grade_starter_in, require_image, BaseImage};

/// The Python starters' base image and the local one that stands in for it.
const PYTHON: BaseImage = BaseImage {
    arg: "PYTHON_IMAGE",
    default: "python:3.12-slim",
    local: "gauntlet-ci/python:bookworm",
};

#[test]
fn the_week_7_consumer_starter_builds_runs_beside_the_broker_and_leaves_exactly_its_todos() {
    require_image(gauntlet::sandbox::DEFAULT_KAFKA_IMAGE, "scripts/ci-broker");
    let report = grade_starter("w07-consumer", &[PYTHON]);
    fails_exactly(&report, W07_LEFT);
}

/// The Rust starter's build stage (the toolchain) and runtime stage, and the local images that stand in for them.
const RUST: [BaseImage; 2] = [
    BaseImage {
        arg: "RUST_IMAGE",
        default: "rust:1.95-bookworm",
        local: "gauntlet-ci/rust:bookworm",
    },
    BaseImage {
        arg: "RUNTIME_IMAGE",
        default: "debian:bookworm-slim",
        local: "gauntlet-ci/debian:bookworm",
    },
];

/// The same lesson in the other ecosystem: the Rust starter leaves the same two TODOs, so it fails exactly the
/// same checks as the Python one, and builds (librdkafka and SQLite compiled from source, one CPU) within the
/// lab's build timeout (900 s).
#[test]
fn the_week_7_rust_starter_builds_runs_beside_the_broker_and_leaves_exactly_the_same_todos() {
    require_image(gauntlet::sandbox::DEFAULT_KAFKA_IMAGE, "scripts/ci-broker");
    let started = Instant::now();
    let report = grade_starter_in("w07-consumer", "starters/rust", &RUST);
    fails_exactly(&report, W07_LEFT);
    let checks_ms: i64 = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["duration_ms"].as_i64())
        .sum();
    eprintln!(
        "measured: the Rust w07 starter graded in {:.0?}, {checks_ms} ms of it in the checks",
        started.elapsed()
    );
}

#[test]
fn the_week_8_outbox_starter_builds_runs_beside_the_broker_and_leaves_exactly_its_todos() {
    require_image(gauntlet::sandbox::DEFAULT_KAFKA_IMAGE, "scripts/ci-broker");
    let report = grade_starter("w08-outbox", &[PYTHON]);
    fails_exactly(&report, W08_LEFT);
}

/// Week 7's TODOs: no processed-ids table (a copy, or a redelivery after a restart, applies again) and no offset
/// commit after the transaction (the group commits nothing, so a restart re-reads the topic from the start).
/// Validation, the dead-letter topic, renames by seq and batching are done, so their checks pass.
const W07_LEFT: &[&str] = &[
    "each-event-once",
    "redelivered-after-restart",
    "survives-crash",
    "offsets-committed",
];

/// Week 8's TODOs: no event recorded with the change, and no relay publishing them. The notes API of weeks 2-4,
/// `/outbox` and the health endpoint are done, so those checks pass.
const W08_LEFT: &[&str] = &[
    "publishes-each-change",
    "rejected-publish-nothing",
    "noop-publishes-nothing",
    "version-order",
    "broker-outage",
    "kill-loses-nothing",
];
