//! `gauntlet prove` on the bundled labs: the reference passes every check, each mutant fails exactly its
//! declared checks, and every hidden check is failed by at least one mutant. And it says so when that is not
//! true.

mod common;

use std::path::Path;

use common::proof::{self, prove};

fn reference(lab: &str) -> std::path::PathBuf {
    common::testsvc::reference(lab)
}

proved! {
    w01_health_is_proved => "w01-health",
    w02_crud_is_proved => "w02-crud",
    w03_persistence_is_proved => "w03-persistence",
    w04_concurrency_is_proved => "w04-concurrency",
    w05_container_is_proved => "w05-container",
    w06_deploy_is_proved => "w06-deploy",
    w09_contract_is_proved => "w09-contract",
    w10_security_is_proved => "w10-security",
    w11_observability_is_proved => "w11-observability",
    w12_llm_is_proved => "w12-llm",
}

#[test]
fn every_bundled_lab_with_mutants_has_a_proof_test() {
    // The labs that need the broker are proved in tests/prove_events.rs.
    let declared = [include_str!("prove.rs"), include_str!("prove_events.rs")].concat();
    for lab in proof::bundled_labs_with_mutants() {
        let id = lab.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            declared.contains(&format!("=> \"{id}\"")),
            "add {id} to `proved!` in tests/prove.rs (or prove_events.rs when it needs the broker)"
        );
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
