//! Module quizzes over real HTTP against the real server: a learner takes a quiz from the week page, the server
//! grades and records it (SQLite and PostgreSQL), the first attempt counts toward the pillar with the course's
//! weight, the answers are nowhere in the page or the API before submission, the form needs its CSRF token,
//! attempts are their author's alone, and staff read scores only for the cohorts they may read.

mod common;

use common::app::{Db, Spawn, TestApp};
use common::fixture::Course;
use gauntlet::domain::{Email, Role};

/// The fixture course with a three-question quiz in week 1 (pillar `language`) counting half of the pillar.
/// `second_is_right` picks which choice of the single-choice question is correct.
fn course_with_quiz(second_is_right: bool) -> Course {
    let course = Course::valid();
    let toml = std::fs::read_to_string(course.path("curriculum/course.toml")).unwrap();
    course.write(
        "curriculum/course.toml",
        &format!("{toml}\n[quizzes]\nweight = 0.5\n"),
    );
    let (first, second) = if second_is_right {
        ("", ", correct = true")
    } else {
        (", correct = true", "")
    };
    course.write(
        "curriculum/week-01/quiz.toml",
        &format!(
            r#"
[[questions]]
id = "pick-one"
kind = "single"
prompt = "Pick the right one."
choices = [{{ text = "First choice"{first} }}, {{ text = "Second choice"{second} }}, {{ text = "Third choice" }}]
explanation = "EXPLAINED-SENTINEL-ONE"

[[questions]]
id = "pick-many"
kind = "multiple"
prompt = "Pick alpha and gamma."
choices = [{{ text = "Alpha", correct = true }}, {{ text = "Beta" }}, {{ text = "Gamma", correct = true }}]

[[questions]]
id = "type-it"
kind = "short"
prompt = "Type the word."
answers = ["Zebra-Sentinel-Answer"]
explanation = "EXPLAINED-SENTINEL-THREE"
"#
        ),
    );
    course
}

async fn app_with_quiz(db: Db, course: &Course) -> TestApp {
    Spawn::default()
        .db(db)
        .curriculum(course.curriculum(), course.labs())
        .start()
        .await
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    app.store
        .user_by_email(&Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Submits the week-1 quiz with `answers` (and this client's CSRF token); returns the response.
async fn submit(app: &TestApp, answers: &[(&str, &str)]) -> reqwest::Response {
    let token = app.csrf("/weeks/1").await;
    let mut form = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(answers);
    app.post_form("/weeks/1/quiz", &form).await
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .expect("a redirect")
        .to_str()
        .unwrap()
        .to_string()
}

const ALL_RIGHT: [(&str, &str); 4] = [
    ("q-pick-one", "1"),
    ("q-pick-many", "2"),
    ("q-pick-many", "0"),
    ("q-type-it", "  zebra-sentinel-ANSWER "),
];

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
    a_learner_takes_the_quiz_and_the_first_attempt_counts_toward_the_pillar,
    staff_read_quiz_scores_only_for_the_cohorts_they_may_read,
);

async fn a_learner_takes_the_quiz_and_the_first_attempt_counts_toward_the_pillar(db: Db) {
    let course = course_with_quiz(true);
    let app = app_with_quiz(db, &course).await;
    app.signed_in_learner("ada@example.org").await;
    let ada = user_id(&app, "ada@example.org").await;
    let (_, week) = app.get_text("/weeks/1").await;
    assert!(
        week.contains("action=\"/weeks/1/quiz\"") && week.contains("Second choice"),
        "{week}"
    );

    // A first attempt with every answer wrong: it is the one that counts.
    let res = submit(&app, &[("q-pick-one", "0"), ("q-type-it", "horse")]).await;
    assert_eq!(res.status().as_u16(), 303);
    let (_, worse) = app.get_text(&location(&res)).await;
    assert!(
        worse.contains("Quiz result: 0 %") && worse.contains("Zebra-Sentinel-Answer"),
        "a wrong short answer is shown with the accepted one: {worse}"
    );

    // The second attempt, having seen the answers, gets them all right: recorded, shown, but practice only.
    let res = submit(&app, &ALL_RIGHT).await;
    assert_eq!(res.status().as_u16(), 303);
    let result_url = location(&res);
    assert!(
        result_url.starts_with("/weeks/1/quiz/attempts/"),
        "{result_url}"
    );
    let (status, result) = app.get_text(&result_url).await;
    assert_eq!(status, 200);
    assert!(
        result.contains("Quiz result: 100 %") && result.contains("3 of 3 right"),
        "{result}"
    );
    assert!(
        result.contains("EXPLAINED-SENTINEL-ONE") && result.contains("EXPLAINED-SENTINEL-THREE"),
        "explanations show after submission: {result}"
    );
    let rows = app.store.quiz_attempts(ada, 1).await.unwrap();
    assert_eq!(rows.len(), 2);
    let (first, second) = if rows[0].id < rows[1].id {
        (&rows[0], &rows[1])
    } else {
        (&rows[1], &rows[0])
    };
    assert_eq!((first.correct, first.total), (0, 3));
    assert_eq!((second.correct, second.total, second.score), (3, 3, 1.0));
    assert!(
        second.answers.contains("zebra-sentinel-ANSWER"),
        "{}",
        second.answers
    );
    let counted = app.store.quiz_best(ada).await.unwrap();
    assert_eq!(
        (counted[0].week, counted[0].best_score, counted[0].attempts),
        (1, 0.0, 2),
        "the first attempt counts, not the best"
    );
    let (_, week) = app.get_text("/weeks/1").await;
    assert!(
        week.contains("Your counted score: <strong>0 %</strong>")
            && week.contains("100 % (3 of 3)"),
        "{week}"
    );

    // Language: no lab attempted and the quiz counted at 0 %: 0 %. With the lab passed and weight 0.5: 50 %.
    let (_, map) = app.get_text("/").await;
    assert!(map.contains("aria-label=\"Pillar language: 0%\""), "{map}");
    app.store
        .record_attempt(ada, "w01-hello", 1.0, true)
        .await
        .unwrap();
    let (_, map) = app.get_text("/").await;
    assert!(map.contains("aria-label=\"Pillar language: 50%\""), "{map}");
}

async fn staff_read_quiz_scores_only_for_the_cohorts_they_may_read(db: Db) {
    let course = course_with_quiz(true);
    let app = app_with_quiz(db, &course).await;
    app.signed_in_learner("ada@example.org").await;
    let bob_client = app.clone_for_another_client();
    bob_client.signed_in_learner("bob@example.org").await;
    let res = submit(&app, &ALL_RIGHT).await;
    let attempt = location(&res);
    let ada = app
        .store
        .user_by_email(&Email::parse("ada@example.org").unwrap())
        .await
        .unwrap()
        .unwrap();
    let ada_cohort = ada.cohort_id.unwrap();

    let teacher = app.clone_for_another_client();
    teacher
        .signed_in_staff(
            "teacher@example.org",
            Role::Instructor,
            &["ada@example.org"],
        )
        .await;
    let (status, page) = teacher
        .get_text(&format!("/cohorts/{ada_cohort}/learners/{}", ada.id))
        .await;
    assert_eq!(status, 200);
    let quizzes = &page[page.find("id=\"quizzes\"").expect("a quiz section")..];
    assert!(
        quizzes.contains("W1 · Week 1") && quizzes.contains("100 %") && quizzes.contains("50 %"),
        "{quizzes}"
    );
    let (status, book) = teacher
        .get_text(&format!("/cohorts/{ada_cohort}/gradebook"))
        .await;
    assert_eq!(status, 200);
    assert!(
        book.contains(">Quizzes</th>") && book.contains("<td class=\"gb-num\">100 %</td>"),
        "{book}"
    );
    // Attempt pages are their author's: the instructor reads the score, not the attempt page.
    assert_eq!(teacher.get(&attempt).await.status().as_u16(), 404);

    let other = app.clone_for_another_client();
    other
        .signed_in_staff("other@example.org", Role::Instructor, &["bob@example.org"])
        .await;
    let (status, _) = other
        .get_text(&format!("/cohorts/{ada_cohort}/learners/{}", ada.id))
        .await;
    assert_eq!(status, 404, "an instructor of another cohort is refused");
    let (status, _) = other
        .get_text(&format!("/cohorts/{ada_cohort}/gradebook"))
        .await;
    assert_eq!(status, 404);
}

/// The quiz section of the week page with the CSRF token blanked out.
fn quiz_section(page: &str, token: &str) -> String {
    let start = page
        .find("<section class=\"quiz panel\"")
        .expect("a quiz section");
    let end = page[start..].find("</section>").unwrap() + start;
    page[start..end].replace(token, "TOKEN")
}

#[tokio::test]
async fn answers_are_nowhere_in_the_page_or_the_api_before_submission() {
    let a = course_with_quiz(true);
    let b = course_with_quiz(false);
    let app_a = app_with_quiz(Db::Sqlite, &a).await;
    let app_b = app_with_quiz(Db::Sqlite, &b).await;
    let mut sections = Vec::new();
    for app in [&app_a, &app_b] {
        app.signed_in_learner("ada@example.org").await;
        let (_, page) = app.get_text("/weeks/1").await;
        for secret in ["Zebra", "zebra", "EXPLAINED-SENTINEL", "correct", "checked"] {
            assert!(!page.contains(secret), "`{secret}` leaks: {page}");
        }
        sections.push(quiz_section(&page, &common::app::csrf_in(&page)));
        let token = app.api_token("cli").await;
        for path in ["/api/v1/labs", "/api/v1/labs/w01-hello"] {
            let body = app
                .client
                .get(app.url(path))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(
                !body.contains("Zebra") && !body.contains("EXPLAINED-SENTINEL"),
                "{path}: {body}"
            );
        }
    }
    assert_eq!(
        sections[0], sections[1],
        "the form is the same whichever choice is right"
    );
}

#[tokio::test]
async fn a_submission_without_its_csrf_token_is_refused_and_not_recorded() {
    let course = course_with_quiz(true);
    let app = app_with_quiz(Db::Sqlite, &course).await;
    app.signed_in_learner("ada@example.org").await;
    let ada = user_id(&app, "ada@example.org").await;
    let mut forged = vec![("csrf_token", "forged")];
    forged.extend_from_slice(&ALL_RIGHT);
    for form in [&ALL_RIGHT[..], &forged[..]] {
        let res = app.post_form("/weeks/1/quiz", form).await;
        assert_eq!(res.status().as_u16(), 403);
    }
    assert!(app.store.quiz_attempts(ada, 1).await.unwrap().is_empty());
}

#[tokio::test]
async fn another_learner_cannot_read_my_attempts() {
    let course = course_with_quiz(true);
    let app = app_with_quiz(Db::Sqlite, &course).await;
    app.signed_in_learner("ada@example.org").await;
    let attempt = location(&submit(&app, &ALL_RIGHT).await);
    let bob = app.clone_for_another_client();
    bob.signed_in_learner("bob@example.org").await;
    assert_eq!(bob.get(&attempt).await.status().as_u16(), 404);
    // The same id under another week, or an id that does not exist, is not found either.
    let id = attempt.rsplit('/').next().unwrap();
    assert_eq!(
        app.get(&format!("/weeks/2/quiz/attempts/{id}"))
            .await
            .status()
            .as_u16(),
        404
    );
    assert_eq!(
        app.get("/weeks/1/quiz/attempts/999999")
            .await
            .status()
            .as_u16(),
        404
    );
    let (_, page) = bob.get_text("/weeks/1").await;
    assert!(
        !page.contains(&attempt) && !page.contains("Your attempts"),
        "{page}"
    );
}

#[tokio::test]
async fn an_empty_submission_is_not_recorded_and_says_why() {
    let course = course_with_quiz(true);
    let app = app_with_quiz(Db::Sqlite, &course).await;
    app.signed_in_learner("ada@example.org").await;
    let ada = user_id(&app, "ada@example.org").await;
    let res = submit(&app, &[("q-type-it", "   "), ("q-unknown", "1")]).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(location(&res), "/weeks/1?quiz=empty#quiz");
    let (_, page) = app.get_text("/weeks/1?quiz=empty").await;
    assert!(page.contains("id=\"quiz-empty\""), "{page}");
    assert!(app.store.quiz_attempts(ada, 1).await.unwrap().is_empty());
    // A week without a quiz has nothing to submit to.
    let token = app.csrf("/weeks/2").await;
    let res = app
        .post_form("/weeks/2/quiz", &[("csrf_token", &token), ("q-a", "1")])
        .await;
    assert_eq!(res.status().as_u16(), 404);
}
