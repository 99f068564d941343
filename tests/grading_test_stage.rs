//! A lab with a `test` build stage (`[build] test_stage`), graded end to end with the real Docker engine: the
//! stage is built first and a failing test stops the run at the build, with the learner's own test output in
//! the build log; a Dockerfile without the stage is told so before a build is spent; a passing stage lets the
//! final image build and be graded. With `[build] test_report`, the stage's JUnit XML report is read from its
//! image: its counts reach the learner, and a stage without tests, without a report or with a failed case in it
//! stops the run at the build.

mod common;

use common::grading::{app_with_worker, assert_no_docker_leftovers, course};
use common::project::Project;
use gauntlet::store::RunRow;

/// Where the labs with a report ask for it.
const REPORT: &str = "/reports/junit.xml";

/// A project whose `test` stage runs testsvc's own tests (`testsvc self-test`), with `defect` switched on
/// there only: the final image is always the correct service.
fn with_test_stage(defect: &str) -> Project {
    Project::with_dockerfile(&format!(
        "FROM scratch AS test\nCOPY testsvc /testsvc\nENV TESTSVC_DEFECT=\"{defect}\"\nRUN [\"/testsvc\", \"self-test\"]\n\n\
         FROM scratch\nCOPY --from=test /testsvc /testsvc\nENTRYPOINT [\"/testsvc\"]\n"
    ))
}

/// As [`with_test_stage`], the tests writing their JUnit report where the lab asks (`self-test --junit`).
fn reporting(defect: &str) -> Project {
    Project::with_dockerfile(&format!(
        "FROM scratch AS test\nCOPY testsvc /testsvc\nENV TESTSVC_DEFECT=\"{defect}\"\n\
         RUN [\"/testsvc\", \"self-test\", \"--junit\", \"{REPORT}\"]\n\n\
         FROM scratch\nCOPY --from=test /testsvc /testsvc\nENTRYPOINT [\"/testsvc\"]\n"
    ))
}

/// A project whose passing `test` stage leaves `report` (a file's text) at the report's path, or a folder
/// there when `report` is `None`.
fn leaving(report: Option<&str>) -> Project {
    let p = Project::with_dockerfile(&format!(
        "FROM scratch AS test\nCOPY testsvc /testsvc\nCOPY report {REPORT}\nRUN [\"/testsvc\", \"self-test\"]\n\n\
         FROM scratch\nCOPY --from=test /testsvc /testsvc\nENTRYPOINT [\"/testsvc\"]\n"
    ));
    match report {
        Some(text) => std::fs::write(p.path().join("report"), text).expect("report"),
        None => {
            std::fs::create_dir(p.path().join("report")).expect("folder");
            std::fs::write(p.path().join("report/junit.xml"), "<testsuite/>").expect("inner");
        }
    }
    p
}

/// Grades each project, in order, on one server whose lab asks for a `test` stage (and, with `report`, its
/// JUnit report there) and allows `build_secs` for the whole build.
async fn grade_all(build_secs: u64, report: Option<&str>, projects: &[Project]) -> Vec<RunRow> {
    let course = course();
    let report = report.map_or(String::new(), |r| format!("test_report = \"{r}\"\n"));
    course.write(
        "labs/w01-hello/lab.toml",
        &format!("title = \"Hello\"\nweek = 1\nsummary = \"Say hello\"\n\n[pillars]\nlanguage = 1.0\n\n\
         [limits]\nmemory_mb = 64\npids = 64\n\n[timeouts]\nbuild_secs = {build_secs}\nstart_secs = 4\nchecks_secs = 60\n\n\
         [build]\ntest_stage = \"test\"\n{report}"
        ),
    );
    let app = app_with_worker(&course).await;
    app.signed_in_learner("ada@example.org").await;
    let mut rows = Vec::new();
    for p in projects {
        let run = app.submit("w01-hello", p.archive()).await;
        let row = app.wait_final(run).await;
        assert!(
            app.store.check_results(run).await.unwrap().is_empty() || row.state == "passed",
            "no check runs after a failed build"
        );
        rows.push(row);
    }
    assert_no_docker_leftovers(&app).await;
    rows
}

#[tokio::test]
async fn the_test_stage_gates_the_build() {
    let rows = grade_all(
        120,
        None,
        &[
            with_test_stage(""),
            with_test_stage("racy-create"),
            Project::testsvc(&[]),
        ],
    )
    .await;

    let passing = &rows[0];
    assert_eq!(
        passing.state, "passed",
        "{:?}\n{}",
        passing.reason, passing.build_log
    );
    assert!(
        passing.build_log.contains("building the `test` stage"),
        "{}",
        passing.build_log
    );
    assert!(
        passing.build_log.contains("test result: ok. 3 passed"),
        "{}",
        passing.build_log
    );
    assert!(
        passing.build_log.contains("the `test` stage passed"),
        "{}",
        passing.build_log
    );
    // The final build reuses the test stage's layers: the tests ran once.
    assert_eq!(
        passing.build_log.matches("test result: ok").count(),
        1,
        "{}",
        passing.build_log
    );

    let failing = &rows[1];
    assert_eq!(failing.state, "failed");
    assert_eq!(failing.stage.as_deref(), Some("build"));
    let reason = failing.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("the `test` stage failed, so your tests did not pass"),
        "{reason}"
    );
    assert!(
        failing
            .build_log
            .contains("test concurrent_creates_get_distinct_ids ... FAILED"),
        "the learner sees their own failing test: {}",
        failing.build_log
    );
    assert!(
        !failing.build_log.contains("building the final image"),
        "{}",
        failing.build_log
    );

    let missing = &rows[2];
    assert_eq!(missing.state, "failed");
    assert_eq!(missing.stage.as_deref(), Some("build"));
    let reason = missing.reason.clone().unwrap_or_default();
    assert!(reason.contains("has no stage named `test`"), "{reason}");
    assert!(
        missing.build_log.is_empty(),
        "nothing was built: {}",
        missing.build_log
    );
}

#[tokio::test]
async fn the_test_stage_and_the_final_image_share_one_build_budget() {
    // Each stage sleeps 9 s, within 15 s on its own even on a busy machine; together they are surely over 15 s.
    let slow = Project::with_dockerfile(
        "FROM scratch AS test\nCOPY testsvc /testsvc\nENV TESTSVC_SELFTEST_SLEEP_MS=9000\nRUN [\"/testsvc\", \"self-test\"]\n\n\
         FROM scratch\nCOPY --from=test /testsvc /testsvc\nENV TESTSVC_SELFTEST_SLEEP_MS=9000\nRUN [\"/testsvc\", \"self-test\"]\n\
         ENTRYPOINT [\"/testsvc\"]\n",
    );
    let rows = grade_all(15, None, &[slow]).await;
    let row = &rows[0];
    assert_eq!(row.state, "failed", "{:?}", row.reason);
    assert_eq!(row.stage.as_deref(), Some("build"));
    let reason = row.reason.clone().unwrap_or_default();
    assert!(reason.contains("took longer than 15s"), "{reason}");
    assert!(
        row.build_log.contains("the `test` stage passed"),
        "{}",
        row.build_log
    );
}

/// The reason and build log of a run that must have stopped at the build.
fn failed_at_build(row: &RunRow) -> (String, &str) {
    assert_eq!(row.state, "failed", "{:?}\n{}", row.reason, row.build_log);
    assert_eq!(row.stage.as_deref(), Some("build"), "{:?}", row.reason);
    assert!(
        !row.build_log.contains("building the final image"),
        "{}",
        row.build_log
    );
    (row.reason.clone().unwrap_or_default(), &row.build_log)
}

#[tokio::test]
async fn the_test_report_must_show_tests_that_ran_and_passed() {
    let rows = grade_all(
        120,
        Some(REPORT),
        &[
            reporting(""),
            reporting("selftest-no-tests"),
            reporting("selftest-no-report"),
            reporting("racy-create"),
            leaving(Some("PASS: 3 tests\n")),
            leaving(Some(
                "<testsuite><testcase name=\"a\"/><testcase name=\"b\"><failure message=\"no\"/></testcase>\
                 <testcase name=\"c\"><skipped/></testcase></testsuite>",
            )),
            leaving(None),
            leaving(Some(&format!(
                "<testsuite><testcase name=\"a\"><system-out>{}</system-out></testcase></testsuite>",
                "x".repeat(5 << 20)
            ))),
        ],
    )
    .await;

    let passing = &rows[0];
    assert_eq!(
        passing.state, "passed",
        "{:?}\n{}",
        passing.reason, passing.build_log
    );
    let reason = passing.reason.clone().unwrap_or_default();
    assert!(
        reason.ends_with("Your tests: 3 tests, 3 passed, 0 failed, 0 skipped."),
        "the learner reads the counts in the run's result: {reason}"
    );
    assert!(
        passing
            .build_log
            .contains("── your tests: 3 tests, 3 passed, 0 failed, 0 skipped ──"),
        "{}",
        passing.build_log
    );

    let (reason, _) = failed_at_build(&rows[1]);
    assert!(
        reason.contains("has no test cases: the test stage must run your tests"),
        "{reason}"
    );

    let (reason, log) = failed_at_build(&rows[2]);
    assert!(
        reason.contains("wrote no JUnit XML report at `/reports/junit.xml`"),
        "{reason}"
    );
    assert!(
        log.contains("test result: ok. 3 passed"),
        "the tests ran, but left no report: {log}"
    );

    // A failing test still fails the step itself, before any report is read.
    let (reason, log) = failed_at_build(&rows[3]);
    assert!(
        reason.contains("the `test` stage failed, so your tests did not pass"),
        "{reason}"
    );
    assert!(
        log.contains("test concurrent_creates_get_distinct_ids ... FAILED"),
        "{log}"
    );

    let (reason, _) = failed_at_build(&rows[4]);
    assert!(
        reason.contains("could not be used: it is not a JUnit XML report"),
        "{reason}"
    );

    // The step passed, but the report it left records a failed case.
    let (reason, log) = failed_at_build(&rows[5]);
    assert!(
        reason.contains("your tests did not pass (3 tests, 1 passed, 1 failed, 1 skipped)"),
        "{reason}"
    );
    assert!(log.contains("your tests did not pass"), "{log}");

    let (reason, _) = failed_at_build(&rows[6]);
    assert!(
        reason.contains("`/reports/junit.xml` is not a regular file"),
        "{reason}"
    );

    // Only the first 4 MiB of a report are ever read.
    let (reason, _) = failed_at_build(&rows[7]);
    assert!(
        reason.contains("`/reports/junit.xml` is larger than 4194304 bytes"),
        "{reason}"
    );
}
