//! A bundled starter graded the way a learner's submission is: copied, built by its own Dockerfile through
//! Gauntlet's pipeline (`gauntlet grade`) and run against the lab's hidden checks.
//!
//! Nothing can be pulled here, so the starter's base images are local ones (`scripts/ci-images`); the only change
//! to the starter is the default of each build argument its Dockerfile declares for them (a multi-stage build
//! has one per stage), which a learner would pass as `--build-arg`.

use std::path::Path;
use std::process::Command;

/// Which build argument of the starter's Dockerfile names its base image, and the local image to put there.
pub struct BaseImage<'a> {
    /// The build argument, e.g. `GO_IMAGE`.
    pub arg: &'a str,
    /// Its default as the starter ships it, e.g. `golang:1.22-bookworm`.
    pub default: &'a str,
    /// The local image that stands in for it, e.g. `gauntlet-ci/golang:bookworm`.
    pub local: &'a str,
}

/// Asserts that a local image the test needs exists, naming the script that builds it.
pub fn require_image(image: &str, script: &str) {
    let inspect = Command::new("docker")
        .args(["image", "inspect", "-f", "{{.Id}}", image])
        .output()
        .expect("docker runs");
    assert!(
        inspect.status.success(),
        "{image} is missing: run {script} (scripts/test does)"
    );
}

/// Grades a copy of `labs/<lab>/starter` built on the local images of `bases` and returns the JSON report.
pub fn grade_starter(lab: &str, bases: &[BaseImage]) -> serde_json::Value {
    grade_starter_in(lab, "starter", bases)
}

/// Grades a copy of `labs/<lab>/<folder>` (e.g. `starters/rust`) built on the local images of `bases` and
/// returns the JSON report.
pub fn grade_starter_in(lab: &str, folder: &str, bases: &[BaseImage]) -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = tempfile::tempdir().expect("temp dir");
    let project = work.path().join("project");
    copy_dir(&root.join("labs").join(lab).join(folder), &project);
    let dockerfile = project.join("Dockerfile");
    let mut text = std::fs::read_to_string(&dockerfile).expect("Dockerfile");
    for base in bases {
        require_image(base.local, "scripts/ci-images");
        let local = text.replace(
            &format!("ARG {}={}", base.arg, base.default),
            &format!("ARG {}={}", base.arg, base.local),
        );
        assert_ne!(
            text, local,
            "the starter's Dockerfile declares ARG {}={}",
            base.arg, base.default
        );
        text = local;
    }
    std::fs::write(&dockerfile, text).expect("write");
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

/// Asserts that the run reached the checks and failed exactly `left` (by check id): every other check passed.
pub fn fails_exactly(report: &serde_json::Value, left: &[&str]) {
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
