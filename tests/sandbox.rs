//! Specifications for `gauntlet::sandbox`, against the real Docker engine.
//!
//! Images are built `FROM scratch` around the static `testsvc` binary (nothing can be pulled). Every test
//! uses its own run id and a guard that removes the run's objects even when the test fails, so tests can run
//! in parallel on one engine and leave nothing labelled behind.

mod common;

use std::collections::HashMap;
use std::fs;
use std::time::{Duration, Instant};

use common::sandbox::{
    build_service, context, run_id, setup, start_healthy, RunGuard, BUILD_TIMEOUT, LOG_CAP, SERVICE,
};
use gauntlet::sandbox::{
    base_url, BuildError, BuildPolicy, RunLabel, Sandbox, StartError, StartSpec, IMAGE_REPO,
    LABEL_RUN,
};

/// How many containers, networks and volumes carry the run's label, and images its repository.
async fn run_objects(sandbox: &Sandbox, run: &RunLabel) -> usize {
    use bollard::query_parameters::{
        ListContainersOptions, ListImagesOptions, ListNetworksOptions, ListVolumesOptions,
    };
    let filter = HashMap::from([("label".to_string(), vec![format!("{LABEL_RUN}={run}")])]);
    let d = sandbox.docker();
    let containers = d
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filter.clone()),
            ..Default::default()
        }))
        .await
        .expect("containers");
    let networks = d
        .list_networks(Some(ListNetworksOptions {
            filters: Some(filter.clone()),
        }))
        .await
        .expect("networks");
    let volumes = d
        .list_volumes(Some(ListVolumesOptions {
            filters: Some(filter.clone()),
        }))
        .await
        .expect("volumes")
        .volumes
        .unwrap_or_default();
    let repository =
        HashMap::from([("reference".to_string(), vec![format!("{IMAGE_REPO}/{run}")])]);
    let images = d
        .list_images(Some(ListImagesOptions {
            filters: Some(repository),
            ..Default::default()
        }))
        .await
        .expect("images");
    containers.len() + networks.len() + volumes.len() + images.len()
}

#[tokio::test]
async fn builds_starts_and_serves_healthz_then_removes_everything() {
    let (sandbox, run, _guard) = setup("happy").await;
    let t = Instant::now();
    let mut lines = Vec::new();
    let image = sandbox
        .build(&run, context(SERVICE), BUILD_TIMEOUT, LOG_CAP, |l| {
            lines.push(l.to_string())
        })
        .await
        .expect("builds");
    let built = t.elapsed();
    assert!(image.0.starts_with("sha256:"), "{image:?}");
    assert!(
        lines.iter().any(|l| l.contains("COPY testsvc")),
        "{lines:?}"
    );

    let t = Instant::now();
    let running = sandbox
        .start(&run, &image, &StartSpec::default())
        .await
        .expect("starts");
    let started = t.elapsed();
    let addr = sandbox
        .wait_healthy(&running, "/healthz", Duration::from_secs(20))
        .await
        .expect("healthy");
    let healthy = t.elapsed();
    assert_eq!(running.base_url(), Some(base_url(addr)));
    eprintln!("timings: build {built:?}, create+start {started:?}, start to first 2xx {healthy:?}");

    let body = reqwest::get(format!("{}/healthz", base_url(addr)))
        .await
        .expect("GET /healthz")
        .text()
        .await
        .expect("body");
    assert!(body.contains("ok"), "{body}");
    let logs = sandbox.logs(&running, LOG_CAP).await.expect("logs");
    assert!(logs.contains("listening on 0.0.0.0:8080"), "{logs}");

    let removed = sandbox.remove_run(&run).await.expect("removes");
    assert_eq!(
        (removed.containers, removed.networks, removed.images),
        (1, 1, 2),
        "the image and the layer under it (COPY, then ENTRYPOINT)"
    );
    assert_eq!(run_objects(&sandbox, &run).await, 0);
}

#[tokio::test]
async fn a_failing_run_step_is_the_learners_build_failure_with_its_log() {
    let (sandbox, run, _guard) = setup("runfail").await;
    let dockerfile = "FROM scratch\nCOPY testsvc /testsvc\nRUN [\"/nonexistent\"]\n";
    let err = sandbox
        .build(&run, context(dockerfile), BUILD_TIMEOUT, LOG_CAP, |_| {})
        .await
        .expect_err("fails");
    assert!(matches!(err, BuildError::Failed { .. }), "{err:?}");
    assert!(err.is_learner_fault());
    assert!(
        err.log_tail().contains("RUN [\"/nonexistent\"]"),
        "{}",
        err.log_tail()
    );
    assert!(err.to_string().contains("nonexistent"), "{err}");
}

/// A Dockerfile whose every layer carries `GAUNTLET_TEST_MARK=<mark>`: a first stage that is only copied
/// from, and a final stage, so a build commits layers that are not the final image's ancestors.
fn two_stage(mark: &str, last_step: &str) -> String {
    format!(
        "FROM scratch AS build\nENV GAUNTLET_TEST_MARK={mark}\nCOPY testsvc /testsvc\n\
         FROM scratch\nENV GAUNTLET_TEST_MARK={mark}\nCOPY --from=build /testsvc /testsvc\n{last_step}\n"
    )
}

#[tokio::test]
async fn removing_a_run_removes_every_layer_its_builds_committed() {
    let (sandbox, run, _guard) = setup("layers").await;
    let mark = format!("layers-{}", std::process::id());
    let dockerfile = two_stage(&mark, "ENTRYPOINT [\"/testsvc\"]");
    sandbox
        .build(&run, context(&dockerfile), BUILD_TIMEOUT, LOG_CAP, |_| {})
        .await
        .expect("builds");
    assert!(
        common::project::images_marked(&format!("GAUNTLET_TEST_MARK={mark}")).len() >= 4,
        "the build commits layers in both stages"
    );
    sandbox.remove_run(&run).await.expect("removes");
    assert_eq!(
        common::project::images_marked(&format!("GAUNTLET_TEST_MARK={mark}")),
        Vec::<String>::new(),
        "the first stage's layers are nobody's ancestors and outlived the run"
    );
}

#[tokio::test]
async fn a_failed_build_leaves_no_layer_behind() {
    let (sandbox, run, _guard) = setup("failedlayers").await;
    let mark = format!("failedlayers-{}", std::process::id());
    let dockerfile = two_stage(&mark, "RUN [\"/nonexistent\"]");
    let err = sandbox
        .build(&run, context(&dockerfile), BUILD_TIMEOUT, LOG_CAP, |_| {})
        .await
        .expect_err("fails");
    assert!(matches!(err, BuildError::Failed { .. }), "{err:?}");
    assert_eq!(
        common::project::images_marked(&format!("GAUNTLET_TEST_MARK={mark}")),
        Vec::<String>::new(),
        "layers of a failed build outlived it"
    );
}

/// An image built with the docker CLI outside any run, as an operator's local base image; removed on drop.
struct BaseImage(String);

impl BaseImage {
    fn build(name: &str) -> BaseImage {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::copy(common::testsvc::binary(), dir.path().join("testsvc")).expect("copy testsvc");
        fs::write(
            dir.path().join("Dockerfile"),
            "FROM scratch\nCOPY testsvc /testsvc\n",
        )
        .expect("write");
        let built = std::process::Command::new("docker")
            // Not from the cache: a cached step of a parallel test's run would make the base that run's layer
            // (tagged in its repository), which the build policy rightly refuses.
            .args(["build", "-q", "--no-cache", "-t", name])
            .arg(dir.path())
            .output()
            .expect("docker CLI");
        assert!(built.status.success(), "{built:?}");
        BaseImage(name.to_string())
    }

    /// The id the build log would print for it: twelve hex digits.
    fn short_id(&self) -> Option<String> {
        let out = std::process::Command::new("docker")
            .args(["image", "inspect", "-f", "{{.Id}}", &self.0])
            .output()
            .expect("docker CLI");
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        id.strip_prefix("sha256:").map(|hex| hex[..12].to_string())
    }
}

impl Drop for BaseImage {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", &self.0])
            .output();
    }
}

#[tokio::test]
async fn a_build_log_line_forging_a_layer_id_cannot_remove_a_base_image() {
    let (sandbox, run, _guard) = setup("forged").await;
    // A local base image, which the build policy allows only when the operator lists it.
    let sandbox = sandbox.with_build_policy(
        BuildPolicy::default()
            .with_allowed_bases(&["gauntlet-test-base-*".to_string()])
            .expect("patterns"),
    );
    let base = BaseImage::build(&format!("gauntlet-test-base-{}", std::process::id()));
    let id = base.short_id().expect("the base exists");
    // The learner's RUN prints what the builder prints after committing a layer, naming the base image.
    let dockerfile = format!(
        "FROM {}\nRUN [\"/testsvc\", \"echo\", \" ---> {id}\"]\nENTRYPOINT [\"/testsvc\"]\n",
        base.0
    );
    sandbox
        .build(&run, context(&dockerfile), BUILD_TIMEOUT, LOG_CAP, |_| {})
        .await
        .expect("builds");
    sandbox.remove_run(&run).await.expect("removes");
    assert_eq!(
        base.short_id(),
        Some(id),
        "the run's clean-up removed an image that was not the run's"
    );
    assert_eq!(run_objects(&sandbox, &run).await, 0);
}

#[tokio::test]
async fn an_unknown_instruction_is_the_learners_build_failure() {
    let (sandbox, run, _guard) = setup("badinstr").await;
    let err = sandbox
        .build(
            &run,
            context("FROM scratch\nFROBNICATE now\n"),
            BUILD_TIMEOUT,
            LOG_CAP,
            |_| {},
        )
        .await
        .expect_err("fails");
    assert!(matches!(err, BuildError::Failed { .. }), "{err:?}");
    assert!(
        err.to_string().to_lowercase().contains("frobnicate"),
        "{err}"
    );
}

#[tokio::test]
async fn a_build_past_its_timeout_is_cancelled() {
    let (sandbox, run, _guard) = setup("buildtimeout").await;
    // The server never exits, so this RUN step never ends.
    let mark = format!("GAUNTLET_TEST_MARK=timeout-{}", std::process::id());
    let dockerfile =
        format!("FROM scratch\nENV {mark}\nCOPY testsvc /testsvc\nRUN [\"/testsvc\"]\n");
    let t = Instant::now();
    let err = sandbox
        .build(
            &run,
            context(&dockerfile),
            Duration::from_secs(3),
            LOG_CAP,
            |_| {},
        )
        .await
        .expect_err("times out");
    assert!(matches!(err, BuildError::Timeout { .. }), "{err:?}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(
        common::project::images_marked(&mark),
        Vec::<String>::new(),
        "the layers committed before the timeout outlived the build"
    );
}

#[tokio::test]
async fn an_unreachable_engine_is_a_platform_fault() {
    // A path that exists but where no engine listens: the client is made, every request fails.
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("docker.sock");
    fs::write(&socket, b"").expect("stand-in socket");
    let docker = bollard::Docker::connect_with_socket(
        socket.to_str().expect("utf-8 path"),
        5,
        bollard::API_DEFAULT_VERSION,
    )
    .expect("client");
    let sandbox = Sandbox::from_docker(docker);
    let run = run_id("t", "nodocker");
    let err = sandbox
        .build(&run, context(SERVICE), BUILD_TIMEOUT, LOG_CAP, |_| {})
        .await
        .expect_err("fails");
    assert!(matches!(err, BuildError::Platform(_)), "{err:?}");
    assert!(!err.is_learner_fault());
}

#[tokio::test]
async fn a_service_exiting_at_start_reports_its_exit_code() {
    let (sandbox, run, _guard) = setup("exits").await;
    let image = build_service(&sandbox, &run).await;
    let spec = StartSpec {
        env: vec![("TESTSVC_EXIT_AT_START".into(), "3".into())],
        ..StartSpec::default()
    };
    let running = sandbox.start(&run, &image, &spec).await.expect("starts");
    let t = Instant::now();
    let err = sandbox
        .wait_healthy(&running, "/healthz", Duration::from_secs(20))
        .await
        .expect_err("never healthy");
    assert!(
        matches!(
            err,
            StartError::Exited {
                code: 3,
                oom: false
            }
        ),
        "{err:?}"
    );
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "exit noticed late: {:?}",
        t.elapsed()
    );
    let logs = sandbox.logs(&running, LOG_CAP).await.expect("logs");
    assert!(logs.contains("exiting at start"), "{logs}");
}

#[tokio::test]
async fn a_service_that_never_answers_2xx_times_out() {
    let (sandbox, run, _guard) = setup("unhealthy").await;
    let image = build_service(&sandbox, &run).await;
    let running = sandbox
        .start(&run, &image, &StartSpec::default())
        .await
        .expect("starts");
    let err = sandbox
        .wait_healthy(&running, "/no-such-route", Duration::from_secs(2))
        .await
        .expect_err("never healthy");
    assert!(
        matches!(err, StartError::Timeout { ref last, .. } if last == "HTTP 404"),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_service_runs_on_an_internal_network_with_every_limit() {
    let (sandbox, run, _guard) = setup("limits").await;
    let spec = StartSpec::default();
    let running = start_healthy(&sandbox, &run, &spec).await;

    let network = sandbox
        .docker()
        .inspect_network(&running.network, None)
        .await
        .expect("network");
    assert_eq!(
        network.internal,
        Some(true),
        "the network must have no route out"
    );
    assert_eq!(
        network
            .labels
            .unwrap_or_default()
            .get(LABEL_RUN)
            .map(String::as_str),
        Some(run.as_str())
    );

    let container = sandbox
        .docker()
        .inspect_container(&running.container_id, None)
        .await
        .expect("container");
    let host = container.host_config.expect("host config");
    assert_eq!(host.memory, Some(spec.memory_bytes));
    assert_eq!(host.memory_swap, Some(spec.memory_bytes));
    assert_eq!(host.nano_cpus, Some(spec.nano_cpus));
    assert_eq!(host.pids_limit, Some(spec.pids_limit));
    assert_eq!(host.readonly_rootfs, Some(true));
    assert_eq!(host.cap_drop, Some(vec!["ALL".to_string()]));
    assert_eq!(
        host.security_opt,
        Some(vec!["no-new-privileges".to_string()])
    );
    assert!(host.tmpfs.unwrap_or_default().contains_key("/tmp"));
    assert!(
        host.port_bindings.unwrap_or_default().is_empty(),
        "no port may be published"
    );
    let networks = container
        .network_settings
        .and_then(|s| s.networks)
        .unwrap_or_default();
    assert_eq!(networks.keys().collect::<Vec<_>>(), vec![&running.network]);
}

#[tokio::test]
async fn stop_reports_a_service_that_ignores_sigterm_as_not_graceful() {
    let (sandbox, run, _guard) = setup("stop").await;
    let spec = StartSpec {
        env: vec![("TESTSVC_DEFECT".into(), "ignore-sigterm".into())],
        ..StartSpec::default()
    };
    let running = start_healthy(&sandbox, &run, &spec).await;
    // With `ignore-sigterm` testsvc is PID 1 with no SIGTERM handler, so the kernel ignores the signal: it has
    // to be killed.
    let stopped = sandbox
        .stop(&running, Duration::from_secs(1))
        .await
        .expect("stops");
    assert!(!stopped.graceful, "{stopped:?}");
    assert_eq!(stopped.exit_code, Some(137));
    assert!(stopped.elapsed >= Duration::from_secs(1), "{stopped:?}");
    let again = sandbox
        .stop(&running, Duration::from_secs(1))
        .await
        .expect("stops");
    assert_eq!(again.elapsed, Duration::ZERO);
}

#[tokio::test]
async fn restart_brings_the_same_container_back_with_its_volume() {
    let (sandbox, run, _guard) = setup("restart").await;
    let spec = StartSpec {
        data_dir: Some("/data".into()),
        ..StartSpec::default()
    };
    let mut running = start_healthy(&sandbox, &run, &spec).await;
    let volume = running.volume.clone().expect("a volume");
    let container = running.container_id.clone();
    sandbox
        .restart(&mut running, Duration::from_millis(500))
        .await
        .expect("restarts");
    assert_eq!(running.container_id, container);
    sandbox
        .wait_healthy(&running, "/healthz", Duration::from_secs(20))
        .await
        .expect("healthy again");
    let inspected = sandbox
        .docker()
        .inspect_volume(&volume)
        .await
        .expect("volume");
    assert_eq!(
        inspected.labels.get(LABEL_RUN).map(String::as_str),
        Some(run.as_str())
    );
    let removed = sandbox.remove_run(&run).await.expect("removes");
    assert_eq!(removed.volumes, 1);
}

#[tokio::test]
async fn reap_removes_every_run_under_its_prefix_and_nothing_else() {
    let sandbox = Sandbox::connect().await.expect("docker engine");
    let prefix = format!("reap-{}-", std::process::id());
    let runs = [run_id("reap", "a"), run_id("reap", "b")];
    let bystander = run_id("t", "bystander");
    let _guards: Vec<RunGuard> = runs
        .iter()
        .chain([&bystander])
        .map(|run| RunGuard {
            sandbox: sandbox.clone(),
            run: run.clone(),
        })
        .collect();
    for run in runs.iter().chain([&bystander]) {
        let image = build_service(&sandbox, run).await;
        sandbox
            .start(run, &image, &StartSpec::default())
            .await
            .expect("starts");
    }
    let reaped = sandbox.reap(&prefix).await.expect("reaps");
    assert_eq!(
        reaped, 8,
        "a container, a network and an image of two layers per run"
    );
    for run in &runs {
        assert_eq!(run_objects(&sandbox, run).await, 0, "{run} left objects");
    }
    assert_eq!(
        run_objects(&sandbox, &bystander).await,
        4,
        "another run was touched"
    );
}

#[tokio::test]
async fn a_fork_bomb_is_named_from_the_pids_stats() {
    let (sandbox, run, _guard) = setup("forkbomb").await;
    let image = build_service(&sandbox, &run).await;
    let spec = StartSpec {
        env: vec![("TESTSVC_FORK_BOMB".into(), "1".into())],
        pids_limit: 32,
        ..StartSpec::default()
    };
    let running = sandbox.start(&run, &image, &spec).await.expect("starts");
    let err = sandbox
        .wait_healthy(&running, "/healthz", Duration::from_secs(20))
        .await
        .expect_err("never healthy");
    assert!(matches!(err, StartError::ForkBomb { pids: 32 }), "{err:?}");
}

#[tokio::test]
async fn a_memory_hog_is_reported_as_oom_killed() {
    let (sandbox, run, _guard) = setup("oom").await;
    let image = build_service(&sandbox, &run).await;
    let spec = StartSpec {
        env: vec![("TESTSVC_MEMORY_HOG".into(), "1".into())],
        memory_bytes: 32 << 20,
        ..StartSpec::default()
    };
    let running = sandbox.start(&run, &image, &spec).await.expect("starts");
    let err = sandbox
        .wait_healthy(&running, "/healthz", Duration::from_secs(20))
        .await
        .expect_err("never healthy");
    assert!(
        matches!(
            err,
            StartError::Exited {
                code: 137,
                oom: true
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("memory"), "{err}");
}
