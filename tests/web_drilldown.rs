//! The staff's run drill-down (issue 15): who re-graded a run and why, linked both ways and audited; whose run
//! and which attempt; the failure bundle, for staff who may see the run only, whose replay script sends the
//! checks' recorded requests and runs nothing it carries; and the learner's own service output and queue
//! place. Runs are seeded through the store as a worker would write them. SQLite and PostgreSQL.

mod common;

use common::app::{Db, Spawn, TestApp};
use gauntlet::domain::{Email, Role, RunState};
use gauntlet::store::{CheckResultRow, FinalResult, Lease};

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(super::Db::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(super::Db::Postgres).await })*
        }
    };
}

on_both_backends!(
    a_regrade_says_who_and_why_on_both_runs_and_in_the_audit_log,
    a_regrade_without_a_reason_is_refused_and_queues_nothing,
    a_regrade_of_a_waiting_run_ends_the_original,
    the_failure_bundle_is_for_staff_who_may_see_the_run,
    a_learner_reads_their_own_service_output_and_queue_place_only,
);

/// A transcript as the http kind writes it, with values a hostile service or check file could hold.
const HOSTILE_TRANSCRIPT: &str =
    "── step 1 of 2: POST http://172.18.0.9:4321/notes?q=%27$(touch%20pwned0)\n\
> content-type: text/plain; charset=utf-8\n\
> x-evil: it's $(touch pwned1) `touch pwned2` \"q\" $HOME\n\
>\n\
> @/etc/passwd it's $(touch pwned3)\n\
> `touch pwned4` \"double\" \\ back\\slash\n\
> \n\
> end\n\
expected: status 201\n\
< 500 (3 ms)\n\
< content-type: text/plain\n\
FAILED at step 1: status 500, expected 201\n\
── step 2 of 2: DELETE http://172.18.0.9:4321/notes/1'$(touch%20pwned5)\n\
expected: status 204\n";

/// What the replay must send for [`HOSTILE_TRANSCRIPT`], byte for byte.
const HOSTILE_BODY: &str =
    "@/etc/passwd it's $(touch pwned3)\n`touch pwned4` \"double\" \\ back\\slash\n\nend";

fn check(id: &str, title: &str, verdict: &str, detail: &str) -> CheckResultRow {
    CheckResultRow {
        position: 0,
        check_id: id.into(),
        title: title.into(),
        hint: String::new(),
        pillar: "correctness".into(),
        weight: 1.0,
        required: 0,
        verdict: verdict.into(),
        message: format!("{title}: {verdict}"),
        detail: detail.into(),
        duration_ms: 42,
    }
}

/// A run of `email`'s, graded by hand through the store as a worker would: failed, with a hostile transcript,
/// a build log and a container log of 300 lines.
async fn graded_run(app: &TestApp, email: &str, archive: &[u8]) -> i64 {
    let user = app
        .store
        .user_by_email(&Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap();
    let run = app
        .store
        .submit(user.id, "w01-hello", archive, 7)
        .await
        .unwrap();
    let claimed = app.store.claim_run("w", 60_000).await.unwrap().unwrap();
    assert_eq!(claimed.id, run, "the only waiting run");
    let mut checks = vec![
        check(
            "notes-create",
            "Notes' $(touch pwned6) <b>",
            "fail",
            HOSTILE_TRANSCRIPT,
        ),
        check("health", "Health", "pass", ""),
    ];
    checks[1].position = 1;
    let container_log: String = (1..=300).map(|i| format!("service line {i}\n")).collect();
    let result = FinalResult {
        state: RunState::Failed,
        stage: "checks".into(),
        reason: "1 of 2 checks failed".into(),
        detail: "hidden detail for staff".into(),
        score: Some(0.5),
        build_log: "Step 1/3 : FROM scratch\n".into(),
        container_log,
        checks,
        counts: true,
    };
    assert!(app
        .store
        .finish_run(&Lease::of(&claimed, "w"), &result)
        .await
        .unwrap());
    run
}

async fn two_cohorts(db: Db) -> (TestApp, TestApp, TestApp, TestApp) {
    let app = Spawn::default().db(db).start().await;
    app.signed_in_learner("ada@example.org").await;
    let bob = app.clone_for_another_client();
    bob.signed_in_learner("bob@example.org").await;
    let teacher = app.clone_for_another_client();
    teacher
        .signed_in_staff(
            "teacher@example.org",
            Role::Instructor,
            &["ada@example.org"],
        )
        .await;
    let other = app.clone_for_another_client();
    other
        .signed_in_staff("other@example.org", Role::Instructor, &["bob@example.org"])
        .await;
    (app, bob, teacher, other)
}

async fn a_regrade_says_who_and_why_on_both_runs_and_in_the_audit_log(db: Db) {
    let (ada, _bob, teacher, other) = two_cohorts(db).await;
    let first = graded_run(&ada, "ada@example.org", b"project one").await;
    let (status, page) = teacher.get_text(&format!("/runs/{first}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("submission 1 of 1 on this lab"),
        "which attempt: {page}"
    );
    let csrf = common::app::csrf_in(&page);
    // An instructor of another cohort cannot re-grade it, reason or not.
    let other_csrf = other.csrf("/").await;
    let res = other
        .post_form(
            &format!("/runs/{first}/regrade"),
            &[("csrf_token", &other_csrf), ("reason", "let me in")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 404);

    let reason = "timeout raised to 5 s <after> W09's fix";
    let res = teacher
        .post_form(
            &format!("/runs/{first}/regrade"),
            &[("csrf_token", &csrf), ("reason", reason)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let again: i64 = res.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/runs/")
        .parse()
        .unwrap();

    let (status, page) = teacher.get_text(&format!("/runs/{again}")).await;
    assert_eq!(status, 200);
    let escaped = "timeout raised to 5 s &#60;after&#62; W09&#39;s fix";
    assert!(
        page.contains(&format!(
            "by teacher@example.org from <a href=\"/runs/{first}\">run {first}</a>"
        )) && page.contains(escaped),
        "the re-grade names its origin, who and why, escaped: {page}"
    );
    assert!(!page.contains(reason), "{page}");
    let (_, page) = teacher.get_text(&format!("/runs/{first}")).await;
    assert!(
        page.contains(&format!("Run {again}</a> (re-grade"))
            && page.contains(&format!(
                "by teacher@example.org from run {first}: {escaped}"
            )),
        "the original links to its re-grade and says why: {page}"
    );
    // Same submission, same attempt; the learner's next submission is their second.
    assert!(page.contains("submission 1 of 1 on this lab"), "{page}");

    let entries = ada.store.audit_entries(None, 10).await.unwrap();
    let entry = entries
        .iter()
        .find(|e| e.action == "run.regrade")
        .expect("the re-grade is audited");
    assert_eq!(entry.actor, "teacher@example.org");
    assert_eq!(entry.target, format!("run {first}"));
    let details: serde_json::Value = serde_json::from_str(&entry.details).unwrap();
    assert_eq!(details["reason"], reason);
    assert_eq!(details["regrade_run"], again);

    // The learner sees neither who nor why.
    let (_, mine) = ada.get_text(&format!("/runs/{again}")).await;
    assert!(
        !mine.contains("teacher@example.org") && !mine.contains("W09"),
        "{mine}"
    );
}

/// A re-grade of a run no worker has claimed yet replaces it: the original ends (an error that does not count)
/// instead of holding a place under the learner's cap and being graded a second time later.
async fn a_regrade_of_a_waiting_run_ends_the_original(db: Db) {
    let (ada, _bob, _teacher, _other) = two_cohorts(db).await;
    let why = gauntlet::domain::RegradeReason::parse("the course moved on").unwrap();
    let by = gauntlet::store::Actor::command_line();
    // A finished run is left as it ended.
    let finished = graded_run(&ada, "ada@example.org", b"q").await;
    let before = ada.store.run(finished).await.unwrap().state;
    let first = ada
        .store
        .regrade(finished, 7, None, &by, &why)
        .await
        .unwrap();
    assert_eq!(ada.store.run(finished).await.unwrap().state, before);
    // A re-grade of the re-grade, still waiting, ends it.
    let again = ada.store.regrade(first, 7, None, &by, &why).await.unwrap();
    let original = ada.store.run(first).await.unwrap();
    assert_eq!(original.state, "error");
    assert!(
        original
            .reason
            .as_deref()
            .unwrap_or("")
            .contains(&format!("Replaced by re-grade run {again}")),
        "{original:?}"
    );
    assert_eq!(
        ada.store.live_runs_of(original.user_id).await.unwrap(),
        1,
        "only the new re-grade waits"
    );
}

async fn a_regrade_without_a_reason_is_refused_and_queues_nothing(db: Db) {
    let (ada, _bob, teacher, _other) = two_cohorts(db).await;
    let first = graded_run(&ada, "ada@example.org", b"project one").await;
    let csrf = teacher.csrf(&format!("/runs/{first}")).await;
    for reason in ["", "  ", "no", "line\nbreak"] {
        let res = teacher
            .post_form(
                &format!("/runs/{first}/regrade"),
                &[("csrf_token", &csrf), ("reason", reason)],
            )
            .await;
        assert_eq!(res.status().as_u16(), 422, "{reason:?}");
        let page = res.text().await.unwrap();
        assert!(page.contains("say why you re-grade"), "{page}");
    }
    let run = ada.store.run(first).await.unwrap();
    assert_eq!(
        ada.store
            .runs_of_submission(run.submission_id)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// The entry names of a `tar.gz`.
fn entries(bytes: &[u8]) -> Vec<String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect()
}

async fn the_failure_bundle_is_for_staff_who_may_see_the_run(db: Db) {
    let (ada, bob, teacher, other) = two_cohorts(db).await;
    let gz = {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, b"not really a tar").unwrap();
        enc.finish().unwrap()
    };
    let run = graded_run(&ada, "ada@example.org", &gz).await;
    let url = format!("/runs/{run}/bundle.tar.gz");

    let res = teacher.get(&url).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "application/gzip");
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(&format!("gauntlet-run-{run}.tar.gz")));
    let bytes = res.bytes().await.unwrap();
    let names = entries(&bytes);
    for name in [
        "README.md",
        "replay.sh",
        "project.tar.gz",
        "build.log",
        "container.log",
        "transcripts.txt",
    ] {
        assert!(
            names.contains(&format!("gauntlet-run-{run}/{name}")),
            "{name} in {names:?}"
        );
    }
    // The run page offers it to staff.
    let (_, page) = teacher.get_text(&format!("/runs/{run}")).await;
    assert!(page.contains(&format!("href=\"{url}\"")), "{page}");

    // Not to an instructor of another cohort, not to the learner (hidden checks), not to another learner.
    assert_eq!(other.get(&url).await.status().as_u16(), 404);
    assert_eq!(ada.get(&url).await.status().as_u16(), 404);
    assert_eq!(bob.get(&url).await.status().as_u16(), 404);
    let (_, mine) = ada.get_text(&format!("/runs/{run}")).await;
    assert!(!mine.contains("bundle.tar.gz"), "{mine}");
    // Nor to someone signed out.
    let anonymous = common::app::client();
    let res = anonymous.get(ada.url(&url)).send().await.unwrap();
    assert_ne!(res.status().as_u16(), 200);

    // An admin may, and once retention drops the archive the bundle says so instead of holding it.
    let admin = ada.clone_for_another_client();
    admin
        .signed_in_staff("admin@example.org", Role::Admin, &[])
        .await;
    let user = ada.store.run(run).await.unwrap().user_id;
    graded_run(&ada, "ada@example.org", b"second").await;
    assert_eq!(
        ada.store
            .drop_old_archives(user, "w01-hello", 1)
            .await
            .unwrap(),
        1
    );
    let res = admin.get(&url).await;
    assert_eq!(res.status().as_u16(), 200);
    let names = entries(&res.bytes().await.unwrap());
    assert!(!names.iter().any(|n| n.contains("project.")), "{names:?}");

    // Each download is audited (it takes hidden requests and the run's secrets off the platform); refusals
    // are not downloads.
    let downloads: Vec<String> = ada
        .store
        .audit_entries(None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "run.bundle")
        .map(|e| format!("{} {}", e.actor, e.target))
        .collect();
    assert_eq!(
        downloads,
        [
            format!("admin@example.org run {run}"),
            format!("teacher@example.org run {run}")
        ],
        "newest first"
    );
}

async fn a_learner_reads_their_own_service_output_and_queue_place_only(db: Db) {
    let (ada, bob, _teacher, _other) = two_cohorts(db).await;
    let run = graded_run(&ada, "ada@example.org", b"p").await;
    let (status, page) = ada.get_text(&format!("/runs/{run}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Your service's output"), "{page}");
    // The tail: the last 200 of 300 lines.
    assert!(
        page.contains("service line 300") && page.contains("service line 101\n"),
        "{page}"
    );
    assert!(!page.contains("service line 100\n"), "{page}");
    // Not the hidden parts.
    assert!(
        !page.contains("hidden detail for staff") && !page.contains("x-evil"),
        "{page}"
    );
    // Bob reads none of it.
    let (status, theirs) = bob.get_text(&format!("/runs/{run}")).await;
    assert_eq!(status, 404);
    assert!(!theirs.contains("service line"), "{theirs}");

    // A queued run says where it waits, to its learner; others get 404.
    let bob_user = ada
        .store
        .user_by_email(&Email::parse("bob@example.org").unwrap())
        .await
        .unwrap()
        .unwrap();
    let ada_user = ada.store.run(run).await.unwrap().user_id;
    let bobs = ada
        .store
        .submit(bob_user.id, "w01-hello", b"b", 1)
        .await
        .unwrap();
    let adas = ada
        .store
        .submit(ada_user, "w01-hello", b"a", 2)
        .await
        .unwrap();
    let (_, page) = bob.get_text(&format!("/runs/{bobs}")).await;
    assert!(page.contains("Waiting in the queue: position 1."), "{page}");
    let (_, page) = ada.get_text(&format!("/runs/{adas}")).await;
    assert!(page.contains("Waiting in the queue: position 2."), "{page}");
    assert_eq!(
        ada.get(&format!("/runs/{bobs}")).await.status().as_u16(),
        404
    );
}

/// Requests as a small listener received them.
#[derive(Debug)]
struct Received {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A listener on 127.0.0.1 that answers every request `200 ok` and keeps what it received.
fn listener() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<Received>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = got.clone();
    std::thread::spawn(move || {
        for stream in server.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            reader.read_line(&mut first).unwrap();
            let mut parts = first.split_whitespace();
            let method = parts.next().unwrap_or_default().to_string();
            let target = parts.next().unwrap_or_default().to_string();
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end_matches(['\r', '\n']);
                if line.is_empty() {
                    break;
                }
                let (n, v) = line.split_once(": ").unwrap();
                headers.push((n.to_ascii_lowercase(), v.to_string()));
            }
            let len: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .map_or(0, |(_, v)| v.parse().unwrap());
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            keep.lock().unwrap().push(Received {
                method,
                target,
                headers,
                body,
            });
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .unwrap();
        }
    });
    (port, got)
}

#[tokio::test]
async fn the_replay_script_sends_the_recorded_requests_and_runs_nothing_it_carries() {
    let (ada, _bob, teacher, _other) = two_cohorts(Db::Sqlite).await;
    let run = graded_run(&ada, "ada@example.org", b"p").await;
    let bytes = teacher
        .get(&format!("/runs/{run}/bundle.tar.gz"))
        .await
        .bytes()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]))
        .unpack(dir.path())
        .unwrap();
    let folder = dir.path().join(format!("gauntlet-run-{run}"));
    let (port, got) = listener();
    let out = std::process::Command::new("bash")
        .arg(folder.join("replay.sh"))
        .arg(format!("http://127.0.0.1:{port}/"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It says what it sends, what the check expected and what the grader saw, and prints the answers.
    assert!(
        stdout.contains("check notes-create (fail): Notes' $(touch pwned6) <b>"),
        "{stdout}"
    );
    assert!(
        stdout.contains("expected: status 201") && stdout.contains("recorded answer: 500 (3 ms)")
    );
    assert_eq!(stdout.matches("HTTP/1.1 200 OK").count(), 2, "{stdout}");
    assert!(stdout.contains("no HTTP request of this check"), "{stdout}");

    let got = got.lock().unwrap();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].target, "/notes?q=%27$(touch%20pwned0)");
    let header = |n: &str| {
        got[0]
            .headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        header("x-evil").as_deref(),
        Some("it's $(touch pwned1) `touch pwned2` \"q\" $HOME")
    );
    assert_eq!(
        header("content-type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(String::from_utf8_lossy(&got[0].body), HOSTILE_BODY);
    assert_eq!(got[1].method, "DELETE");
    assert_eq!(got[1].target, "/notes/1'$(touch%20pwned5)");
    assert!(got[1].body.is_empty());

    // Nothing the transcript carried ran: no file was made, here or in the bundle's folder.
    for place in [
        dir.path(),
        folder.as_path(),
        std::env::current_dir().unwrap().as_path(),
    ] {
        let made: Vec<_> = std::fs::read_dir(place)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with("pwned"))
            .collect();
        assert!(made.is_empty(), "{made:?} in {}", place.display());
    }
}
