//! The `grader` kind on the real engine: a lab's own grader (here a tiny shell script on the local
//! `gauntlet-ci/debian:bookworm`, built from the lab's `grader/` folder) runs once per run beside the reference
//! service, and each test of its `results.json` becomes one check's outcome: the learner's message from the
//! test's `message`, staff's detail from its `output`. Every way a grader can go wrong (no file, bad JSON, a
//! 100 MB file, a crash, a hang, a try at the host) is a platform `error` with the grader's log, never a failure
//! counted against the learner; grader check files are refused with file and line.

mod common;

#[path = "checks_grader/fixture.rs"]
mod fixture;

#[path = "checks_grader/image.rs"]
mod image;

#[path = "checks_grader/pipeline.rs"]
mod pipeline;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::sandbox::{build_service, setup};
use fixture::{checks, lab, GraderImages, BASE};
use gauntlet::checks::{run_suite, CheckContext, CheckOutcome, Target, Verdict};
use gauntlet::grading::control::DockerControl;
use gauntlet::grading::grader::prepare;
use gauntlet::sandbox::StartSpec;

/// Grades the reference service with the lab's grader (named `name`, running `script`) and `checks`.
async fn graded(name: &str, script: &str, checks: &str) -> (Vec<CheckOutcome>, Duration) {
    common::starter::require_image(BASE, "scripts/ci-images");
    let root = tempfile::tempdir().expect("temp dir");
    let (lab, suite) = lab(root.path(), name, script, checks);
    let _images = GraderImages(lab.id.to_string());
    let (sandbox, run, _guard) = setup(&format!("grader-{name}")).await;
    let image = build_service(&sandbox, &run).await;
    let spec = StartSpec {
        env: vec![("GAUNTLET_SEED".into(), "7".into())],
        ..StartSpec::default()
    };
    let running = sandbox.start(&run, &image, &spec).await.expect("starts");
    let address = sandbox
        .wait_healthy(&running, "/healthz", Duration::from_secs(20))
        .await
        .expect("healthy");
    let url = url::Url::parse(&gauntlet::sandbox::base_url(address)).expect("url");
    let grader = prepare(&sandbox, &lab, &suite).await;
    assert!(
        grader.as_ref().is_some_and(|g| g.image().is_ok()),
        "{:?}",
        grader.as_ref().map(|g| g.image().err())
    );
    let project = root.path().join("project");
    std::fs::create_dir_all(&project).expect("project");
    std::fs::write(project.join("marker.txt"), "hello").expect("marker");
    let control = DockerControl::new(
        sandbox.clone(),
        running,
        "/healthz".into(),
        Duration::from_secs(20),
        url.clone(),
    )
    .with_project(project)
    .with_grader(grader);
    let ctx = CheckContext {
        seed: 7,
        env: Default::default(),
        control: Some(Arc::new(control)),
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let started = Instant::now();
    let outcomes = run_suite(&suite, &Target { base_url: url }, &ctx, &tx).await;
    let took = started.elapsed();
    // The grader's container and volumes are gone with its run, before the run's own clean-up.
    let left = std::process::Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=gauntlet.run={run}"),
            "--filter",
            "label=gauntlet.kind=grader",
        ])
        .output()
        .expect("docker CLI");
    assert!(left.stdout.is_empty(), "a grader container is left");
    (outcomes, took)
}

fn report(outcomes: &[CheckOutcome]) -> String {
    outcomes
        .iter()
        .map(|o| {
            format!(
                "{:?} {}: {}\n{}",
                o.verdict, o.check_id, o.message, o.detail
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn outcome<'a>(outcomes: &'a [CheckOutcome], id: &str) -> &'a CheckOutcome {
    outcomes
        .iter()
        .find(|o| o.check_id == id)
        .unwrap_or_else(|| panic!("no outcome for {id}"))
}

/// Every check is a platform error whose detail holds `why` and the grader's log line `said`.
fn all_platform_errors(outcomes: &[CheckOutcome], why: &str, said: &str) {
    assert_eq!(outcomes.len(), 3);
    for o in outcomes {
        assert_eq!(o.verdict, Verdict::Error, "{}", report(outcomes));
        assert!(
            o.message.contains("does not count against you"),
            "{}",
            o.message
        );
        assert!(o.detail.contains(why), "{why:?} not in {}", o.detail);
        assert!(o.detail.contains(said), "{said:?} not in {}", o.detail);
    }
}

/// The happy path's grader: test 1 passes only when the grader reached the service by `SERVICE_URL`, got the
/// seed and the lab's `[env]`, runs as Gauntlet's user and reads the submission read-only; 2 fails, 3 errs, and
/// one test no check declares.
const HAPPY: &str = r#"
set -u
echo "grader starting"
host=${SERVICE_URL#http://}
reply=$(timeout 5 bash -c "exec 3<>/dev/tcp/${host%:*}/${host##*:}; printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3; head -1 <&3" 2>&1 | tr -dc 'A-Za-z0-9 ./')
why=""
case "$reply" in *" 200"*) ;; *) why="$why health";; esac
[ "$(cat /submission/marker.txt 2>/dev/null)" = "hello" ] || why="$why submission"
touch /submission/written 2>/dev/null && why="$why submission-writable"
[ "${GAUNTLET_SEED:-}" = "7" ] || why="$why seed"
[ "${GREETING:-}" = "hi" ] || why="$why lab-env"
[ "$(id -u)" = "10001" ] || why="$why user"
if [ -z "$why" ]; then first='"status":"pass"'; else first="\"status\":\"fail\",\"message\":\"env:$why\""; fi
cat > "$RESULTS_DIR/results.json" <<JSON
{"version":3,"status":"fail","tests":[
 {"name":"talks to the service",$first,"output":"reply was $reply"},
 {"name":"fails politely","status":"fail","message":"the counter went backwards","output":"transcript: PUT 42 then GET 41","test_code":"assert counter >= 42","task_id":2},
 {"name":"errs","status":"error","message":"connection reset by the service"},
 {"name":"undeclared extra","status":"pass"}]}
JSON
echo "grader done"
"#;

#[tokio::test]
async fn each_test_of_the_results_is_one_check_with_the_message_for_the_learner_and_the_output_for_staff(
) {
    let (outcomes, took) = graded("happy", HAPPY, &checks(20)).await;
    eprintln!("three grader checks off one grader run: {took:?}");
    let talks = outcome(&outcomes, "talks");
    assert_eq!(talks.verdict, Verdict::Pass, "{}", report(&outcomes));
    assert_eq!(talks.message, "passed");
    let fails = outcome(&outcomes, "fails");
    assert_eq!(fails.verdict, Verdict::Fail);
    assert_eq!(fails.message, "failed: the counter went backwards");
    assert!(!fails.message.contains("transcript"), "{}", fails.message);
    for staff in [
        "transcript: PUT 42 then GET 41",
        "assert counter >= 42",
        "task_id: 2",
        "undeclared extra",
        "grader done",
    ] {
        assert!(
            fails.detail.contains(staff),
            "{staff:?} not in {}",
            fails.detail
        );
    }
    let errs = outcome(&outcomes, "errs");
    assert_eq!(
        errs.verdict,
        Verdict::Fail,
        "a test's error is the learner's"
    );
    assert!(errs.message.contains("connection reset by the service"));
    // One execution for the three checks: the grader's log says it started once.
    assert_eq!(errs.detail.matches("grader starting").count(), 1);
}

#[tokio::test]
async fn a_grader_that_leaves_no_results_file_is_a_platform_error() {
    let script = "echo 'nothing to report'\nexit 0\n";
    let (outcomes, _) = graded("nofile", script, &checks(20)).await;
    all_platform_errors(&outcomes, "left no results.json", "nothing to report");
}

#[tokio::test]
async fn a_results_file_that_is_not_json_is_a_platform_error() {
    let script =
        "echo 'writing garbage'\necho '{\"status\": pass' > \"$RESULTS_DIR/results.json\"\n";
    let (outcomes, _) = graded("badjson", script, &checks(20)).await;
    all_platform_errors(&outcomes, "not valid JSON", "writing garbage");
}

#[tokio::test]
async fn a_100_mb_results_file_is_a_platform_error_read_no_further_than_the_cap() {
    let script =
        "echo 'writing 100 MB'\nhead -c 104857600 /dev/zero > \"$RESULTS_DIR/results.json\"\n";
    let (outcomes, _) = graded("huge", script, &checks(60)).await;
    all_platform_errors(&outcomes, "larger than 1048576 bytes", "writing 100 MB");
}

#[tokio::test]
async fn a_grader_that_crashes_is_a_platform_error_with_its_exit_code() {
    let script = "echo 'panic: index out of range' >&2\nexit 3\n";
    let (outcomes, _) = graded("crash", script, &checks(20)).await;
    all_platform_errors(&outcomes, "exited with code 3", "panic: index out of range");
}

#[tokio::test]
async fn a_grader_that_hangs_is_stopped_at_its_budget_and_is_a_platform_error() {
    let script = "echo 'waiting forever'\nsleep 600\n";
    let (outcomes, took) = graded("hang", script, &checks(3)).await;
    eprintln!("a grader hanging past a 3 s budget ended its checks in {took:?}");
    all_platform_errors(&outcomes, "still running after 3 s", "waiting forever");
    assert!(took < Duration::from_secs(20), "{took:?}");
}

/// This machine's IPv4 addresses but loopback (the docker bridges' included), from `ip -4 addr`.
fn host_ipv4_addresses() -> Vec<String> {
    let out = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show"])
        .output()
        .expect("ip runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let addr = l.split_whitespace().skip_while(|w| *w != "inet").nth(1)?;
            let addr = addr.split('/').next()?.to_string();
            (!addr.starts_with("127.")).then_some(addr)
        })
        .collect()
}

#[tokio::test]
async fn a_grader_cannot_reach_the_host_and_its_failed_try_is_a_platform_error() {
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
        .await
        .expect("listener");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let task = tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    let addresses = host_ipv4_addresses();
    assert!(
        addresses.len() >= 2,
        "this machine and its docker bridge: {addresses:?}"
    );
    // Reaching any address would write passing results: only isolation makes this an error.
    let script = format!(
        "for ip in {}; do\n  if timeout 2 bash -c \"echo hi > /dev/tcp/$ip/{port}\" 2>/dev/null; then\n    \
         echo \"reached $ip\"\n    \
         echo '{{\"status\":\"pass\",\"tests\":[{{\"name\":\"talks to the service\",\"status\":\"pass\"}},{{\"name\":\"fails politely\",\"status\":\"pass\"}},{{\"name\":\"errs\",\"status\":\"pass\"}}]}}' > \"$RESULTS_DIR/results.json\"\n    \
         exit 0\n  fi\n  echo \"blocked $ip\"\ndone\nexit 4\n",
        addresses.join(" ")
    );
    let (outcomes, _) = graded("host", &script, &checks(30)).await;
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "the grader reached the host"
    );
    task.abort();
    all_platform_errors(&outcomes, "exited with code 4", "blocked");
}
