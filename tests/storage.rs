//! The store's behaviour, the same on both backends: every test runs once on SQLite and once on PostgreSQL.

mod common;

use std::sync::Arc;

use common::app::{Db, Spawn, PASSWORD};
use gauntlet::clock::ManualClock;
use gauntlet::config::DatabaseUrl;
use gauntlet::domain::{DisplayName, Email, Role};
use gauntlet::store::{Store, StoreError};

async fn fresh_store(db: Db) -> (Store, Arc<ManualClock>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = match db {
        Db::Sqlite => DatabaseUrl::sqlite_in(dir.path()),
        Db::Postgres => common::postgres::fresh_database().await,
    };
    let clock = ManualClock::new(1_800_000_000_000);
    let store = Store::connect(&url)
        .await
        .unwrap()
        .with_clock(clock.clone());
    (store, clock, dir)
}

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

async fn users_are_unique_by_email(db: Db) {
    let (store, _, _dir) = fresh_store(db).await;
    let name = DisplayName::parse("Ada").unwrap();
    let id = store
        .create_user(
            &email("ada@example.org"),
            &name,
            "hash",
            Role::Instructor,
            None,
        )
        .await
        .unwrap();
    let again = store
        .create_user(
            &email("ada@example.org"),
            &name,
            "hash",
            Role::Learner,
            None,
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    let row = store
        .user_by_email(&email("ada@example.org"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.id, id);
    assert_eq!(row.role(), Role::Instructor);
    assert_eq!(
        store.user_by_id(id).await.unwrap().unwrap().email,
        "ada@example.org"
    );
    assert_eq!(store.list_users().await.unwrap().len(), 1);
}

async fn cohorts_are_found_by_invite_code_and_count_members(db: Db) {
    let (store, _, _dir) = fresh_store(db).await;
    let cohort = store
        .create_cohort("Autumn", "ABCD-EFGH-JKLM")
        .await
        .unwrap();
    assert_eq!(
        store.cohort_by_invite("ABCD-EFGH-JKLM").await.unwrap(),
        Some(cohort)
    );
    assert_eq!(
        store.cohort_by_invite("ZZZZ-ZZZZ-ZZZZ").await.unwrap(),
        None
    );
    assert!(matches!(
        store.create_cohort("Autumn", "QQQQ-QQQQ-QQQQ").await,
        Err(StoreError::Conflict)
    ));
    let name = DisplayName::parse("Ada").unwrap();
    store
        .create_user(
            &email("a@example.org"),
            &name,
            "h",
            Role::Learner,
            Some(cohort),
        )
        .await
        .unwrap();
    let cohorts = store.list_cohorts().await.unwrap();
    assert_eq!(cohorts.len(), 1);
    assert_eq!(cohorts[0].members, 1);
}

async fn sessions_expire_and_can_be_deleted(db: Db) {
    let (store, clock, _dir) = fresh_store(db).await;
    let name = DisplayName::parse("Ada").unwrap();
    let id = store
        .create_user(&email("ada@example.org"), &name, "h", Role::Learner, None)
        .await
        .unwrap();
    store.create_session("hash-1", id, 1_000).await.unwrap();
    store.create_session("hash-2", id, 1_000).await.unwrap();
    assert_eq!(store.session_user("hash-1").await.unwrap().unwrap().id, id);
    store.delete_session("hash-1").await.unwrap();
    assert!(store.session_user("hash-1").await.unwrap().is_none());
    clock.advance_ms(1_001);
    assert!(
        store.session_user("hash-2").await.unwrap().is_none(),
        "expired"
    );
    assert_eq!(store.purge_expired_sessions().await.unwrap(), 1);
}

async fn progress_keeps_the_best_attempt(db: Db) {
    let (store, _, _dir) = fresh_store(db).await;
    let name = DisplayName::parse("Ada").unwrap();
    let id = store
        .create_user(&email("ada@example.org"), &name, "h", Role::Learner, None)
        .await
        .unwrap();
    store
        .record_attempt(id, "w01-health", 0.4, false)
        .await
        .unwrap();
    store
        .record_attempt(id, "w01-health", 1.0, true)
        .await
        .unwrap();
    store
        .record_attempt(id, "w01-health", 0.2, false)
        .await
        .unwrap();
    store
        .record_attempt(id, "w02-crud", 0.5, false)
        .await
        .unwrap();
    let rows = store.lab_progress(id).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].lab_id, "w01-health");
    assert!((rows[0].best_score - 1.0).abs() < 1e-9);
    assert_eq!(rows[0].passed, 1, "once passed, stays passed");
    assert_eq!(rows[0].attempts, 3);
    assert!((rows[1].best_score - 0.5).abs() < 1e-9);
}

async fn migrations_are_idempotent(db: Db) {
    let (store, _, dir) = fresh_store(db).await;
    store.ping().await.unwrap();
    if db == Db::Sqlite {
        // Connecting again to the same file applies nothing twice and keeps the data.
        let name = DisplayName::parse("Ada").unwrap();
        store
            .create_user(&email("ada@example.org"), &name, "h", Role::Learner, None)
            .await
            .unwrap();
        store.close().await;
        let again = Store::connect(&DatabaseUrl::sqlite_in(dir.path()))
            .await
            .unwrap();
        assert!(again
            .user_by_email(&email("ada@example.org"))
            .await
            .unwrap()
            .is_some());
    }
}

async fn a_learner_registers_and_signs_in_over_http(db: Db) {
    let app = Spawn::default().db(db).start().await;
    app.signed_in_learner("ada@example.org").await;
    assert_eq!(app.get("/").await.status().as_u16(), 200);
    let fresh = common::app::client();
    let page = fresh
        .get(app.url("/register"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = common::app::csrf_in(&page);
    let res = fresh
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", "ada@example.org"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(app.get("/readyz").await.status().as_u16(), 200);
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(#[tokio::test] async fn $name() { super::$name(Db::Sqlite).await })*
        }
        mod postgres {
            use super::*;
            $(#[tokio::test] async fn $name() { super::$name(Db::Postgres).await })*
        }
    };
}

on_both_backends!(
    users_are_unique_by_email,
    cohorts_are_found_by_invite_code_and_count_members,
    sessions_expire_and_can_be_deleted,
    progress_keeps_the_best_attempt,
    migrations_are_idempotent,
    a_learner_registers_and_signs_in_over_http,
);
