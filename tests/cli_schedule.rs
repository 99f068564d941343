//! `gauntlet cohort schedule …` as an operator on the server runs it (SQLite in a temporary data folder, the
//! bundled course): a start date, a week moved, a lab's due date moved, a week opened early for one learner,
//! `show` printing the dates learners see, and every change in the audit log.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use gauntlet::config::DatabaseUrl;
use gauntlet::store::Store;

fn command(data: &std::path::Path, args: &[&str]) -> Command {
    let (curriculum, labs) = common::app::bundled();
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

fn ok(data: &std::path::Path, args: &[&str]) -> String {
    let out = command(data, args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn fails(data: &std::path::Path, args: &[&str]) -> String {
    let out = command(data, args).output().unwrap();
    assert!(!out.status.success(), "{args:?} should fail: {out:?}");
    String::from_utf8(out.stderr).unwrap()
}

fn add_learner(data: &std::path::Path, email: &str) {
    let mut child = command(
        data,
        &[
            "user",
            "add",
            email,
            "--role",
            "learner",
            "--password-stdin",
        ],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{}\n", common::app::PASSWORD).as_bytes())
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
}

#[tokio::test]
async fn an_operator_schedules_a_cohort_from_the_terminal() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok(d, &["cohort", "create", "Spring"]);
    add_learner(d, "ada@example.org");
    ok(d, &["cohort", "move-learner", "Spring", "ada@example.org"]);

    let unscheduled = ok(d, &["cohort", "schedule", "show", "Spring"]);
    assert!(unscheduled.contains("no start date"), "{unscheduled}");

    ok(d, &["cohort", "schedule", "start", "Spring", "2027-01-04"]);
    ok(
        d,
        &[
            "cohort",
            "schedule",
            "week",
            "Spring",
            "5",
            "2027-02-10T09:00",
        ],
    );
    ok(
        d,
        &[
            "cohort",
            "schedule",
            "due",
            "Spring",
            "w01-health",
            "2027-01-20",
        ],
    );
    ok(
        d,
        &[
            "cohort",
            "schedule",
            "open-early",
            "Spring",
            "ada@example.org",
            "3",
        ],
    );
    let why = fails(
        d,
        &[
            "cohort",
            "schedule",
            "due",
            "Spring",
            "w99-none",
            "2027-01-20",
        ],
    );
    assert!(why.contains("no lab `w99-none`"), "{why}");
    let why = fails(d, &["cohort", "schedule", "start", "Spring", "soon"]);
    assert!(why.contains("is not a UTC date"), "{why}");

    let shown = ok(d, &["cohort", "schedule", "show", "Spring"]);
    for line in [
        "week 1\topens 2027-01-04 00:00 UTC",
        "week 2\topens 2027-01-11 00:00 UTC",
        "week 5\topens 2027-02-10 09:00 UTC\t(this cohort)",
        "  w01-health\tdue 2027-01-20 00:00 UTC\t(this cohort)",
        "  w02-crud\tdue 2027-01-18 00:00 UTC",
        "  w05-container\tdue 2027-02-17 09:00 UTC",
        "open early: ada@example.org week 3",
    ] {
        assert!(shown.lines().any(|l| l == line), "`{line}` in:\n{shown}");
    }

    // Back to the course's offset.
    ok(d, &["cohort", "schedule", "week", "Spring", "5", "none"]);
    let shown = ok(d, &["cohort", "schedule", "show", "Spring"]);
    assert!(
        shown.contains("week 5\topens 2027-02-01 00:00 UTC\n"),
        "{shown}"
    );

    let store = Store::connect(&DatabaseUrl::sqlite_in(d)).await.unwrap();
    let actions: Vec<String> = store
        .audit_entries(None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.actor == "command line")
        .map(|e| e.action)
        .collect();
    for action in ["schedule.start", "schedule.date", "schedule.open_early"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}
