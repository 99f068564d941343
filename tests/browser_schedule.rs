//! The schedule in a real browser (headless Chromium) at a laptop's and a phone's size: a learner whose cohort
//! started ten days ago reads the course map, which says in words which weeks are open, when the others open,
//! what is due and what is late; an instructor reads the cohort's schedule. Every page must fit the window;
//! screenshots land in `target/screenshots/schedule-*.png` for a person to look at.

mod common;

use common::app::{Spawn, TestApp};
use common::browser::Browser;
use fantoccini::Locator;
use gauntlet::clock::Clock;
use gauntlet::domain::Role;

const DAY: i64 = 86_400_000;

async fn sign_in(browser: &Browser, app: &TestApp, email: &str) {
    let c = &browser.client;
    c.goto(&app.url("/login")).await.unwrap();
    let form = c.form(Locator::Css("form[action='/login']")).await.unwrap();
    form.set_by_name("email", email)
        .await
        .unwrap()
        .set_by_name("password", common::app::PASSWORD)
        .await
        .unwrap();
    form.submit().await.unwrap();
    c.wait()
        .for_element(Locator::Css("#weeks-heading, a[href='/admin']"))
        .await
        .unwrap();
}

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
    browser.screenshot(&format!("schedule-{name}")).await;
    assert!(
        !browser.overflows_horizontally().await,
        "{name}: the page fits"
    );
}

#[tokio::test]
async fn the_course_map_says_what_is_open_due_and_late_on_a_laptop_and_a_phone() {
    let app = Spawn::default().bundled().start().await;
    app.signed_in_learner("ada@example.org").await;
    let cohort = app.store.list_cohorts().await.unwrap()[0].id;
    let start = app.clock.now_ms() - 10 * DAY;
    app.store
        .set_cohort_start(&gauntlet::store::Actor::command_line(), cohort, Some(start))
        .await
        .unwrap();
    let staff = app.clone_for_another_client();
    staff
        .signed_in_staff(
            "teacher@example.org",
            Role::Instructor,
            &["ada@example.org"],
        )
        .await;
    let day = |n: i64| gauntlet::web::runs::format_time(start + n * DAY);

    for (device, width, height) in [("laptop", 1280, 800), ("phone", 390, 844)] {
        let browser = Browser::start(width, height).await;
        sign_in(&browser, &app, "ada@example.org").await;
        // Lower-cased: the week's number is set in capitals by the style sheet.
        let weeks = text_of(&browser, ".week-grid").await.to_lowercase();
        let day = |n: i64| day(n).to_lowercase();
        // Week 1 opened on the start and its lab fell due a week later, unpassed: late.
        assert!(
            weeks.lines().any(|l| l.trim() == "week 1 · open"),
            "{device}: {weeks}"
        );
        assert!(
            weeks.contains(&format!("late · was due {}", day(7))),
            "{device}: {weeks}"
        );
        // Week 2 opened on day 7; its lab is due on day 14, still ahead.
        assert!(
            weeks.lines().any(|l| l.trim() == "week 2 · open"),
            "{device}: {weeks}"
        );
        assert!(
            weeks.contains(&format!("due {}", day(14))),
            "{device}: {weeks}"
        );
        // Week 3 opens on day 14.
        assert!(
            weeks.contains(&format!("week 3 · opens on {}", day(14))),
            "{device}: {weeks}"
        );
        fits(&browser, &format!("{device}-map")).await;
        scroll_to(&browser, ".week-grid").await;
        fits(&browser, &format!("{device}-map-weeks")).await;

        browser.client.goto(&app.url("/weeks/3")).await.unwrap();
        let notice = text_of(&browser, "#week-closed").await.to_lowercase();
        assert!(notice.contains(&day(14)), "{device}: {notice}");
        fits(&browser, &format!("{device}-closed-week")).await;
        browser.close().await;

        let browser = Browser::start(width, height).await;
        sign_in(&browser, &app, "teacher@example.org").await;
        browser
            .client
            .goto(&app.url(&format!("/cohorts/{cohort}")))
            .await
            .unwrap();
        let schedule = text_of(&browser, "#schedule-start").await.to_lowercase();
        assert!(schedule.contains(&day(0)), "{device}: {schedule}");
        scroll_to(&browser, "#schedule-heading").await;
        fits(&browser, &format!("{device}-cohort")).await;
        browser.close().await;
    }
}
