//! The failure bundle's replay in its default mode, with real Docker: `./replay.sh` alone extracts the
//! learner's project from the bundle, builds it, runs it on 127.0.0.1 with the run's environment (its `PORT`),
//! waits for health, replays the checks' requests against it and removes the container.

mod common;

use common::app::Spawn;
use common::project::Project;
use gauntlet::domain::{Email, Role, RunState};
use gauntlet::store::{CheckResultRow, FinalResult, Lease};

#[tokio::test]
async fn the_replay_script_builds_and_runs_the_project_and_replays_against_it() {
    let app = Spawn::default().start().await;
    app.signed_in_learner("ada@example.org").await;
    let teacher = app.clone_for_another_client();
    teacher
        .signed_in_staff(
            "teacher@example.org",
            Role::Instructor,
            &["ada@example.org"],
        )
        .await;
    let user = app
        .store
        .user_by_email(&Email::parse("ada@example.org").unwrap())
        .await
        .unwrap()
        .unwrap();
    let archive = Project::testsvc(&[]).archive();
    let run = app
        .store
        .submit(user.id, "w01-hello", &archive, 7)
        .await
        .unwrap();
    let claimed = app.store.claim_run("w", 60_000).await.unwrap().unwrap();
    let check = CheckResultRow {
        position: 0,
        check_id: "health".into(),
        title: "Health answers".into(),
        hint: String::new(),
        pillar: "language".into(),
        weight: 1.0,
        required: 0,
        verdict: "fail".into(),
        message: "expected 204".into(),
        detail: "── step 1 of 1: GET http://172.18.0.9:4321/healthz\nexpected: status 204\n< 200 (1 ms)\n".into(),
        duration_ms: 1,
    };
    let result = FinalResult {
        state: RunState::Failed,
        stage: "checks".into(),
        reason: "1 of 1 checks failed".into(),
        detail: String::new(),
        score: Some(0.0),
        build_log: String::new(),
        container_log: String::new(),
        checks: vec![check],
        counts: true,
    };
    assert!(app
        .store
        .finish_run(&Lease::of(&claimed, "w"), &result)
        .await
        .unwrap());
    let bytes = teacher
        .get(&format!("/runs/{run}/bundle.tar.gz"))
        .await
        .bytes()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]))
        .unpack(dir.path())
        .unwrap();
    let folder = dir.path().join(format!("gauntlet-run-{run}"));
    // The image name is the run's; a unique tag keeps this test apart from any other server's run of that id.
    let script = std::fs::read_to_string(folder.join("replay.sh")).unwrap();
    let image = format!("gauntlet-replay-test-{}", std::process::id());
    let script = script.replace(
        "IMAGE=\"gauntlet-replay-$RUN_ID\"",
        &format!("IMAGE={image}"),
    );
    std::fs::write(folder.join("replay.sh"), script).unwrap();
    let out = std::process::Command::new("bash")
        .arg(folder.join("replay.sh"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("expected: status 204") && stdout.contains("HTTP/1.1 200"),
        "{stdout}"
    );
    // The script removed its container.
    let left = std::process::Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("ancestor={image}")])
        .output()
        .unwrap();
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &image])
        .output();
    assert!(String::from_utf8_lossy(&left.stdout).trim().is_empty());
}
