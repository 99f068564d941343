//! `ownership` (object-level authorisation): passes on the correct service, whose refusals are 404 on read and
//! replace and 403 on delete, and fails on each missing owner filter with a message that names the operation
//! that leaked, never the marker, a token or a secret.

use gauntlet::checks::Verdict;

use crate::fixture::{assert_says, judge};

const CHECK: &str = "notes-owner-only";

#[tokio::test]
async fn ownership_passes_on_the_correct_service() {
    let o = judge(CHECK, "", Verdict::Pass).await;
    // The other user's attempts were refused with 404 (read, replace) and 403 (delete): both are refusals.
    assert!(o.detail.contains("< 404"), "{}", o.detail);
    assert!(o.detail.contains("< 403"), "{}", o.detail);
    // The other user made a note of their own first, and saw it listed: no leak.
    assert!(
        o.detail.contains("the other user creates their own"),
        "{}",
        o.detail
    );
}

#[tokio::test]
async fn ownership_catches_reading_another_users_note_by_id() {
    let o = judge(CHECK, "no-owner-read", Verdict::Fail).await;
    assert_says(
        &o,
        "another user's resource could be read (status 200) on GET /v1/notes/{id}",
    );
    assert!(!o.message.contains("gauntlet-"), "{}", o.message);
}

#[tokio::test]
async fn ownership_catches_replacing_another_users_note() {
    let o = judge(CHECK, "no-owner-update", Verdict::Fail).await;
    assert_says(
        &o,
        "another user's resource could be replaced (status 200) on PUT /v1/notes/{id}",
    );
    assert!(!o.message.contains("gauntlet-"), "{}", o.message);
}

#[tokio::test]
async fn ownership_catches_lists_without_an_owner_filter() {
    let o = judge(CHECK, "no-owner-list", Verdict::Fail).await;
    assert_says(&o, "a user's list or search shows");
    assert_says(&o, "on GET /v1/notes");
    assert!(!o.message.contains("gauntlet-"), "{}", o.message);
}

#[tokio::test]
async fn ownership_is_not_fooled_by_a_missing_role_check_alone() {
    // Without the role check a user may delete, but only their own notes count: the other user's delete of
    // alice's note must still be refused, which testsvc's owner filter does not do for deletes.
    let o = judge(CHECK, "no-roles", Verdict::Fail).await;
    assert_says(&o, "could be deleted");
}

/// The ownership probe with both users signed in through the service's login: no token fields, no secret.
const SIGNED_IN: &str = "probe = \"ownership\"\nlogin = { path = \"/login\", username = \"alice\", password_env = \"USER_PASSWORD\", other_username = \"bob\", other_password_env = \"BOB_PASSWORD\" }\ncreate = { path = \"/v1/notes\", json = { title = \"{marker}\" } }\nowner_only = [{ path = \"/v1/notes/{id}\" }, { method = \"PUT\", path = \"/v1/notes/{id}\", json = { title = \"{marker}\" } }]\nlistings = [{ path = \"/v1/notes\" }, { path = \"/v1/notes?q={marker}\" }]\n";

#[tokio::test]
async fn two_users_signed_in_through_the_login_pass_on_the_correct_service_and_catch_each_leak() {
    let o = crate::fixture::judge_toml(SIGNED_IN, "", Verdict::Pass).await;
    assert!(o.detail.contains("── alice logs in"), "{}", o.detail);
    assert!(o.detail.contains("── bob logs in"), "{}", o.detail);
    let o = crate::fixture::judge_toml(SIGNED_IN, "no-owner-read", Verdict::Fail).await;
    assert_says(
        &o,
        "another user's resource could be read (status 200) on GET /v1/notes/{id}",
    );
    let o = crate::fixture::judge_toml(SIGNED_IN, "no-owner-list", Verdict::Fail).await;
    assert_says(&o, "on GET /v1/notes");
}
