//! Specifications for instances (`ServiceControl::launch`), what lifecycle and swap checks start beside a run's
//! service: on the real Docker engine, sandboxed like the service, removed with it.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::sandbox::{build_service, setup};
use gauntlet::checks::{InstanceData, InstanceError, InstanceSpec, ServiceControl, Signal};
use gauntlet::grading::control::DockerControl;
use gauntlet::sandbox::{RunLabel, Running, Sandbox, StartSpec, LABEL_RUN};

const WAIT: Duration = Duration::from_secs(20);

/// The run's service (the static testsvc, keeping notes under `/data`) and a control over it.
async fn service(sandbox: &Sandbox, run: &RunLabel) -> (Running, DockerControl) {
    let image = build_service(sandbox, run).await;
    let spec = StartSpec {
        data_dir: Some("/data".into()),
        env: vec![
            ("DATA_DIR".into(), "/data".into()),
            ("LAB_SETTING".into(), "from-the-run".into()),
        ],
        ..StartSpec::default()
    };
    let running = sandbox.start(run, &image, &spec).await.expect("starts");
    let address = sandbox
        .wait_healthy(&running, "/healthz", WAIT)
        .await
        .expect("healthy");
    let url = url::Url::parse(&gauntlet::sandbox::base_url(address)).expect("url");
    let control = DockerControl::new(
        sandbox.clone(),
        running.clone(),
        "/healthz".into(),
        WAIT,
        url,
    );
    (running, control)
}

async fn create_note(base: &url::Url, title: &str) -> String {
    let created: serde_json::Value = reqwest::Client::new()
        .post(base.join("/notes").expect("url"))
        .json(&serde_json::json!({ "title": title, "body": "kept" }))
        .send()
        .await
        .expect("create answers")
        .json()
        .await
        .expect("json");
    created["id"].to_string().trim_matches('"').to_string()
}

async fn status_of(base: &url::Url, path: &str) -> u16 {
    reqwest::get(base.join(path).expect("url"))
        .await
        .expect("answers")
        .status()
        .as_u16()
}

/// Containers (all states) and volumes carrying the run's label.
async fn labelled(sandbox: &Sandbox, run: &RunLabel) -> (usize, usize) {
    use bollard::query_parameters::{ListContainersOptions, ListVolumesOptions};
    let filter = HashMap::from([("label".to_string(), vec![format!("{LABEL_RUN}={run}")])]);
    let containers = sandbox
        .docker()
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filter.clone()),
            ..Default::default()
        }))
        .await
        .expect("containers");
    let volumes = sandbox
        .docker()
        .list_volumes(Some(ListVolumesOptions {
            filters: Some(filter),
        }))
        .await
        .expect("volumes");
    (containers.len(), volumes.volumes.unwrap_or_default().len())
}

#[tokio::test]
async fn an_instance_runs_on_its_own_port_with_env_overrides_sandboxed_like_the_service() {
    let (sandbox, run, _guard) = setup("inst-sandbox").await;
    let (running, control) = service(&sandbox, &run).await;
    let instance = control
        .launch(
            InstanceSpec::new("life")
                .port(18231)
                .env("LAB_SETTING", "overridden")
                .env("APP_VERSION", "green"),
        )
        .await
        .expect("launches");
    assert!(instance.url().is_some(), "an address as soon as it started");
    let url = instance.wait_listening(WAIT).await.expect("listens");
    assert_eq!(url.port(), Some(18231));
    assert_eq!(status_of(&url, "/healthz").await, 200);
    assert_eq!(instance.name(), format!("gauntlet-{run}-life-1"));

    let docker = sandbox.docker();
    let service = docker
        .inspect_container(&running.container_id, None)
        .await
        .expect("service");
    let inst = docker
        .inspect_container(&instance.name(), None)
        .await
        .expect("instance");
    let env = inst
        .config
        .as_ref()
        .and_then(|c| c.env.clone())
        .expect("env");
    for want in [
        "PORT=18231",
        "LAB_SETTING=overridden",
        "APP_VERSION=green",
        "DATA_DIR=/data",
    ] {
        assert!(env.iter().any(|e| e == want), "{want} missing from {env:?}");
    }
    assert!(!env.iter().any(|e| e == "PORT=8080"), "{env:?}");
    assert_eq!(
        inst.config.as_ref().and_then(|c| c.user.clone()),
        service.config.as_ref().and_then(|c| c.user.clone())
    );
    let (s, i) = (
        service.host_config.expect("host config"),
        inst.host_config.expect("host config"),
    );
    assert_eq!(i.readonly_rootfs, Some(true));
    assert_eq!(
        (i.memory, i.nano_cpus, i.pids_limit, i.network_mode.clone()),
        (s.memory, s.nano_cpus, s.pids_limit, s.network_mode.clone())
    );
    assert_eq!(i.cap_drop, Some(vec!["ALL".to_string()]));
    assert_eq!(i.security_opt, s.security_opt);
    assert_eq!(
        inst.config
            .and_then(|c| c.labels)
            .and_then(|mut l| l.remove(LABEL_RUN)),
        Some(run.to_string())
    );
    let logs = instance.logs(64 * 1024).await.expect("logs");
    assert!(logs.contains("listening on 0.0.0.0:18231"), "{logs}");
    instance.remove().await.expect("removes");
}

#[tokio::test]
async fn shared_data_is_the_services_and_fresh_data_is_empty_and_survives_a_kill() {
    let (sandbox, run, _guard) = setup("inst-data").await;
    let (_running, control) = service(&sandbox, &run).await;
    let base = control.base_url().expect("service url");
    let id = create_note(&base, "written by the service").await;

    let shared = control
        .launch(
            InstanceSpec::new("blue")
                .port(18232)
                .data(InstanceData::Shared),
        )
        .await
        .expect("launches");
    let shared_url = shared.wait_listening(WAIT).await.expect("listens");
    assert_eq!(status_of(&shared_url, &format!("/notes/{id}")).await, 200);

    let fresh = control
        .launch(
            InstanceSpec::new("green")
                .port(18233)
                .data(InstanceData::Fresh),
        )
        .await
        .expect("launches");
    let fresh_url = fresh.wait_listening(WAIT).await.expect("listens");
    assert_eq!(status_of(&fresh_url, &format!("/notes/{id}")).await, 404);

    let own = create_note(&fresh_url, "written by the instance").await;
    fresh.kill_and_start().await.expect("killed and started");
    let again = fresh.wait_listening(WAIT).await.expect("listens again");
    assert_eq!(status_of(&again, &format!("/notes/{own}")).await, 200);

    let (containers, volumes) = labelled(&sandbox, &run).await;
    assert_eq!(
        (containers, volumes),
        (3, 2),
        "service, blue, green; run's and green's volume"
    );
    shared.remove().await.expect("removes");
    fresh.remove().await.expect("removes");
    fresh.remove().await.expect("a second remove does nothing");
    assert_eq!(
        labelled(&sandbox, &run).await,
        (1, 1),
        "the service and its volume stay"
    );
    assert_eq!(status_of(&base, &format!("/notes/{id}")).await, 200);
}

#[tokio::test]
async fn signals_reach_the_process_and_its_exit_code_is_reported() {
    let (sandbox, run, _guard) = setup("inst-signal").await;
    let (_running, control) = service(&sandbox, &run).await;
    let instance = control
        .launch(InstanceSpec::new("sig").port(18234))
        .await
        .expect("launches");
    instance.wait_listening(WAIT).await.expect("listens");
    assert_eq!(
        instance
            .wait_exit(Duration::from_millis(300))
            .await
            .expect("waits"),
        None,
        "still running"
    );
    instance.signal(Signal::Kill).await.expect("signals");
    let exit = instance
        .wait_exit(Duration::from_secs(10))
        .await
        .expect("waits")
        .expect("exited");
    assert_eq!((exit.code, exit.oom), (137, false));
    instance
        .signal(Signal::Term)
        .await
        .expect("signalling an exited process is no error");
}

#[tokio::test]
async fn an_instance_that_exits_before_listening_is_the_services_fault_with_its_code() {
    let (sandbox, run, _guard) = setup("inst-exit").await;
    let (_running, control) = service(&sandbox, &run).await;
    let instance = control
        .launch(InstanceSpec::new("exit").env("TESTSVC_EXIT_AT_START", "3"))
        .await
        .expect("launches");
    let err = instance
        .wait_listening(WAIT)
        .await
        .expect_err("never listens");
    assert!(
        matches!(&err, InstanceError::Service(m) if m.contains("code 3")),
        "{err:?}"
    );
    let exit = instance
        .wait_exit(Duration::from_secs(5))
        .await
        .expect("waits");
    assert_eq!(exit.map(|e| e.code), Some(3));
}

#[tokio::test]
async fn instances_left_behind_go_with_the_run_and_bad_roles_are_refused() {
    let (sandbox, run, _guard) = setup("inst-left").await;
    let (_running, control) = service(&sandbox, &run).await;
    let control: Arc<dyn ServiceControl> = Arc::new(control);
    let refused = control.launch(InstanceSpec::new("Blue/1")).await;
    assert!(
        matches!(refused, Err(InstanceError::Platform(_))),
        "an unsafe role is refused"
    );
    let a = control
        .launch(InstanceSpec::new("left").port(18235))
        .await
        .expect("launches");
    let b = control
        .launch(InstanceSpec::new("left").port(18236))
        .await
        .expect("the same role launches again");
    assert_ne!(a.name(), b.name());
    let removed = sandbox.remove_run(&run).await.expect("removes the run");
    assert_eq!(removed.containers, 3);
    assert_eq!(removed.volumes, 3, "the run's and each fresh volume");
    assert_eq!(labelled(&sandbox, &run).await, (0, 0));
}
