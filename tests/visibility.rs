//! Who sees whose runs (`gauntlet::access`), through every door a run has: its page, its live stream, its
//! re-grade and the API. An instructor sees the runs of the cohorts they teach and no other; an admin sees every
//! run; a learner sees their own. The same on SQLite and PostgreSQL.

mod common;

use common::app::{Db, Spawn, TestApp};
use gauntlet::domain::Role;

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(super::Db::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(super::Db::Postgres).await })*
        }
    };
}

on_both_backends!(
    an_instructor_sees_the_cohorts_they_teach_and_no_other,
    the_queue_view_shows_staff_the_runs_they_may_see,
    a_learner_sees_their_whole_history_of_a_lab_and_nobody_elses,
    staff_read_whose_run_it_is_and_its_other_gradings,
);

/// A queued run of `email` (the test server runs no worker, so it stays queued).
async fn queued_run(app: &TestApp, email: &str) -> i64 {
    let user = app
        .store
        .user_by_email(&gauntlet::domain::Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap();
    app.store
        .submit(user.id, "w01-hello", b"not graded here", 7)
        .await
        .unwrap()
}

/// The statuses of a run's page, its stream and the API's view of it.
async fn doors(client: &TestApp, token: &str, run: i64) -> [u16; 3] {
    let page = client.get(&format!("/runs/{run}")).await.status().as_u16();
    let stream = client
        .get(&format!("/runs/{run}/stream"))
        .await
        .status()
        .as_u16();
    let api = common::app::client()
        .get(client.url(&format!("/api/v1/runs/{run}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    [page, stream, api]
}

async fn an_instructor_sees_the_cohorts_they_teach_and_no_other(db: Db) {
    let app = Spawn::default().db(db).start().await;
    app.signed_in_learner("ada@example.org").await;
    let bob = app.clone_for_another_client();
    bob.signed_in_learner("bob@example.org").await;
    let ada_run = queued_run(&app, "ada@example.org").await;
    let bob_run = queued_run(&app, "bob@example.org").await;

    let teacher = app.clone_for_another_client();
    teacher
        .signed_in_staff(
            "teacher@example.org",
            Role::Instructor,
            &["ada@example.org"],
        )
        .await;
    let teacher_token = teacher.api_token("t").await;
    assert_eq!(
        doors(&teacher, &teacher_token, ada_run).await,
        [200, 200, 200]
    );
    assert_eq!(
        doors(&teacher, &teacher_token, bob_run).await,
        [404, 404, 404]
    );
    // Nor can they re-grade it.
    let csrf = teacher.csrf(&format!("/runs/{ada_run}")).await;
    let res = teacher
        .post_form(
            &format!("/runs/{bob_run}/regrade"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 404);

    // A learner sees only their own.
    let ada_token = app.api_token("a").await;
    assert_eq!(doors(&app, &ada_token, ada_run).await, [200, 200, 200]);
    assert_eq!(doors(&app, &ada_token, bob_run).await, [404, 404, 404]);

    // An admin sees both without teaching anything.
    let admin = app.clone_for_another_client();
    admin
        .signed_in_staff("admin@example.org", Role::Admin, &[])
        .await;
    let admin_token = admin.api_token("adm").await;
    assert_eq!(doors(&admin, &admin_token, bob_run).await, [200, 200, 200]);

    // Taken off Ada's cohort, the instructor no longer sees her run; put on Bob's, they see his.
    let cohorts = app.store.list_cohorts().await.unwrap();
    let ada = app
        .store
        .user_by_email(&gauntlet::domain::Email::parse("ada@example.org").unwrap())
        .await
        .unwrap()
        .unwrap();
    let ada_cohort = cohorts
        .iter()
        .find(|c| Some(c.id) == ada.cohort_id)
        .unwrap();
    assert!(app
        .store
        .remove_cohort_instructor(&ada_cohort.name, "teacher@example.org")
        .await
        .unwrap());
    assert_eq!(
        doors(&teacher, &teacher_token, ada_run).await,
        [404, 404, 404]
    );
    assert_eq!(
        app.store
            .cohort_instructors(ada_cohort.id)
            .await
            .unwrap()
            .len(),
        0
    );

    // Only instructors are a cohort's staff: a learner or an unknown name is refused with a reason.
    let refused = app
        .store
        .add_cohort_instructor(&ada_cohort.name, "bob@example.org")
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("not an instructor"),
        "{refused}"
    );
    let refused = app
        .store
        .add_cohort_instructor("no such cohort", "teacher@example.org")
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("no cohort named"), "{refused}");
}

async fn the_queue_view_shows_staff_the_runs_they_may_see(db: Db) {
    let app = Spawn::default().db(db).start().await;
    app.signed_in_learner("ada@example.org").await;
    let bob = app.clone_for_another_client();
    bob.signed_in_learner("bob@example.org").await;
    let ada_run = queued_run(&app, "ada@example.org").await;
    let bob_run = queued_run(&app, "bob@example.org").await;
    let teacher = app.clone_for_another_client();
    teacher
        .signed_in_staff(
            "teacher@example.org",
            Role::Instructor,
            &["ada@example.org"],
        )
        .await;
    let admin = app.clone_for_another_client();
    admin
        .signed_in_staff("admin@example.org", Role::Admin, &[])
        .await;

    let (status, page) = teacher.get_text("/admin/queue").await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("/runs/{ada_run}")) && page.contains("ada@example.org"),
        "{page}"
    );
    assert!(
        !page.contains("bob@example.org") && !page.contains(&format!("/runs/{bob_run}\"")),
        "{page}"
    );
    assert!(
        page.contains("1 more run(s) of learners you do not teach"),
        "{page}"
    );
    let (status, page) = admin.get_text("/admin/queue").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("ada@example.org") && page.contains("bob@example.org"),
        "{page}"
    );
    // Both wait for a worker: places 1 and 2, in claim order.
    assert!(
        page.contains("<td>1</td>") && page.contains("<td>2</td>"),
        "{page}"
    );
    assert_eq!(app.get("/admin/queue").await.status().as_u16(), 403);
}

async fn a_learner_sees_their_whole_history_of_a_lab_and_nobody_elses(db: Db) {
    let app = Spawn::default().db(db).start().await;
    app.signed_in_learner("ada@example.org").await;
    let bob = app.clone_for_another_client();
    bob.signed_in_learner("bob@example.org").await;
    let mut runs = Vec::new();
    for _ in 0..12 {
        runs.push(queued_run(&app, "ada@example.org").await);
    }
    let (status, lab) = app.get_text("/labs/w01-hello").await;
    assert_eq!(status, 200);
    assert_eq!(lab.matches("<li><a href=\"/runs/").count(), 10, "{lab}");
    assert!(lab.contains("href=\"/labs/w01-hello/runs\""), "{lab}");
    let (status, history) = app.get_text("/labs/w01-hello/runs").await;
    assert_eq!(status, 200);
    for id in &runs {
        assert!(
            history.contains(&format!("href=\"/runs/{id}\"")),
            "run {id}: {history}"
        );
    }
    let (status, theirs) = bob.get_text("/labs/w01-hello/runs").await;
    assert_eq!(status, 200);
    assert!(!theirs.contains("/runs/"), "{theirs}");
    assert!(
        theirs.contains("You have not submitted this lab yet"),
        "{theirs}"
    );
    // Bob, with no more than ten runs, gets no link to a history.
    assert!(!bob
        .get_text("/labs/w01-hello")
        .await
        .1
        .contains("/labs/w01-hello/runs"));
    assert_eq!(
        app.get("/labs/no-such-lab/runs").await.status().as_u16(),
        404
    );
}

async fn staff_read_whose_run_it_is_and_its_other_gradings(db: Db) {
    let app = Spawn::default().db(db).start().await;
    app.signed_in_learner("ada@example.org").await;
    let own = queued_run(&app, "ada@example.org").await;
    let why = gauntlet::domain::RegradeReason::parse("a flaky check").unwrap();
    let regrade = app
        .store
        .regrade(own, 99, None, &gauntlet::store::Actor::command_line(), &why)
        .await
        .unwrap();
    let teacher = app.clone_for_another_client();
    teacher
        .signed_in_staff(
            "teacher@example.org",
            Role::Instructor,
            &["ada@example.org"],
        )
        .await;
    let (status, page) = teacher.get_text(&format!("/runs/{regrade}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("ada@example.org"), "whose run: {page}");
    assert!(
        page.contains("a re-grade") && page.contains("seed 99"),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "href=\"/runs/{own}\">Run {own}</a> (the learner's own run"
        )),
        "{page}"
    );
    let (_, page) = teacher.get_text(&format!("/runs/{own}")).await;
    assert!(page.contains("the learner's own run · seed 7"), "{page}");
    assert!(
        page.contains(&format!("Run {regrade}</a> (re-grade")),
        "{page}"
    );
    // The learner's own view has none of it.
    let (_, mine) = app.get_text(&format!("/runs/{own}")).await;
    assert!(
        !mine.contains("Same submission") && !mine.contains("seed 7"),
        "{mine}"
    );
}
