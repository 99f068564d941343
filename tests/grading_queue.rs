//! Workers on the real engine and a real database: a worker that loses its lease stops and leaves the new
//! holder alone, shutdown is bounded and puts runs back, a panicking worker restarts, and a run's build log
//! is stored in order and capped.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use common::grading::{course, wait_final, wait_no_docker_objects};
use common::project::{docker_objects, Project};
use gauntlet::clock::ManualClock;
use gauntlet::config::DatabaseUrl;
use gauntlet::curriculum::{Curriculum, SharedCurriculum};
use gauntlet::domain::{DisplayName, Email, Role};
use gauntlet::grading::{ClaimHook, EventLimits, WorkerPool, WorkerSettings};
use gauntlet::store::{RunRow, Store};

/// A store on a fresh SQLite file whose clock the test moves, the grading course, and a queued run of
/// `project` by learner ada.
struct Queue {
    store: Store,
    clock: Arc<ManualClock>,
    curriculum: SharedCurriculum,
    instance: String,
    run: i64,
    dir: tempfile::TempDir,
    _course: common::fixture::Course,
}

impl Queue {
    async fn with(project: &Project) -> Queue {
        let course = course();
        let dir = tempfile::tempdir().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let clock = ManualClock::new(now);
        let store = Store::connect(&DatabaseUrl::sqlite_in(dir.path()))
            .await
            .unwrap()
            .with_clock(clock.clone());
        let user = store
            .create_user(
                &Email::parse("ada@example.org").unwrap(),
                &DisplayName::parse("Ada").unwrap(),
                "h",
                Role::Learner,
                None,
            )
            .await
            .unwrap();
        let run = store
            .submit(user, "w01-hello", &project.archive(), 7)
            .await
            .unwrap();
        let curriculum = Curriculum::load(&course.curriculum(), &course.labs()).unwrap();
        Queue {
            instance: store.instance_id().await.unwrap(),
            store,
            clock,
            curriculum: Arc::new(RwLock::new(Arc::new(curriculum))),
            run,
            dir,
            _course: course,
        }
    }

    /// One worker named `name`, heartbeating often, with `tweak` applied to its settings.
    fn pool(&self, name: &str, tweak: impl FnOnce(&mut WorkerSettings)) -> WorkerPool {
        let mut settings = WorkerSettings::new(self.dir.path().join("work"));
        settings.name = name.to_string();
        settings.workers = 1;
        settings.lease = Duration::from_secs(10);
        settings.heartbeat = Duration::from_millis(200);
        settings.poll = Duration::from_millis(100);
        tweak(&mut settings);
        WorkerPool::spawn(
            self.store.clone(),
            self.curriculum.clone(),
            self.instance.clone(),
            settings,
        )
    }

    async fn row(&self) -> RunRow {
        self.store.run(self.run).await.unwrap()
    }

    /// Waits until the run is in `state`.
    async fn wait_state(&self, state: &str) {
        self.wait_attempt_in(1, state).await
    }

    /// Waits until attempt `attempt` has moved the run to `state` (a new attempt starts in its predecessor's
    /// state, so this reads the state events after the attempt's claim).
    async fn wait_attempt_in(&self, attempt: i64, state: &str) {
        let start = Instant::now();
        let claim = format!("\"attempt\":{attempt}");
        let moved = format!("\"state\":\"{state}\"");
        loop {
            let row = self.row().await;
            let events = self.events().await;
            let claimed = events.iter().position(|e| {
                (e.kind == "claimed" || e.kind == "resumed") && e.payload.contains(&claim)
            });
            if let Some(at) = claimed {
                if events[at..]
                    .iter()
                    .any(|e| e.kind == "state" && e.payload.contains(&moved))
                {
                    return;
                }
            }
            assert!(!row.state().is_final(), "ended early: {:?}", row.reason);
            assert!(start.elapsed() < Duration::from_secs(120), "never {state}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn events(&self) -> Vec<gauntlet::store::EventRow> {
        self.store.events_after(self.run, 0, 100_000).await.unwrap()
    }
}

/// A project whose checks are slow enough to interrupt.
fn slow_project() -> Project {
    Project::testsvc(&[("TESTSVC_DELAY_MS", "400")])
}

#[tokio::test]
async fn a_worker_whose_lease_expired_stops_and_the_new_holder_records_the_one_right_verdict() {
    let q = Queue::with(&slow_project()).await;
    let alpha = q.pool("alpha", |s| s.shutdown_grace = Duration::from_secs(60));
    q.wait_state("checking").await;
    let attempt = |n: i64| gauntlet::grading::reaper::run_label(&q.instance, q.run, n);
    assert!(!docker_objects(&attempt(1)).is_empty());
    // Alpha stalls past its lease (as a paused process would): its next heartbeat finds the lease expired, and
    // it stops at once, writing nothing and removing its attempt's objects. (It is also told to claim nothing
    // more, so that the run goes to beta; its grace is far longer than the test waits.)
    q.clock.advance_ms(11_000);
    let stopping = tokio::spawn(alpha.shutdown());
    wait_no_docker_objects(&attempt(1)).await;
    stopping.await.unwrap();
    let row = q.row().await;
    assert!(!row.state().is_final(), "alpha recorded {:?}", row.reason);
    assert_eq!(
        (row.attempts, row.worker_id.as_deref()),
        (1, Some("alpha-0")),
        "the run was neither put back nor taken again"
    );

    let beta = q.pool("beta", |_| {});
    q.wait_attempt_in(2, "checking").await;
    // What a late clean-up of attempt 1 removes is attempt 1's, never the container beta is checking.
    let sandbox = gauntlet::sandbox::Sandbox::connect().await.unwrap();
    let first = gauntlet::sandbox::RunLabel::parse(&attempt(1)).unwrap();
    sandbox.remove_run(&first).await.unwrap();
    assert!(!docker_objects(&attempt(2)).is_empty());
    let row = wait_final(&q.store, q.run, Duration::from_secs(180)).await;
    assert_eq!(
        (row.state.as_str(), row.attempts, row.worker_id.as_deref()),
        ("passed", 2, Some("beta-0")),
        "{:?} / {:?}",
        row.reason,
        row.detail
    );
    let events = q.events().await;
    let finished = events.iter().filter(|e| e.kind == "finished").count();
    assert_eq!(finished, 1, "one verdict");
    assert_eq!(q.store.check_results(q.run).await.unwrap().len(), 4);
    let progress = q.store.lab_progress(row.user_id).await.unwrap();
    assert_eq!((progress.len(), progress[0].attempts), (1, 1));
    wait_no_docker_objects(&format!("{}-", q.instance)).await;
    beta.shutdown().await;
}

#[tokio::test]
async fn shutdown_is_bounded_and_puts_the_run_in_progress_back_without_counting_it() {
    let q = Queue::with(&slow_project()).await;
    let first = q.pool("first", |s| s.shutdown_grace = Duration::from_millis(500));
    q.wait_state("checking").await;
    let started = Instant::now();
    first.shutdown().await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
    let row = q.row().await;
    assert_eq!(
        (row.state.as_str(), row.attempts, row.worker_id.as_deref()),
        ("queued", 0, None)
    );
    assert!(q.events().await.iter().any(|e| e.kind == "requeued"));
    assert_eq!(
        docker_objects(&format!("{}-", q.instance)),
        Vec::<String>::new(),
        "the abandoned attempt cleaned up before shutdown returned"
    );

    let second = q.pool("second", |_| {});
    let row = wait_final(&q.store, q.run, Duration::from_secs(180)).await;
    assert_eq!(
        (row.state.as_str(), row.attempts),
        ("passed", 1),
        "{:?}",
        row.reason
    );
    wait_no_docker_objects(&format!("{}-", q.instance)).await;
    second.shutdown().await;
}

#[tokio::test]
async fn a_worker_that_panics_is_restarted_and_its_run_is_graded_again() {
    let q = Queue::with(&Project::testsvc(&[])).await;
    let panicked = Arc::new(AtomicBool::new(false));
    let once = panicked.clone();
    let pool = q.pool("fragile", move |s| {
        s.on_claim = Some(ClaimHook(Arc::new(move |_run: &RunRow| {
            if !once.swap(true, Ordering::SeqCst) {
                panic!("a bug in the worker");
            }
        })));
    });
    let row = wait_final(&q.store, q.run, Duration::from_secs(180)).await;
    assert!(panicked.load(Ordering::SeqCst));
    assert_eq!(
        (row.state.as_str(), row.attempts),
        ("passed", 2),
        "{:?}",
        row.reason
    );
    let events = q.events().await;
    assert!(events.iter().any(|e| e.kind == "requeued"));
    assert_eq!(events.iter().filter(|e| e.kind == "finished").count(), 1);
    wait_no_docker_objects(&format!("{}-", q.instance)).await;
    pool.shutdown().await;
}

#[tokio::test]
async fn build_log_events_are_stored_in_order_and_capped_with_one_truncation_line() {
    let q = Queue::with(&Project::testsvc(&[("A", "1"), ("B", "2"), ("C", "3")])).await;
    let pool = q.pool("capped", |s| {
        s.events = EventLimits {
            batch: 3,
            flush: Duration::from_millis(50),
            max_log_lines: 4,
        }
    });
    let row = wait_final(&q.store, q.run, Duration::from_secs(180)).await;
    assert_eq!(row.state, "passed", "{:?}", row.reason);
    assert!(
        row.build_log.lines().count() > 5,
        "the build printed past the cap: {}",
        row.build_log
    );
    let events = q.events().await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    let logs: Vec<String> = events
        .iter()
        .filter(|e| e.kind == "log")
        .map(|e| {
            let v: serde_json::Value = serde_json::from_str(&e.payload).unwrap();
            v["line"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        logs.len(),
        5,
        "four lines and the truncation notice: {logs:?}"
    );
    assert_eq!(
        logs[..4],
        row.build_log.lines().take(4).collect::<Vec<_>>()[..],
        "the first lines, in order"
    );
    assert!(logs[4].contains("more than 4 lines"), "{}", logs[4]);
    let first_log = kinds.iter().position(|k| *k == "log").unwrap();
    let last_log = kinds.iter().rposition(|k| *k == "log").unwrap();
    let building = events
        .iter()
        .position(|e| e.kind == "state" && e.payload.contains("building"))
        .unwrap();
    let starting = events
        .iter()
        .position(|e| e.kind == "state" && e.payload.contains("starting"))
        .unwrap();
    assert!(building < first_log && last_log < starting, "{kinds:?}");
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    wait_no_docker_objects(&format!("{}-", q.instance)).await;
    pool.shutdown().await;
}

#[tokio::test]
async fn a_learners_single_run_is_graded_before_another_learners_backlog() {
    let q = Queue::with(&Project::testsvc(&[])).await;
    let ada = q.row().await.user_id;
    let bob = q
        .store
        .create_user(
            &Email::parse("bob@example.org").unwrap(),
            &DisplayName::parse("Bob").unwrap(),
            "h",
            Role::Learner,
            None,
        )
        .await
        .unwrap();
    let archive = Project::testsvc(&[]).archive();
    let mut backlog = vec![q.run];
    for _ in 0..2 {
        backlog.push(q.store.submit(ada, "w01-hello", &archive, 7).await.unwrap());
    }
    let single = q.store.submit(bob, "w01-hello", &archive, 7).await.unwrap();
    let pool = q.pool("one", |_| {});
    let mut claimed_at = Vec::new();
    for run in backlog.iter().chain([&single]) {
        assert_eq!(
            wait_final(&q.store, *run, Duration::from_secs(180))
                .await
                .state,
            "passed"
        );
        let events = q.store.events_after(*run, 0, 10_000).await.unwrap();
        let claim = events.iter().find(|e| e.kind == "claimed").unwrap().id;
        claimed_at.push((claim, *run));
    }
    claimed_at.sort();
    let order: Vec<i64> = claimed_at.into_iter().map(|(_, run)| run).collect();
    assert_eq!(
        order,
        [backlog[0], single, backlog[1], backlog[2]],
        "bob's run went second, not fourth"
    );
    wait_no_docker_objects(&format!("{}-", q.instance)).await;
    pool.shutdown().await;
}
