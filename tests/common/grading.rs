//! Helpers for grading tests: a course whose lab has short timeouts, a server with a worker, submitting and
//! waiting for verdicts.

use std::time::{Duration, Instant};

use gauntlet::config::GradingSettings;
use gauntlet::store::RunRow;

use super::app::{Spawn, TestApp};
use super::fixture::Course;

/// The fixture course with lab `w01-hello` graded by the bundled w01-health checks, with short timeouts.
pub fn course() -> Course {
    let course = Course::valid();
    course.remove("labs/w01-hello/checks");
    course.write(
        "labs/w01-hello/lab.toml",
        "title = \"Hello\"\nweek = 1\nsummary = \"Say hello\"\n\n[pillars]\nlanguage = 1.0\n\n\
         [limits]\nmemory_mb = 64\npids = 64\n\n[timeouts]\nbuild_secs = 120\nstart_secs = 4\nchecks_secs = 60\n",
    );
    let bundled = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/w01-health/checks");
    for entry in std::fs::read_dir(bundled).expect("bundled checks") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(&path).expect("check file");
        course.write(&format!("labs/w01-hello/checks/{name}"), &text);
    }
    course
}

/// A server with one grading worker on the grading course.
pub async fn app_with_worker(course: &Course) -> TestApp {
    Spawn::default()
        .curriculum(course.curriculum(), course.labs())
        .grading(GradingSettings {
            workers: 1,
            lease: Duration::from_secs(10),
            ..GradingSettings::default()
        })
        .start()
        .await
}

impl TestApp {
    /// Uploads an archive through the lab page's form; returns the response (303 to the run on success).
    pub async fn upload(&self, lab: &str, archive: Vec<u8>) -> reqwest::Response {
        let token = self.csrf(&format!("/labs/{lab}")).await;
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", token)
            .part(
                "archive",
                reqwest::multipart::Part::bytes(archive).file_name("project.tar.gz"),
            );
        self.client
            .post(self.url(&format!("/labs/{lab}/submissions")))
            .multipart(form)
            .send()
            .await
            .expect("upload")
    }

    /// Uploads and returns the new run's id.
    pub async fn submit(&self, lab: &str, archive: Vec<u8>) -> i64 {
        let res = self.upload(lab, archive).await;
        assert_eq!(res.status().as_u16(), 303, "upload accepted");
        let location = res.headers()["location"].to_str().unwrap().to_string();
        location
            .trim_start_matches("/runs/")
            .parse()
            .expect("run id")
    }

    /// Waits until the run is final.
    pub async fn wait_final(&self, run: i64) -> RunRow {
        wait_final(&self.store, run, Duration::from_secs(180)).await
    }
}

pub async fn wait_final(store: &gauntlet::store::Store, run: i64, limit: Duration) -> RunRow {
    let start = Instant::now();
    loop {
        let row = store.run(run).await.expect("run");
        if row.state().is_final() {
            return row;
        }
        assert!(
            start.elapsed() < limit,
            "run {run} still {} after {limit:?}",
            row.state
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Asserts that nothing labelled for this app's runs is left in Docker. The worker cleans up after recording
/// the verdict (the service gets a grace period to stop), so this waits a little for it.
pub async fn assert_no_docker_leftovers(app: &TestApp) {
    let prefix = format!("{}-", app.store.instance_id().await.expect("instance"));
    wait_no_docker_objects(&prefix).await;
}

/// Waits up to 30 s for every Docker object labelled with a run label starting with `prefix` to be gone.
pub async fn wait_no_docker_objects(prefix: &str) {
    let start = Instant::now();
    loop {
        let left = super::project::docker_objects(prefix);
        if left.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "Docker objects left behind: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A project graded on a fresh server with one worker, as learner ada, on lab `w01-hello`.
pub struct Graded {
    pub app: TestApp,
    pub run: i64,
    pub row: RunRow,
    /// Keeps the course's files alive as long as the server.
    pub course: Course,
}

pub async fn graded(project: &super::project::Project) -> Graded {
    let course = course();
    let app = app_with_worker(&course).await;
    app.signed_in_learner("ada@example.org").await;
    let run = app.submit("w01-hello", project.archive()).await;
    let row = app.wait_final(run).await;
    Graded {
        app,
        run,
        row,
        course,
    }
}
