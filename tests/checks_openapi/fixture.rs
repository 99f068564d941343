//! The fixture lab (`tests/checks_openapi/lab`) and running one of its checks against a `testsvc`.

use std::path::Path;

use gauntlet::checks::{run_suite, CheckContext, CheckOutcome, CheckSuite, Verdict};

use crate::support::{load_lab, Service};

/// The fixture lab's suite.
pub fn lab() -> CheckSuite {
    load_lab(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/checks_openapi/lab"))
}

/// The one check `id` of the lab, alone (no dependencies).
pub fn only(id: &str) -> CheckSuite {
    crate::support::only(lab(), id)
}

pub fn context(seed: u64) -> CheckContext {
    CheckContext {
        seed,
        env: Default::default(),
        control: None,
    }
}

/// Runs check `id` on a fresh service with `defects` (comma-separated, may be empty) and the given seed.
pub async fn run(id: &str, defects: &str, seed: u64) -> CheckOutcome {
    let svc = if defects.is_empty() {
        Service::start()
    } else {
        Service::with_env(&[("TESTSVC_DEFECT", defects)])
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let outcomes = run_suite(&only(id), &svc.target, &context(seed), &tx).await;
    outcomes.into_iter().next().expect("one outcome")
}

/// Runs check `id` against a service with `defects`, asserting the verdict.
pub async fn judge(id: &str, defects: &str, verdict: Verdict) -> CheckOutcome {
    let o = run(id, defects, 7).await;
    assert_eq!(
        o.verdict, verdict,
        "{id} with `{defects}`: {}\n{}",
        o.message, o.detail
    );
    o
}

/// The message says `part`.
pub fn assert_says(o: &CheckOutcome, part: &str) {
    assert!(
        o.message.contains(part),
        "expected `{part}` in the message: {}\n{}",
        o.message,
        o.detail
    );
}

/// The JSON request bodies the transcript shows as sent (`> {...}` lines).
pub fn sent_bodies(detail: &str) -> Vec<serde_json::Value> {
    detail
        .lines()
        .filter_map(|l| l.strip_prefix("> "))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Every string (at least 6 characters, so a random word cannot match the message by chance) and every number (3 digits or more) inside a JSON value.
pub fn leaves(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) if s.chars().count() >= 6 => out.push(s.clone()),
        serde_json::Value::Number(n) if n.to_string().len() >= 3 => out.push(n.to_string()),
        serde_json::Value::Array(items) => items.iter().for_each(|i| leaves(i, out)),
        serde_json::Value::Object(map) => map.values().for_each(|i| leaves(i, out)),
        _ => {}
    }
}
