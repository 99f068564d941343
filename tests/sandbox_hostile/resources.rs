//! Services that fill the disk or flood their output: the sandbox bounds both and the service lives on.

use crate::common::sandbox::{setup, start_healthy, LOG_CAP};
use gauntlet::sandbox::StartSpec;

fn hostile() -> StartSpec {
    StartSpec {
        env: vec![("TESTSVC_HOSTILE".into(), "1".into())],
        ..StartSpec::default()
    }
}

/// Asks the service to write to `path` until the disk refuses; what it wrote and the error that stopped it.
async fn fill(base: &str, path: &str) -> serde_json::Value {
    reqwest::Client::new()
        .post(format!("{base}/hostile/fill?path={path}"))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn a_service_filling_its_disk_stops_at_the_tmpfs_size_and_keeps_answering() {
    let (sandbox, run, _guard) = setup("hostile-disk").await;
    let spec = hostile();
    let running = start_healthy(&sandbox, &run, &spec).await;
    let base = running.base_url().expect("address");
    let client = reqwest::Client::new();
    let filled = fill(&base, "/tmp/fill").await;
    let written = filled["written"].as_u64().expect("written");
    assert!(written <= spec.tmp_bytes, "{filled}");
    assert!(
        filled["error"]
            .as_str()
            .unwrap_or_default()
            .contains("No space left"),
        "{filled}"
    );
    // Nowhere else to write: the root is read-only.
    let root = fill(&base, "/fill").await;
    assert_eq!(root["written"], 0, "{root}");
    let health = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("still answers");
    assert!(health.status().is_success());
}

/// The size of the engine's log file once the engine has caught up with what the service printed: it copies
/// output asynchronously, and while it rotates the file (at its size cap) the file is briefly absent.
async fn settled_size(path: &str) -> u64 {
    let mut last = None;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let now = std::fs::metadata(path).ok().map(|m| m.len());
        if now.is_some() && now == last {
            return now.unwrap_or_default();
        }
        last = now;
    }
    panic!("the engine's log file at {path} never settled (last size {last:?})");
}

#[tokio::test]
async fn a_service_printing_without_end_is_capped_by_the_engine_log_limit() {
    let (sandbox, run, _guard) = setup("hostile-log").await;
    let running = start_healthy(&sandbox, &run, &hostile()).await;
    let base = running.base_url().expect("address");
    let printed = reqwest::Client::new()
        .post(format!("{base}/hostile/print?mb=8"))
        .send()
        .await
        .expect("answers");
    assert!(printed.status().is_success());
    let inspect = sandbox
        .docker()
        .inspect_container(&running.container_id, None)
        .await
        .expect("inspect");
    let log_path = inspect.log_path.expect("the json-file driver's log path");
    let on_disk = settled_size(&log_path).await;
    // 8 MiB printed; the engine keeps one file of at most 1 MB (plus the line being written).
    assert!(on_disk <= 1_200_000, "the engine kept {on_disk} bytes");
    let read = sandbox.logs(&running, LOG_CAP).await.expect("logs");
    let (note, kept) = read.split_once('\n').expect("a note on what was cut");
    assert!(
        note.starts_with("[... ") && note.ends_with(" earlier bytes cut ...]"),
        "{note}"
    );
    assert!(kept.len() <= LOG_CAP, "{}", kept.len());
}

#[tokio::test]
async fn a_volume_the_image_declares_is_a_capped_tmpfs_not_a_volume_on_the_hosts_disk() {
    use crate::common::sandbox::{context, BUILD_TIMEOUT};
    let (sandbox, run, _guard) = setup("hostile-volume").await;
    let dockerfile = "FROM scratch\nCOPY testsvc /testsvc\nVOLUME /w\nENTRYPOINT [\"/testsvc\"]\n";
    let image = sandbox
        .build(&run, context(dockerfile), BUILD_TIMEOUT, LOG_CAP, |_| {})
        .await
        .expect("builds");
    let spec = hostile();
    let running = sandbox.start(&run, &image, &spec).await.expect("starts");
    let address = sandbox
        .wait_healthy(&running, "/healthz", std::time::Duration::from_secs(20))
        .await
        .expect("healthy");
    let base = gauntlet::sandbox::base_url(address);
    let inspect = sandbox
        .docker()
        .inspect_container(&running.container_id, None)
        .await
        .expect("inspect");
    let on_disk: Vec<_> = inspect
        .mounts
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.destination.as_deref() == Some("/w"))
        .collect();
    assert!(on_disk.is_empty(), "an engine volume at /w: {on_disk:?}");
    let filled = fill(&base, "/w/fill").await;
    let written = filled["written"].as_u64().expect("written");
    assert!(written <= spec.tmp_bytes, "{filled}");
}
