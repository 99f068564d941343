//! A run is graded by the lab files it was submitted under: two workers on one queue (SQLite, and PostgreSQL
//! as several grading hosts share it) with different versions of a lab's hidden checks each grade only the runs
//! of their own version, and leave the others queued, saying so; a re-grade takes the version the server holds.

mod common;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use common::grading::{course, wait_final, wait_no_docker_objects};
use common::project::Project;
use gauntlet::config::DatabaseUrl;
use gauntlet::curriculum::{Curriculum, SharedCurriculum};
use gauntlet::domain::{DisplayName, Email, LabId, Quota, Role};
use gauntlet::grading::{WorkerPool, WorkerSettings};
use gauntlet::store::{RunTerms, Store};

/// The grading course, and the same course with one hidden check of `w01-hello` changed (a comment added, as a
/// half-deployed edit would).
fn two_versions() -> (common::fixture::Course, common::fixture::Course) {
    let old = course();
    let new = course();
    let checks = new.path("labs/w01-hello/checks");
    let first = std::fs::read_dir(&checks)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "toml"))
        .expect("a check file");
    let text = std::fs::read_to_string(&first).unwrap();
    std::fs::write(&first, format!("# edited for the next cohort\n{text}")).unwrap();
    (old, new)
}

fn shared(course: &common::fixture::Course) -> SharedCurriculum {
    let c = Curriculum::load(&course.curriculum(), &course.labs()).unwrap();
    Arc::new(RwLock::new(Arc::new(c)))
}

fn version(curriculum: &SharedCurriculum) -> String {
    let c = gauntlet::curriculum::current(curriculum);
    let id = LabId::parse("w01-hello").unwrap();
    c.lab_version(&id).unwrap().as_str().to_string()
}

fn pool(
    store: &Store,
    curriculum: &SharedCurriculum,
    instance: &str,
    name: &str,
    work: &std::path::Path,
) -> WorkerPool {
    let mut settings = WorkerSettings::new(work.join(name));
    settings.name = name.to_string();
    settings.workers = 1;
    settings.lease = Duration::from_secs(10);
    settings.heartbeat = Duration::from_millis(500);
    settings.poll = Duration::from_millis(100);
    WorkerPool::spawn(
        store.clone(),
        curriculum.clone(),
        instance.to_string(),
        settings,
    )
}

async fn each_worker_grades_only_the_runs_of_its_own_lab_version(store: Store) {
    let (old_course, new_course) = two_versions();
    let (old, new) = (shared(&old_course), shared(&new_course));
    let (v_old, v_new) = (version(&old), version(&new));
    assert_ne!(v_old, v_new, "a changed hidden check changes the version");
    let work = tempfile::tempdir().unwrap();
    let user = store
        .create_user(
            &Email::parse("ada@example.org").unwrap(),
            &DisplayName::parse("Ada").unwrap(),
            "h",
            Role::Learner,
            None,
        )
        .await
        .unwrap();
    let archive = Project::testsvc(&[]).archive();
    let submit = |v: String| {
        let (store, archive) = (store.clone(), archive.clone());
        async move {
            store
                .submit_within(
                    user,
                    "w01-hello",
                    &archive,
                    7,
                    Quota::UNLIMITED,
                    RunTerms {
                        version: Some(&v),
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
        }
    };
    let run_new = submit(v_new.clone()).await;
    let run_old = submit(v_old.clone()).await;
    let instance = store.instance_id().await.unwrap();

    // Only the old version's worker runs: it grades its run and leaves the newer one queued (though it was
    // queued first), and names it as one it leaves to others.
    let older = pool(&store, &old, &instance, "old", work.path());
    let graded = wait_final(&store, run_old, Duration::from_secs(180)).await;
    assert_eq!(graded.state, "passed", "{:?}", graded.reason);
    assert!(graded.worker_id.as_deref().unwrap_or("").starts_with("old"));
    assert_eq!(graded.lab_version.as_deref(), Some(v_old.as_str()));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let waiting = store.run(run_new).await.unwrap();
    assert_eq!(waiting.state, "queued");
    assert_eq!(waiting.attempts, 0, "never claimed by the other version");
    let old_keys = gauntlet::curriculum::current(&old).version_keys();
    let others = store.waiting_for_other_versions(&old_keys).await.unwrap();
    assert_eq!(
        others,
        vec![(run_new, "w01-hello".to_string(), v_new.clone())]
    );

    // The new version's worker comes up and grades it.
    let newer = pool(&store, &new, &instance, "new", work.path());
    let graded = wait_final(&store, run_new, Duration::from_secs(180)).await;
    assert_eq!(graded.state, "passed", "{:?}", graded.reason);
    assert!(graded.worker_id.as_deref().unwrap_or("").starts_with("new"));
    assert!(store
        .waiting_for_other_versions(&old_keys)
        .await
        .unwrap()
        .is_empty());

    // A run with no recorded version (queued before versions were) goes to whichever worker is free.
    let unversioned = store.submit(user, "w01-hello", &archive, 7).await.unwrap();
    let graded = wait_final(&store, unversioned, Duration::from_secs(180)).await;
    assert_eq!(graded.state, "passed", "{:?}", graded.reason);
    older.shutdown().await;
    newer.shutdown().await;
    wait_no_docker_objects(&instance).await;
}

#[tokio::test]
async fn on_sqlite_each_worker_grades_only_the_runs_of_its_own_lab_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&DatabaseUrl::sqlite_in(dir.path()))
        .await
        .unwrap();
    each_worker_grades_only_the_runs_of_its_own_lab_version(store).await;
}

#[tokio::test]
async fn on_postgres_each_worker_grades_only_the_runs_of_its_own_lab_version() {
    let url = common::postgres::fresh_database().await;
    let store = Store::connect(&url).await.unwrap();
    each_worker_grades_only_the_runs_of_its_own_lab_version(store).await;
}

#[tokio::test]
async fn a_submission_records_its_lab_version_and_readyz_names_runs_left_to_other_versions() {
    let (served_course, other_course) = two_versions();
    let app = common::grading::app_with_worker(&served_course).await;
    app.signed_in_learner("ada@example.org").await;
    let run = app
        .submit("w01-hello", Project::testsvc(&[]).archive())
        .await;
    let served = version(&shared(&served_course));
    let row = app.wait_final(run).await;
    assert_eq!(row.lab_version.as_deref(), Some(served.as_str()));
    let ready: serde_json::Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["lab_versions"], "current", "{ready}");

    // A run queued by a server with the other version waits; this process's readiness says why.
    let other = version(&shared(&other_course));
    let user = app.store.run(run).await.unwrap().user_id;
    let waiting = app
        .store
        .submit_within(
            user,
            "w01-hello",
            b"x",
            7,
            Quota::UNLIMITED,
            RunTerms {
                version: Some(&other),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let res = app.get("/readyz").await;
    assert_eq!(
        res.status().as_u16(),
        200,
        "the process still grades its own"
    );
    let ready: serde_json::Value = res.json().await.unwrap();
    let said = ready["lab_versions"].as_str().unwrap_or("");
    assert!(said.starts_with("1 waiting run"), "{ready}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(app.store.run(waiting).await.unwrap().attempts, 0);

    // An instructor's re-grade of it is queued under the version this server holds now, and is graded here.
    let staff = app.clone_for_another_client();
    staff
        .signed_in_staff(
            "teacher@example.org",
            Role::Instructor,
            &["ada@example.org"],
        )
        .await;
    let (status, page) = staff.get_text(&format!("/runs/{waiting}")).await;
    assert_eq!(status, 200);
    let csrf = common::app::csrf_in(&page);
    let res = staff
        .post_form(
            &format!("/runs/{waiting}/regrade"),
            &[("csrf_token", &csrf), ("reason", "the checks changed")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let again: i64 = res.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/runs/")
        .parse()
        .unwrap();
    let regraded = app.wait_final(again).await;
    assert_eq!(regraded.lab_version.as_deref(), Some(served.as_str()));
    assert!(regraded.attempts >= 1, "claimed by this server's worker");
    let instance = app.store.instance_id().await.unwrap();
    drop(app);
    wait_no_docker_objects(&instance).await;
}
