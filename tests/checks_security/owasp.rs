//! The OWASP probes of the w10 suite against `testsvc`: each passes on the correct service and on the near
//! misses (unknown fields refused with 422, logins with jitter and request ids, a `password_changed_at` in the
//! profile), and fails on each defect it exists to catch with a message that names the class of flaw, never
//! a marker, token or password.

use gauntlet::checks::Verdict;

use crate::fixture::{assert_says, judge, judge_near_miss};

const MASS: &str = "no-mass-assignment";
const EXPOSURE: &str = "no-private-fields-exposed";
const SLOW: &str = "hostile-input-bounded";
const ENUMERATION: &str = "no-user-enumeration";

#[tokio::test]
async fn mass_assignment_passes_when_fields_are_ignored_or_refused() {
    let o = judge(MASS, "", Verdict::Pass).await;
    assert!(
        o.detail.contains("a write with the extra field `role`"),
        "{}",
        o.detail
    );
    assert!(
        o.detail.contains("the user reads their own profile"),
        "{}",
        o.detail
    );
    let o = judge_near_miss(MASS, "strict-fields").await;
    assert!(o.detail.contains("< 422"), "{}", o.detail);
}

#[tokio::test]
async fn mass_assignment_catches_an_owner_taken_from_the_body() {
    let o = judge(MASS, "mass-assign-owner", Verdict::Fail).await;
    // The note now belongs to the marker, so its writer cannot read it back.
    assert_says(&o, "mass assignment: after a write with a privileged field, its writer could no longer read the object (status 404) on POST /v1/notes");
    assert!(!o.message.contains("gauntlet-"), "{}", o.message);
}

#[tokio::test]
async fn mass_assignment_catches_a_role_taken_from_the_body() {
    let o = judge(MASS, "mass-assign-role", Verdict::Fail).await;
    assert_says(
        &o,
        "mass assignment: a privileged field sent in the body was stored on PATCH /v1/me",
    );
}

#[tokio::test]
async fn data_exposure_passes_on_the_correct_service_and_a_look_alike_field() {
    let o = judge(EXPOSURE, "", Verdict::Pass).await;
    assert!(o.detail.contains("── alice logs in"), "{}", o.detail);
    let o = judge_near_miss(EXPOSURE, "password-changed-at").await;
    assert!(o.detail.contains("password_changed_at"), "{}", o.detail);
}

#[tokio::test]
async fn data_exposure_catches_the_password_hash_in_the_profile() {
    let o = judge(EXPOSURE, "profile-hash", Verdict::Fail).await;
    assert_says(
        &o,
        "excessive data exposure: an answer carries a private field",
    );
    assert_says(&o, "on GET /v1/me");
}

#[tokio::test]
async fn slow_input_passes_on_the_correct_service() {
    let o = judge(SLOW, "", Verdict::Pass).await;
    assert!(
        o.detail.contains("brackets nested 4096 deep"),
        "{}",
        o.detail
    );
    assert!(o.detail.contains("answered in"), "{}", o.detail);
}

#[tokio::test]
async fn slow_input_catches_a_backtracking_search_with_the_time_it_took() {
    let started = std::time::Instant::now();
    let o = judge(SLOW, "redos-search", Verdict::Fail).await;
    // Either the answer came after the bound (the figure is in the message) or not within bound + 2 s.
    assert!(
        o.message.contains("(the bound is 2.0 s) on GET /v1/notes"),
        "{}",
        o.message
    );
    // One slow request is enough: the probe stops there, after at most the bound plus its grace.
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
}

#[tokio::test]
async fn slow_input_catches_a_crash_on_deep_nesting() {
    let o = judge(SLOW, "bad-input-500", Verdict::Fail).await;
    assert_says(
        &o,
        "a pathological input was answered with a server error (status 500) on POST /v1/notes",
    );
}

#[tokio::test]
async fn user_enumeration_passes_on_the_correct_service_and_through_noise() {
    let o = judge(ENUMERATION, "", Verdict::Pass).await;
    assert!(
        o.detail.contains("medians: existing account"),
        "{}",
        o.detail
    );
    let o = judge_near_miss(ENUMERATION, "login-noise").await;
    assert!(o.detail.contains("request_id"), "{}", o.detail);
}

#[tokio::test]
async fn user_enumeration_catches_a_login_that_names_unknown_users() {
    let o = judge(ENUMERATION, "login-names-user", Verdict::Fail).await;
    assert_says(&o, "user enumeration: the login answers an existing account with a wrong password with a different body than an unknown account on POST /login");
}

#[tokio::test]
async fn user_enumeration_catches_a_login_that_skips_the_hash_for_unknown_users() {
    let o = judge(ENUMERATION, "login-no-dummy-hash", Verdict::Fail).await;
    assert_says(&o, "user enumeration: the login takes a different time for an existing account than for an unknown one (median ");
}

#[tokio::test]
async fn mass_assignment_works_with_minted_tokens_too() {
    let fields = format!(
        "probe = \"mass_assignment\"\n{}writes = [{{ method = \"PATCH\", path = \"/v1/me\", json = {{ display_name = \"{{marker}}\" }}, read = \"/v1/me\" }}]\nprivileged = {{ role = \"admin\" }}\n",
        crate::fixture::TOKEN
    );
    let o = crate::fixture::judge_toml(&fields, "", Verdict::Pass).await;
    assert!(!o.detail.contains("logs in"), "{}", o.detail);
    let o = crate::fixture::judge_toml(&fields, "mass-assign-role", Verdict::Fail).await;
    assert_says(
        &o,
        "a privileged field sent in the body was stored on PATCH /v1/me",
    );
}

const ROUTES: &str = "probe = \"user_enumeration\"\nlogin = { path = \"/login\", username = \"alice\", password_env = \"USER_PASSWORD\" }\nsamples = 5\nroutes = [{ method = \"POST\", path = \"/login\", json = { username = \"{username}\", password = \"not-it\" } }]\n";

#[tokio::test]
async fn user_enumeration_compares_the_routes_a_lab_names_as_well() {
    // Without a rate limit, the route (here the login again) is compared after the login and passes alike.
    let o = crate::fixture::judge_toml(ROUTES, "no-rate-limit", Verdict::Pass).await;
    assert_eq!(o.detail.matches("medians:").count(), 2, "{}", o.detail);
    // With it, alice's five failed logins lock her out: every later answer for her is a 429 while fresh unknown
    // names get 401, and the route's comparison tells the two apart.
    let o = crate::fixture::judge_toml(ROUTES, "", Verdict::Fail).await;
    assert_says(&o, "user enumeration: the route answers an existing account with a wrong password with a different status than an unknown account on POST /login");
}
