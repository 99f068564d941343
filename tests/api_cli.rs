//! The terminal side: personal tokens on the profile page, the JSON API, `gauntlet submit` following a run, and
//! `gauntlet grade` with no server at all.

mod common;

use std::process::Command;

use common::grading::{app_with_worker, assert_no_docker_leftovers, course};
use common::project::Project;

fn submit_cli(server: &str, token: &str, lab: &str, dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(["submit", "--lab", lab, "--server", server])
        .arg(dir)
        .env("GAUNTLET_TOKEN", token)
        .output()
        .expect("gauntlet submit")
}

#[tokio::test]
async fn gauntlet_submit_follows_the_run_and_exits_by_its_verdict() {
    let course = course();
    let app = app_with_worker(&course).await;
    app.signed_in_learner("ada@example.org").await;
    let token = app.api_token("laptop").await;
    assert!(token.starts_with("gnt_"), "{token}");

    let good = Project::testsvc(&[]);
    std::fs::write(good.path().join(".gitignore"), "secret.txt\n").unwrap();
    std::fs::write(good.path().join("secret.txt"), "must not be uploaded").unwrap();
    let out = tokio::task::spawn_blocking({
        let (addr, token, dir) = (
            app.address.clone(),
            token.clone(),
            good.path().to_path_buf(),
        );
        move || submit_cli(&addr, &token, "w01-hello", &dir)
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("PASSED"), "{stdout}");
    assert!(
        stderr.contains("==> building") && stderr.contains("==> checking"),
        "stages are shown: {stderr}"
    );
    assert!(
        stderr.contains("[4] PASS"),
        "each verdict as it lands: {stderr}"
    );

    let bad = Project::testsvc(&[("TESTSVC_DEFECT", "no-json-404")]);
    let out = tokio::task::spawn_blocking({
        let (addr, token, dir) = (app.address.clone(), token.clone(), bad.path().to_path_buf());
        move || submit_cli(&addr, &token, "w01-hello", &dir)
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL") && stdout.contains("hint:"),
        "{stdout}"
    );
    assert_no_docker_leftovers(&app).await;
}

#[tokio::test]
async fn the_api_requires_a_live_token_and_hides_other_learners_runs() {
    let course = course();
    let app = common::app::Spawn::default()
        .curriculum(course.curriculum(), course.labs())
        .start()
        .await;
    let client = reqwest::Client::new();
    let labs = client.get(app.url("/api/v1/labs")).send().await.unwrap();
    assert_eq!(labs.status().as_u16(), 401);
    let body: serde_json::Value = labs.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    let forged = client
        .get(app.url("/api/v1/labs"))
        .bearer_auth("gnt_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 401);

    app.signed_in_learner("ada@example.org").await;
    let ada = app.api_token("ada").await;
    let labs: serde_json::Value = client
        .get(app.url("/api/v1/labs"))
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(labs["labs"][0]["id"], "w01-hello");
    let run = common::server::api_submit(
        &app.address,
        &ada,
        "w01-hello",
        Project::testsvc(&[]).archive(),
    )
    .await;
    let own = client
        .get(app.url(&format!("/api/v1/runs/{run}")))
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status().as_u16(), 200);
    let own: serde_json::Value = own.json().await.unwrap();
    assert_eq!(own["state"], "queued");

    let bob = app.clone_for_another_client();
    bob.signed_in_learner("bob@example.org").await;
    let bob_token = bob.api_token("bob").await;
    for path in [
        format!("/api/v1/runs/{run}"),
        format!("/api/v1/runs/{run}/events"),
    ] {
        let res = client
            .get(app.url(&path))
            .bearer_auth(&bob_token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 404, "{path}");
    }
    let unknown_lab = client
        .post(app.url("/api/v1/labs/w99-nope/submissions"))
        .bearer_auth(&ada)
        .body(Project::testsvc(&[]).archive())
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_lab.status().as_u16(), 404);
    let garbage = client
        .post(app.url("/api/v1/labs/w01-hello/submissions"))
        .bearer_auth(&ada)
        .body("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status().as_u16(), 422);
    let body: serde_json::Value = garbage.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("nothing was stored"));

    // Revoking on the profile page ends the token.
    let (_, profile) = app.get_text("/profile").await;
    let at = profile.find("/profile/tokens/").unwrap() + "/profile/tokens/".len();
    let id: String = profile[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let csrf = common::app::csrf_in(&profile);
    let res = app
        .post_form(
            &format!("/profile/tokens/{id}/revoke"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let after = client
        .get(app.url("/api/v1/labs"))
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status().as_u16(), 401);
}

#[tokio::test]
async fn gauntlet_grade_runs_the_pipeline_without_a_server_and_shows_hidden_detail() {
    let course = course();
    let lab = course.labs().join("w01-hello");
    let bad = Project::testsvc(&[("TESTSVC_DEFECT", "no-json-404")]);
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_gauntlet"))
            .arg("grade")
            .arg(&lab)
            .arg(bad.path())
            .args(["--json", "--seed", "42"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["state"], "failed");
    assert_eq!(report["seed"], 42);
    let failed = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["verdict"] == "fail")
        .expect("a failed check");
    assert!(
        failed["detail"].as_str().unwrap().contains("404"),
        "the transcript is included"
    );
}

/// `grade --json` answers with one JSON document whatever happens: a lab whose checks do not load gives their
/// problems at file and line; a project that cannot be packed says so as a failed upload.
#[tokio::test]
async fn gauntlet_grade_json_reports_a_broken_lab_and_an_unpackable_project_as_json() {
    let course = course();
    let broken = tempfile::tempdir().unwrap();
    let lab = broken.path().join("w01-hello");
    std::fs::create_dir_all(lab.join("checks")).unwrap();
    for f in ["lab.toml", "README.md"] {
        std::fs::copy(course.labs().join("w01-hello").join(f), lab.join(f)).unwrap();
    }
    std::fs::write(
        lab.join("checks/10-bad.toml"),
        "[[check]]\nid = \"x\"\nkind = \"no-such-kind\"\ntitle = \"X\"\npillar = \"language\"\n",
    )
    .unwrap();
    let project = Project::testsvc(&[]);
    let grade = |lab: std::path::PathBuf, project: std::path::PathBuf| {
        let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
            .arg("grade")
            .arg(lab)
            .arg(project)
            .arg("--json")
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
        (out.status.code(), report)
    };

    let (code, report) = grade(lab.clone(), project.path().to_path_buf());
    assert_eq!(code, Some(1));
    assert_eq!(report["state"], "error", "{report}");
    assert_eq!(report["stage"], "lab", "{report}");
    let problem = &report["problems"][0];
    assert!(
        problem["file"].as_str().unwrap().ends_with("10-bad.toml"),
        "{report}"
    );
    assert_eq!(problem["line"], 3, "{report}");

    let missing = broken.path().join("no-such-project");
    let (code, report) = grade(course.labs().join("w01-hello"), missing);
    assert_eq!(code, Some(1));
    assert_eq!(report["state"], "failed", "{report}");
    assert_eq!(report["stage"], "upload", "{report}");
    assert!(
        report["reason"].as_str().unwrap().contains("cannot pack"),
        "{report}"
    );
}
