#![allow(dead_code)]
//! A seeded cohort: learners placed straight in a cohort, and finished runs recorded through the store's own
//! queue (submit, claim with a lease, finish), as a worker would record them.

use crate::common::app::Db;
use crate::common::app::{Spawn, TestApp};
use gauntlet::domain::{DisplayName, Email, RunState};
use gauntlet::store::{CheckResultRow, FinalResult, Lease};

pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 24 * HOUR;

/// The bundled course (twelve labs, seven pillars), on `db`.
pub async fn app(db: Db) -> TestApp {
    Spawn::default().db(db).bundled().start().await
}

/// A cohort named `name`; returns its id.
pub async fn cohort(app: &TestApp, name: &str) -> i64 {
    let code = gauntlet::auth::invite::new_code();
    app.store.create_cohort(name, &code).await.unwrap()
}

/// A learner of `cohort` (not signed in); returns their id.
pub async fn learner(app: &TestApp, cohort: i64, email: &str, name: &str) -> i64 {
    let hash = gauntlet::auth::password::hash(
        &gauntlet::domain::NewPassword::parse(crate::common::app::PASSWORD).unwrap(),
    )
    .await
    .unwrap();
    app.store
        .create_user(
            &Email::parse(email).unwrap(),
            &DisplayName::parse(name).unwrap(),
            &hash,
            gauntlet::domain::Role::Learner,
            Some(cohort),
        )
        .await
        .unwrap()
}

/// One check's result: id, verdict and message.
pub type Check<'a> = (&'a str, &'a str, &'a str);

/// A run of `lab` by `user`, graded to `state` with `score` and `checks`; the clock then moves an hour on.
pub async fn run(
    app: &TestApp,
    user: i64,
    lab: &str,
    state: RunState,
    score: f64,
    checks: &[Check<'_>],
) -> i64 {
    let id = app.store.submit(user, lab, b"seeded", 1).await.unwrap();
    let claimed = app.store.claim_run("seed", 60_000).await.unwrap().unwrap();
    assert_eq!(claimed.id, id, "the only queued run is claimed");
    let result = FinalResult {
        state,
        stage: "checks".into(),
        reason: String::new(),
        detail: String::new(),
        score: Some(score),
        build_log: String::new(),
        container_log: String::new(),
        checks: checks
            .iter()
            .enumerate()
            .map(|(i, (check, verdict, message))| CheckResultRow {
                position: i as i64,
                check_id: check.to_string(),
                title: format!("Title of {check}"),
                hint: String::new(),
                pillar: "api".into(),
                weight: 1.0,
                required: 1,
                verdict: verdict.to_string(),
                message: message.to_string(),
                detail: String::new(),
                duration_ms: 1,
            })
            .collect(),
        counts: true,
    };
    assert!(app
        .store
        .finish_run(&Lease::of(&claimed, "seed"), &result)
        .await
        .unwrap());
    app.clock.advance_ms(HOUR);
    id
}

/// A run being built (pending): claimed under a lease that outlives the test, so later seeded runs are claimed
/// before it could be again.
pub async fn in_progress(app: &TestApp, user: i64, lab: &str) -> i64 {
    let id = app.store.submit(user, lab, b"building", 1).await.unwrap();
    let claimed = app
        .store
        .claim_run("seed", 365 * DAY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, id, "the only queued run is claimed");
    assert!(app
        .store
        .advance(&Lease::of(&claimed, "seed"), RunState::Building)
        .await
        .unwrap());
    app.clock.advance_ms(HOUR);
    id
}
