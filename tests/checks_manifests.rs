//! The check engine's `manifests` kind on lab w06-deploy's own checks, run against `testsvc` as a local
//! process: the reference's manifests pass every rule, each `manifests-*` defect fails exactly the check its
//! mutant declares, with a learner message naming the object, the field path and the rule; malformed
//! manifests checks are refused with file and line.

mod common;

#[allow(dead_code)] // shared with checks_http; not every helper is used here
#[path = "checks_http/support.rs"]
mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gauntlet::checks::{mutants, run_suite, CheckContext, CheckOutcome, CheckSuite, Verdict};

use support::Service;

fn lab() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/w06-deploy")
}

/// The course's pillars that w06's checks name: its own, and week 1 and 2's through `90-earlier.toml`.
fn pillars() -> Vec<String> {
    vec!["cloud-native".to_string(), "language".to_string()]
}

/// The lab's manifests checks (the other kinds of the lab need a container, not a local process).
fn manifests_suite() -> CheckSuite {
    let mut suite = CheckSuite::load(&lab(), &pillars()).expect("w06 checks load");
    suite.checks.retain(|c| c.kind.name() == "manifests");
    assert!(suite.checks.len() >= 14, "one check per rule");
    suite
}

async fn run(defect: &str) -> Vec<CheckOutcome> {
    let svc = if defect.is_empty() {
        Service::with_env(&[("GAUNTLET_LAB", "w06-deploy")])
    } else {
        Service::with_env(&[("GAUNTLET_LAB", "w06-deploy"), ("TESTSVC_DEFECT", defect)])
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let ctx = CheckContext {
        seed: 1,
        env: Default::default(),
        control: None,
    };
    run_suite(&manifests_suite(), &svc.target, &ctx, &tx).await
}

fn failed(outcomes: &[CheckOutcome]) -> BTreeSet<String> {
    outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::Fail)
        .map(|o| o.check_id.clone())
        .collect()
}

#[tokio::test]
async fn the_reference_manifests_pass_every_rule() {
    for o in run("").await {
        assert_eq!(
            o.verdict,
            Verdict::Pass,
            "{}: {}\n{}",
            o.check_id,
            o.message,
            o.detail
        );
        assert!(
            o.detail.contains("object: Deployment/notes"),
            "{}",
            o.detail
        );
    }
}

#[tokio::test]
async fn each_manifests_defect_fails_exactly_the_checks_its_mutant_declares() {
    let suite = CheckSuite::load(&lab(), &pillars()).expect("w06 checks load");
    let declared = mutants::load(&lab(), &suite).expect("w06 mutants load");
    let mut seen = 0;
    for m in declared {
        let Some(defect) = m.env.get("TESTSVC_DEFECT") else {
            continue;
        };
        if !m.fails.iter().any(|id| id.starts_with("manifests-")) {
            continue;
        }
        seen += 1;
        let outcomes = run(defect).await;
        let want: BTreeSet<String> = m.fails.iter().cloned().collect();
        assert_eq!(failed(&outcomes), want, "mutant `{}`", m.name);
        for o in outcomes.iter().filter(|o| o.verdict == Verdict::Fail) {
            assert!(o.detail.starts_with("rule: "), "{}", o.detail);
        }
    }
    assert!(
        seen >= 14,
        "a mutant per rule, and the invalid YAML ones: {seen}"
    );
}

async fn message_of(defect: &str, id: &str) -> String {
    let outcomes = run(defect).await;
    let o = outcomes
        .into_iter()
        .find(|o| o.check_id == id)
        .expect("the check ran");
    assert_eq!(o.verdict, Verdict::Fail, "{}", o.detail);
    o.message
}

#[tokio::test]
async fn a_failure_names_the_object_the_field_path_and_the_rule() {
    let m = message_of("manifests-writable-root", "manifests-read-only-root").await;
    assert!(
        m.contains("Deployment/notes: spec.template.spec.containers[notes].securityContext.readOnlyRootFilesystem is false"),
        "{m}"
    );
    assert!(m.contains("(rule read-only-root)"), "{m}");
    let m = message_of("manifests-service-by-number", "manifests-service").await;
    assert!(
        m.contains("Service/notes: spec.ports[http].targetPort is 8080"),
        "{m}"
    );
}

#[tokio::test]
async fn invalid_yaml_is_reported_with_its_line_or_field_path() {
    let m = message_of("manifests-syntax", "manifests-valid").await;
    assert!(m.contains("YAML syntax error at line"), "{m}");
    let m = message_of("manifests-unknown-field", "manifests-valid").await;
    assert!(
        m.contains("unknown field \"spec.template.spec.containers[0].imagePullPolicyy\""),
        "{m}"
    );
    let m = message_of("manifests-text", "manifests-valid").await;
    assert!(m.contains("it must be application/yaml"), "{m}");
    let m = message_of("no-manifests", "manifests-valid").await;
    assert!(m.contains("GET /manifests answered 404"), "{m}");
}

#[tokio::test]
async fn a_service_that_is_down_is_reported_as_no_answer() {
    let port = support::free_port();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut suite = manifests_suite();
    suite.checks.truncate(1);
    let outcomes = run_suite(
        &suite,
        &support::target(port),
        &CheckContext::default(),
        &tx,
    )
    .await;
    assert_eq!(outcomes[0].verdict, Verdict::Fail);
    assert!(
        gauntlet::checks::http::reports_no_answer(&outcomes[0].message),
        "{}",
        outcomes[0].message
    );
}

/// A lab holding one check file with `toml`, loaded; the problems as `file:line: message`.
fn problems(toml: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("checks")).expect("mkdir");
    std::fs::write(dir.path().join("checks/a.toml"), toml).expect("write");
    match CheckSuite::load(dir.path(), &pillars()) {
        Ok(_) => Vec::new(),
        Err(ps) => ps.iter().map(|p| p.to_string()).collect(),
    }
}

const HEAD: &str =
    "[[check]]\nid = \"m\"\nkind = \"manifests\"\ntitle = \"T\"\npillar = \"cloud-native\"\n";

fn assert_problem(toml: &str, line: usize, part: &str) {
    let ps = problems(toml);
    assert!(
        ps.iter()
            .any(|p| p.contains(&format!("a.toml:{line}")) && p.contains(part)),
        "expected `{part}` at line {line}, got {ps:#?}"
    );
}

#[test]
fn malformed_manifests_checks_are_refused_with_their_line() {
    assert!(problems(&format!("{HEAD}[check.manifests]\nrule = \"probes\"\n")).is_empty());
    assert!(problems(&format!(
        "{HEAD}[check.manifests]\nrule = \"valid\"\nfile = \"deploy/k8s.yaml\"\n"
    ))
    .is_empty());
    assert_problem(
        &format!("{HEAD}[check.manifests]\nrule = \"readonly-root\"\n"),
        7,
        "unknown rule `readonly-root`",
    );
    assert_problem(
        &format!("{HEAD}[check.manifests]\nrule = \"valid\"\nserved = \"/m\"\nfile = \"k.yaml\"\n"),
        9,
        "not both",
    );
    assert_problem(
        &format!("{HEAD}[check.manifests]\nrule = \"valid\"\nfile = \"../k.yaml\"\n"),
        8,
        "inside the submitted project",
    );
    assert_problem(
        &format!("{HEAD}[check.manifests]\nrule = \"valid\"\nrules = \"x\"\n"),
        8,
        "unknown field `rules`",
    );
    assert_problem(HEAD, 1, "needs a [check.manifests] table");
    assert_problem(
        "[[check]]\nid = \"h\"\nkind = \"http\"\ntitle = \"T\"\npillar = \"cloud-native\"\n[[check.step]]\npath = \"/\"\n[check.manifests]\nrule = \"valid\"\n",
        8,
        "belongs to `manifests` checks",
    );
}

/// A copy of lab w06 whose only check reads `deploy/k8s.yaml` from the submission (the `file` source).
fn file_lab() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let lab = dir.path().join("w06-deploy");
    std::fs::create_dir_all(lab.join("checks")).expect("mkdir");
    for f in ["lab.toml", "README.md"] {
        std::fs::copy(self::lab().join(f), lab.join(f)).expect("copy");
    }
    std::fs::write(
        lab.join("checks/a.toml"),
        "[[check]]\nid = \"file-read-only-root\"\nkind = \"manifests\"\ntitle = \"Read-only root\"\n\
         pillar = \"cloud-native\"\n[check.manifests]\nrule = \"read-only-root\"\nfile = \"deploy/k8s.yaml\"\n",
    )
    .expect("check file");
    dir
}

/// Grades a testsvc project holding `deploy/k8s.yaml` (written by `place`) on the file lab; the one outcome.
async fn grade_file(place: impl FnOnce(&Path) + Send + 'static) -> serde_json::Value {
    let labs = file_lab();
    let project = common::project::Project::testsvc(&[]);
    std::fs::create_dir_all(project.path().join("deploy")).expect("mkdir");
    place(&project.path().join("deploy/k8s.yaml"));
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_gauntlet"))
            .arg("grade")
            .arg(labs.path().join("w06-deploy"))
            .arg(project.path())
            .arg("--json")
            .output()
            .expect("gauntlet grade runs")
    })
    .await
    .expect("joined");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("JSON report: {}", String::from_utf8_lossy(&out.stderr)));
    report["checks"][0].clone()
}

const REFERENCE: &str = include_str!("../services/testsvc/src/manifests.yaml");

#[tokio::test]
async fn a_manifests_check_reads_a_file_of_the_submitted_project() {
    let good = grade_file(|p| std::fs::write(p, REFERENCE).expect("write")).await;
    assert_eq!(good["verdict"], "pass", "{good:#}");
    let writable = REFERENCE.replace(
        "readOnlyRootFilesystem: true",
        "readOnlyRootFilesystem: false",
    );
    let bad = grade_file(move |p| std::fs::write(p, writable).expect("write")).await;
    assert_eq!(bad["verdict"], "fail", "{bad:#}");
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("readOnlyRootFilesystem is false"),
        "{bad:#}"
    );
}

#[tokio::test]
async fn a_missing_submitted_file_fails_the_check_and_says_which() {
    // Uploads refuse links; one in the unpacked project is not followed either (grading/submitted.rs).
    let missing = grade_file(|_| {}).await;
    assert_eq!(missing["verdict"], "fail", "{missing:#}");
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("the submission has no file deploy/k8s.yaml"),
        "{missing:#}"
    );
}
