//! Starter projects: the w01 starter runs as shipped and fails exactly the checks the lab leaves to the learner;
//! a lab's `starter/` folder (and nothing else of the lab) is downloadable from the lab page, the API and
//! `gauntlet starter`, which never unpacks over existing work.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::app::{Spawn, TestApp};
use common::fixture::Course;
use gauntlet::checks::{run_suite, CheckContext, CheckSuite, Target, Verdict};

/// The checks the w01 starter leaves to the learner (its TODOs: JSON 404s, and methods other than GET, which
/// the standard library answers 501); everything else must pass as shipped.
const LEFT_TO_THE_LEARNER: [&str; 3] = [
    "unknown-route-json-404",
    "wrong-method-json-405",
    "health-survives-bad-input",
];

#[tokio::test]
async fn the_w01_starter_runs_and_fails_exactly_the_checks_left_to_the_learner() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lab = root.join("labs/w01-health");
    let port = common::ports::free_port();
    // The starter as shipped, started the way its Dockerfile starts it, on the port the grader picks.
    let mut child = Command::new("python3")
        .arg("app.py")
        .current_dir(lab.join("starter"))
        .env("PORT", port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs the starter");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the starter never listened on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let suite = CheckSuite::load(&lab, &["language".to_string()]).unwrap();
    let target = Target {
        base_url: url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap(),
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let outcomes = run_suite(&suite, &target, &CheckContext::default(), &tx).await;
    // A prober's query string (the w01 checks send `/healthz?probe=…`) leaves the health path healthy; the
    // check that sends it fails for the TODOs first, so it is asked here on its own.
    let probed = reqwest::get(format!("http://127.0.0.1:{port}/healthz?probe=starter"))
        .await
        .expect("GET /healthz?probe=starter");
    let probed_status = probed.status().as_u16();
    let probed_type = probed
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let _ = child.kill();
    let _ = child.wait();
    let mut log = String::new();
    let _ = child.stdout.take().unwrap().read_to_string(&mut log);

    for o in &outcomes {
        let expected = if LEFT_TO_THE_LEARNER.contains(&o.check_id.as_str()) {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        assert_eq!(
            o.verdict, expected,
            "{}: {}\n{}",
            o.check_id, o.message, o.detail
        );
    }
    assert_eq!(outcomes.len(), suite.checks.len());
    assert_eq!(probed_status, 200, "GET /healthz with a query string");
    assert!(probed_type.starts_with("application/json"), "{probed_type}");
    assert!(
        log.contains("GET /healthz"),
        "one log line per request: {log}"
    );
}

/// A course whose lab `w01-hello` has a starter, with the hidden checks beside it.
fn course_with_starter() -> Course {
    let course = Course::valid();
    course.write(
        "labs/w01-hello/starter/Dockerfile",
        "FROM scratch\nCOPY app /app\n",
    );
    course.write("labs/w01-hello/starter/app.py", "print('hello')\n");
    course.write("labs/w01-hello/starter/.dockerignore", "notes.txt\n");
    course.write(
        "labs/w01-hello/starter/notes.txt",
        "ignored like an upload\n",
    );
    course.write(
        "labs/w01-hello/checks/hidden.toml",
        "[[check]]\nid = \"hidden\"\nkind = \"http\"\ntitle = \"H\"\npillar = \"language\"\n[[check.step]]\npath = \"/secret-payload\"\n",
    );
    course
}

async fn app(course: &Course) -> TestApp {
    Spawn::default()
        .curriculum(course.curriculum(), course.labs())
        .start()
        .await
}

/// The files of a `.tar.gz`, sorted.
fn files_in(archive: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x");
    gauntlet::archive::unpack(archive, &dest, &gauntlet::archive::ArchiveLimits::default())
        .unwrap();
    let mut names: Vec<String> = walk(&dest)
        .into_iter()
        .map(|p| {
            p.strip_prefix(&dest)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[tokio::test]
async fn the_lab_page_offers_the_starter_and_it_holds_only_the_starter_folder() {
    let course = course_with_starter();
    let app = app(&course).await;

    let anonymous = app.get("/labs/w01-hello/starter.tar.gz").await;
    assert_eq!(anonymous.status().as_u16(), 303, "sign-in first");

    app.signed_in_learner("ada@example.org").await;
    let (_, page) = app.get_text("/labs/w01-hello").await;
    assert!(
        page.contains("href=\"/labs/w01-hello/starter.tar.gz\""),
        "{page}"
    );
    let res = app.get("/labs/w01-hello/starter.tar.gz").await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "application/gzip");
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("w01-hello-starter.tar.gz"));
    let bytes = res.bytes().await.unwrap();
    assert_eq!(files_in(&bytes), [".dockerignore", "Dockerfile", "app.py"]);
    // Only the starter's files: the hidden checks beside it are not in the archive (exact list above).
    let traversal = app.get("/labs/..%2Fw01-hello/starter.tar.gz").await;
    assert_eq!(
        traversal.status().as_u16(),
        404,
        "a lab id is parsed, never joined as a path"
    );

    // A lab without a starter offers none.
    course.remove("labs/w01-hello/starter");
    let app = app_without_starter(&course).await;
    let (_, page) = app.get_text("/labs/w01-hello").await;
    assert!(!page.contains("starter.tar.gz"), "{page}");
    assert_eq!(
        app.get("/labs/w01-hello/starter.tar.gz")
            .await
            .status()
            .as_u16(),
        404
    );
}

async fn app_without_starter(course: &Course) -> TestApp {
    let app = app(course).await;
    app.signed_in_learner("bob@example.org").await;
    app
}

fn starter_cli(server: &str, token: &str, lab: &str, dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(["starter", "--lab", lab, "--server", server])
        .arg(dir)
        .env("GAUNTLET_TOKEN", token)
        .output()
        .expect("gauntlet starter")
}

#[tokio::test]
async fn gauntlet_starter_unpacks_into_a_new_folder_and_never_over_existing_work() {
    let course = course_with_starter();
    let app = app(&course).await;
    app.signed_in_learner("ada@example.org").await;
    let token = app.api_token("laptop").await;
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("notes");

    let run = |lab: &'static str, dir: std::path::PathBuf| {
        let (addr, token) = (app.address.clone(), token.clone());
        tokio::task::spawn_blocking(move || starter_cli(&addr, &token, lab, &dir))
    };
    let out = run("w01-hello", dest.clone()).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("3 files") && stdout.contains("gauntlet submit --lab w01-hello"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("app.py")).unwrap(),
        "print('hello')\n"
    );

    // Again into the same folder: refused, and the learner's edits stay.
    std::fs::write(dest.join("app.py"), "my work\n").unwrap();
    let out = run("w01-hello", dest.clone()).await.unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not empty"),
        "{out:?}"
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("app.py")).unwrap(),
        "my work\n"
    );

    // No such lab, or a bad token: a clear refusal, nothing written.
    let out = run("w99-none", work.path().join("other")).await.unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("has no starter project"),
        "{out:?}"
    );
    assert!(!work.path().join("other").exists());
    let bad = {
        let (addr, dir) = (app.address.clone(), work.path().join("third"));
        tokio::task::spawn_blocking(move || starter_cli(&addr, "gnt_wrong", "w01-hello", &dir))
    };
    let out = bad.await.unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{out:?}"
    );
}

/// The course above, with a second starter in Rust (`starters/rust/`) and the default one labelled Python.
fn course_with_two_starters() -> Course {
    let course = course_with_starter();
    course.write(
        "labs/w01-hello/lab.toml",
        "title = \"Hello\"\nweek = 1\nsummary = \"Say hello\"\n\n[pillars]\nlanguage = 1.0\n\n[starters]\ndefault = \"Python\"\nrust = \"Rust\"\n",
    );
    course.write(
        "labs/w01-hello/starters/rust/Dockerfile",
        "FROM scratch\nCOPY accounts /accounts\n",
    );
    course.write("labs/w01-hello/starters/rust/src/main.rs", "fn main() {}\n");
    course
}

#[tokio::test]
async fn a_lab_with_several_starters_offers_each_by_language_and_serves_each_folder_only() {
    let course = course_with_two_starters();
    let app = app(&course).await;
    assert_eq!(
        app.get("/labs/w01-hello/starters/rust.tar.gz")
            .await
            .status()
            .as_u16(),
        303,
        "sign-in first"
    );
    app.signed_in_learner("ada@example.org").await;
    let (_, page) = app.get_text("/labs/w01-hello").await;
    assert!(
        page.contains("href=\"/labs/w01-hello/starter.tar.gz\"")
            && page.contains("Download the Python starter project"),
        "{page}"
    );
    assert!(
        page.contains("href=\"/labs/w01-hello/starters/rust.tar.gz\"")
            && page.contains("Download the Rust starter project")
            && page.contains("gauntlet starter --lab w01-hello --name rust DIR"),
        "{page}"
    );
    assert!(
        page.find("Python starter") < page.find("Rust starter"),
        "the default first"
    );

    let token = app.api_token("laptop").await;
    for (url, bearer) in [
        ("/labs/w01-hello/starters/rust.tar.gz", None),
        ("/api/v1/labs/w01-hello/starters/rust.tar.gz", Some(&token)),
    ] {
        let res = match bearer {
            Some(t) => app.client.get(app.url(url)).bearer_auth(t).send().await,
            None => app.client.get(app.url(url)).send().await,
        }
        .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{url}");
        assert!(
            res.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains("w01-hello-starter-rust.tar.gz"),
            "{url}"
        );
        let bytes = res.bytes().await.unwrap();
        assert_eq!(files_in(&bytes), ["Dockerfile", "src/main.rs"], "{url}");
    }
    // `default` names the default starter; the old route still serves it.
    let res = app
        .client
        .get(app.url("/api/v1/labs/w01-hello/starters/default.tar.gz"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let bytes = res.bytes().await.unwrap();
    assert_eq!(files_in(&bytes), [".dockerignore", "Dockerfile", "app.py"]);

    // An unknown name, a name that is not one, a path in the name, no such lab: 404, site and API alike.
    for url in [
        "/labs/w01-hello/starters/go.tar.gz",
        "/labs/w01-hello/starters/rust",
        "/labs/w01-hello/starters/..%2Fstarter.tar.gz",
        "/labs/w01-hello/starters/Rust.tar.gz",
        "/labs/w99-none/starters/rust.tar.gz",
    ] {
        assert_eq!(app.get(url).await.status().as_u16(), 404, "{url}");
        let api = app
            .client
            .get(app.url(&format!("/api/v1{url}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(api.status().as_u16(), 404, "/api/v1{url}");
        assert!(
            api.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "/api/v1{url}: a JSON error"
        );
    }
    // The API refuses a caller without a token.
    assert_eq!(
        app.client
            .get(app.url("/api/v1/labs/w01-hello/starters/rust.tar.gz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
}

fn starter_cli_named(
    server: &str,
    token: &str,
    name: &str,
    dir: Option<&Path>,
) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gauntlet"));
    cmd.args([
        "starter",
        "--lab",
        "w01-hello",
        "--name",
        name,
        "--server",
        server,
    ]);
    if let Some(dir) = dir {
        cmd.arg(dir);
    }
    cmd.env("GAUNTLET_TOKEN", token)
        .output()
        .expect("gauntlet starter --name")
}

#[tokio::test]
async fn gauntlet_starter_name_downloads_that_starter_and_an_unknown_name_is_a_clear_error() {
    let course = course_with_two_starters();
    let app = app(&course).await;
    app.signed_in_learner("ada@example.org").await;
    let token = app.api_token("laptop").await;
    let work = tempfile::tempdir().unwrap();

    let run = |name: &'static str, dir: Option<std::path::PathBuf>, cwd: bool| {
        let (addr, token, cwd_dir) = (
            app.address.clone(),
            token.clone(),
            work.path().to_path_buf(),
        );
        tokio::task::spawn_blocking(move || {
            if cwd {
                // Without DIR: the default folder, LAB-NAME, in the current directory.
                Command::new(env!("CARGO_BIN_EXE_gauntlet"))
                    .args([
                        "starter",
                        "--lab",
                        "w01-hello",
                        "--name",
                        name,
                        "--server",
                        &addr,
                    ])
                    .current_dir(&cwd_dir)
                    .env("GAUNTLET_TOKEN", &token)
                    .output()
                    .expect("gauntlet starter --name")
            } else {
                starter_cli_named(&addr, &token, name, dir.as_deref())
            }
        })
    };
    let out = run("rust", None, true).await.unwrap();
    assert!(out.status.success(), "{out:?}");
    let dest = work.path().join("w01-hello-rust");
    assert_eq!(
        std::fs::read_to_string(dest.join("src/main.rs")).unwrap(),
        "fn main() {}\n"
    );
    assert!(!dest.join("app.py").exists(), "only the Rust starter");

    let out = run("go", Some(work.path().join("go")), false)
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no starter named `go`"), "{err}");
    assert!(!work.path().join("go").exists(), "nothing written");

    let out = run("../x", Some(work.path().join("bad")), false)
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a starter name"), "{err}");
    assert!(!work.path().join("bad").exists(), "nothing written");
}
