//! The grader's image (built once per content of its folder, a failed build reported with its log) and the
//! rules `validate` applies to grader checks, with file and line.

use std::time::{Duration, Instant};

use gauntlet::checks::CheckSuite;
use gauntlet::grading::grader::prepare;

use super::common;
use super::fixture::{checks, lab, pillars, GraderImages, BASE};

#[tokio::test]
async fn a_grader_image_is_built_once_per_content_of_its_folder() {
    common::starter::require_image(BASE, "scripts/ci-images");
    let root = tempfile::tempdir().expect("temp dir");
    let (lab, suite) = lab(root.path(), "cache", "exit 0\n", &checks(5));
    let _images = GraderImages(lab.id.to_string());
    let sandbox = common::builds::sandbox().await;
    let started = Instant::now();
    let first = prepare(&sandbox, &lab, &suite).await.expect("a grader");
    let built_in = started.elapsed();
    let first = first.image().expect("built").clone();
    let started = Instant::now();
    let again = prepare(&sandbox, &lab, &suite).await.expect("a grader");
    let found_in = started.elapsed();
    assert_eq!(again.image().expect("found"), &first);
    eprintln!("grader image: built in {built_in:?}, found again in {found_in:?}");
    assert!(found_in < Duration::from_secs(2), "{found_in:?}");
    std::fs::write(lab.dir.join("grader/run.sh"), "echo changed\nexit 0\n").expect("change");
    let changed = prepare(&sandbox, &lab, &suite).await.expect("a grader");
    assert_ne!(changed.image().expect("rebuilt"), &first);
}

#[tokio::test]
async fn a_grader_that_does_not_build_makes_its_checks_platform_errors_with_the_build_log() {
    let root = tempfile::tempdir().expect("temp dir");
    let (lab, suite) = lab(root.path(), "nobuild", "exit 0\n", &checks(5));
    std::fs::write(
        lab.dir.join("grader/Dockerfile"),
        format!("FROM {BASE}\nRUN echo 'compiling the grader' && exit 7\n"),
    )
    .expect("Dockerfile");
    let _images = GraderImages(lab.id.to_string());
    let sandbox = common::builds::sandbox().await;
    let grader = prepare(&sandbox, &lab, &suite).await.expect("a grader");
    let why = grader.image().expect_err("no image");
    assert!(why.contains("compiling the grader"), "{why}");
}

#[test]
fn grader_checks_need_the_labs_grader_and_distinct_tests() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("w04-rules");
    std::fs::create_dir_all(dir.join("checks")).expect("checks");
    let text = format!(
        "{}[[check]]\nid = \"again\"\nkind = \"grader\"\ntitle = \"Again\"\npillar = \"language\"\ngrader.test = \"errs\"\n\n\
         [[check]]\nid = \"http-one\"\nkind = \"http\"\ntitle = \"H\"\npillar = \"language\"\ngrader.test = \"x\"\n\
         [[check.step]]\npath = \"/\"\nexpect.status = 200\n",
        checks(5)
    );
    let path = dir.join("checks/01-grader.toml");
    std::fs::write(&path, &text).expect("checks");
    let problems = CheckSuite::load(&dir, &pillars()).expect_err("refused");
    let said: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let at = |line: usize, words: &str| {
        assert!(
            said.iter().any(|p| p.starts_with(&format!("{}:{line}:", path.display()))
                && p.contains(words)),
            "{words:?} at line {line}: {said:#?}"
        );
    };
    // The first grader check names the missing grader; the second check of the test `errs`; the table on an
    // http check.
    at(2, "the lab has no grader");
    at(26, "as `errs` does already");
    at(37, "[check.grader] belongs to `grader` checks");
    // With the grader folder but no Dockerfile, the folder is named.
    std::fs::create_dir_all(dir.join("grader")).expect("grader");
    let problems = CheckSuite::load(&dir, &pillars()).expect_err("refused");
    assert!(
        problems
            .iter()
            .any(|p| p.path.ends_with("grader") && p.message.contains("needs a Dockerfile")),
        "{problems:#?}"
    );
}
