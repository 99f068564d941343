//! The Python starters of the event labs (w07-consumer, w08-outbox), built by their own Dockerfiles through
//! Gauntlet's pipeline (`gauntlet grade`) with the real broker beside them (tansu, `scripts/ci-broker`), and
//! graded by the lab's hidden checks: each passes every check but exactly the ones its README leaves to the
//! learner (its `TODO(week N)` lines), which are the checks of the week's lesson.
//!
//! Nothing can be pulled here, so `python:3.12-slim` is replaced by the local `gauntlet-ci/python:bookworm`
//! (`scripts/ci-images`: Debian's Python and pip) through the starters' `PYTHON_IMAGE` build argument; their
//! `pip install` downloads the pinned client library from PyPI, as the labs' `[build] network` allows.
//! scripts/test: needs the broker (tansu, scripts/ci-broker)

mod common;

use common::starter::{fails_exactly, grade_starter, require_image, BaseImage};

/// The Python starters' base image and the local one that stands in for it.
const PYTHON: BaseImage = BaseImage {
    arg: "PYTHON_IMAGE",
    default: "python:3.12-slim",
    local: "gauntlet-ci/python:bookworm",
};

#[test]
fn the_week_7_consumer_starter_builds_runs_beside_the_broker_and_leaves_exactly_its_todos() {
    require_image(gauntlet::sandbox::DEFAULT_KAFKA_IMAGE, "scripts/ci-broker");
    let report = grade_starter("w07-consumer", &PYTHON);
    fails_exactly(&report, W07_LEFT);
}

#[test]
fn the_week_8_outbox_starter_builds_runs_beside_the_broker_and_leaves_exactly_its_todos() {
    require_image(gauntlet::sandbox::DEFAULT_KAFKA_IMAGE, "scripts/ci-broker");
    let report = grade_starter("w08-outbox", &PYTHON);
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
