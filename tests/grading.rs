//! The grading pipeline end to end against the real Docker engine: a project is uploaded over HTTP, built from
//! `FROM scratch` with the static testsvc, run locked down, checked, and its verdict recorded and shown.

mod common;

use common::app::Spawn;
use common::grading::{app_with_worker, assert_no_docker_leftovers, course, graded, Graded};
use common::project::Project;

#[tokio::test]
async fn a_correct_service_passes_and_counts_toward_progress() {
    let Graded { app, run, row, .. } = graded(&Project::testsvc(&[])).await;
    assert_eq!(row.state, "passed", "{:?}", row.reason);
    assert_eq!(row.score, Some(1.0));
    let results = app.store.check_results(run).await.unwrap();
    assert_eq!(
        results.len(),
        4,
        "every check of the lab has a stored result"
    );
    assert!(results.iter().all(|r| r.verdict == "pass"));
    let (_, page) = app.get_text(&format!("/runs/{run}")).await;
    assert!(
        page.contains("state-passed") && page.contains("Score 100%"),
        "{page}"
    );
    let (_, map) = app.get_text("/").await;
    assert!(
        map.contains("value=\"100\""),
        "the course map shows the pillar's progress"
    );
    assert_no_docker_leftovers(&app).await;
}

#[tokio::test]
async fn a_failing_check_fails_the_run_with_its_message_and_hint_but_no_hidden_detail() {
    let Graded { app, run, row, .. } =
        graded(&Project::testsvc(&[("TESTSVC_DEFECT", "no-json-404")])).await;
    assert_eq!(row.state, "failed");
    assert_eq!(row.stage.as_deref(), Some("checks"));
    let reason = row.reason.unwrap_or_default();
    assert!(
        reason.contains("Unknown paths answer 404 with a JSON error body"),
        "{reason}"
    );
    let results = app.store.check_results(run).await.unwrap();
    let failed = results
        .iter()
        .find(|r| r.verdict == "fail")
        .expect("a failed check");
    assert!(!failed.detail.is_empty(), "instructors get a transcript");
    let (_, page) = app.get_text(&format!("/runs/{run}")).await;
    assert!(page.contains("Replace your framework"), "the hint is shown");
    assert!(
        !page.contains("For instructors"),
        "no instructor section for a learner"
    );
    for line in failed.detail.lines().filter(|l| l.len() > 30) {
        assert!(!page.contains(line.trim()), "hidden detail leaked: {line}");
    }
    assert_no_docker_leftovers(&app).await;
}

#[tokio::test]
async fn a_service_that_never_becomes_healthy_fails_at_start() {
    let Graded { app, row, .. } =
        graded(&Project::testsvc(&[("TESTSVC_DEFECT", "health-500")])).await;
    assert_eq!(row.state, "failed");
    assert_eq!(row.stage.as_deref(), Some("start"));
    let reason = row.reason.unwrap_or_default();
    assert!(reason.contains("did not answer GET /healthz"), "{reason}");
    assert_no_docker_leftovers(&app).await;
}

#[tokio::test]
async fn a_service_that_listens_on_8080_whatever_port_says_fails_at_start() {
    // The grader never starts a service on its default port, so hard-coding the default is caught.
    let Graded { app, row, .. } =
        graded(&Project::testsvc(&[("TESTSVC_DEFECT", "ignore-port")])).await;
    assert_eq!(row.state, "failed");
    assert_eq!(row.stage.as_deref(), Some("start"));
    let reason = row.reason.unwrap_or_default();
    assert!(reason.contains("did not answer GET /healthz"), "{reason}");
    assert_no_docker_leftovers(&app).await;
}

#[tokio::test]
async fn a_service_that_exits_at_start_is_named_with_its_exit_code() {
    let Graded { app, row, .. } =
        graded(&Project::testsvc(&[("TESTSVC_EXIT_AT_START", "3")])).await;
    assert_eq!(row.state, "failed");
    assert_eq!(row.stage.as_deref(), Some("start"));
    assert!(row
        .reason
        .unwrap_or_default()
        .contains("exited with code 3"));
    assert_no_docker_leftovers(&app).await;
}

#[tokio::test]
async fn a_build_that_fails_is_reported_at_the_build_stage_with_its_log() {
    let project = Project::with_dockerfile(
        "FROM scratch\nCOPY testsvc /testsvc\nRUN [\"/does-not-exist\"]\n",
    );
    let Graded { app, run, row, .. } = graded(&project).await;
    assert_eq!(row.state, "failed");
    assert_eq!(row.stage.as_deref(), Some("build"));
    assert!(row.reason.unwrap_or_default().starts_with("Build:"));
    let (_, page) = app.get_text(&format!("/runs/{run}")).await;
    assert!(
        page.contains("does-not-exist"),
        "the build log is shown to the learner"
    );
    assert_no_docker_leftovers(&app).await;
}

#[tokio::test]
async fn a_build_reading_another_runs_image_fails_at_the_build_naming_the_dockerfile_line() {
    let project = Project::with_dockerfile(
        "FROM scratch\nCOPY --from=gauntlet-run/other-run-1:latest /testsvc /testsvc\n",
    );
    let Graded { app, row, .. } = graded(&project).await;
    assert_eq!(row.state, "failed", "a refused build is the learner's");
    assert_eq!(row.stage.as_deref(), Some("build"));
    let reason = row.reason.unwrap_or_default();
    assert!(reason.contains("Dockerfile line 2"), "{reason}");
    assert!(reason.contains("Gauntlet's own"), "{reason}");
    assert_no_docker_leftovers(&app).await;
}

#[tokio::test]
async fn the_operators_allow_list_of_base_images_reaches_the_workers() {
    let course = course();
    let build = gauntlet::sandbox::BuildPolicy::default()
        .with_allowed_bases(&["gauntlet-base/*".to_string()])
        .expect("patterns");
    let app = Spawn::default()
        .curriculum(course.curriculum(), course.labs())
        .grading(gauntlet::config::GradingSettings {
            workers: 1,
            lease: std::time::Duration::from_secs(10),
            build,
            ..gauntlet::config::GradingSettings::default()
        })
        .start()
        .await;
    app.signed_in_learner("ada@example.org").await;
    let project = Project::with_dockerfile("FROM debian:12\nCOPY testsvc /testsvc\n");
    let run = app.submit("w01-hello", project.archive()).await;
    let row = app.wait_final(run).await;
    assert_eq!(row.state, "failed");
    let reason = row.reason.unwrap_or_default();
    assert!(
        reason.contains("not among the base images this platform allows (gauntlet-base/*)"),
        "{reason}"
    );
    assert_no_docker_leftovers(&app).await;
}

#[tokio::test]
async fn broken_uploads_are_refused_with_a_clear_message_and_nothing_is_stored() {
    let course = course();
    let app = app_with_worker(&course).await;
    app.signed_in_learner("ada@example.org").await;
    let no_dockerfile = {
        let p = Project::testsvc(&[]);
        std::fs::remove_file(p.path().join("Dockerfile")).unwrap();
        // pack refuses a folder without a Dockerfile, so build the tar by hand.
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        tar.append_path_with_name(p.path().join("testsvc"), "testsvc")
            .unwrap();
        tar.into_inner().unwrap().finish().unwrap()
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("no Dockerfile", no_dockerfile, "Dockerfile"),
        (
            "not an archive",
            b"this is not an archive at all".to_vec(),
            "archive",
        ),
        ("empty", Vec::new(), "choose a .zip or .tar.gz"),
        ("zip slip", zip_slip(), ".."),
    ];
    for (name, bytes, needle) in cases {
        let res = app.upload("w01-hello", bytes).await;
        assert_eq!(res.status().as_u16(), 422, "{name}");
        let page = res.text().await.unwrap();
        assert!(
            page.contains("Nothing was stored") && page.contains(needle),
            "{name}: {page}"
        );
    }
    let email = gauntlet::domain::Email::parse("ada@example.org").unwrap();
    let user = app.store.user_by_email(&email).await.unwrap().unwrap();
    assert!(app
        .store
        .runs_of(user.id, "w01-hello", 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(app.store.queue_depth().await.unwrap(), 0);
    let scratch = app.data_dir.path().join("work");
    let left: Vec<_> = std::fs::read_dir(&scratch)
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "scratch folder holds {left:?}");
}

fn zip_slip() -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("Dockerfile", options).unwrap();
    zip.write_all(b"FROM scratch\n").unwrap();
    zip.start_file("../../evil.txt", options).unwrap();
    zip.write_all(b"owned").unwrap();
    zip.finish().unwrap().into_inner()
}

#[tokio::test]
async fn an_upload_over_the_size_limit_is_refused() {
    let course = course();
    let app = Spawn::default()
        .curriculum(course.curriculum(), course.labs())
        .grading(gauntlet::config::GradingSettings {
            workers: 0,
            max_upload_bytes: 64 * 1024,
            ..Default::default()
        })
        .start()
        .await;
    app.signed_in_learner("ada@example.org").await;
    let res = app.upload("w01-hello", vec![7u8; 200 * 1024]).await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.text().await.unwrap().contains("limit"));
    assert_eq!(app.store.queue_depth().await.unwrap(), 0);
}

#[tokio::test]
async fn a_learner_cannot_see_another_learners_run_but_an_instructor_sees_the_detail() {
    let course = course();
    let app = app_with_worker(&course).await;
    app.signed_in_learner("ada@example.org").await;
    let run = app
        .submit(
            "w01-hello",
            Project::testsvc(&[("TESTSVC_DEFECT", "no-json-404")]).archive(),
        )
        .await;
    app.wait_final(run).await;

    let other = app.clone_for_another_client();
    other.signed_in_learner("bob@example.org").await;
    for path in [format!("/runs/{run}"), format!("/runs/{run}/stream")] {
        assert_eq!(other.get(&path).await.status().as_u16(), 404, "{path}");
    }

    // An instructor who does not teach Ada's cohort does not see her run at all (crate::access).
    let stranger = app.clone_for_another_client();
    stranger
        .signed_in_staff(
            "other-teacher@example.org",
            gauntlet::domain::Role::Instructor,
            &["bob@example.org"],
        )
        .await;
    for path in [format!("/runs/{run}"), format!("/runs/{run}/stream")] {
        assert_eq!(stranger.get(&path).await.status().as_u16(), 404, "{path}");
    }

    let staff = app.clone_for_another_client();
    staff
        .signed_in_staff(
            "teacher@example.org",
            gauntlet::domain::Role::Instructor,
            &["ada@example.org"],
        )
        .await;
    let (status, page) = staff.get_text(&format!("/runs/{run}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("For instructors") && page.contains("Transcript"),
        "{page}"
    );

    // A learner cannot re-grade; an instructor re-grades with the same seed and gets the same verdicts.
    let csrf = common::app::csrf_in(&page);
    let learner_csrf = app.csrf(&format!("/runs/{run}")).await;
    let refused = app
        .post_form(
            &format!("/runs/{run}/regrade"),
            &[("csrf_token", &learner_csrf)],
        )
        .await;
    assert_eq!(refused.status().as_u16(), 404);
    let res = staff
        .post_form(
            &format!("/runs/{run}/regrade"),
            &[
                ("csrf_token", &csrf),
                ("reason", "same seed, same verdicts?"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let again: i64 = res.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/runs/")
        .parse()
        .unwrap();
    let first = app.store.run(run).await.unwrap();
    let second = app.wait_final(again).await;
    assert_eq!((second.seed, second.state.as_str()), (first.seed, "failed"));
    let verdicts = |rows: Vec<gauntlet::store::CheckResultRow>| {
        rows.into_iter()
            .map(|r| (r.check_id, r.verdict))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        verdicts(app.store.check_results(run).await.unwrap()),
        verdicts(app.store.check_results(again).await.unwrap())
    );
    assert_no_docker_leftovers(&app).await;
}

#[tokio::test]
async fn the_run_page_replays_what_happened_and_the_stream_ends_with_the_result() {
    let course = course();
    let app = app_with_worker(&course).await;
    app.signed_in_learner("ada@example.org").await;
    let run = app
        .submit("w01-hello", Project::testsvc(&[]).archive())
        .await;
    let (status, first) = app.get_text(&format!("/runs/{run}")).await;
    assert_eq!(status, 200);
    assert!(
        first.contains("sse-connect=\"/runs/"),
        "a live page follows the stream"
    );
    // Follow the stream from the start: it carries stages, build lines and verdicts, then ends.
    let body = app
        .get(&format!("/runs/{run}/stream?after=0"))
        .await
        .text()
        .await
        .unwrap();
    for needle in [
        "event: state",
        "event: log",
        "event: check",
        "event: finished",
        "state-passed",
    ] {
        assert!(body.contains(needle), "stream lacks {needle}:\n{body}");
    }
    let (_, page) = app.get_text(&format!("/runs/{run}")).await;
    assert!(!page.contains("sse-connect"), "a finished run is static");
    assert!(
        page.contains("Step 1/3") || page.contains("FROM scratch") || page.contains("COPY"),
        "the build log is replayed"
    );
    assert_no_docker_leftovers(&app).await;
}

#[tokio::test]
async fn grading_works_the_same_on_postgresql() {
    let course = course();
    let app = Spawn::default()
        .db(common::app::Db::Postgres)
        .curriculum(course.curriculum(), course.labs())
        .grading(gauntlet::config::GradingSettings {
            workers: 2,
            ..Default::default()
        })
        .start()
        .await;
    app.signed_in_learner("ada@example.org").await;
    let good = app
        .submit("w01-hello", Project::testsvc(&[]).archive())
        .await;
    let bad = app
        .submit(
            "w01-hello",
            Project::testsvc(&[("TESTSVC_DEFECT", "no-json-404")]).archive(),
        )
        .await;
    assert_eq!(app.wait_final(good).await.state, "passed");
    assert_eq!(app.wait_final(bad).await.state, "failed");
    let email = gauntlet::domain::Email::parse("ada@example.org").unwrap();
    let user = app.store.user_by_email(&email).await.unwrap().unwrap();
    let progress = app.store.lab_progress(user.id).await.unwrap();
    assert_eq!((progress[0].attempts, progress[0].passed), (2, 1));
    assert_no_docker_leftovers(&app).await;
}

#[tokio::test]
async fn a_lab_without_checks_builds_and_starts_the_service_but_scores_nothing() {
    let course = course();
    course.remove("labs/w01-hello/checks");
    let app = app_with_worker(&course).await;
    app.signed_in_learner("ada@example.org").await;
    let (_, lab_page) = app.get_text("/labs/w01-hello").await;
    assert!(lab_page.contains("no automatic checks yet"), "{lab_page}");

    let run = app
        .submit("w01-hello", Project::testsvc(&[]).archive())
        .await;
    let row = app.wait_final(run).await;
    assert_eq!(row.state, "passed", "{:?}", row.reason);
    assert_eq!(row.score, None, "nothing was scored");
    assert!(
        row.reason
            .unwrap_or_default()
            .contains("no automatic checks yet"),
        "the learner is told why"
    );
    let email = gauntlet::domain::Email::parse("ada@example.org").unwrap();
    let user = app.store.user_by_email(&email).await.unwrap().unwrap();
    assert!(
        app.store.lab_progress(user.id).await.unwrap().is_empty(),
        "an unscored run records no progress (no 'passed' badge, nothing to count once checks arrive)"
    );

    // A service that never starts still fails at start: being ungraded is not a free pass.
    let broken = Project::testsvc(&[("TESTSVC_EXIT_AT_START", "3")]);
    let row = app
        .wait_final(app.submit("w01-hello", broken.archive()).await)
        .await;
    assert_eq!(row.state, "failed");
    assert_eq!(row.stage.as_deref(), Some("start"));
    assert!(app.store.lab_progress(user.id).await.unwrap().is_empty());
    assert_no_docker_leftovers(&app).await;
}
