//! `testsvc self-test`: the reference service's own test suite, run by the `test` stage of the w04 reference
//! Dockerfile (`RUN ["/testsvc", "self-test"]`), so that the stage passes on the correct service and fails when
//! a concurrency defect is switched on at build time (`ARG TESTSVC_DEFECT`). It drives the handlers in-process
//! from many threads, as a learner's own race test would, and exits non-zero when a test fails.
//!
//! `self-test --junit PATH` also writes a JUnit XML report there (its folder created), which the grader reads
//! from the stage's image. Two defects break the report, not the service, for the mutants that show a stage
//! without real tests fails: `selftest-no-tests` (a report with no test case, as a suite that collects
//! nothing writes) and `selftest-no-report` (no report at all).

use std::collections::HashMap;

use crate::http::{Request, Response};
use crate::routes::defect;

/// A test: its name and its body.
type Test = (&'static str, fn() -> Result<(), String>);

/// Concurrent writers per test: more than enough to land inside any racy gap.
const WRITERS: usize = 16;

/// Runs every test, printing one line each, and writes the report asked for; the process's exit code. `TESTSVC_SELFTEST_SLEEP_MS` makes the
/// suite take that much longer first, for the grader's own tests of build time budgets.
pub fn run() -> i32 {
    if let Some(ms) = std::env::var("TESTSVC_SELFTEST_SLEEP_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    let all: [Test; 3] = [
        ("concurrent_puts_lose_no_increment", concurrent_puts),
        ("one_conditional_writer_wins", conditional_writers),
        ("concurrent_creates_get_distinct_ids", concurrent_creates),
    ];
    let tests: &[Test] = if defect("selftest-no-tests") {
        &[]
    } else {
        &all
    };
    let mut failed = 0;
    let mut results = Vec::new();
    for (name, test) in tests {
        let result = test();
        match &result {
            Ok(()) => println!("test {name} ... ok"),
            Err(why) => {
                println!("test {name} ... FAILED: {why}");
                failed += 1;
            }
        }
        results.push((*name, result));
    }
    println!(
        "test result: {}. {} passed; {failed} failed",
        if failed == 0 { "ok" } else { "FAILED" },
        tests.len() - failed
    );
    if let Some(path) = report_path() {
        if let Err(e) = write_report(&path, &results) {
            println!("cannot write the JUnit report to {path}: {e}");
            return 1;
        }
    }
    i32::from(failed > 0)
}

/// `--junit PATH` from the command line, unless the `selftest-no-report` defect is on.
fn report_path() -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != "--junit").skip(1);
    args.next().filter(|_| !defect("selftest-no-report"))
}

/// A JUnit XML report of the results, one suite, one case per test.
fn write_report(path: &str, results: &[(&str, Result<(), String>)]) -> std::io::Result<()> {
    let failures = results.iter().filter(|(_, r)| r.is_err()).count();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"testsvc\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n",
        results.len()
    );
    for (name, result) in results {
        match result {
            Ok(()) => xml.push_str(&format!(
                "<testcase classname=\"testsvc.selftest\" name=\"{name}\"/>\n"
            )),
            Err(why) => xml.push_str(&format!(
                "<testcase classname=\"testsvc.selftest\" name=\"{name}\"><failure message=\"{}\"/></testcase>\n",
                escape(why)
            )),
        }
    }
    xml.push_str("</testsuite>\n</testsuites>\n");
    if let Some(dir) = std::path::Path::new(path).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, xml)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let req = Request {
        method: method.to_string(),
        path: path.to_string(),
        query: String::new(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .chain([("content-type".to_string(), "application/json".to_string())])
            .collect::<HashMap<_, _>>(),
        body: body.as_bytes().to_vec(),
    };
    crate::routes::handle(&req)
}

fn header(r: &Response, name: &str) -> Option<String> {
    r.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// A new note's path and ETag.
fn create(title: &str) -> Result<(String, String), String> {
    let r = request("POST", "/notes", &[], &format!(r#"{{"title":"{title}"}}"#));
    match (r.status, header(&r, "location"), header(&r, "etag")) {
        (201, Some(path), Some(tag)) => Ok((path, tag)),
        (status, ..) => Err(format!(
            "create answered {status} without Location and ETag"
        )),
    }
}

/// Sends `WRITERS` requests at once, one thread each; their statuses.
fn burst(make: impl Fn(usize) -> Response + Sync) -> Vec<u16> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|i| {
                let make = &make;
                scope.spawn(move || make(i).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
    })
}

fn concurrent_puts() -> Result<(), String> {
    let (path, _) = create("counter")?;
    let statuses = burst(|i| request("PUT", &path, &[], &format!(r#"{{"title":"writer {i}"}}"#)));
    if statuses.iter().any(|s| *s != 200) {
        return Err(format!("statuses {statuses:?}"));
    }
    let tag = header(&request("GET", &path, &[], ""), "etag");
    let want = format!("\"{}\"", WRITERS + 1);
    match tag {
        Some(t) if t == want => Ok(()),
        other => Err(format!(
            "after {WRITERS} writes the ETag is {other:?}, expected {want}"
        )),
    }
}

fn conditional_writers() -> Result<(), String> {
    let (path, tag) = create("contested")?;
    let statuses = burst(|i| {
        request(
            "PUT",
            &path,
            &[("if-match", &tag)],
            &format!(r#"{{"title":"racer {i}"}}"#),
        )
    });
    let winners = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 412).count();
    if winners == 1 && refused == WRITERS - 1 {
        Ok(())
    } else {
        Err(format!("{winners} writers won and {refused} got 412"))
    }
}

fn concurrent_creates() -> Result<(), String> {
    let paths = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|i| scope.spawn(move || create(&format!("created {i}"))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("a writer panicked".into())))
            .collect::<Result<Vec<_>, String>>()
    })?;
    let mut ids: Vec<&String> = paths.iter().map(|(p, _)| p).collect();
    ids.sort();
    ids.dedup();
    if ids.len() == WRITERS {
        Ok(())
    } else {
        Err(format!("{WRITERS} creates gave {} distinct ids", ids.len()))
    }
}
