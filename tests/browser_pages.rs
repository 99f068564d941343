//! The pages in a real browser (headless Chromium): a visitor registers, reads the course, and every page fits
//! a laptop and a phone. Screenshots land in `target/screenshots/` for a person to look at.
//! scripts/test: no broker (w07's page is shown for its starters; nothing is graded)

mod common;

use common::app::Spawn;
use common::browser::Browser;
use fantoccini::Locator;

#[tokio::test]
async fn a_visitor_registers_in_the_browser_and_reads_the_course_on_a_laptop_and_a_phone() {
    // The bundled course, with week 12's hidden checks taken out: every bundled lab is graded, and the page of a lab
    // without checks (an instructor's new lab) must say so and fit too.
    let (curriculum, labs) = common::app::bundled();
    let copy = tempfile::tempdir().unwrap();
    copy_dir(&labs, &copy.path().join("labs"));
    std::fs::remove_dir_all(copy.path().join("labs/w12-llm/checks")).unwrap();
    std::fs::remove_file(copy.path().join("labs/w12-llm/mutants.toml")).unwrap();
    let app = Spawn::default()
        .curriculum(curriculum, copy.path().join("labs"))
        .start()
        .await;
    let code = app.invite().await;
    for (device, width, height) in [("laptop", 1280, 900), ("phone", 390, 844)] {
        let browser = Browser::start(width, height).await;
        let c = &browser.client;
        c.goto(&app.url("/")).await.unwrap();
        assert!(c.current_url().await.unwrap().path().starts_with("/login"));
        browser.screenshot(&format!("{device}-login")).await;
        assert!(
            !browser.overflows_horizontally().await,
            "{device}: login fits"
        );

        let form = browser
            .fill_registration(
                &app.url(&format!("/register?code={code}")),
                &format!("{device}@example.org"),
                &format!("Ada on a {device}"),
            )
            .await;
        browser.screenshot(&format!("{device}-register")).await;
        form.submit().await.unwrap();
        c.wait()
            .for_element(Locator::Css("#progress-heading"))
            .await
            .unwrap();
        let body = c
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        browser.screenshot(&format!("{device}-course")).await;
        assert!(
            body.to_lowercase().contains("week 12"),
            "{device}: the map lists the weeks: {body}"
        );
        browser.screenshot(&format!("{device}-course")).await;
        assert!(
            !browser.overflows_horizontally().await,
            "{device}: the map fits"
        );

        c.find(Locator::Css("a[href='/weeks/4']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.wait()
            .for_element(Locator::Css(".prose h2"))
            .await
            .unwrap();
        browser.screenshot(&format!("{device}-week")).await;
        assert!(
            !browser.overflows_horizontally().await,
            "{device}: a week fits"
        );

        c.find(Locator::Css(".labs-callout a"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.wait().for_element(Locator::Css(".prose")).await.unwrap();
        assert!(c
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/labs/w04"));
        browser.screenshot(&format!("{device}-lab")).await;
        assert!(
            !browser.overflows_horizontally().await,
            "{device}: a lab fits"
        );

        // The w01 lab offers its starter project; the button is visible and the page still fits.
        c.goto(&app.url("/labs/w01-health")).await.unwrap();
        let starter = c
            .wait()
            .for_element(Locator::Css("a[href='/labs/w01-health/starter.tar.gz']"))
            .await
            .unwrap();
        assert!(
            starter.is_displayed().await.unwrap(),
            "{device}: the starter button shows"
        );
        browser.screenshot(&format!("{device}-lab-starter")).await;
        assert!(
            !browser.overflows_horizontally().await,
            "{device}: a lab with a starter fits"
        );
        // w07 offers its starter in two languages: one button each, labelled by language, and the page fits.
        c.goto(&app.url("/labs/w07-consumer")).await.unwrap();
        for (href, label) in [
            (
                "/labs/w07-consumer/starter.tar.gz",
                "Download the Python starter project",
            ),
            (
                "/labs/w07-consumer/starters/rust.tar.gz",
                "Download the Rust starter project",
            ),
        ] {
            let button = c
                .wait()
                .for_element(Locator::Css(&format!("a[href='{href}']")))
                .await
                .unwrap();
            assert!(
                button.is_displayed().await.unwrap(),
                "{device}: the {label} button shows"
            );
            assert_eq!(button.text().await.unwrap(), label, "{device}");
        }
        browser.screenshot(&format!("{device}-lab-starters")).await;
        assert!(
            !browser.overflows_horizontally().await,
            "{device}: a lab with two starters fits"
        );
        // A lab without checks says so where a learner submits.
        c.goto(&app.url("/labs/w12-llm")).await.unwrap();
        let notice = c
            .wait()
            .for_element(Locator::Css(".submit-box .notice"))
            .await
            .unwrap();
        assert!(notice
            .text()
            .await
            .unwrap()
            .contains("no automatic checks yet"));

        c.goto(&app.url("/profile")).await.unwrap();
        c.wait()
            .for_element(Locator::Css("#tokens-heading"))
            .await
            .unwrap();
        browser.screenshot(&format!("{device}-profile")).await;
        assert!(
            !browser.overflows_horizontally().await,
            "{device}: the profile fits"
        );

        c.goto(&app.url("/weeks/99")).await.unwrap();
        browser.screenshot(&format!("{device}-404")).await;
        browser.close().await;
    }
}

/// Copies the folder `from` into `to`, recursively.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
