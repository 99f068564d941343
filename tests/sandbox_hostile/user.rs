//! The user a service runs as, its open-files limit and its data folder.

use crate::common::sandbox::{setup, start_healthy};
use gauntlet::sandbox::{StartSpec, User};

fn hostile(user: Option<User>) -> StartSpec {
    StartSpec {
        env: vec![("TESTSVC_HOSTILE".into(), "1".into())],
        data_dir: Some("/data".into()),
        nofile: 1000,
        user,
        ..StartSpec::default()
    }
}

async fn whoami(base: &str) -> serde_json::Value {
    reqwest::get(format!("{base}/hostile/whoami"))
        .await
        .expect("answers")
        .json()
        .await
        .expect("json")
}

async fn write(base: &str, path: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/hostile/write?path={path}"))
        .body("x")
        .send()
        .await
        .expect("answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_service_runs_as_a_non_root_user_that_owns_its_data_folder() {
    let (sandbox, run, _guard) = setup("hostile-user").await;
    let running = start_healthy(&sandbox, &run, &hostile(Some(User::DEFAULT))).await;
    let base = running.base_url().expect("address");
    let me = whoami(&base).await;
    assert_eq!(me["uid"], 10001, "{me}");
    assert_eq!(me["gid"], 10001, "{me}");
    assert_eq!(me["nofile"], 1000, "{me}");
    assert_eq!(write(&base, "/data/notes.jsonl").await, 201, "data folder");
    assert_eq!(write(&base, "/tmp/scratch").await, 201, "/tmp");
    assert_eq!(
        write(&base, "/etc-owned-by-root").await,
        500,
        "root filesystem"
    );
}

#[tokio::test]
async fn a_lab_may_keep_the_images_own_user() {
    let (sandbox, run, _guard) = setup("hostile-imageuser").await;
    let running = start_healthy(&sandbox, &run, &hostile(None)).await;
    let me = whoami(&running.base_url().expect("address")).await;
    // `FROM scratch` declares no USER: the image's user is root.
    assert_eq!(me["uid"], 0, "{me}");
}

#[tokio::test]
async fn a_data_folder_the_image_made_a_file_is_the_learners_fault_with_no_engine_path() {
    use crate::common::sandbox::{context, BUILD_TIMEOUT, LOG_CAP};
    use gauntlet::sandbox::StartError;
    let (sandbox, run, _guard) = setup("hostile-datafile").await;
    let dockerfile =
        "FROM scratch\nCOPY testsvc /testsvc\nCOPY testsvc /data\nENTRYPOINT [\"/testsvc\"]\n";
    let image = sandbox
        .build(&run, context(dockerfile), BUILD_TIMEOUT, LOG_CAP, |_| {})
        .await
        .expect("builds");
    let err = sandbox
        .start(&run, &image, &hostile(Some(User::DEFAULT)))
        .await
        .expect_err("a file cannot hold a volume");
    assert!(matches!(err, StartError::CannotRun { .. }), "{err:?}");
    assert!(err.is_learner_fault());
    let message = err.to_string();
    assert!(!message.contains("/var/lib/docker"), "{message}");
}
