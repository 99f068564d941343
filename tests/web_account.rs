//! Accounts over real HTTP: registration with invite codes, sign-in, sign-out, CSRF and rate limits.

mod common;

use common::app::{spawn_app, Spawn, PASSWORD};
use gauntlet::auth::ratelimit::{LoginPolicy, Policy, Progressive};

#[tokio::test]
async fn a_signed_out_visitor_is_sent_to_login() {
    let app = spawn_app().await;
    for path in ["/", "/weeks/1", "/labs/w01-hello"] {
        let res = app.get(path).await;
        assert_eq!(res.status().as_u16(), 303, "{path}");
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with("/login?next="), "{path} → {location}");
    }
}

#[tokio::test]
async fn registering_with_a_valid_invite_signs_the_learner_in() {
    let app = spawn_app().await;
    let code = app.invite().await;
    let res = app.register(&code, "ada@example.org", PASSWORD).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], "/");
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("gauntlet_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let (status, page) = app.get_text("/").await;
    assert_eq!(status, 200);
    assert!(page.contains("Ada Learner"), "the map greets the learner");
}

#[tokio::test]
async fn registering_without_a_valid_invite_is_refused_and_creates_nothing() {
    let app = spawn_app().await;
    app.invite().await;
    let res = app
        .register("ZZZZ-ZZZZ-ZZZZ", "eve@example.org", PASSWORD)
        .await;
    assert_eq!(res.status().as_u16(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("invite code"), "says what is wrong: {page}");
    let email = gauntlet::domain::Email::parse("eve@example.org").unwrap();
    assert!(app.store.user_by_email(&email).await.unwrap().is_none());
}

#[tokio::test]
async fn registration_reports_every_invalid_field_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    let code = app.invite().await;
    let token = app.csrf("/register").await;
    let res = app
        .post_form(
            "/register",
            &[
                ("csrf_token", &token),
                ("invite_code", &code),
                ("email", "not-an-email"),
                ("display_name", "Grace"),
                ("password", "short"),
                ("password_again", "different"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("email address"), "{page}");
    assert!(page.contains("at least 10"), "{page}");
    assert!(page.contains("value=\"Grace\""), "keeps the display name");
}

#[tokio::test]
async fn an_email_can_register_only_once() {
    let app = spawn_app().await;
    app.signed_in_learner("ada@example.org").await;
    let code = app.invite().await;
    let fresh = common::app::client();
    let token = common::app::csrf_in(
        &fresh
            .get(app.url("/register"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let res = fresh
        .post(app.url("/register"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("invite_code", &code),
            ("email", "ADA@example.org"),
            ("display_name", "Ada again"),
            ("password", PASSWORD),
            ("password_again", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.text().await.unwrap().contains("already"));
}

#[tokio::test]
async fn login_with_the_right_password_works_and_logout_ends_the_session() {
    let app = spawn_app().await;
    app.signed_in_learner("ada@example.org").await;
    let token = common::app::csrf_in(&app.get_text("/").await.1);
    let res = app.post_form("/logout", &[("csrf_token", &token)]).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(app.get("/").await.status().as_u16(), 303, "signed out");

    let res = app.login("ada@example.org", PASSWORD).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(app.get("/").await.status().as_u16(), 200, "signed in again");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    app.signed_in_learner("ada@example.org").await;
    let wrong = app.login("ada@example.org", "wrong password!!").await;
    assert_eq!(wrong.status().as_u16(), 401);
    let wrong = wrong.text().await.unwrap();
    let unknown = app.login("nobody@example.org", "wrong password!!").await;
    assert_eq!(unknown.status().as_u16(), 401);
    let unknown = unknown.text().await.unwrap();
    let message = |page: &str| {
        let start = page.find("role=\"alert\"").expect("an error message");
        page[start..start + 120].to_string()
    };
    assert_eq!(message(&wrong), message(&unknown));
}

#[tokio::test]
async fn a_form_without_the_csrf_token_or_with_a_wrong_one_is_rejected() {
    let app = spawn_app().await;
    app.signed_in_learner("ada@example.org").await;
    let res = app.post_form("/logout", &[]).await;
    assert_eq!(res.status().as_u16(), 403);
    let res = app
        .post_form("/logout", &[("csrf_token", "forged-token")])
        .await;
    assert_eq!(res.status().as_u16(), 403);
    assert_eq!(app.get("/").await.status().as_u16(), 200, "still signed in");

    let code = app.invite().await;
    let res = app
        .post_form(
            "/register",
            &[
                ("invite_code", code.as_str()),
                ("email", "mallory@example.org"),
                ("display_name", "Mallory"),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 403);
    let email = gauntlet::domain::Email::parse("mallory@example.org").unwrap();
    assert!(app.store.user_by_email(&email).await.unwrap().is_none());
}

#[tokio::test]
async fn repeated_failures_on_one_account_are_rate_limited() {
    let app = Spawn::default()
        .login_policy(LoginPolicy {
            per_account_and_address: Progressive {
                free: 3,
                first_delay_ms: 60_000,
                max_delay_ms: 60_000,
                forget_after_ms: 3_600_000,
            },
            ..LoginPolicy::default()
        })
        .start()
        .await;
    app.signed_in_learner("ada@example.org").await;
    for _ in 0..3 {
        let res = app.login("ada@example.org", "not the password").await;
        assert_eq!(res.status().as_u16(), 401);
    }
    let res = app.login("ada@example.org", PASSWORD).await;
    assert_eq!(res.status().as_u16(), 429, "even the right password waits");
    app.clock.advance_ms(61_000);
    let res = app.login("ada@example.org", PASSWORD).await;
    assert_eq!(res.status().as_u16(), 303, "allowed again after the window");
}

#[tokio::test]
async fn many_failures_from_one_address_are_rate_limited() {
    let app = Spawn::default()
        .login_policy(LoginPolicy {
            per_address_failures: Policy {
                max: 4,
                window_ms: 60_000,
            },
            ..LoginPolicy::default()
        })
        .start()
        .await;
    for i in 0..4 {
        let res = app
            .login(&format!("user{i}@example.org"), "whatever1234")
            .await;
        assert_eq!(res.status().as_u16(), 401);
    }
    let res = app.login("user9@example.org", "whatever1234").await;
    assert_eq!(res.status().as_u16(), 429);
}

#[tokio::test]
async fn next_only_redirects_within_the_site() {
    let app = spawn_app().await;
    let code = app.invite().await;
    app.register(&code, "ada@example.org", PASSWORD).await;
    let token = app.csrf("/").await;
    app.post_form("/logout", &[("csrf_token", &token)]).await;
    let token = app.csrf("/login").await;
    let res = app
        .post_form(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "ada@example.org"),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/");
}
