//! The queue as learners and instructors meet it over HTTP (no workers: runs stay queued): the cap on live
//! runs on the page and the API, the queue position, and a re-grade whose archive retention dropped.

mod common;

use common::app::{Spawn, TestApp};
use common::project::Project;
use gauntlet::config::GradingSettings;
use gauntlet::domain::RunState;
use gauntlet::store::{FinalResult, Lease, Quota};

async fn app_with(quota: Quota) -> TestApp {
    Spawn::default()
        .grading(GradingSettings {
            workers: 0,
            quota,
            ..GradingSettings::default()
        })
        .start()
        .await
}

#[tokio::test]
async fn past_the_cap_a_submission_is_refused_with_429_on_the_page_and_the_api_and_the_queue_position_shows(
) {
    let app = app_with(Quota {
        max_live_runs: 1,
        keep_archives: 5,
    })
    .await;
    app.signed_in_learner("ada@example.org").await;
    let archive = Project::testsvc(&[]).archive();
    let run = app.submit("w01-hello", archive.clone()).await;
    let (_, page) = app.get_text(&format!("/runs/{run}")).await;
    assert!(page.contains("Waiting in the queue: position 1."), "{page}");

    let refused = app.upload("w01-hello", archive.clone()).await;
    assert_eq!(refused.status().as_u16(), 429);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("Too many runs in the queue")
            && page.contains("wait for one to finish, then submit again"),
        "{page}"
    );

    let token = app.api_token("cli").await;
    let client = reqwest::Client::new();
    let res = client
        .post(app.url("/api/v1/labs/w01-hello/submissions"))
        .bearer_auth(&token)
        .body(archive)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 429);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_runs", "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("nothing was stored"));
    let run_json: serde_json::Value = client
        .get(app.url(&format!("/api/v1/runs/{run}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(run_json["queue_position"], 1, "{run_json}");
    let project = Project::testsvc(&[]);
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(["submit", "--lab", "w01-hello", "--server", &app.url("")])
        .arg(project.path())
        .env("GAUNTLET_TOKEN", &token)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&cli.stderr);
    assert!(!cli.status.success());
    assert!(
        said.contains("429") && said.contains("wait for one to finish"),
        "{said}"
    );
    let user = app.store.run(run).await.unwrap().user_id;
    assert_eq!(app.store.live_runs_of(user).await.unwrap(), 1);
}

#[tokio::test]
async fn a_regrade_of_a_run_whose_archive_was_dropped_says_so() {
    let app = app_with(Quota {
        max_live_runs: 5,
        keep_archives: 1,
    })
    .await;
    app.signed_in_learner("ada@example.org").await;
    let first = app
        .submit("w01-hello", Project::testsvc(&[]).archive())
        .await;
    // A worker grades it (here by hand, through the store as a worker would).
    let claimed = app.store.claim_run("w", 60_000).await.unwrap().unwrap();
    let result = FinalResult {
        state: RunState::Failed,
        stage: "checks".into(),
        reason: "1 of 4 checks failed".into(),
        detail: String::new(),
        score: Some(0.5),
        build_log: String::new(),
        container_log: String::new(),
        checks: Vec::new(),
        counts: true,
    };
    assert!(app
        .store
        .finish_run(&Lease::of(&claimed, "w"), &result)
        .await
        .unwrap());
    app.submit("w01-hello", Project::testsvc(&[]).archive())
        .await;

    let staff = app.clone_for_another_client();
    staff
        .signed_in_staff(
            "teacher@example.org",
            gauntlet::domain::Role::Instructor,
            &["ada@example.org"],
        )
        .await;
    let (status, page) = staff.get_text(&format!("/runs/{first}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("1 of 4 checks failed"), "results are kept");
    let csrf = common::app::csrf_in(&page);
    let res = staff
        .post_form(
            &format!("/runs/{first}/regrade"),
            &[("csrf_token", &csrf), ("reason", "the check changed")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 409);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("archive is no longer kept") && page.contains("submit again"),
        "{page}"
    );
}
