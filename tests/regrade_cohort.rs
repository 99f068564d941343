//! Cohort re-grades (issue 15), on SQLite and PostgreSQL: a batch queues each learner's latest graded run at low
//! priority, behind learners' own submissions and outside their cap on live runs; the page shows progress and,
//! when done, the before/after diff with changed rows first; instructors of other cohorts and learners are
//! refused by page and API; a batch survives a server restart.

mod common;

use common::app::{Db, Spawn, TestApp, PASSWORD};
use common::server::ServerProcess;
use gauntlet::domain::{DisplayName, Email, Quota, RegradeReason, RunState};
use gauntlet::store::{Actor, FinalResult, Lease, RunTerms, Store};

const LAB: &str = "w01-hello";

async fn learner(store: &Store, cohort: i64, email: &str) -> i64 {
    store
        .create_user(
            &Email::parse(email).unwrap(),
            &DisplayName::parse("Learner").unwrap(),
            "not-a-hash",
            gauntlet::domain::Role::Learner,
            Some(cohort),
        )
        .await
        .unwrap()
}

/// Ends the next run in the claim order as `state` with `score`; returns its id.
async fn grade_next(store: &Store, state: RunState, score: f64) -> i64 {
    let claimed = store.claim_run("test", 60_000).await.unwrap().unwrap();
    let result = FinalResult {
        state,
        stage: "checks".into(),
        reason: String::new(),
        detail: String::new(),
        score: Some(score),
        build_log: String::new(),
        container_log: String::new(),
        checks: Vec::new(),
        counts: true,
    };
    assert!(store
        .finish_run(&Lease::of(&claimed, "test"), &result)
        .await
        .unwrap());
    claimed.id
}

/// A learner's submission, graded at once.
async fn graded(store: &Store, user: i64, state: RunState, score: f64) -> i64 {
    let id = store.submit(user, LAB, b"project", 7).await.unwrap();
    assert_eq!(grade_next(store, state, score).await, id);
    id
}

fn reason(text: &str) -> RegradeReason {
    RegradeReason::parse(text).unwrap()
}

async fn low_priority_runs_wait_behind_a_learners_own_submission(db: Db) {
    let app = Spawn::default().db(db).start().await;
    let store = &app.store;
    let cohort = store.create_cohort("Spring", "SPRING-1").await.unwrap();
    let ada = learner(store, cohort, "ada@example.org").await;
    let bob = learner(store, cohort, "bob@example.org").await;
    let _carol = learner(store, cohort, "carol@example.org").await; // no graded run: skipped
    let ada_first = graded(store, ada, RunState::Failed, 40.0).await;
    let ada_latest = graded(store, ada, RunState::Failed, 50.0).await;
    let _bob_run = graded(store, bob, RunState::Passed, 100.0).await;
    // A run that ended in a platform error is not a verdict: Ada's latest *graded* run is still chosen.
    store.submit(ada, LAB, b"project", 7).await.unwrap();
    grade_next(store, RunState::Error, 0.0).await;

    let started = store
        .regrade_cohort(
            cohort,
            LAB,
            None,
            &Actor::command_line(),
            &reason("checks changed"),
        )
        .await
        .unwrap();
    assert_eq!((started.queued, started.skipped), (2, 1));
    let lines = store.regrade_batch_lines(started.batch_id).await.unwrap();
    let ada_line = lines.iter().find(|l| l.user_id == ada).unwrap();
    assert_eq!(ada_line.before_run, ada_latest);
    assert_ne!(ada_line.before_run, ada_first);

    // The same batch again while it runs is refused.
    assert!(store
        .regrade_cohort(cohort, LAB, None, &Actor::command_line(), &reason("again"))
        .await
        .is_err());

    // Ada submits after the batch was queued, with a cap of one live run: the batch's run does not take it,
    // and her own run is claimed first.
    let own = store
        .submit_within(
            ada,
            LAB,
            b"new work",
            9,
            Quota {
                max_live_runs: 1,
                ..Quota::UNLIMITED
            },
            RunTerms::default(),
        )
        .await
        .unwrap();
    assert_eq!(store.queue_position(own).await.unwrap(), Some(1));
    let batch_runs: Vec<i64> = lines.iter().map(|l| l.after_run).collect();
    for r in &batch_runs {
        assert!(store.queue_position(*r).await.unwrap().unwrap() > 1);
    }
    assert_eq!(grade_next(store, RunState::Passed, 90.0).await, own);
    // Then the batch, in sequence order.
    let mut rest = vec![
        grade_next(store, RunState::Passed, 100.0).await,
        grade_next(store, RunState::Passed, 100.0).await,
    ];
    rest.sort();
    let mut expected = batch_runs.clone();
    expected.sort();
    assert_eq!(rest, expected);
    assert!(store.claim_run("test", 60_000).await.unwrap().is_none());
}

/// `app` signed in as an instructor of a cohort with two learners who each have a graded run of the lab.
struct Taught {
    app: TestApp,
    cohort: i64,
}

async fn taught(db: Db) -> Taught {
    let app = Spawn::default().db(db).start().await;
    app.signed_in_learner("ada@example.org").await;
    let ada = app
        .store
        .user_by_email(&Email::parse("ada@example.org").unwrap())
        .await
        .unwrap()
        .unwrap();
    let cohort = ada.cohort_id.unwrap();
    let teacher = app.clone_for_another_client();
    teacher
        .signed_in_staff(
            "teacher@example.org",
            gauntlet::domain::Role::Instructor,
            &["ada@example.org"],
        )
        .await;
    let bob = learner(&app.store, cohort, "bob@example.org").await;
    graded(&app.store, ada.id, RunState::Failed, 50.0).await;
    graded(&app.store, bob, RunState::Passed, 100.0).await;
    Taught {
        app: teacher,
        cohort,
    }
}

async fn post(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let csrf = app.csrf("/register").await;
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    app.post_form(path, &form).await
}

async fn an_instructor_regrades_their_cohort_and_reads_the_diff(db: Db) {
    let Taught { app, cohort, .. } = taught(db).await;
    let (status, page) = app.get_text(&format!("/cohorts/{cohort}")).await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("/cohorts/{cohort}/regrades")));

    // A reason is required; nothing is queued without one.
    let res = post(
        &app,
        &format!("/cohorts/{cohort}/regrades"),
        &[("lab", LAB), ("reason", "x")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.text().await.unwrap().contains("Nothing was queued"));
    let res = post(
        &app,
        &format!("/cohorts/{cohort}/regrades"),
        &[("lab", "w99-nope"), ("reason", "checks changed")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    assert_eq!(app.store.queue_depth().await.unwrap(), 0);

    let res = post(
        &app,
        &format!("/cohorts/{cohort}/regrades"),
        &[("lab", LAB), ("reason", "the timeout check was too strict")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let batch_page = res.headers()["location"].to_str().unwrap().to_string();
    let (status, page) = app.get_text(&batch_page).await;
    assert_eq!(status, 200);
    assert!(page.contains("0 of 2 done"), "{page}");
    assert!(
        page.contains("hx-trigger=\"every 2s\""),
        "it polls while running"
    );
    assert!(page.contains("the timeout check was too strict"));
    // A second batch of the same lab while the first runs: refused, the form keeps the message.
    let res = post(
        &app,
        &format!("/cohorts/{cohort}/regrades"),
        &[("lab", LAB), ("reason", "again")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 409);

    // Bob's stays the same; Ada's changes from failed 50 to passed 100.
    let batch: i64 = batch_page.rsplit('/').next().unwrap().parse().unwrap();
    let lines = app.store.regrade_batch_lines(batch).await.unwrap();
    grade_next(&app.store, RunState::Passed, 100.0).await;
    let (_, partial) = app.get_text(&format!("{batch_page}/progress")).await;
    assert!(partial.contains("1 of 2 done"), "{partial}");
    assert!(partial.contains("hx-trigger"), "{partial}");
    grade_next(&app.store, RunState::Passed, 100.0).await;
    assert_eq!(lines.len(), 2);
    let (_, page) = app.get_text(&batch_page).await;
    assert!(page.contains("2 of 2 done</strong>: 1 changed"), "{page}");
    assert!(!page.contains("hx-trigger"), "it stops polling when done");
    let ada_row = page.find("ada@example.org").unwrap();
    let bob_row = page.find("bob@example.org").unwrap();
    assert!(ada_row < bob_row, "changed rows first");
    assert!(page.contains("failed 50.0") && page.contains("passed 100.0"));

    // Audited, and listed on the cohort's re-grades page.
    let actions: Vec<String> = app
        .store
        .audit_entries(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions.iter().filter(|a| *a == "cohort.regrade").count(), 1);
    let (_, list) = app.get_text(&format!("/cohorts/{cohort}/regrades")).await;
    assert!(list.contains(&batch_page));
}

async fn others_are_refused_by_page_and_api(db: Db) {
    let Taught { app, cohort, .. } = taught(db).await;
    let started = app
        .store
        .regrade_cohort(
            cohort,
            LAB,
            None,
            &Actor::command_line(),
            &reason("checks changed"),
        )
        .await
        .unwrap();
    let outsider = app.clone_for_another_client();
    outsider.signed_in_learner("zed@example.org").await;
    let other_teacher = app.clone_for_another_client();
    other_teacher
        .signed_in_staff(
            "other@example.org",
            gauntlet::domain::Role::Instructor,
            &["zed@example.org"],
        )
        .await;
    let learner = app.clone_for_another_client();
    learner.login("ada@example.org", PASSWORD).await;
    let batch = started.batch_id;
    for who in [&other_teacher, &learner, &outsider] {
        for path in [
            format!("/cohorts/{cohort}/regrades"),
            format!("/cohorts/{cohort}/regrades/{batch}"),
            format!("/cohorts/{cohort}/regrades/{batch}/progress"),
        ] {
            assert_eq!(who.get(&path).await.status().as_u16(), 404, "{path}");
        }
        let res = post(
            who,
            &format!("/cohorts/{cohort}/regrades"),
            &[("lab", LAB), ("reason", "hijack")],
        )
        .await;
        assert_eq!(res.status().as_u16(), 404);
        let token = who.api_token("script").await;
        let api = reqwest::Client::new();
        let res = api
            .get(who.url(&format!("/api/v1/cohorts/{cohort}/regrades/{batch}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 404);
        let res = api
            .post(who.url(&format!("/api/v1/cohorts/{cohort}/regrades")))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "lab": LAB, "reason": "hijack" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 404);
    }
    assert_eq!(app.store.regrade_batches_of(cohort).await.unwrap().len(), 1);
    // The cohort's own instructor reads it through the API.
    let token = app.api_token("script").await;
    let body: serde_json::Value = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/cohorts/{cohort}/regrades/{batch}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["total"], 2);
    assert_eq!(body["done"], 0);
}

mod sqlite {
    use super::*;
    #[tokio::test]
    async fn low_priority_runs_wait_behind_a_learners_own_submission() {
        super::low_priority_runs_wait_behind_a_learners_own_submission(Db::Sqlite).await
    }
    #[tokio::test]
    async fn an_instructor_regrades_their_cohort_and_reads_the_diff() {
        super::an_instructor_regrades_their_cohort_and_reads_the_diff(Db::Sqlite).await
    }
    #[tokio::test]
    async fn others_are_refused_by_page_and_api() {
        super::others_are_refused_by_page_and_api(Db::Sqlite).await
    }
}

mod postgres {
    use super::*;
    #[tokio::test]
    async fn low_priority_runs_wait_behind_a_learners_own_submission() {
        super::low_priority_runs_wait_behind_a_learners_own_submission(Db::Postgres).await
    }
    #[tokio::test]
    async fn an_instructor_regrades_their_cohort_and_reads_the_diff() {
        super::an_instructor_regrades_their_cohort_and_reads_the_diff(Db::Postgres).await
    }
    #[tokio::test]
    async fn others_are_refused_by_page_and_api() {
        super::others_are_refused_by_page_and_api(Db::Postgres).await
    }
}

/// A batch is all in the database: a server killed mid-batch comes back with its progress, and its remaining
/// runs are still queued.
#[tokio::test]
async fn a_batch_survives_a_server_restart() {
    let course = common::fixture::Course::valid();
    let data = tempfile::tempdir().unwrap();
    let env = [("GAUNTLET_WORKERS", "0")];
    let mut server =
        ServerProcess::start(data.path(), &course.curriculum(), &course.labs(), &env).await;
    let store = Store::connect(&gauntlet::config::DatabaseUrl::sqlite_in(data.path()))
        .await
        .unwrap();
    let cohort = store.create_cohort("Spring", "SPRING-1").await.unwrap();
    let ada = learner(&store, cohort, "ada@example.org").await;
    let bob = learner(&store, cohort, "bob@example.org").await;
    graded(&store, ada, RunState::Failed, 50.0).await;
    graded(&store, bob, RunState::Passed, 100.0).await;
    let admin_token = admin_token(&store).await;
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{}/api/v1/cohorts/{cohort}/regrades", server.base))
        .bearer_auth(&admin_token)
        .json(&serde_json::json!({ "lab": LAB, "reason": "checks changed" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let batch = res.json::<serde_json::Value>().await.unwrap()["batch_id"]
        .as_i64()
        .unwrap();
    grade_next(&store, RunState::Passed, 100.0).await;

    server.kill();
    let server =
        ServerProcess::start(data.path(), &course.curriculum(), &course.labs(), &env).await;
    let url = format!("{}/api/v1/cohorts/{cohort}/regrades/{batch}", server.base);
    let body: serde_json::Value = http
        .get(&url)
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (body["done"].as_i64(), body["total"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(body["reason"], "checks changed");
    grade_next(&store, RunState::Passed, 100.0).await;
    let body: serde_json::Value = http
        .get(&url)
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["finished"], true);
    assert_eq!(body["lines"][0]["email"], "ada@example.org");
    assert_eq!(body["lines"][0]["changed"], true);
    assert_eq!(body["lines"][1]["changed"], false);
}

async fn admin_token(store: &Store) -> String {
    let id = store
        .create_user(
            &Email::parse("root@example.org").unwrap(),
            &DisplayName::parse("Root").unwrap(),
            "not-a-hash",
            gauntlet::domain::Role::Admin,
            None,
        )
        .await
        .unwrap();
    let token = gauntlet::auth::tokens::new_api_token();
    store
        .create_api_token(id, "test", &gauntlet::auth::session::hash_token(&token))
        .await
        .unwrap();
    token
}
