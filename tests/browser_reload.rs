//! The curriculum page and a cohort re-grade in a real browser (headless Chromium) at a laptop's and a phone's
//! width: an admin breaks a file and presses reload (the problem shows with its file and line, the course stays),
//! fixes it and reloads again (the new title is live); an instructor starts a cohort re-grade and watches its
//! progress fill in without reloading the page. Screenshots land in `target/screenshots/reload-*.png`.

mod common;

use std::time::Duration;

use common::app::{Spawn, TestApp, PASSWORD};
use common::browser::Browser;
use common::fixture::module;
use fantoccini::Locator;
use gauntlet::domain::{DisplayName, Email, NewPassword, Role, RunState};
use gauntlet::store::{FinalResult, Lease};

async fn account(app: &TestApp, email: &str, role: Role, cohort: Option<i64>) -> i64 {
    let hash = gauntlet::auth::password::hash(&NewPassword::parse(PASSWORD).unwrap())
        .await
        .unwrap();
    app.store
        .create_user(
            &Email::parse(email).unwrap(),
            &DisplayName::parse("Someone").unwrap(),
            &hash,
            role,
            cohort,
        )
        .await
        .unwrap()
}

/// The text of `css`, retried while a navigation or a swap makes the element stale.
async fn text_of(browser: &Browser, css: &str) -> String {
    let mut last = None;
    for _ in 0..50 {
        match browser.client.find(Locator::Css(css)).await {
            Ok(element) => match element.text().await {
                Ok(text) => return text,
                Err(e) => last = Some(e),
            },
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot read {css}: {last:?}");
}

async fn until_text(browser: &Browser, css: &str, needle: &str) -> String {
    let mut text = String::new();
    for _ in 0..100 {
        text = text_of(browser, css).await;
        if text.contains(needle) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never read {needle:?}: {text}");
}

async fn fits(browser: &Browser, device: &str, page: &str) {
    browser.screenshot(&format!("reload-{device}-{page}")).await;
    assert!(
        !browser.overflows_horizontally().await,
        "{device}: the {page} page fits"
    );
}

#[tokio::test]
async fn an_admin_reloads_the_course_from_the_browser_on_a_laptop_and_a_phone() {
    let app = Spawn::default().start().await;
    let course = app.course.clone().unwrap();
    account(&app, "admin@example.org", Role::Admin, None).await;
    for (device, width, height) in [("laptop", 1280, 900), ("phone", 390, 844)] {
        let browser = Browser::start(width, height).await;
        let c = &browser.client;
        browser
            .sign_in(
                &app.url("/login"),
                "admin@example.org",
                PASSWORD,
                "a[href='/admin']",
            )
            .await;
        c.goto(&app.url("/admin")).await.unwrap();
        c.find(Locator::Css(".staff-links a[href='/admin/curriculum']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        until_text(&browser, "#course-title", "Fixture course").await;
        fits(&browser, device, "live").await;

        // A broken module: the page lists the file and line; the course stays.
        course.write(
            "curriculum/week-05/module.md",
            "+++\nweek = 5\ntitle = \"Week 5\"\nsummary = \"s\"\npillars = [\"nope\"]\nobjectives = [\"o\"]\nlabs = []\n+++\n",
        );
        c.find(Locator::Css("#reload"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let problems = until_text(&browser, "#failed-reload", "week-05/module.md").await;
        assert!(problems.contains("nope"), "{problems}");
        assert!(text_of(&browser, "#reload-notice")
            .await
            .contains("Nothing changed"));
        fits(&browser, device, "refused").await;

        // Fixed, with a new title: reloaded, and the week page shows it.
        let title = format!("Week 5 on a {device}");
        course.write(
            "curriculum/week-05/module.md",
            &module(5, "[]", "Body.")
                .replace("title = \"Week 5\"", &format!("title = \"{title}\"")),
        );
        c.find(Locator::Css("#reload"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        until_text(&browser, "#reload-notice", "The course was reloaded").await;
        assert!(text_of(&browser, "#loaded")
            .await
            .contains("admin@example.org"));
        fits(&browser, device, "reloaded").await;
        c.goto(&app.url("/weeks/5")).await.unwrap();
        until_text(&browser, "h1", &title).await;
        browser.close().await;
    }
}

#[tokio::test]
async fn an_instructor_follows_a_cohort_regrade_in_the_browser_on_a_laptop_and_a_phone() {
    let app = Spawn::default().start().await;
    let cohort = app.store.create_cohort("Autumn", "AUTUMN-1").await.unwrap();
    account(&app, "teacher@example.org", Role::Instructor, None).await;
    app.store
        .add_cohort_instructor("Autumn", "teacher@example.org")
        .await
        .unwrap();
    for n in 0..3 {
        let user = account(
            &app,
            &format!("learner{n}.with.a.rather.long.address@example.org"),
            Role::Learner,
            Some(cohort),
        )
        .await;
        app.store
            .submit(user, "w01-hello", b"project", 1)
            .await
            .unwrap();
        finish_next(&app, RunState::Failed, 40.0).await;
    }
    for (device, width, height) in [("laptop", 1280, 900), ("phone", 390, 844)] {
        let browser = Browser::start(width, height).await;
        let c = &browser.client;
        browser
            .sign_in(
                &app.url("/login"),
                "teacher@example.org",
                PASSWORD,
                "a[href='/admin']",
            )
            .await;
        c.goto(&app.url(&format!("/cohorts/{cohort}/regrades")))
            .await
            .unwrap();
        let form = c.form(Locator::Css("#regrade-form")).await.unwrap();
        form.set_by_name("reason", &format!("checks changed ({device})"))
            .await
            .unwrap();
        fits(&browser, device, "form").await;
        form.submit().await.unwrap();
        until_text(&browser, "#regrade-count", "0 of 3 done").await;
        c.execute("window.notReloaded = true; return true;", vec![])
            .await
            .unwrap();
        fits(&browser, device, "running").await;
        finish_next(&app, RunState::Passed, 100.0).await;
        finish_next(&app, RunState::Failed, 40.0).await;
        finish_next(&app, RunState::Failed, 40.0).await;
        until_text(&browser, "#regrade-count", "3 of 3 done").await;
        if device == "laptop" {
            // One learner went from failed to passed (on the phone, the second batch starts from those verdicts).
            assert!(text_of(&browser, "#regrade-progress")
                .await
                .contains("1 changed"));
        }
        let kept = c
            .execute("return window.notReloaded === true;", vec![])
            .await
            .unwrap();
        assert_eq!(
            kept.as_bool(),
            Some(true),
            "{device}: htmx polled it in place"
        );
        fits(&browser, device, "done").await;
        browser.close().await;
    }
}

async fn finish_next(app: &TestApp, state: RunState, score: f64) {
    let claimed = app.store.claim_run("test", 60_000).await.unwrap().unwrap();
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
    assert!(app
        .store
        .finish_run(&Lease::of(&claimed, "test"), &result)
        .await
        .unwrap());
}
