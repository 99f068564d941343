//! The staff's run drill-down in a real browser (headless Chromium) at a laptop's and a phone's width: an
//! instructor opens a failed run of their learner, reads whose it is and its transcripts, finds the failure
//! bundle, cannot send the re-grade form without a reason, re-grades with one and lands on the new run, which
//! names who started it and why; the learner reads their service's output on their own run page. Every page
//! must fit the window; screenshots land in `target/screenshots/drilldown-*.png` for a person to look at.

mod common;

use std::time::Duration;

use common::app::{Spawn, TestApp, PASSWORD};
use common::browser::Browser;
use fantoccini::Locator;
use gauntlet::domain::{Email, Role, RunState};
use gauntlet::store::{CheckResultRow, FinalResult, Lease};

const LEARNER: &str = "ada.lovelace.with.a.rather.long.address@example.org";

async fn failed_run(app: &TestApp) -> i64 {
    let user = app
        .store
        .user_by_email(&Email::parse(LEARNER).unwrap())
        .await
        .unwrap()
        .unwrap();
    let run = app
        .store
        .submit(user.id, "w01-hello", b"project", 7)
        .await
        .unwrap();
    let transcript = "── step 1 of 1: POST http://172.18.0.9:4321/notes/a-very-long-path-segment-that-does-not-break-by-itself-0123456789abcdef\n\
                      > content-type: application/json\n>\n> {\"title\":\"a note\"}\n\
                      expected: status 201\n< 500 (3 ms)\nFAILED at step 1: status 500, expected 201\n";
    let check = CheckResultRow {
        position: 0,
        check_id: "notes-create-with-a-long-identifier".into(),
        title: "Creating a note answers 201 with its location".into(),
        hint: String::new(),
        pillar: "correctness".into(),
        weight: 1.0,
        required: 0,
        verdict: "fail".into(),
        message: "expected status 201, got 500".into(),
        detail: transcript.into(),
        duration_ms: 12,
    };
    let result = FinalResult {
        state: RunState::Failed,
        stage: "checks".into(),
        reason: "1 of 1 checks failed".into(),
        detail: String::new(),
        score: Some(0.0),
        build_log: "Step 1/3 : FROM scratch\n".into(),
        container_log: "listening on :4321\npanic: nil map write in handler /notes, a long line that must wrap on a phone\n".into(),
        checks: vec![check],
        counts: true,
    };
    // Waiting re-grades of earlier rounds are graded alike on the way.
    loop {
        let claimed = app.store.claim_run("w", 60_000).await.unwrap().unwrap();
        assert!(app
            .store
            .finish_run(&Lease::of(&claimed, "w"), &result)
            .await
            .unwrap());
        if claimed.id == run {
            return run;
        }
    }
}

async fn sign_in(browser: &Browser, app: &TestApp, email: &str) {
    browser
        .sign_in(
            &app.url("/login"),
            email,
            PASSWORD,
            "form[action='/logout']",
        )
        .await;
}

async fn fits(browser: &Browser, device: &str, page: &str) {
    browser
        .screenshot(&format!("drilldown-{device}-{page}"))
        .await;
    assert!(
        !browser.overflows_horizontally().await,
        "{device}: the {page} page fits"
    );
}

#[tokio::test]
async fn an_instructor_drills_into_a_run_and_regrades_it_with_a_reason_on_a_laptop_and_a_phone() {
    let app = Spawn::default().start().await;
    app.signed_in_learner(LEARNER).await;
    let staff = app.clone_for_another_client();
    staff
        .signed_in_staff("teacher@example.org", Role::Instructor, &[LEARNER])
        .await;
    for (device, width, height) in [("laptop", 1280, 800), ("phone", 390, 844)] {
        let run = failed_run(&app).await;
        let browser = Browser::start(width, height).await;
        sign_in(&browser, &app, "teacher@example.org").await;
        let c = &browser.client;
        c.goto(&app.url(&format!("/runs/{run}"))).await.unwrap();
        let facts = c
            .find(Locator::Css(".run-facts"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            facts.contains(LEARNER) && facts.contains("submission"),
            "{facts}"
        );
        c.find(Locator::Css(".staff details summary"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.find(Locator::Css(&format!(
            "a[href='/runs/{run}/bundle.tar.gz']"
        )))
        .await
        .unwrap();
        fits(&browser, device, "run").await;

        // The empty form does not leave the page; with a reason it queues the re-grade.
        let button = c.find(Locator::Css("form.regrade button")).await.unwrap();
        button.click().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(c
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with(&format!("/runs/{run}")));
        c.find(Locator::Id("regrade-reason"))
            .await
            .unwrap()
            .send_keys("the notes check was fixed")
            .await
            .unwrap();
        c.find(Locator::Css("form.regrade button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let said = c
            .wait()
            .for_element(Locator::Id("regrade-of"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            said.contains("teacher@example.org")
                && said.contains(&format!("run {run}"))
                && said.contains("the notes check was fixed"),
            "{said}"
        );
        c.execute(
            "document.getElementById('regrade-of').scrollIntoView({block: 'center'});",
            vec![],
        )
        .await
        .unwrap();
        fits(&browser, device, "regrade").await;
        browser.close().await;

        // The learner reads their own service's output.
        let browser = Browser::start(width, height).await;
        sign_in(&browser, &app, LEARNER).await;
        let c = &browser.client;
        c.goto(&app.url(&format!("/runs/{run}"))).await.unwrap();
        let log = c
            .find(Locator::Id("container-log"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(log.contains("panic: nil map write"), "{log}");
        assert!(c.find(Locator::Css(".staff")).await.is_err());
        fits(&browser, device, "learner-run").await;
        browser.close().await;
    }
}
