//! The same management from the `gauntlet` binary, as an operator on the server uses it (SQLite in a temporary
//! data folder), checked through the store it wrote.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use gauntlet::config::DatabaseUrl;
use gauntlet::domain::Email;
use gauntlet::store::Store;

/// The binary against the data folder `data`, with nothing from the caller's environment.
fn command(data: &std::path::Path, args: &[&str]) -> Command {
    let (curriculum, labs) = crate::common::app::bundled();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gauntlet"));
    cmd.env("GAUNTLET_DATA_DIR", data)
        .env("GAUNTLET_CURRICULUM", curriculum)
        .env("GAUNTLET_LABS", labs)
        .env_remove("GAUNTLET_DATABASE_URL")
        .env_remove("GAUNTLET_CONFIG")
        .env_remove("GAUNTLET_SERVER")
        .args(args);
    cmd
}

fn gauntlet(data: &std::path::Path, args: &[&str]) -> Output {
    command(data, args).output().unwrap()
}

/// Runs a command that must succeed and returns what it printed.
fn ok(data: &std::path::Path, args: &[&str]) -> String {
    let out = gauntlet(data, args);
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail and returns its error.
fn fails(data: &std::path::Path, args: &[&str]) -> String {
    let out = gauntlet(data, args);
    assert!(!out.status.success(), "{args:?} should fail: {out:?}");
    String::from_utf8(out.stderr).unwrap()
}

fn add_user(data: &std::path::Path, email: &str, role: &str) {
    let mut child = command(
        data,
        &["user", "add", email, "--role", role, "--password-stdin"],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{}\n", crate::common::app::PASSWORD).as_bytes())
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
}

#[tokio::test]
async fn an_operator_manages_cohorts_and_accounts_from_the_terminal() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    add_user(d, "ada@example.org", "learner");
    add_user(d, "ta@example.org", "instructor");
    let first = ok(d, &["cohort", "create", "Autumn"]).trim().to_string();
    ok(d, &["cohort", "create", "Winter"]);

    let rotated = ok(d, &["cohort", "rotate-code", "Autumn"])
        .trim()
        .to_string();
    assert_eq!(rotated.len(), 14, "{rotated}");
    assert_ne!(rotated, first);
    ok(
        d,
        &[
            "cohort",
            "set-limits",
            "Autumn",
            "--expires",
            "2099-01-01T00:00",
            "--max-uses",
            "30",
        ],
    );
    let list = ok(d, &["cohort", "list"]);
    assert!(
        list.contains(&format!("{rotated}\tAutumn\t0 learner(s)\tinstructors: none\tuses: 0/30\texpires: 2099-01-01 00:00 UTC")),
        "{list}"
    );
    let why = fails(d, &["cohort", "set-limits", "Autumn", "--max-uses", "0"]);
    assert!(why.contains("is not a whole number"), "{why}");

    ok(d, &["cohort", "move-learner", "Autumn", "ada@example.org"]);
    ok(d, &["cohort", "move-learner", "Winter", "ada@example.org"]);
    let why = fails(d, &["cohort", "move-learner", "Winter", "ta@example.org"]);
    assert!(why.contains("not a learner"), "{why}");
    ok(d, &["cohort", "rename", "Winter", "Winter 2027"]);
    let why = fails(d, &["cohort", "rename", "Autumn", "Winter 2027"]);
    assert!(why.contains("already exists"), "{why}");
    ok(d, &["cohort", "archive", "Winter 2027"]);
    let list = ok(d, &["cohort", "list"]);
    assert!(
        list.lines()
            .any(|l| l.contains("\tWinter 2027\t1 learner(s)") && l.ends_with("\tarchived")),
        "{list}"
    );

    let printed = ok(
        d,
        &[
            "user",
            "reset-password",
            "ada@example.org",
            "--server",
            "https://gauntlet.example.org/",
        ],
    );
    let url = printed
        .lines()
        .find_map(|l| l.strip_prefix("https://gauntlet.example.org/reset?code="))
        .unwrap_or_else(|| panic!("a /reset link in {printed}"))
        .to_string();
    assert!(printed.contains(&format!("24 hours): {url}")), "{printed}");
    ok(d, &["user", "deactivate", "ada@example.org"]);
    assert!(ok(d, &["user", "list"])
        .lines()
        .any(|l| l.contains("ada@example.org") && l.ends_with("\tdeactivated")));
    let why = fails(d, &["user", "reset-password", "ada@example.org"]);
    assert!(why.contains("is deactivated"), "{why}");
    ok(d, &["user", "activate", "ada@example.org"]);
    ok(d, &["user", "set-role", "ta@example.org", "admin"]);

    // What the commands wrote, read back through the store.
    let store = Store::connect(&DatabaseUrl::sqlite_in(d)).await.unwrap();
    let ada = store
        .user_by_email(&Email::parse("ada@example.org").unwrap())
        .await
        .unwrap()
        .unwrap();
    let winter = store.cohort_named("Winter 2027").await.unwrap();
    assert_eq!(ada.cohort_id, Some(winter.id));
    assert!(ada.deactivated_at.is_none());
    assert!(winter.archived_at.is_some());
    let ta = store
        .user_by_email(&Email::parse("ta@example.org").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ta.role, "admin");
    // Deactivation cancelled the reset code it printed.
    let redeemed = gauntlet::auth::account::redeem_reset(
        &store,
        &url,
        "a brand new passphrase",
        "a brand new passphrase",
    )
    .await;
    assert!(redeemed.is_err(), "{redeemed:?}");
    store.close().await;

    let audit = ok(d, &["audit", "list", "--limit", "100"]);
    for action in [
        "user.create",
        "cohort.create",
        "cohort.rotate_code",
        "cohort.set_limits",
        "cohort.place_learner",
        "cohort.rename",
        "cohort.archive",
        "user.issue_reset",
        "user.deactivate",
        "user.activate",
        "user.set_role",
    ] {
        assert!(
            audit.contains(&format!("\tcommand line\t{action}\t")),
            "{action} in {audit}"
        );
    }
    assert!(
        !audit.contains(&url) && !audit.contains(&rotated),
        "no codes in the log"
    );
    let newest = ok(d, &["audit", "list", "--limit", "1"]);
    assert_eq!(newest.lines().count(), 1);
    assert!(
        newest.contains("user.set_role\tuser ta@example.org"),
        "{newest}"
    );
}
