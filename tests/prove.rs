//! `gauntlet prove` on the bundled labs: the reference passes every check, each mutant fails exactly its
//! declared checks, and every hidden check is failed by at least one mutant. And it says so when that is not
//! true.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn reference(lab: &str) -> PathBuf {
    common::testsvc::reference(lab)
}

fn prove(lab_dir: &Path, reference: &Path) -> (bool, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .arg("prove")
        .arg(lab_dir)
        .arg(reference)
        .arg("--json")
        .output()
        .unwrap();
    let proof = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("JSON proof: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), proof)
}

fn bundled_labs_with_mutants() -> Vec<PathBuf> {
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
macro_rules! proved {
    ($($name:ident => $lab:literal),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                prove_bundled($lab).await;
            }
        )*
        const PROVED: &[&str] = &[$($lab),*];
    };
}

proved! {
    w01_health_is_proved => "w01-health",
    w02_crud_is_proved => "w02-crud",
    w03_persistence_is_proved => "w03-persistence",
    w04_concurrency_is_proved => "w04-concurrency",
    w05_container_is_proved => "w05-container",
    w06_deploy_is_proved => "w06-deploy",
    w07_consumer_is_proved => "w07-consumer",
    w08_outbox_is_proved => "w08-outbox",
    w10_security_is_proved => "w10-security",
}

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[test]
fn every_bundled_lab_with_mutants_has_a_proof_test() {
    let found: Vec<String> = bundled_labs_with_mutants()
        .iter()
        .map(|l| l.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    assert_eq!(found, PROVED, "add the lab to `proved!`");
}

/// Proves bundled lab `id` by its reference and mutants, as CI requires of every lab with checks.
async fn prove_bundled(id: &str) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let lab = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs").join(id);
    let checks_dir = lab.join("checks");
    assert!(
        checks_dir.is_dir(),
        "{} has mutants but no checks",
        lab.display()
    );
    let reference = reference(id);
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

#[tokio::test]
async fn a_wrong_declaration_and_a_check_no_mutant_fails_are_both_reported() {
    let root = tempfile::tempdir().unwrap();
    let lab = root.path().join("w01-health");
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/w01-health");
    std::fs::create_dir_all(lab.join("checks")).unwrap();
    for f in ["lab.toml", "README.md"] {
        std::fs::copy(bundled.join(f), lab.join(f)).unwrap();
    }
    for e in std::fs::read_dir(bundled.join("checks")).unwrap().flatten() {
        std::fs::copy(e.path(), lab.join("checks").join(e.file_name())).unwrap();
    }
    // Only one mutant, and its declaration is wrong: the plain-text 404 does not break the health check.
    std::fs::write(
        lab.join("mutants.toml"),
        "[[mutant]]\nname = \"plain 404\"\nenv = { TESTSVC_DEFECT = \"no-json-404\" }\nfails = [\"health-json\"]\n",
    )
    .unwrap();
    let reference = reference("w01-health");
    let (ok, proof) = tokio::task::spawn_blocking(move || prove(&lab, &reference))
        .await
        .unwrap();
    assert!(!ok);
    let m = &proof["mutants"][0];
    assert_eq!(m["ok"], false);
    assert_eq!(m["failed"], serde_json::json!(["unknown-route-json-404"]));
    let never: Vec<&str> = proof["never_failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        never.contains(&"health-json") && never.contains(&"wrong-method-json-405"),
        "{never:?}"
    );
}
