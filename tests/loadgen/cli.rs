//! `gauntlet load` as an instructor runs it.

use std::process::Command;

use crate::support::Service;

#[test]
fn gauntlet_load_prints_a_json_report() {
    let service = Service::start();
    let url = service.target.base_url.join("/count").expect("url");
    let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args([
            "load",
            url.as_str(),
            "--connections",
            "2",
            "--requests",
            "50",
        ])
        .args(["--warmup", "0ms", "--json"])
        .env_remove("GAUNTLET_CONFIG")
        .output()
        .expect("run gauntlet load");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(v["requests"], 50);
    assert_eq!(v["connections"], 2);
    for field in ["requests_per_sec", "error_rate", "duration_ms"] {
        assert!(v[field].is_number(), "{field} missing in {v}");
    }
    for p in ["p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms"] {
        assert!(v["latency"][p].is_number(), "{p} missing in {v}");
    }
    for e in ["non_2xx", "connect_errors", "transport_errors"] {
        assert_eq!(v[e], 0, "{e} in {v}");
    }
}

#[test]
fn gauntlet_load_prints_a_table_by_default() {
    let service = Service::start();
    let url = service.target.base_url.join("/healthz").expect("url");
    let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(["load", url.as_str(), "-c", "2", "-d", "200ms"])
        .env_remove("GAUNTLET_CONFIG")
        .output()
        .expect("run gauntlet load");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    for needle in ["requests/s", "p50", "p99", "max"] {
        assert!(stdout.contains(needle), "{needle} missing in:\n{stdout}");
    }
}
