//! The `swap` kind on the real engine: `gauntlet prove` of lab w06-deploy starts the reference (the static
//! testsvc) and each mutant, and runs the swap check on each, two more containers of its image on the run's
//! network and volume behind the router. The reference's swap passes with requests in flight on blue at
//! SIGTERM; each mutant of the swap fails it, for its own reason, in the learner's message.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const SWAP: &str = "zero-downtime-swap";

fn reference() -> PathBuf {
    common::testsvc::reference("w06-deploy")
}

fn prove() -> serde_json::Value {
    let lab = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/w06-deploy");
    prove_with(&lab, &reference())
}

fn prove_with(lab: &Path, reference: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .arg("prove")
        .arg(lab)
        .arg(reference)
        .arg("--json")
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("JSON proof: {}", String::from_utf8_lossy(&out.stderr)))
}

fn swap_outcome(trial: &serde_json::Value) -> &serde_json::Value {
    trial["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["check_id"] == SWAP)
        .unwrap_or_else(|| panic!("no swap outcome in {trial:#}"))
}

#[tokio::test]
async fn the_reference_swaps_without_a_lost_request_and_each_mutant_fails_for_its_reason() {
    let proof = tokio::task::spawn_blocking(prove).await.unwrap();

    let reference = swap_outcome(&proof["reference"]);
    assert_eq!(reference["verdict"], "pass", "{reference:#}");
    let message = reference["message"].as_str().unwrap();
    assert!(
        message.contains("0 error answers, 0 without a complete answer; green took over at")
            && message.contains("blue exited with status 0"),
        "{message}"
    );
    let detail = reference["detail"].as_str().unwrap();
    assert!(
        detail.contains("timeline (requests ended per 100 ms)"),
        "{detail}"
    );
    // The drain was really tested: slow requests were on blue when it got SIGTERM.
    let in_flight: usize = detail
        .split("SIGTERM to blue (")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no SIGTERM milestone in {detail}"));
    assert!(in_flight >= 1, "{detail}");
    assert!(
        detail.contains("carried note read back from green: GET /notes/"),
        "{detail}"
    );

    let expected = [
        (
            "ready before its store is open",
            "answered with an error status",
        ),
        (
            "drops in-flight requests on SIGTERM",
            "got no complete answer",
        ),
        (
            "exits 1 on SIGTERM",
            "blue exited with status 1 after SIGTERM",
        ),
        ("version ignores APP_VERSION", "/version on blue answered"),
        (
            "keeps notes in memory only",
            "a note written to blue before green started",
        ),
    ];
    let mutants = proof["mutants"].as_array().unwrap();
    for (name, says) in expected {
        let trial = mutants
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("no mutant `{name}` in {proof:#}"));
        let outcome = swap_outcome(trial);
        assert_eq!(outcome["verdict"], "fail", "{name}: {outcome:#}");
        let message = outcome["message"].as_str().unwrap();
        assert!(message.contains(says), "{name}: `{says}` not in {message}");
        // The learner's line never carries a body the service sent.
        assert!(!message.contains('{'), "{name}: {message}");
    }
    assert_eq!(proof["reference"]["ok"], true, "{proof:#}");
}

/// The near miss: a version that takes long to open its store (2.5 s rather than the reference's 0.5 s) is kept
/// out of traffic until its `/readyz` says so, and passes.
#[tokio::test]
async fn a_version_slow_to_get_ready_is_waited_for_and_passes() {
    let root = tempfile::tempdir().unwrap();
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/w06-deploy");
    let lab = root.path().join("w06-deploy");
    std::fs::create_dir_all(lab.join("checks")).unwrap();
    for f in ["lab.toml", "README.md"] {
        std::fs::copy(bundled.join(f), lab.join(f)).unwrap();
    }
    for f in ["01-health.toml", "30-swap.toml"] {
        std::fs::copy(bundled.join("checks").join(f), lab.join("checks").join(f)).unwrap();
    }
    let slow = root.path().join("slow-reference");
    std::fs::create_dir_all(&slow).unwrap();
    let reference = tokio::task::spawn_blocking(reference).await.unwrap();
    std::fs::copy(reference.join("testsvc"), slow.join("testsvc")).unwrap();
    let dockerfile = std::fs::read_to_string(reference.join("Dockerfile")).unwrap();
    std::fs::write(
        slow.join("Dockerfile"),
        dockerfile.replace("ENTRYPOINT", "ENV STORE_OPEN_MS=2500\nENTRYPOINT"),
    )
    .unwrap();

    let proof = tokio::task::spawn_blocking(move || prove_with(&lab, &slow))
        .await
        .unwrap();
    let outcome = swap_outcome(&proof["reference"]);
    assert_eq!(outcome["verdict"], "pass", "{outcome:#}");
    // Green took over once ready, not once listening: at least the store's 2.5 s after it was launched.
    let message = outcome["message"].as_str().unwrap();
    let after: f64 = message
        .split("s after it started")
        .next()
        .and_then(|m| m.rsplit(", ").next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no take-over time in {message}"));
    assert!(after >= 2.5, "{message}");
}
