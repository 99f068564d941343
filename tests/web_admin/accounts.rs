//! Account management on `/users` and `/reset`, and a person's own password on `/profile`.

use super::support::{actions, post, user_id};
use crate::common::app::{self, Db, Spawn, TestApp, PASSWORD};
use gauntlet::domain::Role;

const NEW_PASSWORD: &str = "a brand new passphrase";

/// The reset code shown once on the admin's page.
fn shown_code(page: &str) -> String {
    let marker = "<code id=\"reset-code\">";
    let start = page.find(marker).expect("the code is shown") + marker.len();
    let end = page[start..].find('<').unwrap() + start;
    page[start..end].to_string()
}

/// Whether this client is signed in (its profile opens).
async fn signed_in(client: &TestApp) -> bool {
    client.get("/profile").await.status().as_u16() == 200
}

async fn api_status(app: &TestApp, token: &str) -> u16 {
    app::client()
        .get(app.url("/api/v1/labs"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

pub async fn deactivating_ends_sessions_and_tokens_at_once(db: Db) {
    let app = Spawn::default().db(db).start().await;
    app.signed_in_learner("ada@example.org").await;
    let token = app.api_token("laptop").await;
    let ok = api_status(&app, &token).await;
    assert!(ok == 200, "the token works first: {ok}");
    let second = app.clone_for_another_client();
    assert_eq!(
        second.login("ada@example.org", PASSWORD).await.status(),
        303
    );
    let admin = app.clone_for_another_client();
    let admin_id = admin
        .signed_in_staff("admin@example.org", Role::Admin, &[])
        .await;
    let ada = user_id(&app, "ada@example.org").await;

    let res = post(&admin, &format!("/users/{ada}/deactivate"), &[]).await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(
        !signed_in(&app).await && !signed_in(&second).await,
        "both sessions ended"
    );
    assert_eq!(
        api_status(&app, &token).await,
        401,
        "the token died with them"
    );
    let res = app.login("ada@example.org", PASSWORD).await;
    assert_eq!(res.status().as_u16(), 403);
    assert!(res.text().await.unwrap().contains("deactivated"));
    // A wrong password still gets the ordinary answer: deactivation is only told to whoever knows the password.
    let res = app
        .login("ada@example.org", "not her password at all")
        .await;
    assert_eq!(res.status().as_u16(), 401);
    let (_, users) = admin.get_text("/users").await;
    assert!(
        users.contains("deactivated") && users.contains("Reactivate"),
        "{users}"
    );
    // A deactivated account gets no reset code.
    let res = post(&admin, &format!("/users/{ada}/reset"), &[]).await;
    assert_eq!(res.status().as_u16(), 422);

    // An admin cannot deactivate themselves.
    let res = post(&admin, &format!("/users/{admin_id}/deactivate"), &[]).await;
    assert_eq!(res.status().as_u16(), 403);
    assert!(signed_in(&admin).await);

    // Reactivated, Ada signs in again; the old token stays dead.
    let res = post(&admin, &format!("/users/{ada}/activate"), &[]).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(app.login("ada@example.org", PASSWORD).await.status(), 303);
    assert_eq!(api_status(&app, &token).await, 401);

    let log = app.store.audit_entries(None, 10).await.unwrap();
    let off = log.iter().find(|e| e.action == "user.deactivate").unwrap();
    assert_eq!(
        (off.actor.as_str(), off.target.as_str()),
        ("admin@example.org", "user ada@example.org")
    );
    let details: serde_json::Value = serde_json::from_str(&off.details).unwrap();
    assert_eq!(
        (
            details["sessions_ended"].as_i64(),
            details["tokens_revoked"].as_i64()
        ),
        (Some(2), Some(1))
    );
    assert!(log.iter().any(|e| e.action == "user.activate"));
}

pub async fn a_reset_code_works_once_and_expires(db: Db) {
    let app = Spawn::default().db(db).start().await;
    app.signed_in_learner("ada@example.org").await;
    // A token made before the reset (by whoever held the account) dies with it.
    let token = app.api_token("laptop").await;
    assert_eq!(api_status(&app, &token).await, 200);
    let admin = app.clone_for_another_client();
    admin
        .signed_in_staff("admin@example.org", Role::Admin, &[])
        .await;
    let ada = user_id(&app, "ada@example.org").await;

    let res = post(&admin, &format!("/users/{ada}/reset"), &[]).await;
    assert_eq!(res.status().as_u16(), 200);
    let page = res.text().await.unwrap();
    let code = shown_code(&page);
    assert!(page.contains(&format!("/reset?code={code}")), "{page}");
    // Shown once: the list does not show it again, and the store keeps only its hash.
    assert!(!admin.get_text("/users").await.1.contains(&code));

    let visitor = app.clone_for_another_client();
    let (status, form) = visitor.get_text(&format!("/reset?code={code}")).await;
    assert_eq!(status, 200);
    assert!(form.contains(&format!("value=\"{code}\"")));
    let reset = |code: String, pw: &'static str| {
        let visitor = visitor.clone_for_another_client();
        async move {
            super::support::post(
                &visitor,
                "/reset",
                &[("code", &code), ("password", pw), ("password_again", pw)],
            )
            .await
        }
    };
    // Passwords that do not match are refused before the code is spent.
    let res = super::support::post(
        &visitor,
        "/reset",
        &[
            ("code", &code),
            ("password", NEW_PASSWORD),
            ("password_again", "something else"),
        ],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    let res = reset(code.clone(), NEW_PASSWORD).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], "/login?reset=1");
    let (_, login) = visitor.get_text("/login?reset=1").await;
    assert!(login.contains("Your new password is set"), "{login}");
    assert!(!signed_in(&app).await, "her old session ended");
    assert_eq!(api_status(&app, &token).await, 401, "her old token ended");
    assert_eq!(app.login("ada@example.org", PASSWORD).await.status(), 401);
    assert_eq!(
        app.login("ada@example.org", NEW_PASSWORD).await.status(),
        303
    );
    // Used once, it never works again.
    let res = reset(code.clone(), "yet another passphrase").await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("This reset code is not valid"));

    // A newer code cancels an older one; a code dies after 24 hours.
    let older = shown_code(
        &post(&admin, &format!("/users/{ada}/reset"), &[])
            .await
            .text()
            .await
            .unwrap(),
    );
    let newer = shown_code(
        &post(&admin, &format!("/users/{ada}/reset"), &[])
            .await
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(
        reset(older, "yet another passphrase")
            .await
            .status()
            .as_u16(),
        422
    );
    app.clock.advance_ms(24 * 60 * 60 * 1000 + 1);
    assert_eq!(
        reset(newer, "yet another passphrase")
            .await
            .status()
            .as_u16(),
        422
    );
    assert_eq!(
        app.login("ada@example.org", NEW_PASSWORD).await.status(),
        303
    );

    let log = actions(&app).await;
    assert_eq!(log.iter().filter(|a| *a == "user.issue_reset").count(), 3);
    assert_eq!(
        log.iter().filter(|a| *a == "user.reset_password").count(),
        1
    );
    let entries = app.store.audit_entries(None, 100).await.unwrap();
    assert!(
        entries.iter().all(|e| !e.details.contains(&code)),
        "no code in the log"
    );
}

/// Posts the profile's password form.
async fn change(app: &TestApp, current: &str, new: &str, again: &str) -> reqwest::Response {
    post(
        app,
        "/profile/password",
        &[
            ("current", current),
            ("password", new),
            ("password_again", again),
        ],
    )
    .await
}

pub async fn a_learner_changes_their_own_password_and_their_other_sessions_end(db: Db) {
    let app = Spawn::default().db(db).start().await;
    app.signed_in_learner("ada@example.org").await;
    let phone = app.clone_for_another_client();
    assert_eq!(phone.login("ada@example.org", PASSWORD).await.status(), 303);

    let res = change(&app, "not my password", NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Your current password is not right"));
    let res = change(&app, PASSWORD, "short", "short").await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(signed_in(&phone).await, "nothing changed yet");

    let res = change(&app, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Your password is changed"));
    assert!(signed_in(&app).await, "this session stays");
    assert!(!signed_in(&phone).await, "the other one ended");
    assert_eq!(phone.login("ada@example.org", PASSWORD).await.status(), 401);
    assert_eq!(
        phone.login("ada@example.org", NEW_PASSWORD).await.status(),
        303
    );
    let entry = &app.store.audit_entries(None, 1).await.unwrap()[0];
    assert_eq!(
        (entry.actor.as_str(), entry.action.as_str()),
        ("ada@example.org", "user.set_password")
    );
}

pub async fn roles_change_and_the_audit_log_pages(db: Db) {
    let app = Spawn::default().db(db).start().await;
    app.signed_in_learner("ada@example.org").await;
    let teacher = app.clone_for_another_client();
    teacher
        .signed_in_staff(
            "teacher@example.org",
            Role::Instructor,
            &["ada@example.org"],
        )
        .await;
    let admin = app.clone_for_another_client();
    let admin_id = admin
        .signed_in_staff("admin@example.org", Role::Admin, &[])
        .await;
    let teacher_id = user_id(&app, "teacher@example.org").await;
    let cohort = super::support::cohort_of(&app, "ada@example.org").await;

    let (status, users) = admin.get_text("/users").await;
    assert_eq!(status, 200);
    for email in [
        "ada@example.org",
        "teacher@example.org",
        "admin@example.org",
    ] {
        assert!(users.contains(email), "{email}");
    }
    // An instructor made a learner leaves the cohort's staff and loses the staff pages at once.
    let res = post(
        &admin,
        &format!("/users/{teacher_id}/role"),
        &[("role", "learner")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(app
        .store
        .cohort_instructors(cohort)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(teacher.get("/cohorts").await.status(), 403);
    let res = post(
        &admin,
        &format!("/users/{teacher_id}/role"),
        &[("role", "root")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    let res = post(
        &admin,
        &format!("/users/{admin_id}/role"),
        &[("role", "learner")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 403, "not on their own account");
    assert_eq!(
        app.store.user_by_id(admin_id).await.unwrap().unwrap().role,
        "admin"
    );
    // A learner made staff leaves their cohort: its instructors no longer see or list them.
    let ada = user_id(&app, "ada@example.org").await;
    let res = post(
        &admin,
        &format!("/users/{ada}/role"),
        &[("role", "instructor")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        app.store.user_by_id(ada).await.unwrap().unwrap().cohort_id,
        None
    );

    // Enough entries for two pages: the first links the older one, which holds the rest.
    let operator = gauntlet::store::Actor::command_line();
    for i in 0..55 {
        app.store
            .rename_cohort(&operator, cohort, &format!("Name {i}"))
            .await
            .unwrap();
    }
    let (status, first) = admin.get_text("/admin/audit").await;
    assert_eq!(status, 200);
    assert!(first.contains("cohort.rename") && first.contains("command line"));
    assert!(first.contains("Name 54"), "newest first");
    let marker = "href=\"/admin/audit?before=";
    let start = first.find(marker).expect("a link to older entries") + marker.len();
    let before = &first[start..start + first[start..].find('"').unwrap()];
    let (status, older) = admin
        .get_text(&format!("/admin/audit?before={before}"))
        .await;
    assert_eq!(status, 200);
    assert!(
        older.contains("user.set_role") && older.contains("admin@example.org"),
        "{older}"
    );
    assert!(
        older.contains("Name 4") && !older.contains("Name 54"),
        "{older}"
    );
    assert!(!older.contains(marker), "no page older than the last");
}
