//! Grading survives what happens to real servers: the process killed mid-run, the Docker engine unreachable.

mod common;

use std::time::{Duration, Instant};

use common::grading::{course, wait_final};
use common::project::{docker_objects, Project};
use common::server::{api_submit, learner_token, ServerProcess};
use gauntlet::config::DatabaseUrl;
use gauntlet::store::Store;

async fn store_of(data: &std::path::Path) -> Store {
    Store::connect(&DatabaseUrl::sqlite_in(data)).await.unwrap()
}

/// A server on a fresh data folder, its store, and an API token of learner ada.
async fn first_server(
    course: &common::fixture::Course,
    data: &std::path::Path,
) -> (ServerProcess, Store, String) {
    let server = ServerProcess::start(data, &course.curriculum(), &course.labs(), &[]).await;
    let store = store_of(data).await;
    let token = learner_token(&store, "ada@example.org").await;
    (server, store, token)
}

#[tokio::test]
async fn a_run_interrupted_by_a_crash_completes_once_after_a_restart_and_leaves_nothing_in_docker()
{
    let (course, data) = (course(), tempfile::tempdir().unwrap());
    let (mut first, store, token) = first_server(&course, data.path()).await;
    // Slow answers keep the run in its checking stage long enough to kill the server there.
    let project = Project::testsvc(&[("TESTSVC_DELAY_MS", "400")]);
    let run = api_submit(&first.base, &token, "w01-hello", project.archive()).await;
    let start = Instant::now();
    loop {
        let row = store.run(run).await.unwrap();
        if row.state == "checking" {
            break;
        }
        assert!(
            !row.state().is_final(),
            "the run ended before the crash: {:?}",
            row.reason
        );
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "never reached checking"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    first.kill();
    let instance = store.instance_id().await.unwrap();
    assert!(
        !docker_objects(&format!("{instance}-{run}")).is_empty(),
        "the crash left the run's container behind (what the restart must clean)"
    );

    let second = ServerProcess::start(data.path(), &course.curriculum(), &course.labs(), &[]).await;
    let row = wait_final(&store, run, Duration::from_secs(180)).await;
    assert_eq!(
        row.state, "passed",
        "{:?} / {:?} / {:?}",
        row.reason, row.stage, row.detail
    );
    assert_eq!(row.attempts, 2, "claimed once by each server");
    let events = store.events_after(run, 0, 10_000).await.unwrap();
    let finished = events.iter().filter(|e| e.kind == "finished").count();
    assert_eq!(finished, 1, "the result is recorded exactly once");
    assert!(events.iter().any(|e| e.kind == "resumed"));
    assert_eq!(store.check_results(run).await.unwrap().len(), 4);
    let user = store
        .user_by_email(&gauntlet::domain::Email::parse("ada@example.org").unwrap())
        .await
        .unwrap()
        .unwrap();
    let progress = store.lab_progress(user.id).await.unwrap();
    assert_eq!(progress.len(), 1);
    assert_eq!(progress[0].attempts, 1, "progress counted once");
    common::grading::wait_no_docker_objects(&format!("{instance}-")).await;
    drop(second);
}

#[tokio::test]
async fn a_build_interrupted_by_a_crash_leaves_no_layer_and_the_run_completes_after_a_restart() {
    let (course, data) = (course(), tempfile::tempdir().unwrap());
    let (mut first, store, token) = first_server(&course, data.path()).await;
    // Every layer carries the mark; the RUN step sleeps long enough to kill the server during it.
    let mark = format!("GAUNTLET_TEST_MARK=crashbuild-{}", std::process::id());
    let project = Project::with_dockerfile(&format!(
        "FROM scratch\nENV {mark}\nCOPY testsvc /testsvc\nENV TESTSVC_SELFTEST_SLEEP_MS=6000\n\
         RUN [\"/testsvc\", \"self-test\"]\nENTRYPOINT [\"/testsvc\"]\n"
    ));
    let run = api_submit(&first.base, &token, "w01-hello", project.archive()).await;
    let start = Instant::now();
    while common::project::containers_marked(&mark, "\"self-test\"").is_empty() {
        let row = store.run(run).await.unwrap();
        assert!(!row.state().is_final(), "ended early: {:?}", row.reason);
        assert!(start.elapsed() < Duration::from_secs(120), "never built");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !common::project::images_marked(&mark).is_empty(),
        "layers were committed before the RUN step"
    );
    first.kill();

    let second = ServerProcess::start(data.path(), &course.curriculum(), &course.labs(), &[]).await;
    let row = wait_final(&store, run, Duration::from_secs(180)).await;
    assert_eq!(row.state, "passed", "{:?} / {:?}", row.reason, row.detail);
    assert_eq!(row.attempts, 2, "claimed once by each server");
    let instance = store.instance_id().await.unwrap();
    common::grading::wait_no_docker_objects(&format!("{instance}-")).await;
    assert_eq!(
        common::project::containers_marked(&mark, "\"self-test\""),
        Vec::<String>::new()
    );
    assert_eq!(
        common::project::images_marked(&mark),
        Vec::<String>::new(),
        "layers of the interrupted build (or of the second) outlived the run"
    );
    drop(second);
}

#[tokio::test]
async fn while_docker_is_unreachable_runs_wait_in_the_queue_and_proceed_when_it_is_back() {
    let course = course();
    let data = tempfile::tempdir().unwrap();
    let nowhere = format!("unix:///tmp/gauntlet-no-docker-{}.sock", std::process::id());
    let mut down = ServerProcess::start(
        data.path(),
        &course.curriculum(),
        &course.labs(),
        &[("DOCKER_HOST", nowhere.as_str())],
    )
    .await;
    let ready = reqwest::get(format!("{}/readyz", down.base)).await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["docker"], "unreachable");
    assert_eq!(body["database"], "ok");

    let store = store_of(data.path()).await;
    let token = learner_token(&store, "ada@example.org").await;
    let run = api_submit(
        &down.base,
        &token,
        "w01-hello",
        Project::testsvc(&[]).archive(),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let row = store.run(run).await.unwrap();
    assert_eq!(row.state, "queued", "not failed, not claimed");
    assert_eq!(row.attempts, 0);
    down.kill();

    let up = ServerProcess::start(data.path(), &course.curriculum(), &course.labs(), &[]).await;
    assert_eq!(
        reqwest::get(format!("{}/readyz", up.base))
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let row = wait_final(&store, run, Duration::from_secs(180)).await;
    assert_eq!(row.state, "passed", "{:?}", row.reason);
    let instance = store.instance_id().await.unwrap();
    common::grading::wait_no_docker_objects(&format!("{instance}-")).await;
    drop(up);
}

#[tokio::test]
async fn a_server_asked_to_stop_exits_within_its_grace_and_its_run_in_progress_is_graded_after_the_restart(
) {
    let (course, data) = (course(), tempfile::tempdir().unwrap());
    let grace = [("GAUNTLET_SHUTDOWN_GRACE_SECS", "1")];
    let mut first =
        ServerProcess::start(data.path(), &course.curriculum(), &course.labs(), &grace).await;
    let store = store_of(data.path()).await;
    let token = learner_token(&store, "ada@example.org").await;
    let project = Project::testsvc(&[("TESTSVC_DELAY_MS", "400")]);
    let run = api_submit(&first.base, &token, "w01-hello", project.archive()).await;
    let start = Instant::now();
    while store.run(run).await.unwrap().state != "checking" {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "never reached checking"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let asked = Instant::now();
    let pid = first.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = loop {
        if let Some(status) = first.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(20),
            "still running 20 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = asked.elapsed();
    assert!(status.success(), "{status:?}");
    // One second of grace, then the run's container is stopped (2 s at most) and its objects removed.
    assert!(took < Duration::from_secs(8), "shutdown took {took:?}");
    let row = store.run(run).await.unwrap();
    assert_eq!(
        (row.state.as_str(), row.attempts, row.worker_id.as_deref()),
        ("queued", 0, None),
        "put back, not failed, and the attempt not counted"
    );
    let instance = store.instance_id().await.unwrap();
    assert_eq!(
        docker_objects(&format!("{instance}-{run}-")),
        Vec::<String>::new()
    );

    let second = ServerProcess::start(data.path(), &course.curriculum(), &course.labs(), &[]).await;
    let row = wait_final(&store, run, Duration::from_secs(180)).await;
    assert_eq!(
        (row.state.as_str(), row.attempts),
        ("passed", 1),
        "{:?}",
        row.reason
    );
    common::grading::wait_no_docker_objects(&format!("{instance}-")).await;
    drop(second);
}
