//! A learner in a real browser (headless Chromium) registers, opens a lab, uploads a project and watches the
//! verdicts arrive live over server-sent events.

mod common;

use std::time::Duration;

use common::browser::Browser;
use common::grading::{app_with_worker, assert_no_docker_leftovers, course};
use common::project::Project;
use fantoccini::Locator;

#[tokio::test]
async fn a_learner_uploads_a_project_in_the_browser_and_sees_the_verdicts_appear_live() {
    let course = course();
    let app = app_with_worker(&course).await;
    let code = app.invite().await;
    // Slow answers make the checks take a few seconds, so the page is open while they land.
    let project = Project::testsvc(&[("TESTSVC_DELAY_MS", "150")]);
    let upload = tempfile::tempdir().unwrap();
    let archive = upload.path().join("project.tar.gz");
    std::fs::write(&archive, project.archive()).unwrap();

    let browser = Browser::start(1280, 900).await;
    let c = &browser.client;
    let form = browser
        .fill_registration(
            &app.url(&format!("/register?code={code}")),
            "ada@example.org",
            "Ada",
        )
        .await;
    form.submit().await.unwrap();
    c.wait()
        .for_element(Locator::Css("#progress-heading"))
        .await
        .unwrap();

    c.goto(&app.url("/labs/w01-hello")).await.unwrap();
    let input = c
        .find(Locator::Css("input[type=file][name=archive]"))
        .await
        .unwrap();
    input.send_keys(archive.to_str().unwrap()).await.unwrap();
    browser.screenshot("laptop-lab-upload").await;
    c.find(Locator::Css(".submit-box button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_url(&url::Url::parse(&app.url("/runs/1")).unwrap())
        .await
        .unwrap();
    // The page was loaded before the checks ran: verdicts can only appear through the live stream.
    let first_checks = c
        .find_all(Locator::Css("#live-checks li"))
        .await
        .unwrap()
        .len();
    assert_eq!(first_checks, 0, "no verdict yet when the page loads");
    c.wait()
        .at_most(Duration::from_secs(120))
        .for_element(Locator::Css("#live-checks li.verdict-pass"))
        .await
        .expect("a verdict arrives live");
    browser.screenshot("laptop-run-live").await;
    c.wait()
        .at_most(Duration::from_secs(120))
        .for_element(Locator::Css("#result .badge.state-passed"))
        .await
        .expect("the final result replaces the live view");
    let result = c
        .find(Locator::Css("#result"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(result.contains("Score 100%"), "{result}");
    let state = c
        .find(Locator::Css("#state"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(state.trim(), "passed", "the state badge settles");
    let live = c.find_all(Locator::Css("#live")).await.unwrap();
    assert!(live.is_empty(), "the live list gives way to the result");
    browser.screenshot("laptop-run-done").await;
    browser.close().await;
    assert_no_docker_leftovers(&app).await;
}
