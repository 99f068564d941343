//! `unauthenticated`, `jwt` and `roles`: pass on the correct service, fail on the defect each catches.

use gauntlet::checks::Verdict;

use crate::fixture::{assert_says, judge, JWT_SECRET};

#[tokio::test]
async fn unauthenticated_passes_on_the_correct_service() {
    judge("no-token-refused", "", Verdict::Pass).await;
}

#[tokio::test]
async fn unauthenticated_fails_when_notes_need_no_token() {
    let o = judge("no-token-refused", "no-auth", Verdict::Fail).await;
    assert_says(
        &o,
        "a request without an Authorization header was accepted on GET /v1/notes",
    );
}

#[tokio::test]
async fn jwt_passes_on_the_correct_service_and_the_detail_has_the_transcript() {
    let o = judge("jwt-forgeries-rejected", "", Verdict::Pass).await;
    assert!(o.detail.contains("forgery AlgNone"), "{}", o.detail);
    assert!(
        o.detail.contains("authorization: Bearer eyJ"),
        "{}",
        o.detail
    );
}

#[tokio::test]
async fn jwt_catches_alg_none() {
    let o = judge("jwt-forgeries-rejected", "jwt-alg-none", Verdict::Fail).await;
    assert_says(&o, "an unsigned token (algorithm \"none\") was accepted");
    assert!(!o.message.contains("different key"), "{}", o.message);
}

#[tokio::test]
async fn jwt_catches_a_verifier_that_ignores_the_signature() {
    let o = judge("jwt-forgeries-rejected", "jwt-any-key", Verdict::Fail).await;
    assert_says(&o, "a token signed with a different key was accepted");
    assert_says(
        &o,
        "a token whose claims were changed after signing was accepted",
    );
}

#[tokio::test]
async fn jwt_catches_unchecked_expiry_and_not_before() {
    let o = judge("jwt-forgeries-rejected", "jwt-no-exp-check", Verdict::Fail).await;
    assert_says(&o, "an expired token was accepted");
    assert_says(
        &o,
        "a token that is not valid yet (nbf in the future) was accepted",
    );
    assert_says(&o, "a token without an expiry was accepted");
}

#[tokio::test]
async fn jwt_catches_unchecked_audience_and_issuer() {
    let o = judge("jwt-forgeries-rejected", "jwt-no-aud", Verdict::Fail).await;
    assert_says(&o, "a token for a different audience was accepted");
    assert_says(&o, "a token from a different issuer was accepted");
}

#[tokio::test]
async fn jwt_catches_a_hard_coded_secret() {
    let o = judge("jwt-forgeries-rejected", "hardcoded-secret", Verdict::Fail).await;
    assert_says(&o, "a correctly signed, valid token was refused");
    assert!(!o.message.contains(JWT_SECRET));
}

#[tokio::test]
async fn jwt_without_the_secret_in_the_run_is_a_platform_fault() {
    let svc = crate::fixture::service("");
    let mut ctx = crate::fixture::context(7);
    ctx.env.clear();
    let o =
        crate::fixture::run_in(&crate::fixture::only("jwt-forgeries-rejected"), &svc, &ctx).await;
    assert_eq!(o[0].verdict, Verdict::Error, "{}", o[0].detail);
    assert!(o[0].detail.contains("no `JWT_SECRET`"), "{}", o[0].detail);
}

#[tokio::test]
async fn roles_passes_on_the_correct_service() {
    judge("delete-needs-admin", "", Verdict::Pass).await;
}

#[tokio::test]
async fn roles_catches_a_user_deleting() {
    let o = judge("delete-needs-admin", "no-roles", Verdict::Fail).await;
    assert_says(
        &o,
        "a user without the admin role was allowed on an admin-only route on DELETE /v1/notes/{id}",
    );
}
