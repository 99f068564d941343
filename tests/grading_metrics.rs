//! `/metrics` carries the grading figures from the database (so one scrape covers every worker on every host):
//! the queue's depth and its oldest run's age, runs in progress and finished by outcome, the heartbeats of the
//! workers holding runs, and each stage's duration as a histogram. Driven through the store's lease API with the
//! server's clock moved by hand, on SQLite and PostgreSQL.

mod common;

use common::app::{Db, Spawn, TestApp};
use gauntlet::domain::{DisplayName, Email, Role, RunState};
use gauntlet::store::{FinalResult, Lease};

/// The value of the sample `series` (name and labels exactly as exposed) in a scrape.
fn sample(body: &str, series: &str) -> f64 {
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{series} is not in /metrics:\n{body}"))
        .trim()
        .parse()
        .expect("a number")
}

async fn scrape(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    response.text().await.expect("body")
}

fn bucket(stage: &str, le: &str) -> String {
    format!("gauntlet_grading_stage_duration_seconds_bucket{{stage=\"{stage}\",le=\"{le}\"}}")
}

async fn stages_of_a_graded_run_are_measured(db: Db) {
    let app = Spawn::default().db(db).start().await;
    let before = scrape(&app).await;
    assert_eq!(sample(&before, "gauntlet_grading_queue_depth"), 0.0);
    assert_eq!(
        sample(
            &before,
            "gauntlet_grading_runs_finished_total{outcome=\"passed\"}"
        ),
        0.0,
        "every outcome has a series before the first run"
    );
    assert_eq!(sample(&before, &bucket("build", "+Inf")), 0.0);

    let store = &app.store;
    let user = store
        .create_user(
            &Email::parse("ada@example.org").expect("email"),
            &DisplayName::parse("Ada").expect("name"),
            "h",
            Role::Learner,
            None,
        )
        .await
        .expect("user");
    let first = store
        .submit(user, "w01-hello", b"archive", 1)
        .await
        .expect("run");
    app.clock.advance_ms(1_000);
    store
        .submit(user, "w01-hello", b"archive", 2)
        .await
        .expect("run");
    app.clock.advance_ms(2_000);

    let queued = scrape(&app).await;
    assert_eq!(sample(&queued, "gauntlet_grading_queue_depth"), 2.0);
    assert_eq!(
        sample(&queued, "gauntlet_grading_queue_oldest_age_seconds"),
        3.0,
        "the oldest run was queued 3 s ago"
    );

    // A worker takes the oldest run 3 s after it was queued and moves it through the stages.
    let run = store
        .claim_run("host-a-1", 30_000)
        .await
        .expect("claim")
        .expect("a run waits");
    assert_eq!(run.id, first);
    let lease = Lease::of(&run, "host-a-1");
    assert!(store
        .advance(&lease, RunState::Building)
        .await
        .expect("advance"));
    app.clock.advance_ms(4_000);
    let building = scrape(&app).await;
    assert_eq!(sample(&building, "gauntlet_grading_queue_depth"), 1.0);
    assert_eq!(
        sample(
            &building,
            "gauntlet_grading_runs_in_progress{state=\"building\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &building,
            "gauntlet_grading_worker_heartbeat_age_seconds{worker=\"host-a-1\"}"
        ),
        4.0,
        "its last heartbeat was the claim, 4 s ago"
    );
    assert!(store
        .advance(&lease, RunState::Starting)
        .await
        .expect("advance"));
    app.clock.advance_ms(300);
    assert!(store
        .advance(&lease, RunState::Checking)
        .await
        .expect("advance"));
    app.clock.advance_ms(6_000);
    let result = FinalResult {
        state: RunState::Passed,
        stage: "checks".into(),
        reason: String::new(),
        detail: String::new(),
        score: Some(1.0),
        build_log: String::new(),
        container_log: String::new(),
        checks: Vec::new(),
        counts: true,
    };
    assert!(store.finish_run(&lease, &result).await.expect("finish"));

    let after = scrape(&app).await;
    assert_eq!(
        sample(
            &after,
            "gauntlet_grading_runs_finished_total{outcome=\"passed\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            "gauntlet_grading_runs_in_progress{state=\"checking\"}"
        ),
        0.0
    );
    // wait 3 s, build 4 s, start 0.3 s, checks 6 s, total 10.3 s: each in its bucket and not the one below.
    for (stage, below, within) in [
        ("wait", "2.5", "5"),
        ("build", "2.5", "5"),
        ("checks", "5", "10"),
        ("total", "10", "20"),
    ] {
        assert_eq!(
            sample(&after, &bucket(stage, below)),
            0.0,
            "{stage} <= {below}"
        );
        assert_eq!(
            sample(&after, &bucket(stage, within)),
            1.0,
            "{stage} <= {within}"
        );
        assert_eq!(
            sample(&after, &bucket(stage, "+Inf")),
            1.0,
            "{stage} in all"
        );
    }
    assert_eq!(sample(&after, &bucket("start", "0.5")), 1.0);
    assert_eq!(
        sample(
            &after,
            "gauntlet_grading_stage_duration_seconds_sum{stage=\"build\"}"
        ),
        4.0
    );
    assert_eq!(
        sample(
            &after,
            "gauntlet_grading_stage_duration_seconds_count{stage=\"total\"}"
        ),
        1.0
    );
    assert!(
        !after.contains("worker=\"host-a-1\""),
        "a worker holding no run has no heartbeat series"
    );

    // A run that ends without finishing again (a lost lease) adds nothing: each run counts once.
    assert!(!store.finish_run(&lease, &result).await.expect("finish"));
    let again = scrape(&app).await;
    assert_eq!(sample(&again, &bucket("total", "+Inf")), 1.0);
}

#[tokio::test]
async fn stages_of_a_graded_run_are_measured_on_sqlite() {
    stages_of_a_graded_run_are_measured(Db::Sqlite).await;
}

#[tokio::test]
async fn stages_of_a_graded_run_are_measured_on_postgres() {
    stages_of_a_graded_run_are_measured(Db::Postgres).await;
}

/// Every series the Grafana dashboard in docs/ queries is one a server exposes, so the dashboard cannot drift from
/// the metrics' names.
#[tokio::test]
async fn the_grafana_dashboard_queries_only_metrics_the_server_exposes() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/grafana-dashboard.json"
    ))
    .expect("docs/grafana-dashboard.json");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let exprs: Vec<&str> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|p| p["targets"].as_array().expect("targets").iter())
        .map(|t| t["expr"].as_str().expect("expr"))
        .collect();
    assert!(exprs.len() >= 8, "{exprs:?}");

    let app = Spawn::default().start().await;
    app.get("/login").await; // so the HTTP metrics have a sample
                             // ... and a worker holds a run, so the heartbeat series exists.
    let user = app
        .store
        .create_user(
            &Email::parse("ada@example.org").expect("email"),
            &DisplayName::parse("Ada").expect("name"),
            "h",
            Role::Learner,
            None,
        )
        .await
        .expect("user");
    app.store
        .submit(user, "w01-hello", b"archive", 1)
        .await
        .expect("run");
    app.store
        .claim_run("host-a-1", 30_000)
        .await
        .expect("claim")
        .expect("a run");
    let body = scrape(&app).await;
    let exposed: std::collections::BTreeSet<&str> = body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    for expr in exprs {
        let names: Vec<&str> = expr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("gauntlet_"))
            .collect();
        assert!(!names.is_empty(), "{expr} queries no Gauntlet metric");
        for name in names {
            assert!(
                exposed.contains(name),
                "the dashboard queries {name}, which /metrics does not expose: {exposed:?}"
            );
        }
    }
}
