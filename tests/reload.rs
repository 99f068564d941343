//! Curriculum reload without a restart (issue 15): a real `gauntlet serve` process on a temporary course reloads
//! on SIGHUP; an invalid tree keeps the old course live and the admin page lists the problems with file and
//! line; the admin button does the same over HTTP, on SQLite and PostgreSQL; instructors and learners are
//! refused.

mod common;

use std::time::Duration;

use common::app::{client, csrf_in, Db, Spawn, TestApp, PASSWORD};
use common::fixture::{module, Course};
use common::server::ServerProcess;
use gauntlet::config::DatabaseUrl;
use gauntlet::curriculum::LabVersion;
use gauntlet::domain::Role;
use gauntlet::store::Store;

/// Sends SIGHUP to the server process.
fn hangup(server: &ServerProcess) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// GETs `path` until its body contains `needle` (the reload runs in the background after the signal).
async fn eventually(http: &reqwest::Client, url: &str, needle: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        last = http
            .get(url)
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("body");
        if last.contains(needle) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never showed {needle:?}:\n{last}");
}

/// Creates an admin straight in the server's SQLite database and signs `http` in as them.
async fn admin_client(data: &std::path::Path, base: &str) -> reqwest::Client {
    let store = Store::connect(&DatabaseUrl::sqlite_in(data))
        .await
        .expect("the server's database");
    let hash = gauntlet::auth::password::hash(
        &gauntlet::domain::NewPassword::parse(PASSWORD).expect("password"),
    )
    .await
    .expect("hash");
    store
        .create_user(
            &gauntlet::domain::Email::parse("root@example.org").expect("email"),
            &gauntlet::domain::DisplayName::parse("Root").expect("name"),
            &hash,
            Role::Admin,
            None,
        )
        .await
        .expect("admin");
    let http = client();
    let page = http
        .get(format!("{base}/register"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    let res = http
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", csrf_in(&page).as_str()),
            ("email", "root@example.org"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(res.status().as_u16(), 303);
    http
}

#[tokio::test]
async fn sighup_reloads_a_valid_course_and_keeps_the_live_one_when_a_file_is_broken() {
    let course = Course::valid();
    let data = tempfile::tempdir().expect("data dir");
    let server = ServerProcess::start(
        data.path(),
        &course.curriculum(),
        &course.labs(),
        &[("GAUNTLET_WORKERS", "0")],
    )
    .await;
    let http = admin_client(data.path(), &server.base).await;
    let week = format!("{}/weeks/1", server.base);
    let admin = format!("{}/admin/curriculum", server.base);
    let before = eventually(&http, &admin, "server start").await;

    // A valid change: the module's title, then SIGHUP; the page shows it without a restart.
    course.write(
        "curriculum/week-01/module.md",
        &module(1, "[\"w01-hello\"]", "Body of week 1.")
            .replace("title = \"Week 1\"", "title = \"Week 1, reloaded\""),
    );
    hangup(&server);
    eventually(&http, &week, "Week 1, reloaded").await;
    let after = eventually(&http, &admin, "by SIGHUP").await;
    let version = |page: &str| {
        let at = page.find("id=\"course-version\">").expect("version") + 19;
        page[at..at + 12].to_string()
    };
    assert_ne!(
        version(&before),
        version(&after),
        "the version follows the files"
    );

    // A broken file: the old course stays live, and the admin page names the file and line.
    course.write(
        "curriculum/week-02/module.md",
        "+++\nweek = 2\ntitle = \"Week 2\"\nsummary = \"s\"\npillars = [\"no-such-pillar\"]\nobjectives = [\"o\"]\nlabs = []\n+++\n\n# Week 2\n",
    );
    hangup(&server);
    let page = eventually(&http, &admin, "Last refused reload").await;
    assert!(page.contains("curriculum/week-02/module.md"), "{page}");
    assert!(page.contains("no-such-pillar"), "{page}");
    assert!(
        page.contains("<td>5</td>"),
        "the line of the unknown pillar: {page}"
    );
    let week_page = http.get(&week).send().await.unwrap().text().await.unwrap();
    assert!(
        week_page.contains("Week 1, reloaded"),
        "the live course stays"
    );
    assert!(
        page.contains(&version(&after)),
        "the version did not change"
    );
    assert_eq!(
        http.get(format!("{}/healthz", server.base))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
}

/// POSTs the reload button with this client's CSRF token.
async fn press_reload(app: &TestApp) -> reqwest::Response {
    let csrf = app.csrf("/register").await;
    app.post_form("/admin/curriculum/reload", &[("csrf_token", &csrf)])
        .await
}

async fn the_button_reloads_or_keeps_the_course_and_audits_it(db: Db) {
    let app = Spawn::default().db(db).start().await;
    let root = app
        .signed_in_staff("root@example.org", Role::Admin, &[])
        .await;
    let course = app.course.clone().expect("the fixture course");
    let lab_dir = course.path("labs/w01-hello");
    let old = LabVersion::of_dir(&lab_dir).unwrap();
    // A run waiting under the lab's files as they are now.
    let waiting = app
        .store
        .submit_within(
            root,
            "w01-hello",
            b"project",
            1,
            gauntlet::domain::Quota::UNLIMITED,
            gauntlet::store::RunTerms {
                version: Some(old.as_str()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (status, page) = app.get_text("/admin/curriculum").await;
    assert_eq!(status, 200);
    assert!(page.contains("Fixture course") && page.contains("server start"));

    course.write(
        "curriculum/week-03/module.md",
        &module(3, "[]", "Body.").replace("title = \"Week 3\"", "title = \"Week 3 by button\""),
    );
    course.write(
        "labs/w01-hello/README.md",
        "# Hello\n\nClearer instructions.\n",
    );
    let res = press_reload(&app).await;
    assert_eq!(res.status().as_u16(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("The course was reloaded"), "{page}");
    assert!(
        page.contains("labs changed: w01-hello; 1 waiting run(s) moved"),
        "{page}"
    );
    // The waiting run moved to the lab's new version: this server's workers hold only that one now.
    let new = LabVersion::of_dir(&lab_dir).unwrap();
    assert_ne!(old, new);
    let run = app.store.run(waiting).await.unwrap();
    assert_eq!(run.lab_version.as_deref(), Some(new.as_str()));
    assert!(page.contains("by root@example.org"), "{page}");
    assert!(app
        .get_text("/weeks/3")
        .await
        .1
        .contains("Week 3 by button"));

    // A broken lab.toml: refused with 422, the problem listed with its file and line, the course unchanged.
    course.write(
        "labs/w01-hello/lab.toml",
        "title = \"Hello\"\nweek = 1\nsummary = \"Say hello\"\n\n[pillars]\nnot-a-pillar = 1.0\n",
    );
    let res = press_reload(&app).await;
    assert_eq!(res.status().as_u16(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("Nothing changed"), "{page}");
    assert!(page.contains("labs/w01-hello/lab.toml"), "{page}");
    assert!(page.contains("<td>6</td>"), "{page}");
    assert!(app
        .get_text("/weeks/3")
        .await
        .1
        .contains("Week 3 by button"));

    // A form without its CSRF token changes nothing.
    let res = app.post_form("/admin/curriculum/reload", &[]).await;
    assert_eq!(res.status().as_u16(), 403);

    let actions: Vec<String> = app
        .store
        .audit_entries(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.contains(&"curriculum.reload".to_string()));
    assert!(actions.contains(&"curriculum.reload_failed".to_string()));
}

async fn instructors_and_learners_cannot_reload(db: Db) {
    let app = Spawn::default().db(db).start().await;
    let course = app.course.clone().expect("the fixture course");
    app.signed_in_learner("ada@example.org").await;
    let teacher = app.clone_for_another_client();
    teacher
        .signed_in_staff("t@example.org", Role::Instructor, &["ada@example.org"])
        .await;
    course.write(
        "curriculum/week-04/module.md",
        &module(4, "[]", "Body.").replace("title = \"Week 4\"", "title = \"Week 4 changed\""),
    );
    for who in [&app, &teacher] {
        assert_eq!(who.get("/admin/curriculum").await.status().as_u16(), 403);
        assert_eq!(press_reload(who).await.status().as_u16(), 403);
    }
    assert!(
        !teacher
            .get_text("/weeks/4")
            .await
            .1
            .contains("Week 4 changed"),
        "nothing was reloaded"
    );
}

mod sqlite {
    use super::*;
    #[tokio::test]
    async fn the_button_reloads_or_keeps_the_course_and_audits_it() {
        super::the_button_reloads_or_keeps_the_course_and_audits_it(Db::Sqlite).await
    }
    #[tokio::test]
    async fn instructors_and_learners_cannot_reload() {
        super::instructors_and_learners_cannot_reload(Db::Sqlite).await
    }
}

mod postgres {
    use super::*;
    #[tokio::test]
    async fn the_button_reloads_or_keeps_the_course_and_audits_it() {
        super::the_button_reloads_or_keeps_the_course_and_audits_it(Db::Postgres).await
    }
    #[tokio::test]
    async fn instructors_and_learners_cannot_reload() {
        super::instructors_and_learners_cannot_reload(Db::Postgres).await
    }
}
