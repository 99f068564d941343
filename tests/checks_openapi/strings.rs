//! Generated strings beyond ASCII: valid bodies carry control characters (JSON-escaped), letters beyond ASCII
//! and characters beyond the Basic Multilingual Plane, and once per operation a string exactly at its
//! `maxLength` in characters beyond ASCII (sent as surrogate-pair escapes) right after the same body in ASCII
//! letters. A service that crashes on a NUL, or counts lengths in bytes, fails; one that refuses control
//! characters with its documented 422 passes.

use gauntlet::checks::{run_suite, CheckOutcome, Verdict};

use crate::fixture::{assert_says, context, only, sent_bodies};
use crate::support::Service;

/// Runs the fixture lab's generated check against testsvc started with `env`.
async fn generated(env: &[(&str, &str)], verdict: Verdict) -> CheckOutcome {
    let svc = Service::with_env(env);
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let outcomes = run_suite(&only("openapi-generated"), &svc.target, &context(7), &tx).await;
    let o = outcomes.into_iter().next().expect("one outcome");
    assert_eq!(o.verdict, verdict, "{env:?}: {}\n{}", o.message, o.detail);
    o
}

#[tokio::test]
async fn the_correct_service_takes_every_kind_of_character_and_lengths_in_code_points() {
    let o = generated(&[], Verdict::Pass).await;
    let titles: Vec<String> = sent_bodies(&o.detail)
        .iter()
        .filter_map(|b| b.get("title").and_then(|t| t.as_str()).map(str::to_string))
        .collect();
    assert!(
        titles.iter().any(|t| t.chars().any(char::is_control)),
        "no title with a control character: {titles:?}"
    );
    assert!(
        titles.iter().any(|t| t.chars().any(|c| c as u32 > 0xffff)),
        "no title beyond the BMP in raw UTF-8: {titles:?}"
    );
    // The twin at maxLength goes out with surrogate-pair escapes (its 200 characters make it longer than
    // the transcript shows of a body, so it is not parsed back here).
    assert!(o.detail.contains(r"\ud8"), "{}", o.detail);
    assert!(
        o.detail.contains(r"\u0000") || o.detail.contains(r"\n"),
        "{}",
        o.detail
    );
}

#[tokio::test]
async fn a_service_that_counts_bytes_refuses_a_valid_title_at_max_length_and_fails() {
    let o = generated(&[("TESTSVC_DEFECT", "title-bytes")], Verdict::Fail).await;
    assert_says(
        &o,
        "refused a valid request body whose `title` is exactly its maxLength in characters beyond ASCII \
         (status 422), though it accepted the same length in ASCII letters",
    );
}

#[tokio::test]
async fn a_service_that_crashes_on_a_control_character_fails() {
    let o = generated(&[("TESTSVC_DEFECT", "control-500")], Verdict::Fail).await;
    assert_says(
        &o,
        "a valid request for createNote got a server error (500)",
    );
}

#[tokio::test]
async fn refusing_control_characters_with_the_documented_422_passes() {
    let o = generated(&[("TESTSVC_VARIANT", "refuse-controls")], Verdict::Pass).await;
    assert!(o.detail.contains("→ 422"), "{}", o.detail);
}
