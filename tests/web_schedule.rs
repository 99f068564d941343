//! The course schedule per cohort over real HTTP against the real server, on SQLite and PostgreSQL: a week that is
//! not open yet refuses submissions on the lab page, the API and `gauntlet submit` with when it opens (staff are never refused); an
//! instructor opens a week early for one learner and for that learner only; a run submitted after its lab's due
//! date is taken, stored late and shown late on the run page, the history and the course map; and an instructor
//! of one cohort cannot change another cohort's schedule, nor can a learner.

mod common;

use common::app::{Db, Spawn, TestApp};
use gauntlet::clock::Clock;
use gauntlet::domain::{Email, Role};

const DAY: i64 = 86_400_000;
const LAB: &str = "w01-hello";

/// A small project the archive checks accept (nothing grades it: the test server runs no workers).
fn project() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY notes.txt /notes.txt\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "notes").unwrap();
    gauntlet::archive::pack(dir.path(), &gauntlet::archive::ArchiveLimits::default()).unwrap()
}

async fn app(db: Db) -> TestApp {
    Spawn::default().db(db).start().await
}

/// The cohort `email` is in.
async fn cohort_of(app: &TestApp, email: &str) -> i64 {
    app.store
        .user_by_email(&Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap()
        .cohort_id
        .unwrap()
}

/// Starts the learner's cohort `days` from now (negative: in the past), as the operator would.
async fn start_in(app: &TestApp, cohort: i64, days: i64) {
    let at = app.clock.now_ms() + days * DAY;
    app.store
        .set_cohort_start(&gauntlet::store::Actor::command_line(), cohort, Some(at))
        .await
        .unwrap();
}

/// POSTs `fields` with this client's CSRF token.
async fn post(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let csrf = app.csrf("/register").await;
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    app.post_form(path, &form).await
}

/// Uploads the project through the lab page's form.
async fn upload(app: &TestApp) -> reqwest::Response {
    let token = app.csrf(&format!("/labs/{LAB}")).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token)
        .part(
            "archive",
            reqwest::multipart::Part::bytes(project()).file_name("project.tar.gz"),
        );
    app.client
        .post(app.url(&format!("/labs/{LAB}/submissions")))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// The run id an accepted upload redirects to.
fn run_of(res: &reqwest::Response) -> i64 {
    assert_eq!(res.status().as_u16(), 303, "the upload is accepted");
    res.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/runs/")
        .parse()
        .unwrap()
}

async fn actions(app: &TestApp) -> Vec<String> {
    app.store
        .audit_entries(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

pub async fn a_closed_week_refuses_submissions_with_when_it_opens(db: Db) {
    let app = app(db).await;
    app.signed_in_learner("ada@example.org").await;
    let cohort = cohort_of(&app, "ada@example.org").await;
    start_in(&app, cohort, 3).await;
    let opens = gauntlet::web::runs::format_time(app.clock.now_ms() + 3 * DAY);

    let (status, week) = app.get_text("/weeks/1").await;
    assert_eq!(status, 200);
    assert!(
        week.contains(&format!("This week opens on {opens}")),
        "the module page says when: {week}"
    );
    let (_, lab) = app.get_text(&format!("/labs/{LAB}")).await;
    assert!(lab.contains("id=\"week-closed\""), "{lab}");
    assert!(
        !lab.contains("enctype=\"multipart/form-data\""),
        "no form while closed"
    );

    let res = upload(&app).await;
    assert_eq!(res.status().as_u16(), 403);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("This week is not open yet")
            && page.contains(&format!("week 1 is not open yet: it opens on {opens}")),
        "the lab page says why: {page}"
    );

    let token = app.api_token("cli").await;
    let res = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/labs/{LAB}/submissions")))
        .bearer_auth(&token)
        .body(project())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "week_closed");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("it opens on {opens}")),
        "{body}"
    );

    // `gauntlet submit` says the same (it goes through the API).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let (server, path) = (app.address.clone(), dir.path().to_path_buf());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_gauntlet"))
            .args(["submit", "--lab", LAB, "--server", &server])
            .arg(&path)
            .env("GAUNTLET_TOKEN", &token)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains(&format!("week 1 is not open yet: it opens on {opens}")),
        "{said}"
    );
    assert_eq!(app.store.queue_depth().await.unwrap(), 0, "nothing stored");

    // The moment it opens, the same learner is taken.
    app.clock.advance_ms(3 * DAY);
    let run = run_of(&upload(&app).await);
    let stored = app.store.run(run).await.unwrap();
    assert_eq!(stored.late, 0);
    assert_eq!(stored.due_at, Some(app.clock.now_ms() + 7 * DAY));

    // Staff are never refused, whatever a cohort's dates.
    let staff = app.clone_for_another_client();
    staff
        .signed_in_staff(
            "teacher@example.org",
            Role::Instructor,
            &["ada@example.org"],
        )
        .await;
    start_in(&app, cohort, 30).await;
    run_of(&upload(&staff).await);
}

pub async fn opening_a_week_early_opens_it_for_that_learner_only(db: Db) {
    let app = app(db).await;
    let code = app.invite().await;
    let bob = app.clone_for_another_client();
    assert_eq!(
        app.register(&code, "ada@example.org", common::app::PASSWORD)
            .await
            .status()
            .as_u16(),
        303
    );
    assert_eq!(
        bob.register(&code, "bob@example.org", common::app::PASSWORD)
            .await
            .status()
            .as_u16(),
        303
    );
    let cohort = cohort_of(&app, "ada@example.org").await;
    start_in(&app, cohort, 10).await;
    let teacher = app.clone_for_another_client();
    teacher
        .signed_in_staff(
            "teacher@example.org",
            Role::Instructor,
            &["ada@example.org"],
        )
        .await;

    let res = post(
        &teacher,
        &format!("/cohorts/{cohort}/schedule/early"),
        &[("email", "ada@example.org"), ("week", "1")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let (_, page) = teacher.get_text(&format!("/cohorts/{cohort}")).await;
    assert!(page.contains("ada@example.org: week 1"), "{page}");
    assert!(actions(&app)
        .await
        .contains(&"schedule.open_early".to_string()));

    run_of(&upload(&app).await);
    assert_eq!(upload(&bob).await.status().as_u16(), 403, "bob still waits");
    let (_, bob_week) = bob.get_text("/weeks/1").await;
    assert!(bob_week.contains("This week opens on"));
    let (_, ada_week) = app.get_text("/weeks/1").await;
    assert!(!ada_week.contains("This week opens on"));

    // Only learners of this cohort can be given a week early.
    let res = post(
        &teacher,
        &format!("/cohorts/{cohort}/schedule/early"),
        &[("email", "teacher@example.org"), ("week", "2")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
}

pub async fn a_run_after_the_due_date_is_graded_and_marked_late(db: Db) {
    let app = app(db).await;
    app.signed_in_learner("ada@example.org").await;
    let cohort = cohort_of(&app, "ada@example.org").await;

    start_in(&app, cohort, -1).await;
    let due = gauntlet::web::runs::format_time(app.clock.now_ms() + 6 * DAY);
    let (_, map) = app.get_text("/").await;
    assert!(
        map.contains(&format!(">due <span class=\"date\">{due}<")),
        "{map}"
    );
    let on_time = run_of(&upload(&app).await);
    assert_eq!(app.store.run(on_time).await.unwrap().late, 0);

    app.clock.advance_ms(6 * DAY + 1);
    let late = run_of(&upload(&app).await);
    let stored = app.store.run(late).await.unwrap();
    assert_eq!(stored.late, 1);
    assert_eq!(stored.state, "queued", "a late run is still graded");
    let why = gauntlet::domain::RegradeReason::parse("the due date moved").unwrap();
    let regrade = app
        .store
        .regrade(late, 1, None, &gauntlet::store::Actor::command_line(), &why)
        .await
        .unwrap();
    let regraded = app.store.run(regrade).await.unwrap();
    assert_eq!(
        (regraded.late, regraded.due_at),
        (1, stored.due_at),
        "a re-grade is as late as its submission"
    );

    let (_, run_page) = app.get_text(&format!("/runs/{late}")).await;
    assert!(
        run_page.contains("class=\"badge late\">late</span>") && run_page.contains(&due),
        "{run_page}"
    );
    let (_, on_time_page) = app.get_text(&format!("/runs/{on_time}")).await;
    assert!(!on_time_page.contains("badge late"));
    let (_, history) = app.get_text(&format!("/labs/{LAB}/runs")).await;
    assert_eq!(history.matches("badge late").count(), 2, "{history}");
    let (_, map) = app.get_text("/").await;
    assert!(
        map.contains(&format!("late · was due <span class=\"date\">{due}<")),
        "{map}"
    );
}

pub async fn an_instructor_of_one_cohort_cannot_change_anothers_schedule(db: Db) {
    let app = app(db).await;
    app.signed_in_learner("ada@example.org").await;
    let bob = app.clone_for_another_client();
    bob.signed_in_learner("bob@example.org").await;
    let (a, b) = (
        cohort_of(&app, "ada@example.org").await,
        cohort_of(&app, "bob@example.org").await,
    );
    let teacher = app.clone_for_another_client();
    teacher
        .signed_in_staff(
            "a-teacher@example.org",
            Role::Instructor,
            &["ada@example.org"],
        )
        .await;

    // Their own cohort: start, a lab's due date, and the page shows them.
    let res = post(
        &teacher,
        &format!("/cohorts/{a}/schedule/start"),
        &[("starts", "2027-01-04")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let res = post(
        &teacher,
        &format!("/cohorts/{a}/schedule/date"),
        &[("item", "lab:w01-hello"), ("at", "2027-02-01T18:00")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let (_, page) = teacher.get_text(&format!("/cohorts/{a}")).await;
    assert!(
        page.contains("Week 1 opens on 2027-01-04 00:00 UTC"),
        "{page}"
    );
    assert!(page.contains("2027-02-01 18:00 UTC"), "{page}");
    let bad = post(
        &teacher,
        &format!("/cohorts/{a}/schedule/start"),
        &[("starts", "next monday")],
    )
    .await;
    assert_eq!(bad.status().as_u16(), 422);
    let audit = actions(&app).await;
    assert!(
        audit.contains(&"schedule.start".to_string())
            && audit.contains(&"schedule.date".to_string())
    );

    // Another cohort: as if it did not exist, to the instructor and to a learner.
    for who in [&teacher, &bob] {
        for (path, fields) in [
            ("start", vec![("starts", "2027-01-04")]),
            ("date", vec![("item", "week:1"), ("at", "2027-01-04T00:00")]),
            ("early", vec![("email", "bob@example.org"), ("week", "1")]),
        ] {
            let res = post(who, &format!("/cohorts/{b}/schedule/{path}"), &fields).await;
            assert_eq!(res.status().as_u16(), 404, "{path}");
        }
    }
    let res = post(
        &bob,
        &format!("/cohorts/{a}/schedule/start"),
        &[("starts", "2030-01-01")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 404, "a learner changes no schedule");
    // Nor through their own cohort's form, naming the other cohort's learner.
    let res = post(
        &teacher,
        &format!("/cohorts/{a}/schedule/early"),
        &[("email", "bob@example.org"), ("week", "1")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(app.store.early_weeks_in(b).await.unwrap().is_empty());
    assert_eq!(app.store.cohort(b).await.unwrap().unwrap().starts_at, None);
    assert!(app.store.cohort_dates(b).await.unwrap().is_none());
    let (status, _) = bob.get_text(&format!("/cohorts/{b}")).await;
    assert_eq!(status, 404);
}

pub async fn without_a_start_date_everything_is_open_and_nothing_due(db: Db) {
    let app = app(db).await;
    app.signed_in_learner("ada@example.org").await;
    let (_, map) = app.get_text("/").await;
    assert!(
        !map.contains("opens on") && !map.contains("class=\"when"),
        "{map}"
    );
    let run = run_of(&upload(&app).await);
    let stored = app.store.run(run).await.unwrap();
    assert_eq!((stored.late, stored.due_at), (0, None));
}

/// The gradebook's at-risk flag reads the cohort's due dates: nothing is due before the cohort has a start date;
/// once its labs are past due, a learner without a passing run is flagged.
pub async fn a_lab_past_its_due_date_without_a_pass_is_flagged_on_the_gradebook(db: Db) {
    let app = app(db).await;
    app.signed_in_learner("ada@example.org").await;
    let cohort = cohort_of(&app, "ada@example.org").await;
    let staff = app.clone_for_another_client();
    staff
        .signed_in_staff(
            "teacher@example.org",
            Role::Instructor,
            &["ada@example.org"],
        )
        .await;
    let gradebook = format!("/cohorts/{cohort}/gradebook");
    let (status, page) = staff.get_text(&gradebook).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("ada@example.org"), "{page}");
    assert!(
        !page.contains("no passing run by the due date"),
        "nothing is due without a start date: {page}"
    );
    start_in(&app, cohort, -120).await;
    let (_, page) = staff.get_text(&gradebook).await;
    assert!(page.contains("no passing run by the due date"), "{page}");
}

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
    a_closed_week_refuses_submissions_with_when_it_opens,
    opening_a_week_early_opens_it_for_that_learner_only,
    a_run_after_the_due_date_is_graded_and_marked_late,
    an_instructor_of_one_cohort_cannot_change_anothers_schedule,
    without_a_start_date_everything_is_open_and_nothing_due,
    a_lab_past_its_due_date_without_a_pass_is_flagged_on_the_gradebook,
);
