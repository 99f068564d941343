//! Images built on the real engine for the `image` kind's tests, each run as a container of its own run (the
//! check reads the image the container was created from), and the suite of image checks graded on it.

use std::fs;
use std::sync::Arc;
use std::time::Duration;

use gauntlet::archive::{pack, ArchiveLimits};
use gauntlet::checks::{run_suite, CheckContext, CheckOutcome, CheckSuite, Target};
use gauntlet::grading::control::DockerControl;
use gauntlet::sandbox::{BuildPolicy, Sandbox, StartSpec};

use crate::common::sandbox::{run_id, RunGuard, BUILD_TIMEOUT, LOG_CAP};
use crate::common::testsvc;

/// One check per rule, as the w05 lab writes them; `max_added_mb` is the test's.
pub fn suite(max_added_mb: u32) -> CheckSuite {
    let mut text = String::new();
    for rule in [
        "non-root-user",
        "exec-form",
        "no-build-tools",
        "no-secrets",
        "added-size",
    ] {
        text.push_str(&format!(
            "[[check]]\nid = \"{rule}\"\nkind = \"image\"\ntitle = \"{rule}\"\npillar = \"cloud-native\"\n\
             timeout_secs = 60\n[check.image]\nrules = [\"{rule}\"]\n"
        ));
        if rule == "added-size" {
            text.push_str(&format!("max_added_mb = {max_added_mb}\n"));
        }
    }
    let pillars = vec!["cloud-native".to_string()];
    CheckSuite::parse_file(std::path::Path::new("image.toml"), &text, &pillars)
        .expect("valid suite")
}

/// A context with the static testsvc as `testsvc` beside `files` (flat names; the Dockerfile copies them
/// where it wants them).
pub fn context(dockerfile: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::copy(testsvc::binary(), dir.path().join("testsvc")).expect("copy testsvc");
    fs::write(dir.path().join("Dockerfile"), dockerfile).expect("Dockerfile");
    for (name, bytes) in files {
        fs::write(dir.path().join(name), bytes).expect("file");
    }
    pack(dir.path(), &ArchiveLimits::default()).expect("pack context")
}

/// A sandbox whose builds may read local images named `imgcheck-*` (the tests' own bases).
pub async fn sandbox() -> Sandbox {
    let policy = BuildPolicy::default()
        .with_allowed_bases(&["imgcheck-*".to_string()])
        .expect("pattern");
    let sandbox = Sandbox::connect()
        .await
        .expect("docker engine")
        .with_build_policy(policy);
    sandbox.ping().await.expect("ping");
    sandbox
}

/// Builds `dockerfile` with `files` in a run of its own, starts it, and grades `suite` on its image; the run's
/// objects are removed before returning.
pub async fn grade(
    test: &str,
    dockerfile: &str,
    files: &[(&str, &[u8])],
    suite: &CheckSuite,
) -> Vec<CheckOutcome> {
    let sandbox = sandbox().await;
    let run = run_id("img", test);
    let _guard = RunGuard {
        sandbox: sandbox.clone(),
        run: run.clone(),
    };
    let image = sandbox
        .build(
            &run,
            context(dockerfile, files),
            BUILD_TIMEOUT,
            LOG_CAP,
            |_| {},
        )
        .await
        .expect("the image builds");
    let running = sandbox
        .start(&run, &image, &StartSpec::default())
        .await
        .expect("the container starts");
    let url = url::Url::parse("http://127.0.0.1:9/").expect("url");
    let control = DockerControl::new(
        sandbox.clone(),
        running,
        "/healthz".into(),
        Duration::from_secs(20),
        url.clone(),
    );
    let ctx = CheckContext {
        seed: 1,
        env: Default::default(),
        control: Some(Arc::new(control)),
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    run_suite(suite, &Target { base_url: url }, &ctx, &tx).await
}

/// The outcome of the check `id`.
pub fn outcome<'a>(outcomes: &'a [CheckOutcome], id: &str) -> &'a CheckOutcome {
    outcomes
        .iter()
        .find(|o| o.check_id == id)
        .unwrap_or_else(|| panic!("no outcome for {id}"))
}
