//! Proofs of the bundled labs (`gauntlet prove` on each lab with its testsvc reference), shared by
//! tests/prove.rs and tests/prove_events.rs (the labs that need the broker, run after it is built).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `gauntlet prove --json`: whether it said "proved", and the proof.
pub fn prove(lab_dir: &Path, reference: &Path) -> (bool, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .arg("prove")
        .arg(lab_dir)
        .arg(reference)
        .arg("--json")
        // Labs' graders (labs/<id>/grader/) take their Go builder as a build argument; nothing can be pulled here.
        .env(
            "GAUNTLET_GRADER_BUILD_ARGS",
            "GO_IMAGE=gauntlet-ci/golang:bookworm",
        )
        .output()
        .unwrap();
    let proof = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("JSON proof: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), proof)
}

/// The bundled labs that declare mutants, sorted.
pub fn bundled_labs_with_mutants() -> Vec<PathBuf> {
    let labs = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs");
    let mut found: Vec<PathBuf> = std::fs::read_dir(labs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("mutants.toml").exists())
        .collect();
    found.sort();
    found
}

/// One test per bundled lab with mutants, so that one lab that fails does not hide the others. They take turns
/// (`prove_bundled` holds [`ONE_AT_A_TIME`]): several mutants are caught by timing (a kill landing mid-stream,
/// a race), which a second proof beside them on two cores would blur.
#[macro_export]
macro_rules! proved {
    ($($name:ident => $lab:literal),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                $crate::common::proof::prove_bundled($lab).await;
            }
        )*
    };
}

/// Held by each proof: several mutants are caught by timing (a kill landing mid-stream, a race), which a second
/// proof beside them on two cores would blur.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Proves bundled lab `id` by its reference and mutants, as CI requires of every lab with checks.
pub async fn prove_bundled(id: &str) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let lab = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs").join(id);
    let checks_dir = lab.join("checks");
    assert!(
        checks_dir.is_dir(),
        "{} has mutants but no checks",
        lab.display()
    );
    let reference = super::testsvc::reference(id);
    let (ok, proof) = tokio::task::spawn_blocking({
        let lab = lab.clone();
        move || prove(&lab, &reference)
    })
    .await
    .unwrap();
    assert!(ok, "{id} is not proved: {proof:#}");
    assert_eq!(proof["reference"]["ok"], true);
    assert!(proof["never_failed"].as_array().unwrap().is_empty());
    assert!(proof["mutants"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["ok"] == true));
    // Every near miss (a right service of unusual design) passed every check.
    assert!(proof["near_misses"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["ok"] == true && m["failed"].as_array().unwrap().is_empty()));
    if lab.join("lab.toml").exists()
        && std::fs::read_to_string(lab.join("lab.toml"))
            .unwrap()
            .contains("test_stage")
    {
        // The reference's own tests ran in its test stage, and stopped the build of a mutant.
        assert!(
            proof["mutants"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["failed_at"] == "build"
                    && m["failure"].as_str().unwrap().contains("FAILED")),
            "{id}: {proof:#}"
        );
    }
    if lab.join("lab.toml").exists()
        && std::fs::read_to_string(lab.join("lab.toml"))
            .unwrap()
            .contains("test_report")
    {
        // A stage that builds without running tests, or without leaving its report, stopped the build.
        for why in ["has no test cases", "wrote no JUnit XML report"] {
            assert!(
                proof["mutants"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m["failed_at"] == "build"
                        && m["failure"].as_str().unwrap().contains(why)),
                "{id} has no mutant whose report {why}: {proof:#}"
            );
        }
    }
}
