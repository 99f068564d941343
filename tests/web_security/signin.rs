//! Sign-in and registration limits stop guessing without locking people out: failures count per account and
//! address with a growing delay, successes never count, refusals say when to retry, and only a trusted proxy
//! may name the client's address.

use gauntlet::auth::ratelimit::{LoginPolicy, Policy, Progressive};

use crate::common::app::{csrf_in, Spawn, TestApp, PASSWORD};

/// A test server that believes the `X-Forwarded-For` of 127.0.0.1, where the tests' requests come from, so a
/// test can sign in "from" any address.
async fn behind_proxy(policy: LoginPolicy) -> TestApp {
    Spawn::default()
        .login_policy(policy)
        .trusted_proxies(&["127.0.0.1/32"])
        .start()
        .await
}

/// A sign-in attempt from `address` in a fresh browser; returns the status and `Retry-After`, if any.
async fn sign_in_from(
    app: &TestApp,
    address: &str,
    email: &str,
    password: &str,
) -> (u16, Option<u64>) {
    let browser = app.clone_for_another_client();
    let token = browser.csrf("/register").await;
    let res = browser
        .client
        .post(app.url("/login"))
        .header("x-forwarded-for", address)
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (res.status().as_u16(), retry)
}

/// A registration from `address` in a fresh browser; returns the status and `Retry-After`, if any.
async fn register_from(
    app: &TestApp,
    address: &str,
    code: &str,
    email: &str,
) -> (u16, Option<u64>) {
    let browser = app.clone_for_another_client();
    let page = browser.get_text("/register").await.1;
    let res = browser
        .client
        .post(app.url("/register"))
        .header("x-forwarded-for", address)
        .form(&[
            ("csrf_token", csrf_in(&page).as_str()),
            ("invite_code", code),
            ("email", email),
            ("display_name", "Learner"),
            ("password", PASSWORD),
            ("password_again", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (res.status().as_u16(), retry)
}

#[tokio::test]
async fn wrong_passwords_from_one_place_do_not_lock_the_owner_out_elsewhere() {
    let app = behind_proxy(LoginPolicy::default()).await;
    app.signed_in_learner("ada@example.org").await;
    for _ in 0..5 {
        let (status, _) =
            sign_in_from(&app, "203.0.113.9", "ada@example.org", "guess guess 1").await;
        assert_eq!(status, 401);
    }
    let (status, retry) =
        sign_in_from(&app, "203.0.113.9", "ada@example.org", "guess guess 2").await;
    assert_eq!(status, 429, "the guesser waits");
    assert!(
        retry.is_some_and(|s| s > 0),
        "and is told how long: {retry:?}"
    );
    let (status, _) = sign_in_from(&app, "198.51.100.7", "ada@example.org", PASSWORD).await;
    assert_eq!(status, 303, "the owner, elsewhere, signs in");
}

#[tokio::test]
async fn the_wait_doubles_with_each_further_failure_and_is_announced() {
    let app = behind_proxy(LoginPolicy {
        per_account_and_address: Progressive {
            free: 2,
            first_delay_ms: 10_000,
            max_delay_ms: 40_000,
            forget_after_ms: 3_600_000,
        },
        ..LoginPolicy::default()
    })
    .await;
    app.signed_in_learner("ada@example.org").await;
    let from = "203.0.113.9";
    for _ in 0..2 {
        assert_eq!(
            sign_in_from(&app, from, "ada@example.org", "wrong wrong 1")
                .await
                .0,
            401
        );
    }
    for wait in [10, 20, 40, 40] {
        let (status, retry) = sign_in_from(&app, from, "ada@example.org", PASSWORD).await;
        assert_eq!((status, retry), (429, Some(wait)));
        app.clock.advance_ms(wait as i64 * 1000);
        assert_eq!(
            sign_in_from(&app, from, "ada@example.org", "wrong wrong 1")
                .await
                .0,
            401
        );
    }
    app.clock.advance_ms(40_000);
    assert_eq!(
        sign_in_from(&app, from, "ada@example.org", PASSWORD)
            .await
            .0,
        303
    );
}

#[tokio::test]
async fn a_classroom_behind_one_address_signs_in_as_often_as_it_needs() {
    let app = behind_proxy(LoginPolicy {
        per_address_failures: Policy {
            max: 3,
            window_ms: 15 * 60_000,
        },
        ..LoginPolicy::default()
    })
    .await;
    let code = app.invite().await;
    for i in 0..8 {
        let (status, _) =
            register_from(&app, "192.0.2.1", &code, &format!("learner{i}@example.org")).await;
        assert_eq!(status, 303, "learner {i} registers");
    }
    for round in 0..2 {
        for i in 0..8 {
            let (status, _) = sign_in_from(
                &app,
                "192.0.2.1",
                &format!("learner{i}@example.org"),
                PASSWORD,
            )
            .await;
            assert_eq!(status, 303, "learner {i}, round {round}");
        }
    }
}

#[tokio::test]
async fn without_a_trusted_proxy_a_forwarded_address_changes_nothing() {
    let app = Spawn::default()
        .login_policy(LoginPolicy {
            per_address_failures: Policy {
                max: 2,
                window_ms: 60_000,
            },
            ..LoginPolicy::default()
        })
        .start()
        .await;
    for i in 0..2 {
        let (status, _) = sign_in_from(
            &app,
            &format!("203.0.113.{i}"),
            "x@example.org",
            "nope nope 1",
        )
        .await;
        assert_eq!(status, 401);
    }
    let (status, retry) = sign_in_from(&app, "203.0.113.99", "y@example.org", "nope nope 1").await;
    assert_eq!(status, 429, "the header did not buy a fresh limit");
    assert_eq!(retry, Some(60));
}

#[tokio::test]
async fn wrong_invite_codes_are_throttled_per_address() {
    let app = behind_proxy(LoginPolicy {
        per_address_invite_failures: Policy {
            max: 3,
            window_ms: 60_000,
        },
        ..LoginPolicy::default()
    })
    .await;
    let code = app.invite().await;
    for i in 0..3 {
        let (status, _) = register_from(
            &app,
            "203.0.113.9",
            &format!("GUES-SING-000{i}"),
            "eve@example.org",
        )
        .await;
        assert_eq!(status, 422);
    }
    let (status, retry) = register_from(&app, "203.0.113.9", &code, "eve@example.org").await;
    assert_eq!(
        (status, retry),
        (429, Some(60)),
        "even the right code waits"
    );
    let (status, _) = register_from(&app, "198.51.100.7", &code, "ada@example.org").await;
    assert_eq!(status, 303, "another address is not affected");
    app.clock.advance_ms(60_000);
    let (status, _) = register_from(&app, "203.0.113.9", &code, "eve@example.org").await;
    assert_eq!(status, 303);
}

#[tokio::test]
async fn accounts_created_from_one_address_are_capped() {
    let app = behind_proxy(LoginPolicy {
        per_address_registrations: Policy {
            max: 2,
            window_ms: 60_000,
        },
        ..LoginPolicy::default()
    })
    .await;
    let code = app.invite().await;
    for i in 0..2 {
        let (status, _) =
            register_from(&app, "203.0.113.9", &code, &format!("bot{i}@example.org")).await;
        assert_eq!(status, 303);
    }
    let (status, retry) = register_from(&app, "203.0.113.9", &code, "bot9@example.org").await;
    assert_eq!((status, retry), (429, Some(60)));
}
