//! What counts as a refusal or a success on real APIs (issue 13): `roles` takes 401 as well as 403 unless a
//! check narrows it, `rate_limit` recognises logins by status and body, `jwt` tokens without `iss`/`aud`,
//! `jwt_weak_key` finds a common signing secret, and `error_leaks` reports every finding.

use gauntlet::checks::Verdict;

use crate::fixture::{assert_says, judge, judge_toml};

const ROLES: &str = "probe = \"roles\"\nadmin_only = [{ method = \"DELETE\", path = \"/v1/notes/{id}\" }]\ncreate = { path = \"/v1/notes\", json = { title = \"r\" } }\nsecret_env = \"JWT_SECRET\"\nissuer = \"gauntlet-notes\"\naudience = \"notes-api\"\nsubject = \"alice\"\nadmin_role = \"admin\"\n";

#[tokio::test]
async fn roles_accepts_401_by_default_and_refuses_it_when_narrowed_to_403() {
    judge("delete-needs-admin", "roles-401", Verdict::Pass).await;
    judge_toml(ROLES, "roles-401", Verdict::Pass).await;
    let narrowed = format!("{ROLES}refused_with = [403]\n");
    let o = judge_toml(&narrowed, "roles-401", Verdict::Fail).await;
    assert_says(&o, "got status 401, not 403 on DELETE /v1/notes/{id}");
    judge_toml(&narrowed, "", Verdict::Pass).await;
}

const LOGIN: &str = "probe = \"rate_limit\"\nattempts = 5\n";

fn login(rules: &str) -> String {
    format!("{LOGIN}login = {{ path = \"/login\", username = \"alice\", password_env = \"USER_PASSWORD\"{rules} }}\n")
}

#[tokio::test]
async fn rate_limit_recognises_success_and_refusal_by_their_body() {
    let rules = ", success = { status = 200, body = \"*access_token*\" }, limited = { body = \"*too many failed logins*\" }";
    judge_toml(&login(rules), "", Verdict::Pass).await;
    let o = judge_toml(&login(rules), "no-rate-limit", Verdict::Fail).await;
    assert_says(
        &o,
        "the next attempt was not refused as rate-limited (status 401)",
    );
    let never = ", success = { body = \"*session_id*\" }";
    let o = judge_toml(&login(never), "", Verdict::Fail).await;
    assert_says(
        &o,
        "logging in with correct credentials did not succeed (status 200)",
    );
}

#[tokio::test]
async fn a_jwt_probe_without_issuer_and_audience_sends_neither_and_skips_their_forgeries() {
    let fields = "probe = \"jwt\"\nprotected = [{ path = \"/v1/notes\" }]\nsecret_env = \"JWT_SECRET\"\nsubject = \"alice\"\n";
    // The w10 service insists on both, so a valid token without them is refused: the probe sent none.
    let o = judge_toml(fields, "", Verdict::Fail).await;
    assert_says(
        &o,
        "a correctly signed, valid token was refused (status 401)",
    );
    let o = judge_toml(fields, "jwt-no-aud", Verdict::Pass).await;
    assert!(!o.detail.contains("WrongAudience"), "{}", o.detail);
    assert!(o.detail.contains("forgery Expired"), "{}", o.detail);
}

#[tokio::test]
async fn weak_key_passes_on_a_random_secret_and_finds_a_common_one() {
    judge("jwt-key-not-guessable", "", Verdict::Pass).await;
    let o = judge("jwt-key-not-guessable", "weak-jwt-key", Verdict::Fail).await;
    assert_says(
        &o,
        "the service signs its tokens with a common, guessable secret",
    );
    assert!(
        o.detail.contains("verifies with the secret \"secret\""),
        "{}",
        o.detail
    );
}

#[tokio::test]
async fn error_leaks_reports_every_finding_not_only_the_first() {
    let o = judge("errors-leak-nothing", "stack-trace", Verdict::Fail).await;
    assert_says(
        &o,
        "contained a stack trace and a source file path on POST /v1/notes; ",
    );
    assert_says(&o, "on PUT /v1/notes/n_1");
    assert_says(&o, "on POST /login");
}
