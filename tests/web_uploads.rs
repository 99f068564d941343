//! Uploads the archive module refuses answer 422 with the learner's reason, on the lab page's form and on the
//! API alike, and nothing is stored or queued: a file name longer than a file system writes (which used to
//! fail on disk and answer 500, a fault of the platform) and a tar.gz whose gzip checksum is wrong (which
//! used to be accepted and graded). The learner stays on the lab page, with the form and the reason.

mod common;

use std::io::Write;

use common::app::{Spawn, TestApp};
use common::grading::course;
use gauntlet::archive::{pack, ArchiveLimits};
use gauntlet::config::GradingSettings;

async fn app_without_workers(course: &common::fixture::Course) -> TestApp {
    Spawn::default()
        .curriculum(course.curriculum(), course.labs())
        .grading(GradingSettings {
            workers: 0,
            ..GradingSettings::default()
        })
        .start()
        .await
}

const DOCKERFILE: &str = "FROM scratch\nCOPY notes.txt /notes.txt\n";

/// A project with one file whose name is 300 characters long.
fn project_with_a_300_character_name() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("Dockerfile", options).unwrap();
    zip.write_all(DOCKERFILE.as_bytes()).unwrap();
    zip.start_file(format!("{}.txt", "n".repeat(296)), options)
        .unwrap();
    zip.write_all(b"notes").unwrap();
    zip.finish().unwrap().into_inner()
}

/// POSTs `archive` to the API as `token`; returns the status and the error message.
async fn api_upload(app: &TestApp, token: &str, archive: Vec<u8>) -> (u16, String) {
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/labs/w01-hello/submissions"))
        .bearer_auth(token)
        .body(archive)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    (status, message.to_string())
}

/// The refused upload's answer is the lab page: its title, the form to try again, the reason as an alert.
fn assert_lab_page_with_form(page: &str) {
    assert!(page.contains("<h1>Hello"), "not the lab page: {page}");
    assert!(
        page.contains(r#"action="/labs/w01-hello/submissions""#),
        "no form: {page}"
    );
    assert!(page.contains(r#"role="alert""#), "no alert: {page}");
}

async fn assert_nothing_stored(app: &TestApp) {
    assert_eq!(app.store.queue_depth().await.unwrap(), 0);
    let scratch = app.data_dir.path().join("work");
    let left: Vec<_> = std::fs::read_dir(&scratch)
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "scratch folder holds {left:?}");
}

#[tokio::test]
async fn a_300_character_file_name_is_refused_with_422_naming_the_limit() {
    let course = course();
    let app = app_without_workers(&course).await;
    app.signed_in_learner("ada@example.org").await;

    let res = app
        .upload("w01-hello", project_with_a_300_character_name())
        .await;
    assert_eq!(res.status().as_u16(), 422);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("Nothing was stored")
            && page.contains(
                "has a name of 300 bytes; a file or folder name may be at most 255 bytes"
            ),
        "{page}"
    );
    assert_lab_page_with_form(&page);

    let token = app.api_token("ada").await;
    let (status, message) = api_upload(&app, &token, project_with_a_300_character_name()).await;
    assert_eq!(status, 422, "{message}");
    assert!(
        message.contains("a file or folder name may be at most 255 bytes; nothing was stored"),
        "{message}"
    );
    assert_nothing_stored(&app).await;
}

#[tokio::test]
async fn a_tar_gz_whose_gzip_checksum_is_wrong_is_refused_as_damaged() {
    let course = course();
    let app = app_without_workers(&course).await;
    app.signed_in_learner("ada@example.org").await;
    let token = app.api_token("ada").await;
    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(project.path().join("notes.txt"), "notes").unwrap();
    let mut archive = pack(project.path(), &ArchiveLimits::default()).unwrap();
    let crc = archive.len() - 8;
    archive[crc] ^= 0xff;

    let (status, message) = api_upload(&app, &token, archive.clone()).await;
    assert_eq!(status, 422, "{message}");
    assert!(
        message.starts_with("the archive is damaged") && message.contains("checksum"),
        "{message}"
    );
    let res = app.upload("w01-hello", archive).await;
    assert_eq!(res.status().as_u16(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("the archive is damaged"), "{page}");
    assert_lab_page_with_form(&page);
    assert_nothing_stored(&app).await;
}

#[tokio::test]
async fn an_upload_over_the_limit_is_refused_on_the_lab_page_with_the_limit_the_form_states() {
    let course = course();
    let app = Spawn::default()
        .curriculum(course.curriculum(), course.labs())
        .grading(GradingSettings {
            workers: 0,
            max_upload_bytes: 1 << 20,
            ..GradingSettings::default()
        })
        .start()
        .await;
    app.signed_in_learner("ada@example.org").await;
    // 1.5 MiB that gzip cannot shrink: over the 1 MB limit as sent.
    let mut noise = vec![0u8; 3 << 19];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in noise.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("Dockerfile", stored).unwrap();
    zip.write_all(DOCKERFILE.as_bytes()).unwrap();
    zip.start_file("noise.bin", stored).unwrap();
    zip.write_all(&noise).unwrap();
    let archive = zip.finish().unwrap().into_inner();

    let res = app.upload("w01-hello", archive).await;
    assert_eq!(res.status().as_u16(), 422);
    let page = res.text().await.unwrap();
    assert_lab_page_with_form(&page);
    assert!(
        page.contains("up to 1 MB"),
        "the form states another limit: {page}"
    );
    assert!(page.contains("the limit is 1 MB"), "{page}");
    assert_nothing_stored(&app).await;
}
