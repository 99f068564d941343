//! `testsvc self-test`: the reference service's own test suite, run by the `test` stage of the w04 reference
//! Dockerfile (`RUN ["/testsvc", "self-test"]`), so that the stage passes on the correct service and fails when
//! a concurrency defect is switched on at build time (`ARG TESTSVC_DEFECT`). It drives the handlers in-process
//! from many threads, as a learner's own race test would, and exits non-zero on the first failure.

use std::collections::HashMap;

use crate::http::{Request, Response};

/// Concurrent writers per test: more than enough to land inside any racy gap.
const WRITERS: usize = 16;

/// Runs every test, printing one line each; the process's exit code. `TESTSVC_SELFTEST_SLEEP_MS` makes the
/// suite take that much longer first, for the grader's own tests of build time budgets.
pub fn run() -> i32 {
    if let Some(ms) = std::env::var("TESTSVC_SELFTEST_SLEEP_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    let tests: [(&str, fn() -> Result<(), String>); 3] = [
        ("concurrent_puts_lose_no_increment", concurrent_puts),
        ("one_conditional_writer_wins", conditional_writers),
        ("concurrent_creates_get_distinct_ids", concurrent_creates),
    ];
    let mut failed = 0;
    for (name, test) in tests {
        match test() {
            Ok(()) => println!("test {name} ... ok"),
            Err(why) => {
                println!("test {name} ... FAILED: {why}");
                failed += 1;
            }
        }
    }
    println!(
        "test result: {}. {} passed; {failed} failed",
        if failed == 0 { "ok" } else { "FAILED" },
        tests.len() - failed
    );
    i32::from(failed > 0)
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
