//! The gradebook, a learner's page and check analytics in a real browser (headless Chromium) at a laptop's and a
//! phone's size: an instructor opens their cohort's gradebook from the cohort page, sorts it by a lab and filters
//! it to the learners at risk (htmx swaps the table, the page is not reloaded, the address follows), opens a
//! learner's page and a lab's analytics. Every page must fit the window; screenshots land in
//! `target/screenshots/gradebook-*.png` for a person to look at.

mod common;

#[path = "web_gradebook/seed.rs"]
mod seed;

use std::time::Duration;

use common::app::{TestApp, PASSWORD};
use common::browser::Browser;
use fantoccini::Locator;
use gauntlet::domain::{DisplayName, Email, NewPassword, Role, RunState};

async fn instructor(app: &TestApp, cohort_name: &str) {
    let hash = gauntlet::auth::password::hash(&NewPassword::parse(PASSWORD).unwrap())
        .await
        .unwrap();
    app.store
        .create_user(
            &Email::parse("teacher@example.org").unwrap(),
            &DisplayName::parse("Grace Teacher").unwrap(),
            &hash,
            Role::Instructor,
            None,
        )
        .await
        .unwrap();
    app.store
        .add_cohort_instructor(cohort_name, "teacher@example.org")
        .await
        .unwrap();
}

/// A cohort of eight with runs in every state, one learner at risk.
async fn seeded(app: &TestApp) -> (i64, i64) {
    let cohort = seed::cohort(app, "Autumn 2026 evening bootcamp").await;
    let names = [
        "Ada Lovelace",
        "Bob Kahn",
        "Cy Young-Longname-Hyphenated",
        "Dee",
        "Eve",
        "Fay",
        "Gus",
        "Hal",
    ];
    let mut ids = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let email = format!("learner{i}.with.a.long.address@example.org");
        ids.push(seed::learner(app, cohort, &email, n).await);
    }
    let labs = [
        "w01-health",
        "w02-crud",
        "w03-persistence",
        "w04-concurrency",
        "w05-container",
    ];
    for (i, id) in ids.iter().enumerate() {
        for (j, lab) in labs.iter().enumerate().take(i % 6) {
            let state = if (i + j) % 3 == 0 {
                RunState::Failed
            } else {
                RunState::Passed
            };
            let score = if state == RunState::Passed { 1.0 } else { 0.4 };
            seed::run(
                app,
                *id,
                lab,
                state,
                score,
                &[(
                    "a-check",
                    if score < 1.0 { "fail" } else { "pass" },
                    "expected 200, got 500",
                )],
            )
            .await;
        }
    }
    for _ in 0..3 {
        seed::run(
            app,
            ids[1],
            "w06-deploy",
            RunState::Failed,
            0.2,
            &[("rollout", "fail", "no readiness probe")],
        )
        .await;
    }
    seed::in_progress(app, ids[3], "w05-container").await;
    (cohort, ids[1])
}

async fn sign_in(browser: &Browser, app: &TestApp) {
    browser
        .sign_in(
            &app.url("/login"),
            "teacher@example.org",
            PASSWORD,
            "a[href='/admin']",
        )
        .await;
}

async fn fits(browser: &Browser, device: &str, page: &str) {
    browser
        .screenshot(&format!("gradebook-{device}-{page}"))
        .await;
    assert!(
        !browser.overflows_horizontally().await,
        "{device}: the {page} page fits"
    );
}

/// Waits until `script` (returning a boolean) holds.
async fn until(browser: &Browser, script: &str, what: &str) {
    for _ in 0..100 {
        let v = browser.client.execute(script, vec![]).await.unwrap();
        if v.as_bool() == Some(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn an_instructor_reads_sorts_and_filters_the_gradebook_on_a_laptop_and_a_phone() {
    let app = common::app::Spawn::default().bundled().start().await;
    let (cohort, at_risk) = seeded(&app).await;
    instructor(&app, "Autumn 2026 evening bootcamp").await;

    for (device, width, height) in [("laptop", 1280, 800), ("phone", 390, 844)] {
        let browser = Browser::start(width, height).await;
        let c = &browser.client;
        sign_in(&browser, &app).await;
        c.goto(&app.url(&format!("/cohorts/{cohort}")))
            .await
            .unwrap();
        c.find(Locator::Css(&format!(
            "a[href='/cohorts/{cohort}/gradebook']"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
        c.wait()
            .for_element(Locator::Css("table.gradebook"))
            .await
            .unwrap();
        fits(&browser, device, "book").await;
        c.execute(
            "document.getElementById('heatmap-heading').scrollIntoView(); return true;",
            vec![],
        )
        .await
        .unwrap();
        fits(&browser, device, "heatmap").await;

        // Sorting by a lab swaps the table in place and puts the address in the history.
        c.execute(
            "window.notReloaded = true; window.scrollTo(0, 0); return true;",
            vec![],
        )
        .await
        .unwrap();
        c.find(Locator::Css("th a[href*='sort=lab%3Aw02-crud']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        until(&browser, "return location.search.includes('sort=lab%3Aw02-crud') && !!document.querySelector('th[aria-sort=ascending]');", "the sorted table").await;
        let kept = c
            .execute("return window.notReloaded === true;", vec![])
            .await
            .unwrap();
        assert_eq!(
            kept.as_bool(),
            Some(true),
            "{device}: swapped by htmx, not reloaded"
        );

        // Filter to the learners at risk.
        c.find(Locator::Css("select[name=state]"))
            .await
            .unwrap()
            .select_by_value("at-risk")
            .await
            .unwrap();
        c.find(Locator::Css("form.gb-filters button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        until(
            &browser,
            "return document.querySelectorAll('table.gradebook tbody tr').length === 1;",
            "the filtered table",
        )
        .await;
        let kept = c
            .execute(
                "return window.notReloaded === true && location.search.includes('state=at-risk');",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            kept.as_bool(),
            Some(true),
            "{device}: filtered in place, address kept"
        );
        let row = c
            .find(Locator::Css("table.gradebook tbody tr"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(row.contains("Bob Kahn") && row.contains("at risk"), "{row}");
        fits(&browser, device, "filtered").await;

        // The learner's page.
        c.find(Locator::Css(&format!(
            "a[href='/cohorts/{cohort}/learners/{at_risk}']"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
        c.wait()
            .for_element(Locator::Css("svg.radar"))
            .await
            .unwrap();
        let risk = c
            .find(Locator::Css(".gb-reasons"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(risk.contains("rollout"), "{risk}");
        fits(&browser, device, "learner").await;
        c.execute(
            "document.getElementById('pillars-heading').scrollIntoView(); return true;",
            vec![],
        )
        .await
        .unwrap();
        fits(&browser, device, "learner-radar").await;
        c.execute(
            "document.getElementById('timeline-heading').scrollIntoView(); return true;",
            vec![],
        )
        .await
        .unwrap();
        fits(&browser, device, "learner-timeline").await;

        // A lab's check analytics.
        c.goto(&app.url(&format!("/cohorts/{cohort}/labs/w06-deploy/analytics")))
            .await
            .unwrap();
        c.wait()
            .for_element(Locator::Css("table.analytics"))
            .await
            .unwrap();
        let table = c
            .find(Locator::Css("table.analytics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            table.contains("no readiness probe") && table.contains("100 %"),
            "{table}"
        );
        fits(&browser, device, "analytics").await;
        browser.close().await;
    }
}
