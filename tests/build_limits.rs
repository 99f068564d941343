//! Specifications of the limits a learner's build runs under, against the real engine: a step's memory, the
//! output passed on, and the network of `RUN` steps. Each step is a tiny static C program in a `FROM scratch`
//! context (no shell, nothing pulled).

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::builds::{
    c_program, context, host_address, run_id, run_images, sandbox, BUILD_TIMEOUT, LOG_CAP,
};
use common::sandbox::RunGuard;
use gauntlet::sandbox::{
    BuildError, BuildLimits, BuildNetwork, BuildPolicy, BuildRequest, Sandbox,
};

const HOG: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    long mb = atol(argv[1]);
    for (long i = 0; i < mb; i++) {
        char *p = malloc(1 << 20);
        if (!p) { printf("malloc failed at %ld MB\n", i); return 2; }
        memset(p, 1, 1 << 20);
    }
    printf("allocated %ld MB\n", mb);
    return 0;
}
"#;

const SPAM: &str = r#"
#include <stdio.h>
int main(void) {
    for (;;) fputs("spam spam spam spam spam spam spam spam spam spam spam spam spam spam\n", stdout);
}
"#;

const PROBE: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>
int main(int argc, char **argv) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    /* A dropped SYN would otherwise wait for the kernel's two minutes. */
    struct timeval tv = {3, 0};
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[2]));
    inet_pton(AF_INET, argv[1], &a.sin_addr);
    if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) { printf("probe: connected\n"); return 0; }
    printf("probe: could not connect: %s\n", strerror(errno));
    return 0;
}
"#;

/// Starts threads (small stacks) up to `argv[1]`, prints how many it got, and fails if that is fewer.
const THREADS: &str = r#"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static void *sleeper(void *a) { (void)a; for (;;) sleep(60); return 0; }
int main(int argc, char **argv) {
    int want = atoi(argv[1]), n = 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 65536);
    for (; n < want; n++) {
        pthread_t t;
        if (pthread_create(&t, &attr, sleeper, 0) != 0) break;
    }
    printf("threads: %d\n", n);
    return n < want ? 1 : 0;
}
"#;

/// Taken by the tests that build on the shared build network, since one of them removes it.
static BUILD_NETWORK_USERS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Builds `dockerfile` with `program` beside it as `/p`, under `limits`; the outcome and the lines passed on.
async fn build(
    policy: BuildPolicy,
    test: &str,
    dockerfile: &str,
    program: &str,
    limits: BuildLimits,
    timeout: Duration,
) -> (Result<(), BuildError>, Vec<String>) {
    let sandbox = sandbox().await.with_build_policy(policy);
    let run = run_id(test);
    let _guard = RunGuard {
        sandbox: sandbox.clone(),
        run: run.clone(),
    };
    let request = BuildRequest {
        limits,
        ..BuildRequest::default()
    };
    let mut lines = Vec::new();
    let outcome = sandbox
        .build_with(
            &run,
            context(dockerfile, &[("p", c_program(program))]),
            &request,
            timeout,
            LOG_CAP,
            |l| lines.push(l.to_string()),
        )
        .await
        .map(|_| ());
    if outcome.is_err() {
        assert!(run_images(&run).is_empty(), "a failed build left images");
    }
    (outcome, lines)
}

fn memory(mib: i64) -> BuildLimits {
    BuildLimits {
        memory_bytes: mib << 20,
        ..BuildLimits::default()
    }
}

#[tokio::test]
async fn a_build_step_allocating_past_the_memory_limit_fails_with_a_clear_message() {
    let dockerfile = "FROM scratch\nCOPY p /p\nRUN [\"/p\", \"300\"]\n";
    let (outcome, _) = build(
        BuildPolicy::default(),
        "hog",
        dockerfile,
        HOG,
        memory(64),
        BUILD_TIMEOUT,
    )
    .await;
    let err = outcome.expect_err("the step is killed");
    assert!(matches!(err, BuildError::Failed { .. }), "{err:?}");
    assert!(err.to_string().contains("memory limit of 64 MiB"), "{err}");
    // The same step fits under a limit above what it allocates.
    let (outcome, lines) = build(
        BuildPolicy::default(),
        "hogfits",
        dockerfile,
        HOG,
        memory(512),
        BUILD_TIMEOUT,
    )
    .await;
    outcome.expect("builds under 512 MiB");
    assert!(lines.iter().any(|l| l == "allocated 300 MB"), "{lines:?}");
}

#[tokio::test]
async fn a_build_printing_without_end_has_its_output_capped() {
    let mut policy = BuildPolicy::default();
    policy.max_output_bytes = 64 * 1024;
    let started = Instant::now();
    let (outcome, lines) = build(
        policy,
        "spam",
        "FROM scratch\nCOPY p /p\nRUN [\"/p\"]\n",
        SPAM,
        BuildLimits::default(),
        Duration::from_secs(6),
    )
    .await;
    let err = outcome.expect_err("the build never ends");
    assert!(matches!(err, BuildError::Timeout { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let passed: usize = lines.iter().map(|l| l.len() + 1).sum();
    let notice = lines.last().expect("some output");
    assert!(notice.contains("build output truncated"), "{notice}");
    assert!(
        passed <= 64 * 1024 + notice.len() + 1,
        "{passed} bytes passed on"
    );
    eprintln!("measured: {passed} bytes passed on under a cap of 65536, then: {notice}");
    assert!(
        lines.iter().filter(|l| l.starts_with("spam")).count() > 100,
        "the step's output was not passed on up to the cap"
    );
}

#[tokio::test]
async fn a_run_step_without_network_cannot_reach_this_machine() {
    let _network = BUILD_NETWORK_USERS.lock().await;
    let address = host_address();
    let listener = TcpListener::bind((address.as_str(), 0)).expect("listen on the host address");
    listener.set_nonblocking(true).expect("non-blocking");
    let port = listener.local_addr().expect("address").port().to_string();
    let dockerfile = format!("FROM scratch\nCOPY p /p\nRUN [\"/p\", \"{address}\", \"{port}\"]\n");

    let (outcome, lines) = build(
        BuildPolicy::default(),
        "nonet",
        &dockerfile,
        PROBE,
        BuildLimits::default(),
        BUILD_TIMEOUT,
    )
    .await;
    outcome.expect("builds");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("probe: could not connect")),
        "{lines:?}"
    );
    assert!(
        listener.accept().is_err(),
        "the step reached the host's listener"
    );

    // With a route out (`network = "default"`), the step runs on Gauntlet's build network: it can fetch
    // packages, yet the sandbox firewall keeps it off the host just the same.
    let (outcome, lines) = build(
        BuildPolicy::default(),
        "defnet",
        &dockerfile,
        PROBE,
        BuildLimits {
            network: BuildNetwork::Default,
            ..BuildLimits::default()
        },
        BUILD_TIMEOUT,
    )
    .await;
    outcome.expect("builds");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("probe: could not connect")),
        "{lines:?}"
    );
    assert!(
        listener.accept().is_err(),
        "a step on the build network reached the host's listener"
    );
    let sandbox = Sandbox::connect().await.expect("engine");
    let network = sandbox
        .docker()
        .inspect_network("gauntlet-build", None)
        .await
        .expect("the build network exists");
    assert_eq!(network.internal, Some(false), "builds need a route out");
    let options = network.options.unwrap_or_default();
    assert_eq!(
        options
            .get("com.docker.network.bridge.enable_icc")
            .map(String::as_str),
        Some("false"),
        "two learners' builds must not reach each other"
    );
}

#[tokio::test]
async fn a_build_step_starting_threads_past_the_process_limit_is_stopped_and_named() {
    let policy = BuildPolicy::default();
    assert!(
        policy.pids_cgroup.is_some(),
        "this engine has cgroup v1 pids: builds must get a process limit here"
    );
    let dockerfile = "FROM scratch\nCOPY p /p\nRUN [\"/p\", \"300\"]\n";
    let limited = BuildLimits {
        pids: 64,
        ..BuildLimits::default()
    };
    let (outcome, lines) = build(
        policy.clone(),
        "threads",
        dockerfile,
        THREADS,
        limited,
        BUILD_TIMEOUT,
    )
    .await;
    let err = outcome.expect_err("the step cannot start 300 threads");
    assert!(
        err.to_string()
            .contains("limit of 64 processes and threads"),
        "{err}"
    );
    let started: usize = lines
        .iter()
        .find_map(|l| l.strip_prefix("threads: "))
        .and_then(|n| n.parse().ok())
        .expect("the step said how many threads it got");
    assert!(started < 64, "{started} threads under a limit of 64");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("reached their limit of 64 processes")),
        "{lines:?}"
    );
    eprintln!("measured: {started} threads started under a build pids limit of 64");
    // Under a limit above what it asks for, the same step gets all its threads.
    let roomy = BuildLimits {
        pids: 512,
        ..BuildLimits::default()
    };
    let (outcome, lines) = build(
        policy,
        "threadsfit",
        dockerfile,
        THREADS,
        roomy,
        BUILD_TIMEOUT,
    )
    .await;
    outcome.expect("builds");
    assert!(lines.iter().any(|l| l == "threads: 300"), "{lines:?}");
    let left = std::fs::read_dir("/sys/fs/cgroup/pids/gauntlet-build")
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().is_dir())
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(&format!("b-{}-threads", std::process::id()))
                })
                .count()
        })
        .unwrap_or(0);
    assert_eq!(left, 0, "the builds' cgroups outlived them");
}

/// Builds started at once on an engine without the build network (a fresh machine, or several workers after an
/// upgrade) all get it: the engine lets only one create win, the others find it made. CI failed on this once,
/// when two proofs started their first builds together.
#[tokio::test]
async fn builds_that_create_the_build_network_at_once_all_run() {
    let _one_at_a_time = BUILD_NETWORK_USERS.lock().await;
    let docker = Sandbox::connect().await.expect("engine");
    // The network is shared and kept; a build of another process may hold it for a moment.
    let deadline = Instant::now() + Duration::from_secs(60);
    while docker
        .docker()
        .inspect_network("gauntlet-build", None)
        .await
        .is_ok()
    {
        let removed = docker.docker().remove_network("gauntlet-build").await;
        if removed.is_err() {
            assert!(Instant::now() < deadline, "the build network stays in use");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    let dockerfile = "FROM scratch\nCOPY p /p\nRUN [\"/p\", \"127.0.0.1\", \"9\"]\n";
    let builds = (0..3).map(|i| {
        let test = format!("netrace{i}");
        async move {
            build(
                BuildPolicy::default(),
                &test,
                dockerfile,
                PROBE,
                BuildLimits {
                    network: BuildNetwork::Default,
                    ..BuildLimits::default()
                },
                BUILD_TIMEOUT,
            )
            .await
        }
    });
    for (outcome, lines) in futures_util::future::join_all(builds).await {
        outcome.unwrap_or_else(|e| panic!("{e}: {lines:?}"));
    }
    let named: Vec<_> = docker
        .docker()
        .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
        .await
        .expect("networks")
        .into_iter()
        .filter(|n| n.name.as_deref() == Some("gauntlet-build"))
        .collect();
    assert_eq!(named.len(), 1, "one build network, not one per build");
}
