//! `scripts/bench-swap`'s measuring half: the swap router's own cost. Against one local server (`BACKEND`,
//! `127.0.0.1:PORT`), the same client measures requests straight to the server and through the router, in
//! the same run, interleaved round by round:
//!
//! - paced: the swap's own traffic lanes (`LANES` read lanes, one request in flight each, `PACE_MS` apart, as
//!   a swap check sends), latency p50/p99 from every request;
//! - flat out: `gauntlet load`'s closed loop (`CONNECTIONS` keep-alive connections), throughput and p50/p99.
//!
//! Usage: `bench_swap BACKEND [ROUNDS] [SECONDS] [LANES] [PACE_MS] [CONNECTIONS]`; prints one row per round
//! and mode and the medians.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use gauntlet::checks::swap::router::{Backend, Router};
use gauntlet::checks::swap::traffic::{self, Mix};
use gauntlet::loadgen::{self, LoadSpec};

struct Row {
    p50: f64,
    p99: f64,
    rps: f64,
    errors: usize,
}

fn arg<T: std::str::FromStr>(n: usize, default: T) -> T {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let backend: SocketAddr = std::env::args()
        .nth(1)
        .context("usage: bench_swap BACKEND [ROUNDS] [SECONDS] [LANES] [PACE_MS] [CONNECTIONS]")?
        .parse()?;
    let rounds: usize = arg(2, 3);
    let secs: u64 = arg(3, 5);
    let lanes: usize = arg(4, 4);
    let pace: u64 = arg(5, 1);
    let connections: usize = arg(6, 16);
    let router = Router::start(Backend::new("blue", backend)?).await?;
    println!(
        "backend {backend}; router {}; {rounds} rounds of {secs} s per mode; paced: {lanes} lanes {pace} ms apart; \
         flat out: {connections} connections",
        router.addr()
    );
    println!(
        "{:<6} {:<9} {:<8} {:>9} {:>9} {:>11} {:>7}",
        "round", "mode", "path", "p50 ms", "p99 ms", "requests/s", "errors"
    );
    let mut all: Vec<(&str, &str, Row)> = Vec::new();
    for round in 1..=rounds {
        for (path, to) in [("direct", backend), ("router", router.addr())] {
            let row = paced(to, lanes, Duration::from_millis(pace), secs).await;
            print_row(&round.to_string(), "paced", path, &row);
            all.push(("paced", path, row));
        }
        for (path, to) in [("direct", backend), ("router", router.addr())] {
            let row = flat_out(to, connections, secs).await?;
            print_row(&round.to_string(), "flat-out", path, &row);
            all.push(("flat-out", path, row));
        }
    }
    for mode in ["paced", "flat-out"] {
        let mut medians = Vec::new();
        for path in ["direct", "router"] {
            let rows: Vec<&Row> = all
                .iter()
                .filter(|(m, p, _)| *m == mode && *p == path)
                .map(|(_, _, r)| r)
                .collect();
            let row = Row {
                p50: median(rows.iter().map(|r| r.p50).collect()),
                p99: median(rows.iter().map(|r| r.p99).collect()),
                rps: median(rows.iter().map(|r| r.rps).collect()),
                errors: rows.iter().map(|r| r.errors).sum(),
            };
            print_row("median", mode, path, &row);
            medians.push(row);
        }
        if let [direct, routed] = medians.as_slice() {
            println!(
                "{:<6} {:<9} {:<8} {:>9.2} {:>9.2} {:>11.2}",
                "ratio",
                mode,
                "r/d",
                routed.p50 / direct.p50,
                routed.p99 / direct.p99,
                routed.rps / direct.rps
            );
        }
    }
    Ok(())
}

fn print_row(round: &str, mode: &str, path: &str, r: &Row) {
    println!(
        "{round:<6} {mode:<9} {path:<8} {:>9.3} {:>9.3} {:>11.0} {:>7}",
        r.p50, r.p99, r.rps, r.errors
    );
}

/// The swap's read lanes, `pace` apart, for `secs`.
async fn paced(to: SocketAddr, lanes: usize, pace: Duration, secs: u64) -> Row {
    let mix = Arc::new(Mix {
        reads: vec!["/healthz".to_string()],
        version_path: "/version".to_string(),
        write_path: "/notes".to_string(),
        write_body: "{}".to_string(),
        slow_path: "/work".to_string(),
        read_lanes: lanes,
        write_lanes: 0,
        slow_lanes: 0,
        pace,
    });
    let running = traffic::start(to, mix, tokio::time::Instant::now());
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let (samples, _) = running.stop(Duration::from_secs(5)).await;
    let errors = samples
        .iter()
        .filter(|s| s.is_connection_error() || s.is_failed_answer())
        .count();
    let mut took: Vec<f64> = samples
        .iter()
        .map(|s| s.took.as_secs_f64() * 1000.0)
        .collect();
    took.sort_by(f64::total_cmp);
    Row {
        p50: percentile(&took, 0.50),
        p99: percentile(&took, 0.99),
        rps: samples.len() as f64 / secs as f64,
        errors,
    }
}

/// `gauntlet load`'s closed loop for `secs`, after half a second of warm-up.
async fn flat_out(to: SocketAddr, connections: usize, secs: u64) -> anyhow::Result<Row> {
    let url = url::Url::parse(&format!("http://{to}/healthz"))?;
    let spec = LoadSpec {
        duration: Some(Duration::from_secs(secs)),
        warmup: Duration::from_millis(500),
        ..LoadSpec::get(url, connections)
    };
    let r = loadgen::run(&spec).await?;
    Ok(Row {
        p50: r.latency.p50_ms,
        p99: r.latency.p99_ms,
        rps: r.requests_per_sec,
        errors: usize::try_from(r.non_2xx + r.connect_errors + r.transport_errors)
            .unwrap_or(usize::MAX),
    })
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(&v, 0.5)
}
