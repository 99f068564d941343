//! `loadgen::run` against testsvc, a closed port and a server that hangs up.

use std::net::TcpListener;
use std::time::Duration;

use gauntlet::loadgen::{self, LoadError, LoadReport, LoadSpec};

use crate::support::{free_port, Service};

fn url(service: &Service, path: &str) -> url::Url {
    service.target.base_url.join(path).expect("url")
}

fn requests(url: url::Url, connections: usize, n: u64) -> LoadSpec {
    LoadSpec {
        requests: Some(n),
        ..LoadSpec::get(url, connections)
    }
}

/// The `/count/total` of testsvc: how many `/count` requests it answered.
async fn server_count(service: &Service) -> u64 {
    let body = reqwest::get(url(service, "/count/total"))
        .await
        .expect("count")
        .text()
        .await
        .expect("body");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    v["count"].as_u64().expect("count is a number")
}

fn assert_no_errors(r: &LoadReport) {
    assert_eq!(
        (r.non_2xx, r.connect_errors, r.transport_errors),
        (0, 0, 0),
        "{r:#?}"
    );
    assert_eq!(r.error_rate, 0.0);
}

#[tokio::test]
async fn a_run_of_r_requests_is_answered_exactly_r_times() {
    let service = Service::start();
    let report = loadgen::run(&requests(url(&service, "/count"), 4, 500))
        .await
        .expect("run");
    assert_eq!(report.requests, 500);
    assert_no_errors(&report);
    assert_eq!(server_count(&service).await, 500);
}

#[tokio::test]
async fn the_warm_up_is_sent_but_not_counted() {
    let service = Service::start();
    let spec = LoadSpec {
        warmup: Duration::from_millis(300),
        ..requests(url(&service, "/count"), 2, 100)
    };
    let report = loadgen::run(&spec).await.expect("run");
    assert_eq!(report.requests, 100);
    assert_no_errors(&report);
    let answered = server_count(&service).await;
    assert!(
        answered > 100,
        "the server answered {answered}: no warm-up load"
    );
    assert_eq!(report.warmup_ms, 300.0);
}

#[tokio::test]
async fn percentiles_are_ordered_and_plausible() {
    let service = Service::start();
    let spec = LoadSpec {
        duration: Some(Duration::from_millis(500)),
        ..LoadSpec::get(url(&service, "/healthz"), 4)
    };
    let r = loadgen::run(&spec).await.expect("run");
    assert_no_errors(&r);
    assert!(r.requests > 0);
    let l = r.latency;
    assert!(l.p50_ms > 0.0, "{l:?}");
    assert!(
        l.p50_ms <= l.p90_ms
            && l.p90_ms <= l.p95_ms
            && l.p95_ms <= l.p99_ms
            && l.p99_ms <= l.max_ms,
        "{l:?}"
    );
    assert!(l.mean_ms > 0.0 && l.mean_ms <= l.max_ms, "{l:?}");
    // The window is the duration asked for, plus at most the answers in flight at its end.
    assert!(r.duration_ms >= 500.0 && r.duration_ms < 5_000.0, "{r:?}");
    let rps = r.requests as f64 / (r.duration_ms / 1000.0);
    assert!(
        (r.requests_per_sec - rps).abs() < 1e-6 * rps.max(1.0),
        "{r:?}"
    );
}

#[tokio::test]
async fn latency_includes_the_services_own_delay() {
    let service = Service::with_env(&[("TESTSVC_DELAY_MS", "50")]);
    let r = loadgen::run(&requests(url(&service, "/healthz"), 2, 10))
        .await
        .expect("run");
    assert_eq!(r.requests, 10);
    assert!(r.latency.p50_ms >= 50.0, "{:?}", r.latency);
    assert!(r.requests_per_sec <= 2.0 * 1000.0 / 50.0 * 1.1, "{r:?}");
}

#[tokio::test]
async fn non_2xx_answers_are_counted_apart_from_transport_errors() {
    let service = Service::start();
    let r = loadgen::run(&requests(url(&service, "/no-such-route"), 2, 40))
        .await
        .expect("run");
    assert_eq!(r.requests, 40);
    assert_eq!(r.non_2xx, 40);
    assert_eq!((r.connect_errors, r.transport_errors), (0, 0));
    assert_eq!(r.error_rate, 1.0);
}

#[tokio::test]
async fn a_service_that_is_down_gives_connect_errors_not_a_failure() {
    let down = url::Url::parse(&format!("http://127.0.0.1:{}/healthz", free_port())).expect("url");
    let r = loadgen::run(&requests(down.clone(), 4, 20))
        .await
        .expect("a refused connection is a measurement, not an error");
    assert_eq!(r.requests, 0);
    assert_eq!(r.connect_errors, 20);
    assert_eq!(r.error_rate, 1.0);
    assert_eq!(r.latency.p99_ms, 0.0);

    let timed = LoadSpec {
        duration: Some(Duration::from_millis(200)),
        ..LoadSpec::get(down, 2)
    };
    let r = loadgen::run(&timed).await.expect("run");
    assert!(r.connect_errors > 0, "{r:?}");
    assert_eq!(r.requests, 0);
}

#[tokio::test]
async fn a_server_that_hangs_up_gives_transport_errors_and_reconnects() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        // Accept and close at once: the connection opens, every request on it fails.
        for stream in listener.incoming() {
            drop(stream);
        }
    });
    let url = url::Url::parse(&format!("http://127.0.0.1:{port}/")).expect("url");
    let r = loadgen::run(&requests(url, 2, 30)).await.expect("run");
    assert_eq!(r.requests, 0);
    assert_eq!(r.connect_errors + r.transport_errors, 30, "{r:?}");
    assert!(r.transport_errors > 0, "{r:?}");
    assert_eq!(r.error_rate, 1.0);
}

#[tokio::test]
async fn a_spec_that_cannot_run_is_refused_before_any_load() {
    let service = Service::start();
    let no_stop = LoadSpec::get(url(&service, "/healthz"), 1);
    assert!(matches!(
        loadgen::run(&no_stop).await,
        Err(LoadError::NoStop)
    ));
    let https = requests(url::Url::parse("https://127.0.0.1:1/").expect("url"), 1, 1);
    assert!(matches!(
        loadgen::run(&https).await,
        Err(LoadError::UnsupportedScheme(_))
    ));
    let none = requests(url(&service, "/healthz"), 0, 1);
    assert!(matches!(
        loadgen::run(&none).await,
        Err(LoadError::Connections(0))
    ));
}
