//! The store's behaviour, the same on both backends: every test runs once on SQLite and once on PostgreSQL.

mod common;

use std::sync::Arc;

use common::app::{Db, Spawn, PASSWORD};
use gauntlet::clock::ManualClock;
use gauntlet::config::DatabaseUrl;
use gauntlet::domain::{DisplayName, Email, Role};
use gauntlet::store::{Store, StoreError};

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

on_both_backends!(
    users_are_unique_by_email,
    cohorts_are_found_by_invite_code_and_count_members,
    sessions_expire_and_can_be_deleted,
    progress_keeps_the_best_attempt,
    migrations_are_idempotent,
    a_learner_registers_and_signs_in_over_http,
);

mod queue {
    //! The grading queue on both backends: claims are exclusive, leases expire, only the holder records.

    use super::*;
    use gauntlet::domain::RunState;
    use gauntlet::store::{FinalResult, Lease};

    async fn learner(store: &Store) -> i64 {
        named_learner(store, "ada@example.org").await
    }

    pub(super) async fn named_learner(store: &Store, address: &str) -> i64 {
        let name = DisplayName::parse("Ada").unwrap();
        store
            .create_user(&email(address), &name, "h", Role::Learner, None)
            .await
            .unwrap()
    }

    pub(super) fn result(state: RunState, score: f64) -> FinalResult {
        FinalResult {
            state,
            stage: "checks".into(),
            reason: "done".into(),
            detail: "hidden".into(),
            score: Some(score),
            build_log: String::new(),
            container_log: String::new(),
            checks: Vec::new(),
            counts: true,
        }
    }

    async fn concurrent_workers_claim_each_run_exactly_once(db: Db) {
        let (store, _, _dir) = fresh_store(db).await;
        let user = learner(&store).await;
        let mut runs = Vec::new();
        for i in 0..12u8 {
            runs.push(store.submit(user, "w01-health", &[i; 16], 7).await.unwrap());
        }
        let mut tasks = Vec::new();
        for w in 0..6 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(run) = store
                    .claim_run(&format!("worker-{w}"), 60_000)
                    .await
                    .unwrap()
                {
                    mine.push(run.id);
                }
                mine
            }));
        }
        let mut claimed = Vec::new();
        for t in tasks {
            claimed.extend(t.await.unwrap());
        }
        claimed.sort();
        assert_eq!(claimed, runs, "every run claimed once, none twice");
        assert_eq!(store.queue_depth().await.unwrap(), 0);
    }

    async fn an_expired_lease_is_claimed_again_and_only_the_new_holder_records(db: Db) {
        let (store, clock, _dir) = fresh_store(db).await;
        let user = learner(&store).await;
        let run = store
            .submit(user, "w01-health", b"archive", 7)
            .await
            .unwrap();
        let first = store.claim_run("a", 1_000).await.unwrap().unwrap();
        assert_eq!(first.id, run);
        let a = Lease::of(&first, "a");
        assert!(store.advance(&a, RunState::Building).await.unwrap());
        assert!(
            store.claim_run("b", 1_000).await.unwrap().is_none(),
            "leased"
        );
        clock.advance_ms(1_001);
        let second = store
            .claim_run("b", 1_000)
            .await
            .unwrap()
            .expect("taken again");
        assert_eq!((second.id, second.attempts), (run, 2));
        let b = Lease::of(&second, "b");
        assert!(
            !store.heartbeat(&a, 1_000).await.unwrap(),
            "a lost its lease"
        );
        assert!(!store.advance(&a, RunState::Checking).await.unwrap());
        assert!(!store
            .finish_run(&a, &result(RunState::Failed, 0.0))
            .await
            .unwrap());
        assert!(store
            .finish_run(&b, &result(RunState::Passed, 1.0))
            .await
            .unwrap());
        assert!(
            !store
                .finish_run(&b, &result(RunState::Passed, 1.0))
                .await
                .unwrap(),
            "once"
        );
        let row = store.run(run).await.unwrap();
        assert_eq!(row.state(), RunState::Passed);
        let progress = store.lab_progress(user).await.unwrap();
        assert_eq!((progress.len(), progress[0].attempts), (1, 1));
        let finished = store
            .events_after(run, 0, 100)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.kind == "finished")
            .count();
        assert_eq!(finished, 1);
        assert_eq!(
            store.submission_archive(row.submission_id).await.unwrap(),
            Some(b"archive".to_vec())
        );
    }

    async fn a_run_that_keeps_killing_workers_ends_as_a_platform_error(db: Db) {
        let (store, clock, _dir) = fresh_store(db).await;
        let user = learner(&store).await;
        let run = store
            .submit(user, "w01-health", b"archive", 7)
            .await
            .unwrap();
        for attempt in 1..=gauntlet::store::MAX_ATTEMPTS {
            let claimed = store.claim_run("w", 1_000).await.unwrap().unwrap();
            assert_eq!(claimed.attempts, attempt);
            store
                .advance(&Lease::of(&claimed, "w"), RunState::Building)
                .await
                .unwrap();
            clock.advance_ms(1_001);
        }
        assert!(store.claim_run("w", 1_000).await.unwrap().is_none());
        let row = store.run(run).await.unwrap();
        assert_eq!(row.state(), RunState::Error);
        assert!(
            store.lab_progress(user).await.unwrap().is_empty(),
            "an error never counts"
        );
    }

    async fn a_platform_fault_puts_the_run_back_in_the_queue(db: Db) {
        let (store, _, _dir) = fresh_store(db).await;
        let user = learner(&store).await;
        let run = store
            .submit(user, "w01-health", b"archive", 7)
            .await
            .unwrap();
        let claimed = store.claim_run("w", 60_000).await.unwrap().unwrap();
        assert!(store
            .requeue(&Lease::of(&claimed, "w"), "docker went away")
            .await
            .unwrap());
        assert_eq!(store.run(run).await.unwrap().state(), RunState::Queued);
        assert_eq!(store.claim_run("v", 60_000).await.unwrap().unwrap().id, run);
    }

    async fn api_tokens_are_hashed_revocable_and_scoped(db: Db) {
        let (store, _, _dir) = fresh_store(db).await;
        let user = learner(&store).await;
        let id = store
            .create_api_token(user, "laptop", "hash-of-token")
            .await
            .unwrap();
        assert_eq!(
            store
                .api_token_user("hash-of-token")
                .await
                .unwrap()
                .unwrap()
                .id,
            user
        );
        assert!(store.api_tokens(user).await.unwrap()[0]
            .last_used_at
            .is_some());
        assert!(matches!(
            store.revoke_api_token(user + 1, id).await,
            Err(StoreError::NotFound)
        ));
        store.revoke_api_token(user, id).await.unwrap();
        assert!(store
            .api_token_user("hash-of-token")
            .await
            .unwrap()
            .is_none());
        assert!(store.api_tokens(user).await.unwrap().is_empty());
    }

    async fn the_instance_id_is_stable(db: Db) {
        let (store, _, _dir) = fresh_store(db).await;
        let a = store.instance_id().await.unwrap();
        assert_eq!(a, store.instance_id().await.unwrap());
        assert!(a.starts_with('g') && a.len() == 9);
    }

    on_both_backends!(
        concurrent_workers_claim_each_run_exactly_once,
        an_expired_lease_is_claimed_again_and_only_the_new_holder_records,
        a_run_that_keeps_killing_workers_ends_as_a_platform_error,
        a_platform_fault_puts_the_run_back_in_the_queue,
        api_tokens_are_hashed_revocable_and_scoped,
        the_instance_id_is_stable,
    );
}

#[path = "storage/queue_rules.rs"]
mod queue_rules;
