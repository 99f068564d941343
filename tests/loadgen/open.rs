//! The open loop against a local server that stalls every answer for one second in the middle of the run: the
//! open loop's p99 shows the stall, because every request due during it waited; the closed loop, whose
//! connections simply stop sending while they wait, records one slow answer per connection and a p99 that
//! hides it. And a server that never answers cannot make the generator hold more than its connections.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use gauntlet::loadgen::{self, LoadSpec};

/// From `STALL_FROM` to `STALL_UNTIL` after the first request, every answer waits until `STALL_UNTIL`.
const STALL_FROM: Duration = Duration::from_millis(500);
const STALL_UNTIL: Duration = Duration::from_millis(1500);

/// A keep-alive HTTP/1.1 server, one thread per connection, answering `200 ok` (or never, with `silent`).
fn server(silent: bool) -> url::Url {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let first: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let first = Arc::clone(&first);
            std::thread::spawn(move || answer(stream, &first, silent));
        }
    });
    url::Url::parse(&format!("http://127.0.0.1:{port}/")).expect("url")
}

fn answer(stream: TcpStream, first: &OnceLock<Instant>, silent: bool) {
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => {}
            }
        }
        if silent {
            std::thread::sleep(Duration::from_secs(30));
            return;
        }
        let t0 = *first.get_or_init(Instant::now);
        let at = t0.elapsed();
        if at >= STALL_FROM && at < STALL_UNTIL {
            std::thread::sleep(STALL_UNTIL - at);
        }
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .is_err()
        {
            return;
        }
    }
}

#[tokio::test]
async fn the_open_loop_shows_a_stall_that_the_closed_loop_hides() {
    let open = LoadSpec {
        duration: Some(Duration::from_millis(2500)),
        rate: Some(200.0),
        ..LoadSpec::get(server(false), 8)
    };
    let o = loadgen::run(&open).await.expect("open loop");
    // 500 requests were due; each was answered (the stall ends long before the drain does).
    assert_eq!(o.requests + o.dropped + o.timeouts, 500, "{o:#?}");
    assert_eq!(o.error_rate, 0.0, "{o:#?}");
    // About 200 requests fell due during the second of stall, 40% of the run: their wait is measured.
    assert!(o.latency.p50_ms < 50.0, "{:?}", o.latency);
    assert!(o.latency.p90_ms > 300.0, "{:?}", o.latency);
    assert!(o.latency.p99_ms > 800.0, "{:?}", o.latency);

    let closed = LoadSpec {
        duration: Some(Duration::from_millis(2500)),
        ..LoadSpec::get(server(false), 8)
    };
    let c = loadgen::run(&closed).await.expect("closed loop");
    // The closed loop saw the stall (its slowest answer) but its percentiles do not.
    assert!(c.latency.max_ms > 800.0, "{:?}", c.latency);
    assert!(c.latency.p99_ms < 100.0, "{:?}", c.latency);
}

#[tokio::test]
async fn a_service_that_never_answers_leaves_at_most_one_request_per_connection_outstanding() {
    let spec = LoadSpec {
        duration: Some(Duration::from_millis(1000)),
        rate: Some(100.0),
        drain: Duration::from_millis(300),
        ..LoadSpec::get(server(true), 4)
    };
    let started = Instant::now();
    let r = loadgen::run(&spec).await.expect("run");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the drain bounds the run"
    );
    assert_eq!(r.requests, 0);
    // One request per connection was sent and timed out; everything else due was never sent.
    assert_eq!(r.timeouts, 4, "{r:#?}");
    assert_eq!(r.timeouts + r.dropped, 100, "{r:#?}");
    assert_eq!(r.error_rate, 1.0);
    assert!(r.latency.p99_ms >= 1000.0, "{:?}", r.latency);
}
