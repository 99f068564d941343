//! The Go starters of weeks 5 and 6, built by their own Dockerfiles through Gauntlet's pipeline (`gauntlet
//! grade`) and graded by the lab's hidden checks: each passes every check but exactly the ones its README leaves
//! to the learner (its `TODO(week N)` lines).
//!
//! Nothing can be pulled here, so the build stage's Go image is the local one `scripts/ci-images` builds
//! (Debian's Go); the only change to the starter is the default of its `GO_IMAGE` build argument, which a
//! learner would pass as `--build-arg`.

use std::path::Path;
use std::process::Command;

/// The local Go builder image (scripts/ci-images).
const GO_IMAGE: &str = "gauntlet-ci/golang:bookworm";

/// Grades a copy of `labs/<lab>/starter` and returns the report.
fn grade_starter(lab: &str) -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let inspect = Command::new("docker")
        .args(["image", "inspect", "-f", "{{.Id}}", GO_IMAGE])
        .output()
        .expect("docker runs");
    assert!(
        inspect.status.success(),
        "{GO_IMAGE} is missing: run scripts/ci-images (scripts/test does)"
    );
    let work = tempfile::tempdir().expect("temp dir");
    let project = work.path().join("project");
    copy_dir(&root.join("labs").join(lab).join("starter"), &project);
    let dockerfile = project.join("Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).expect("Dockerfile");
    let local = text.replace(
        "ARG GO_IMAGE=golang:1.22-bookworm",
        &format!("ARG GO_IMAGE={GO_IMAGE}"),
    );
    assert_ne!(text, local, "the starter's Dockerfile takes GO_IMAGE");
    std::fs::write(&dockerfile, local).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .arg("grade")
        .arg("--json")
        .arg("--seed")
        .arg("7")
        .arg("--data-dir")
        .arg(work.path().join("data"))
        .arg("--build-base-images")
        .arg("gauntlet-ci/*")
        .arg(root.join("labs").join(lab))
        .arg(&project)
        .output()
        .expect("gauntlet grade runs");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("a JSON report: {}", String::from_utf8_lossy(&out.stderr)))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).expect("copy");
        }
    }
}

/// Asserts that the run reached the checks and failed exactly `left` (by check id).
fn fails_exactly(report: &serde_json::Value, left: &[&str]) {
    assert_eq!(
        report["stage"], "checks",
        "the starter builds and starts: {}\n{}",
        report["reason"], report["build_log"]
    );
    let checks = report["checks"].as_array().expect("checks");
    assert!(!checks.is_empty(), "the lab has checks: {report}");
    for c in checks {
        let id = c["check_id"].as_str().expect("id");
        let expected = if left.contains(&id) { "fail" } else { "pass" };
        assert_eq!(
            c["verdict"], expected,
            "{id}: {}\n{}",
            c["message"], c["detail"]
        );
    }
    for id in left {
        assert!(
            checks.iter().any(|c| c["check_id"] == *id),
            "the lab has a check `{id}`"
        );
    }
}

#[test]
fn the_week_5_go_starter_builds_from_its_dockerfile_and_leaves_exactly_its_todos() {
    let report = grade_starter("w05-container");
    fails_exactly(&report, W05_LEFT);
}

#[test]
fn the_week_6_go_starter_builds_from_its_dockerfile_and_leaves_exactly_its_todos() {
    let report = grade_starter("w06-deploy");
    fails_exactly(&report, W06_LEFT);
}

/// Week 5's TODO: the image runs as root.
const W05_LEFT: &[&str] = &["image-non-root"];
/// Week 6's TODOs: no rolling update with `maxUnavailable: 0`; no `preStop`.
const W06_LEFT: &[&str] = &["manifests-replicas", "manifests-graceful-shutdown"];
