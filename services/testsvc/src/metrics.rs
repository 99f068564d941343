//! Lab w11 (`GAUNTLET_LAB=w11-observability`): `GET /metrics` in the Prometheus text exposition format, counting
//! every request by method, route template and the status actually sent, with a latency histogram and an
//! in-flight gauge; written by hand, since testsvc stays std-only. The notes API itself is w09's (`contract.rs`).
//!
//! Defects (`TESTSVC_DEFECT`): `metrics-raw-path` (the raw path as `route`), `metrics-id-label` (an extra
//! `id` label carrying the note id), `metrics-wrong-status` (4xx answers labelled 200, the status the handler
//! started with), `metrics-errors-uncounted` (answers of 400 and above are not counted at all),
//! `metrics-histogram-drift` (the histogram observes 2xx answers only), `metrics-coarse-buckets` (buckets of
//! 0.5 s, 1 s and 5 s), `metrics-gauge-as-counter` (the counter is declared a gauge), `metrics-racy-counter`
//! (an increment that reads, pauses and writes back, so concurrent requests lose counts), `slow-under-load` (a
//! global lock held for 8 ms in every `/v1` request) and `errors-under-load` (past 50 reads of a note per second,
//! every 10th answers 500).
//! Near misses (`TESTSVC_VARIANT`): `metrics-openmetrics` (OpenMetrics: `# TYPE http_requests counter`,
//! samples named `_total`, `# EOF`), `metrics-skip-own` (scrapes of /metrics and /healthz are not counted),
//! `metrics-extra-labels` (an `instance` label everywhere and `status` on the histogram too).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::http::{Request, Response};
use crate::routes::{defect, variant};

/// Upper bounds of the histogram's buckets, in seconds: ten between 1 ms and 1 s.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// `metrics-coarse-buckets`: two bounds between 1 ms and 1 s, useless for a 20 ms objective.
const COARSE: [f64; 3] = [0.5, 1.0, 5.0];

/// One histogram series: bucket counts (per bound), count, sum of seconds.
type Histogram = (Vec<u64>, u64, f64);

#[derive(Default)]
struct Series {
    /// (method, route, status, extra id label) → requests.
    requests: BTreeMap<(String, String, String, String), u64>,
    /// (method, route, status when labelled) → (bucket counts, count, sum of seconds).
    durations: BTreeMap<(String, String, String), Histogram>,
}

static SERIES: Mutex<Option<Series>> = Mutex::new(None);
static IN_FLIGHT: AtomicI64 = AtomicI64::new(0);
/// `slow-under-load`: the global lock a careless handler holds during slow work.
static SLOW: Mutex<()> = Mutex::new(());
/// `errors-under-load`: reads of a note in the current second, and which second that is.
static RATE: Mutex<(u64, u64)> = Mutex::new((0, 0));

/// Whether the service runs as the w11 reference.
pub fn enabled() -> bool {
    std::env::var("GAUNTLET_LAB").is_ok_and(|l| l == "w11-observability")
}

/// Answers `req` with `handler` (or serves `/metrics`), counting it as it was answered.
pub fn observe(req: &Request, handler: fn(&Request) -> Response) -> Response {
    let start = Instant::now();
    IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
    let response = if req.path == "/metrics" && matches!(req.method.as_str(), "GET" | "HEAD") {
        exposition()
    } else {
        under_load(req).unwrap_or_else(|| handler(req))
    };
    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    record(req, response.status, start.elapsed());
    response
}

/// The load defects: slow work under a global lock, or errors once the rate is high.
fn under_load(req: &Request) -> Option<Response> {
    if !req.path.starts_with("/v1/") {
        return None;
    }
    if defect("slow-under-load") {
        let _held = SLOW.lock().unwrap_or_else(|e| e.into_inner());
        std::thread::sleep(Duration::from_millis(8));
    }
    // Reads only: a check that follows a load in the same second must still be able to create what it needs, or
    // the mutant fails that check too, by the luck of where a second's boundary falls.
    if defect("errors-under-load") && req.method == "GET" && req.path.starts_with("/v1/notes/") {
        let second = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut rate = RATE.lock().unwrap_or_else(|e| e.into_inner());
        if rate.1 != second {
            *rate = (0, second);
        }
        rate.0 += 1;
        if rate.0 > 50 && rate.0.is_multiple_of(10) {
            return Some(crate::routes::error(500, "internal", "overloaded"));
        }
    }
    None
}

/// The route template of a path, as a router would name it.
fn route(path: &str) -> String {
    if defect("metrics-raw-path") {
        return path.to_string();
    }
    let known = [
        "/v1/notes",
        "/healthz",
        "/metrics",
        "/readyz",
        "/openapi.json",
    ];
    if known.contains(&path) {
        return path.to_string();
    }
    match path.strip_prefix("/v1/notes/") {
        Some(id) if !id.is_empty() && !id.contains('/') => "/v1/notes/{id}".to_string(),
        _ => "unmatched".to_string(),
    }
}

fn record(req: &Request, status: u16, took: Duration) {
    let route = route(&req.path);
    if variant("metrics-skip-own") && (route == "/metrics" || route == "/healthz") {
        return;
    }
    if defect("metrics-errors-uncounted") && status >= 400 {
        return;
    }
    let label = if defect("metrics-wrong-status") && (400..500).contains(&status) {
        200
    } else {
        status
    };
    let id = if defect("metrics-id-label") {
        req.path
            .strip_prefix("/v1/notes/")
            .unwrap_or("")
            .to_string()
    } else {
        String::new()
    };
    let key = (req.method.clone(), route.clone(), label.to_string(), id);
    let bounds = buckets();
    let mut guard = series();
    if defect("metrics-racy-counter") {
        // Read, let go, write back later: what an unsynchronised `count += 1` does when requests overlap.
        let seen = guard
            .get_or_insert_with(Series::default)
            .requests
            .get(&key)
            .copied()
            .unwrap_or(0);
        drop(guard);
        std::thread::sleep(Duration::from_millis(10));
        guard = series();
        guard
            .get_or_insert_with(Series::default)
            .requests
            .insert(key, seen + 1);
    } else {
        *guard
            .get_or_insert_with(Series::default)
            .requests
            .entry(key)
            .or_default() += 1;
    }
    let series = guard.get_or_insert_with(Series::default);
    if defect("metrics-histogram-drift") && !(200..300).contains(&status) {
        return;
    }
    let by_status = if variant("metrics-extra-labels") {
        label.to_string()
    } else {
        String::new()
    };
    let entry = series
        .durations
        .entry((req.method.clone(), route, by_status))
        .or_insert_with(|| (vec![0; bounds.len()], 0, 0.0));
    let secs = took.as_secs_f64();
    for (i, le) in bounds.iter().enumerate() {
        if secs <= *le {
            entry.0[i] += 1;
        }
    }
    entry.1 += 1;
    entry.2 += secs;
}

fn series() -> std::sync::MutexGuard<'static, Option<Series>> {
    SERIES.lock().unwrap_or_else(|e| e.into_inner())
}

fn buckets() -> &'static [f64] {
    if defect("metrics-coarse-buckets") {
        &COARSE
    } else {
        &BUCKETS
    }
}

/// `GET /metrics`: the text exposition (or OpenMetrics with the `metrics-openmetrics` variant).
fn exposition() -> Response {
    let open = variant("metrics-openmetrics");
    let extra = if variant("metrics-extra-labels") {
        r#"instance="testsvc","#
    } else {
        ""
    };
    let mut out = String::new();
    let (counter, suffix) = if open {
        ("http_requests", "_total")
    } else {
        ("http_requests_total", "")
    };
    let kind = if defect("metrics-gauge-as-counter") {
        "gauge"
    } else {
        "counter"
    };
    let _ = writeln!(
        out,
        "# HELP {counter} Requests answered, by method, route template and status."
    );
    let _ = writeln!(out, "# TYPE {counter} {kind}");
    let guard = series();
    let empty = Series::default();
    let series = guard.as_ref().unwrap_or(&empty);
    for ((method, route, status, id), n) in &series.requests {
        let id = if id.is_empty() {
            String::new()
        } else {
            format!(r#",id="{}""#, escape(id))
        };
        let _ = writeln!(
            out,
            r#"{counter}{suffix}{{{extra}method="{}",route="{}",status="{status}"{id}}} {n}"#,
            escape(method),
            escape(route)
        );
    }
    let h = "http_request_duration_seconds";
    let _ = writeln!(out, "# HELP {h} Time from reading a request to its answer.");
    let _ = writeln!(out, "# TYPE {h} histogram");
    for ((method, route, status), (counts, count, sum)) in &series.durations {
        let status = if status.is_empty() {
            String::new()
        } else {
            format!(r#",status="{status}""#)
        };
        let labels = format!(
            r#"{extra}method="{}",route="{}"{status}"#,
            escape(method),
            escape(route)
        );
        for (le, c) in buckets().iter().zip(counts) {
            let _ = writeln!(out, r#"{h}_bucket{{{labels},le="{le}"}} {c}"#);
        }
        let _ = writeln!(out, r#"{h}_bucket{{{labels},le="+Inf"}} {count}"#);
        let _ = writeln!(out, "{h}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{h}_count{{{labels}}} {count}");
    }
    drop(guard);
    let _ = writeln!(
        out,
        "# HELP http_requests_in_flight Requests being answered."
    );
    let _ = writeln!(out, "# TYPE http_requests_in_flight gauge");
    let _ = writeln!(
        out,
        "http_requests_in_flight {}",
        IN_FLIGHT.load(Ordering::SeqCst)
    );
    if open {
        out.push_str("# EOF\n");
        Response::new(
            200,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            out,
        )
    } else {
        Response::new(200, "text/plain; version=0.0.4; charset=utf-8", out)
    }
}

/// A label value as the exposition format escapes it.
fn escape(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_labelled_with_their_route_template() {
        assert_eq!(route("/v1/notes/n_12"), "/v1/notes/{id}");
        assert_eq!(route("/v1/notes"), "/v1/notes");
        assert_eq!(route("/metrics"), "/metrics");
        assert_eq!(route("/v1/notes/n_1/extra"), "unmatched");
        assert_eq!(route("/v2/notes"), "unmatched");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
