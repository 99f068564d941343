//! The Go starters of weeks 5 and 6, built by their own Dockerfiles through Gauntlet's pipeline (`gauntlet
//! grade`) and graded by the lab's hidden checks: each passes every check but exactly the ones its README leaves
//! to the learner (its `TODO(week N)` lines).
//!
//! Nothing can be pulled here, so the build stage's Go image is the local one `scripts/ci-images` builds
//! (Debian's Go), passed through the starter's `GO_IMAGE` build argument (tests/common/starter.rs).

mod common;

use common::starter::{fails_exactly, grade_starter, BaseImage};

/// The Go starters' build image and the local one (scripts/ci-images) that stands in for it.
const GO: BaseImage = BaseImage {
    arg: "GO_IMAGE",
    default: "golang:1.22-bookworm",
    local: "gauntlet-ci/golang:bookworm",
};

#[test]
fn the_week_5_go_starter_builds_from_its_dockerfile_and_leaves_exactly_its_todos() {
    let report = grade_starter("w05-container", &[GO]);
    fails_exactly(&report, W05_LEFT);
}

#[test]
fn the_week_6_go_starter_builds_from_its_dockerfile_and_leaves_exactly_its_todos() {
    let report = grade_starter("w06-deploy", &[GO]);
    fails_exactly(&report, W06_LEFT);
}

/// Week 5's TODO: the image runs as root.
const W05_LEFT: &[&str] = &["image-non-root"];
/// Week 6's TODOs: no rolling update with `maxUnavailable: 0`; no `preStop`.
const W06_LEFT: &[&str] = &["manifests-replicas", "manifests-graceful-shutdown"];
