//! The queue's rules on both backends: a lease is one attempt's and ends at its expiry, claims take turns
//! across learners, a waiting run knows its place, the cap on live runs, archive retention, batched events.

use super::queue::{named_learner, result};
use super::*;
use gauntlet::domain::RunState;
use gauntlet::store::{Actor, Lease, Quota};

async fn a_lease_ends_at_its_expiry_and_belongs_to_one_attempt(db: Db) {
    let (store, clock, _dir) = fresh_store(db).await;
    let user = named_learner(&store, "ada@example.org").await;
    let run = store.submit(user, "w01-health", b"a", 7).await.unwrap();
    let first = Lease::of(&store.claim_run("w", 1_000).await.unwrap().unwrap(), "w");
    assert!(store.heartbeat(&first, 1_000).await.unwrap());
    clock.advance_ms(1_001);
    assert!(
        !store.heartbeat(&first, 1_000).await.unwrap(),
        "an expired lease is not renewed, even before anyone takes the run"
    );
    // The same worker id claims the run again: the first attempt's writes are still refused.
    let second = Lease::of(&store.claim_run("w", 1_000).await.unwrap().unwrap(), "w");
    assert_eq!((second.run_id, second.attempt), (run, 2));
    assert!(!store.advance(&first, RunState::Building).await.unwrap());
    assert!(!store
        .append_events(&first, &[("log", "{}".to_string())])
        .await
        .unwrap());
    assert!(!store
        .finish_run(&first, &result(RunState::Failed, 0.0))
        .await
        .unwrap());
    assert!(store
        .finish_run(&second, &result(RunState::Passed, 1.0))
        .await
        .unwrap());
    assert_eq!(store.run(run).await.unwrap().state(), RunState::Passed);
}

async fn claims_take_turns_across_learners(db: Db) {
    let (store, _, _dir) = fresh_store(db).await;
    let ada = named_learner(&store, "ada@example.org").await;
    let bob = named_learner(&store, "bob@example.org").await;
    let mut busy = Vec::new();
    for i in 0..3u8 {
        busy.push(store.submit(ada, "w01-health", &[i], 7).await.unwrap());
    }
    let single = store.submit(bob, "w01-health", b"b", 7).await.unwrap();
    let expected = [busy[0], single, busy[1], busy[2]];
    let positions: Vec<Option<i64>> =
        futures_util::future::join_all(expected.iter().map(|r| store.queue_position(*r)))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    assert_eq!(positions, [Some(1), Some(2), Some(3), Some(4)]);
    let mut claimed = Vec::new();
    while let Some(run) = store.claim_run("w", 60_000).await.unwrap() {
        claimed.push(run.id);
        if claimed.len() == 1 {
            assert_eq!(store.queue_position(run.id).await.unwrap(), None);
            assert_eq!(store.queue_position(single).await.unwrap(), Some(1));
        }
    }
    assert_eq!(
        claimed, expected,
        "bob's one run does not wait for all of ada's"
    );
}

async fn turns_rotate_when_each_run_ends_before_the_next_claim(db: Db) {
    let (store, _, _dir) = fresh_store(db).await;
    let ada = named_learner(&store, "ada@example.org").await;
    let bob = named_learner(&store, "bob@example.org").await;
    let mut ada_runs = Vec::new();
    for i in 0..3u8 {
        ada_runs.push(store.submit(ada, "w01-health", &[i], 7).await.unwrap());
    }
    let bob_runs = [
        store.submit(bob, "w01-health", b"b1", 7).await.unwrap(),
        store.submit(bob, "w01-health", b"b2", 7).await.unwrap(),
    ];
    // One worker: each run ends before the next is claimed, so nobody ever has two running.
    let mut order = Vec::new();
    while let Some(run) = store.claim_run("w", 60_000).await.unwrap() {
        order.push(run.id);
        store
            .finish_run(&Lease::of(&run, "w"), &result(RunState::Passed, 1.0))
            .await
            .unwrap();
    }
    assert_eq!(
        order,
        [
            ada_runs[0],
            bob_runs[0],
            ada_runs[1],
            bob_runs[1],
            ada_runs[2]
        ]
    );
}

async fn a_learner_at_the_cap_is_refused_until_a_run_ends(db: Db) {
    let (store, _, _dir) = fresh_store(db).await;
    let ada = named_learner(&store, "ada@example.org").await;
    let quota = Quota {
        max_live_runs: 2,
        keep_archives: 10,
    };
    let first = store
        .submit_within(ada, "w01-health", b"1", 7, quota, Default::default())
        .await
        .unwrap();
    store
        .submit_within(ada, "w01-health", b"2", 7, quota, Default::default())
        .await
        .unwrap();
    let refused = store
        .submit_within(ada, "w01-health", b"3", 7, quota, Default::default())
        .await;
    assert!(
        matches!(refused, Err(StoreError::LiveRunCap(2))),
        "{refused:?}"
    );
    assert_eq!(store.live_runs_of(ada).await.unwrap(), 2, "nothing stored");
    let claimed = store.claim_run("w", 60_000).await.unwrap().unwrap();
    assert_eq!(claimed.id, first);
    store
        .finish_run(&Lease::of(&claimed, "w"), &result(RunState::Failed, 0.0))
        .await
        .unwrap();
    store
        .submit_within(ada, "w01-health", b"3", 7, quota, Default::default())
        .await
        .expect("a finished run frees a place");
}

async fn old_archives_are_dropped_and_their_runs_keep_results_but_cannot_be_regraded(db: Db) {
    let (store, _, _dir) = fresh_store(db).await;
    let ada = named_learner(&store, "ada@example.org").await;
    let quota = Quota {
        max_live_runs: 10,
        keep_archives: 2,
    };
    let mut runs = Vec::new();
    for i in 0..3u8 {
        let run = store
            .submit_within(ada, "w01-health", &[i; 100], 7, quota, Default::default())
            .await
            .unwrap();
        let claimed = store.claim_run("w", 60_000).await.unwrap().unwrap();
        store
            .finish_run(&Lease::of(&claimed, "w"), &result(RunState::Passed, 1.0))
            .await
            .unwrap();
        runs.push(store.run(run).await.unwrap());
    }
    // A queued run's archive is kept whatever its age, and another lab's are counted apart.
    store
        .submit_within(ada, "w02-crud", b"other", 7, quota, Default::default())
        .await
        .unwrap();
    let oldest = &runs[0];
    assert_eq!(
        store
            .submission_archive(oldest.submission_id)
            .await
            .unwrap(),
        None
    );
    for kept in &runs[1..] {
        assert!(store
            .submission_archive(kept.submission_id)
            .await
            .unwrap()
            .is_some());
    }
    let why = gauntlet::domain::RegradeReason::parse("a changed check").unwrap();
    let row = store.run(oldest.id).await.unwrap();
    assert_eq!((row.state(), row.score), (RunState::Passed, Some(1.0)));
    assert!(matches!(
        store
            .regrade(oldest.id, oldest.seed, None, &Actor::command_line(), &why)
            .await,
        Err(StoreError::ArchiveGone)
    ));
    store
        .regrade(runs[2].id, runs[2].seed, None, &Actor::command_line(), &why)
        .await
        .unwrap();
}

async fn events_are_written_in_batches_in_order_while_the_lease_holds(db: Db) {
    let (store, clock, _dir) = fresh_store(db).await;
    let ada = named_learner(&store, "ada@example.org").await;
    let run = store.submit(ada, "w01-health", b"a", 7).await.unwrap();
    let lease = Lease::of(&store.claim_run("w", 1_000).await.unwrap().unwrap(), "w");
    let batch: Vec<(&str, String)> = (0..100)
        .map(|i| ("log", format!(r#"{{"kind":"log","line":"line {i}"}}"#)))
        .collect();
    assert!(store.append_events(&lease, &batch).await.unwrap());
    let lines: Vec<String> = store
        .events_after(run, 0, 1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "log")
        .map(|e| e.payload)
        .collect();
    assert_eq!(lines, batch.iter().map(|b| b.1.clone()).collect::<Vec<_>>());
    clock.advance_ms(1_001);
    store.claim_run("v", 1_000).await.unwrap().unwrap();
    assert!(!store.append_events(&lease, &batch).await.unwrap());
    assert_eq!(
        store.events_after(run, 0, 1_000).await.unwrap().len(),
        100 + 3
    );
}

async fn a_run_put_back_at_shutdown_does_not_count_the_attempt(db: Db) {
    let (store, _, _dir) = fresh_store(db).await;
    let ada = named_learner(&store, "ada@example.org").await;
    let run = store.submit(ada, "w01-health", b"a", 7).await.unwrap();
    let lease = Lease::of(&store.claim_run("w", 60_000).await.unwrap().unwrap(), "w");
    assert!(store
        .requeue_uncounted(&lease, "shutting down")
        .await
        .unwrap());
    let row = store.run(run).await.unwrap();
    assert_eq!((row.state(), row.attempts), (RunState::Queued, 0));
    assert_eq!(
        store
            .claim_run("v", 60_000)
            .await
            .unwrap()
            .unwrap()
            .attempts,
        1
    );
}

on_both_backends!(
    a_lease_ends_at_its_expiry_and_belongs_to_one_attempt,
    claims_take_turns_across_learners,
    turns_rotate_when_each_run_ends_before_the_next_claim,
    a_learner_at_the_cap_is_refused_until_a_run_ends,
    old_archives_are_dropped_and_their_runs_keep_results_but_cannot_be_regraded,
    events_are_written_in_batches_in_order_while_the_lease_holds,
    a_run_put_back_at_shutdown_does_not_count_the_attempt,
);
