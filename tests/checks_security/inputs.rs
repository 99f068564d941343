//! `injection`, `error_leaks`, `headers` and `rate_limit`: pass on the correct service, fail on their defect;
//! the bundled suite is reproducible from its seed.

use gauntlet::checks::Verdict;

use crate::fixture::{assert_says, context, judge, run_in, service, w10};

#[tokio::test]
async fn injection_passes_on_the_correct_service() {
    judge("injection-harmless", "", Verdict::Pass).await;
}

#[tokio::test]
async fn injection_catches_a_500_with_database_text() {
    let o = judge("injection-harmless", "sql-500", Verdict::Fail).await;
    assert_says(
        &o,
        "SQL injection input made the service answer 500 on GET /v1/notes",
    );
}

#[tokio::test]
async fn injection_catches_another_users_data_in_the_answer() {
    let o = judge("injection-harmless", "sql-injectable", Verdict::Fail).await;
    assert_says(
        &o,
        "SQL injection input produced an answer containing another user's data",
    );
    assert!(
        !o.message.contains("gauntlet-"),
        "the marker leaked: {}",
        o.message
    );
}

#[tokio::test]
async fn error_leaks_passes_on_the_correct_service() {
    judge("errors-leak-nothing", "", Verdict::Pass).await;
}

#[tokio::test]
async fn error_leaks_catches_a_stack_trace() {
    let o = judge("errors-leak-nothing", "stack-trace", Verdict::Fail).await;
    assert_says(
        &o,
        "answers to broken JSON body, JSON of the wrong types, an unexpected content type, an invalid path segment, a huge identifier, a garbled bearer token contained a stack trace and a source file path on POST /v1/notes",
    );
}

#[tokio::test]
async fn headers_pass_on_the_correct_service() {
    judge("security-headers", "", Verdict::Pass).await;
    judge("authenticated-not-cached", "", Verdict::Pass).await;
}

#[tokio::test]
async fn headers_catch_a_service_without_them() {
    let o = judge("security-headers", "no-headers", Verdict::Fail).await;
    assert_says(
        &o,
        "the `content-security-policy` header is missing on GET /healthz",
    );
    let o = judge("authenticated-not-cached", "no-headers", Verdict::Fail).await;
    assert_says(&o, "the `cache-control` header is missing on GET /v1/notes");
}

#[tokio::test]
async fn rate_limit_passes_on_the_correct_service() {
    judge("login-rate-limited", "", Verdict::Pass).await;
}

#[tokio::test]
async fn rate_limit_catches_unlimited_guessing() {
    let o = judge("login-rate-limited", "no-rate-limit", Verdict::Fail).await;
    assert_says(
        &o,
        "after 5 failed logins for one username, the next attempt was not refused as rate-limited (status 401)",
    );
}

#[tokio::test]
async fn the_whole_w10_suite_passes_on_the_correct_service() {
    let svc = service("");
    for o in run_in(&w10(), &svc, &context(11)).await {
        assert_eq!(
            o.verdict,
            Verdict::Pass,
            "{}: {}\n{}",
            o.check_id,
            o.message,
            o.detail
        );
    }
}

#[tokio::test]
async fn the_same_seed_gives_the_same_verdicts_and_payloads() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let svc = service("sql-500,no-headers");
        let outcomes = run_in(&w10(), &svc, &context(99)).await;
        runs.push((svc.target.base_url.to_string(), outcomes));
    }
    let summary = |os: &[gauntlet::checks::CheckOutcome]| -> Vec<(String, Verdict, String)> {
        os.iter()
            .map(|o| (o.check_id.clone(), o.verdict, o.message.clone()))
            .collect()
    };
    assert_eq!(summary(&runs[0].1), summary(&runs[1].1));
    let sent = |(base, os): &(String, Vec<gauntlet::checks::CheckOutcome>)| -> Vec<String> {
        let injection = os
            .iter()
            .find(|o| o.check_id == "injection-harmless")
            .expect("injection ran");
        injection
            .detail
            .lines()
            .filter(|l| l.starts_with("── "))
            .map(|l| l.replace(base.as_str(), "/"))
            .collect()
    };
    assert_eq!(sent(&runs[0]), sent(&runs[1]));
}
