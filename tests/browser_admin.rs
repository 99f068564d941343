//! The staff pages in a real browser (headless Chromium) at a laptop's and a phone's width: an admin signs in,
//! opens the staff home, the cohort list and a cohort, rotates its invite code (htmx swaps the code in place, the
//! page is not reloaded), sets a cap, then reads the accounts and the audit log. Every page must fit the window;
//! screenshots land in `target/screenshots/admin-*.png` for a person to look at.

mod common;

use std::time::Duration;

use common::app::{Spawn, TestApp, PASSWORD};
use common::browser::Browser;
use fantoccini::Locator;
use gauntlet::domain::{DisplayName, Email, NewPassword, Role};

async fn admin_account(app: &TestApp) {
    let hash = gauntlet::auth::password::hash(&NewPassword::parse(PASSWORD).unwrap())
        .await
        .unwrap();
    app.store
        .create_user(
            &Email::parse("admin@example.org").unwrap(),
            &DisplayName::parse("Grace Admin").unwrap(),
            &hash,
            Role::Admin,
            None,
        )
        .await
        .unwrap();
}

async fn sign_in(browser: &Browser, app: &TestApp) {
    browser
        .sign_in(
            &app.url("/login"),
            "admin@example.org",
            PASSWORD,
            "a[href='/admin']",
        )
        .await;
}

/// The text of the element `css`, found afresh each time: a navigation or an htmx swap between finding it and
/// reading it leaves a stale reference, which is retried.
async fn text_of(browser: &Browser, css: &str) -> String {
    let mut last = None;
    for _ in 0..20 {
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

async fn fits(browser: &Browser, device: &str, page: &str) {
    browser.screenshot(&format!("admin-{device}-{page}")).await;
    assert!(
        !browser.overflows_horizontally().await,
        "{device}: the {page} page fits"
    );
}

#[tokio::test]
async fn an_admin_manages_a_cohort_in_the_browser_on_a_laptop_and_a_phone() {
    let app = Spawn::default().start().await;
    app.signed_in_learner("ada.lovelace.with.a.long.address@example.org")
        .await;
    let cohort = app.store.list_cohorts().await.unwrap()[0].id;
    app.store
        .rename_cohort(
            &gauntlet::store::Actor::command_line(),
            cohort,
            "Autumn 2026 evening bootcamp",
        )
        .await
        .unwrap();
    admin_account(&app).await;

    for (device, width, height) in [("laptop", 1280, 900), ("phone", 390, 844)] {
        let browser = Browser::start(width, height).await;
        let c = &browser.client;
        sign_in(&browser, &app).await;

        c.find(Locator::Css("a[href='/admin']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.wait()
            .for_element(Locator::Css(".staff-links"))
            .await
            .unwrap();
        fits(&browser, device, "home").await;

        c.find(Locator::Css(".staff-links a[href='/cohorts']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.wait()
            .for_element(Locator::Css("table.cohorts"))
            .await
            .unwrap();
        assert!(text_of(&browser, "table.cohorts")
            .await
            .contains("Autumn 2026 evening bootcamp"));
        fits(&browser, device, "cohorts").await;

        c.find(Locator::Css(&format!("a[href='/cohorts/{cohort}']")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.wait()
            .for_element(Locator::Css("#invite-code"))
            .await
            .unwrap();
        assert!(text_of(&browser, ".people").await.contains("ada.lovelace"));
        fits(&browser, device, "cohort").await;

        // Rotating swaps the code in place: a marker set on this page survives, so it was not reloaded.
        let before = text_of(&browser, "#invite-code .code").await;
        c.execute("window.notReloaded = true; return true;", vec![])
            .await
            .unwrap();
        c.find(Locator::Css("form[action$='/rotate'] button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let mut after = before.clone();
        for _ in 0..50 {
            after = text_of(&browser, "#invite-code .code").await;
            if after != before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_ne!(after, before, "{device}: the code changed");
        assert_eq!(
            after,
            app.store.cohort(cohort).await.unwrap().unwrap().invite_code
        );
        let kept = c
            .execute("return window.notReloaded === true;", vec![])
            .await
            .unwrap();
        assert_eq!(
            kept.as_bool(),
            Some(true),
            "{device}: swapped by htmx, not reloaded"
        );
        fits(&browser, device, "cohort-rotated").await;

        // A cap, through the ordinary form (a full page load).
        let form = c.form(Locator::Css("form.limits")).await.unwrap();
        form.set_by_name("max_uses", "25").await.unwrap();
        form.submit().await.unwrap();
        let mut capped = false;
        for _ in 0..50 {
            if text_of(&browser, "#invite-code").await.contains("cap 25") {
                capped = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(capped, "{device}: the cap shows");
        fits(&browser, device, "cohort-capped").await;
        // The rest of the page: learners, instructors, name and state.
        c.execute(
            "document.getElementById('staff-heading').scrollIntoView(); return true;",
            vec![],
        )
        .await
        .unwrap();
        fits(&browser, device, "cohort-lower").await;

        c.goto(&app.url("/users")).await.unwrap();
        c.wait()
            .for_element(Locator::Css(".accounts"))
            .await
            .unwrap();
        fits(&browser, device, "users").await;
        c.goto(&app.url("/admin/audit")).await.unwrap();
        c.wait()
            .for_element(Locator::Css("table.audit"))
            .await
            .unwrap();
        assert!(text_of(&browser, "table.audit")
            .await
            .contains("cohort.rotate_code"));
        fits(&browser, device, "audit").await;
        browser.close().await;
    }
}
