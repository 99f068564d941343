//! A module's quiz in a real browser (headless Chromium) at a laptop's and a phone's size, without JavaScript of
//! our own: a learner answers week 4's quiz at the end of the module, submits it, reads the result with the right
//! answers and explanations, and finds the attempt listed under the quiz; their instructor reads the score on the
//! learner page. Every page must fit the window; screenshots land in `target/screenshots/quiz-*.png` for a person
//! to look at.

mod common;

use common::app::{Spawn, TestApp, PASSWORD};
use common::browser::Browser;
use fantoccini::Locator;
use gauntlet::domain::{Email, Role};

async fn text_of(browser: &Browser, css: &str) -> String {
    browser
        .client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn scroll_to(browser: &Browser, css: &str) {
    browser
        .client
        .execute(
            &format!("document.querySelector({css:?}).scrollIntoView();"),
            vec![],
        )
        .await
        .unwrap();
}

async fn fits(browser: &Browser, name: &str) {
    browser.screenshot(&format!("quiz-{name}")).await;
    assert!(
        !browser.overflows_horizontally().await,
        "{name}: the page fits"
    );
}

async fn cohort_of(app: &TestApp, email: &str) -> (i64, i64) {
    let row = app
        .store
        .user_by_email(&Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap();
    (row.cohort_id.unwrap(), row.id)
}

#[tokio::test]
async fn a_learner_takes_a_quiz_and_reads_the_result_on_a_laptop_and_a_phone() {
    let app = Spawn::default().bundled().start().await;
    app.signed_in_learner("ada@example.org").await;
    let (cohort, ada) = cohort_of(&app, "ada@example.org").await;
    let staff = app.clone_for_another_client();
    staff
        .signed_in_staff(
            "teacher@example.org",
            Role::Instructor,
            &["ada@example.org"],
        )
        .await;

    for (n, (device, width, height)) in [("laptop", 1280, 800), ("phone", 390, 844)]
        .into_iter()
        .enumerate()
    {
        let browser = Browser::start(width, height).await;
        browser
            .sign_in(
                &app.url("/login"),
                "ada@example.org",
                PASSWORD,
                "#weeks-heading",
            )
            .await;
        let c = &browser.client;
        c.goto(&app.url("/weeks/4#quiz")).await.unwrap();
        let questions = c
            .find_all(Locator::Css("fieldset.quiz-question"))
            .await
            .unwrap();
        assert_eq!(questions.len(), 6, "{device}: week 4 asks six questions");
        fits(&browser, &format!("{device}-form")).await;
        // Pick the first choice of every choice question (a real click), and type the version.
        for q in &questions {
            if let Ok(first) = q
                .find(Locator::Css("input[type=radio], input[type=checkbox]"))
                .await
            {
                first.click().await.unwrap();
            }
        }
        let version = c
            .find(Locator::Css("input[name='q-version-after']"))
            .await
            .unwrap();
        version.send_keys(" 6 ").await.unwrap();
        scroll_to(&browser, ".quiz-form button[type=submit]").await;
        fits(&browser, &format!("{device}-answered")).await;
        c.find(Locator::Css(".quiz-form button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.wait()
            .for_element(Locator::Css(".quiz-results"))
            .await
            .unwrap();
        let heading = text_of(&browser, "hgroup").await;
        assert!(
            heading.contains("Quiz result:") && heading.contains("of 6 right"),
            "{device}: {heading}"
        );
        // The typed version was right (trimmed); every question says right or wrong in words, not colour alone.
        let second = text_of(&browser, "#result-2").await;
        assert!(second.starts_with("right"), "{device}: {second}");
        let results = c
            .find_all(Locator::Css(".quiz-result .quiz-verdict"))
            .await
            .unwrap();
        assert_eq!(results.len(), 6);
        fits(&browser, &format!("{device}-result")).await;
        scroll_to(&browser, "#result-4").await;
        fits(&browser, &format!("{device}-result-explanations")).await;

        c.find(Locator::LinkText("Back to the quiz"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.wait()
            .for_element(Locator::Css(".quiz-attempts"))
            .await
            .unwrap();
        let rows = c
            .find_all(Locator::Css(".quiz-attempts tbody tr"))
            .await
            .unwrap();
        assert_eq!(rows.len(), n + 1, "{device}: every attempt is listed");
        scroll_to(&browser, ".quiz-attempts").await;
        fits(&browser, &format!("{device}-attempts")).await;
        browser.close().await;

        let browser = Browser::start(width, height).await;
        browser
            .sign_in(
                &app.url("/login"),
                "teacher@example.org",
                PASSWORD,
                "#weeks-heading, a[href='/admin']",
            )
            .await;
        browser
            .client
            .goto(&app.url(&format!("/cohorts/{cohort}/learners/{ada}")))
            .await
            .unwrap();
        let quizzes = text_of(&browser, "#quizzes").await;
        assert!(
            quizzes.contains(&format!("{}", n + 1)) && quizzes.contains("W4"),
            "{device}: {quizzes}"
        );
        scroll_to(&browser, "#quizzes").await;
        fits(&browser, &format!("{device}-learner-page")).await;
        browser.close().await;
    }
}
