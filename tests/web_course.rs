//! The course pages over real HTTP: the map, each week, each lab; what must never be served; inert author HTML.

mod common;

use common::app::{spawn_app, Spawn};
use common::fixture::{self, Course};

#[tokio::test]
async fn every_bundled_week_and_lab_renders_for_a_signed_in_learner() {
    let app = Spawn::default().bundled().start().await;
    app.signed_in_learner("ada@example.org").await;
    let (status, map) = app.get_text("/").await;
    assert_eq!(status, 200);
    let curriculum = gauntlet::curriculum::Curriculum::load(
        &common::app::bundled().0,
        &common::app::bundled().1,
    )
    .expect("the bundled course loads");
    for pillar in &curriculum.course.pillars {
        assert!(
            map.contains(&pillar.name),
            "map shows pillar {}",
            pillar.name
        );
    }
    for module in &curriculum.modules {
        let n = module.week.number();
        assert!(
            map.contains(&format!("href=\"/weeks/{n}\"")),
            "map links week {n}"
        );
        let (status, page) = app.get_text(&format!("/weeks/{n}")).await;
        assert_eq!(status, 200, "week {n}");
        assert!(
            page.contains(&escape(&module.title)),
            "week {n} shows its title"
        );
        assert!(
            page.contains("aria-label=\"Contents\""),
            "week {n} has a table of contents"
        );
        for lab in curriculum.labs_of(module) {
            assert!(page.contains(&format!("href=\"/labs/{}\"", lab.id)));
            let (status, lab_page) = app.get_text(&format!("/labs/{}", lab.id)).await;
            assert_eq!(status, 200, "lab {}", lab.id);
            assert!(lab_page.contains(&escape(&lab.title)));
        }
    }
    assert_eq!(curriculum.modules.len(), 12);
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[tokio::test]
async fn the_map_shows_progress_per_pillar_from_the_database() {
    let app = spawn_app().await;
    app.signed_in_learner("ada@example.org").await;
    let (_, before) = app.get_text("/").await;
    assert!(before.contains("value=\"0\""), "no progress yet");
    let email = gauntlet::domain::Email::parse("ada@example.org").unwrap();
    let user = app.store.user_by_email(&email).await.unwrap().unwrap();
    app.store
        .record_attempt(user.id, "w01-hello", 0.5, false)
        .await
        .unwrap();
    let (_, after) = app.get_text("/").await;
    assert!(
        after.contains("value=\"50\""),
        "progress comes from lab_progress"
    );
}

#[tokio::test]
async fn an_unknown_week_or_lab_gets_a_404_page() {
    let app = spawn_app().await;
    app.signed_in_learner("ada@example.org").await;
    for path in [
        "/weeks/13",
        "/weeks/0",
        "/weeks/-1",
        "/weeks/abc",
        "/labs/nope",
        "/nowhere",
    ] {
        let (status, page) = app.get_text(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(
            page.contains("<html"),
            "{path} gives a page, not a bare error"
        );
        assert!(
            page.contains("not found") || page.contains("Not found"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn hidden_check_files_and_paths_outside_the_public_files_are_never_served() {
    let app = spawn_app().await;
    app.signed_in_learner("ada@example.org").await;
    let probes = [
        "/labs/w01-hello/checks/hidden.toml",
        "/labs/w01-hello/lab.toml",
        "/labs/w01-hello/../w01-hello/checks/hidden.toml",
        "/labs/..%2Fw01-hello%2Fchecks%2Fhidden.toml",
        "/labs/w01-hello%2Fchecks%2Fhidden.toml",
        "/labs/%2e%2e%2fcurriculum%2fcourse.toml",
        "/labs/w01-hello%2F..%2F..%2Fcurriculum%2Fcourse.toml",
        "/static/../labs/w01-hello/checks/hidden.toml",
        "/static/..%2F..%2Flabs%2Fw01-hello%2Fchecks%2Fhidden.toml",
        "/static/%2e%2e/%2e%2e/Cargo.toml",
        "/weeks/1/../../labs/w01-hello/checks/hidden.toml",
        "/labs/w01-hello/README.md",
    ];
    for path in probes {
        let res = app
            .client
            .get(format!("{}{}", app.address, path))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        assert!(
            !body.contains("HIDDEN-CHECK-SECRET") && !body.contains("[[pillars]]"),
            "{path} leaked a file ({status})"
        );
        assert!(status == 404 || status == 400, "{path} gave {status}");
    }
    let (status, page) = app.get_text("/labs/w01-hello").await;
    assert_eq!(status, 200);
    assert!(page.contains("Public instructions"));
    assert!(!page.contains("HIDDEN-CHECK-SECRET"));
}

#[tokio::test]
async fn author_html_with_script_or_event_handlers_is_rendered_inert() {
    let course = Course::valid();
    course.write(
        "curriculum/week-02/module.md",
        &fixture::module(
            2,
            "[]",
            "Hello <script>alert('pwned')</script> there.\n\n<img src=x onerror=\"alert(1)\">\n\n<a href=\"javascript:alert(2)\">click</a>\n\n<iframe src=\"//evil.example\"></iframe>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        ),
    );
    let app = Spawn::default()
        .curriculum(course.curriculum(), course.labs())
        .start()
        .await;
    app.signed_in_learner("ada@example.org").await;
    let (status, page) = app.get_text("/weeks/2").await;
    assert_eq!(status, 200);
    let body = &page[page.find("<div class=\"prose\">").expect("the module body")..];
    assert!(!body.contains("<script"), "{body}");
    assert!(!body.contains("onerror"), "{body}");
    assert!(!body.contains("javascript:"), "{body}");
    assert!(!body.contains("<iframe"), "{body}");
    assert!(body.contains("<table>"), "markdown tables still render");
    let csp = app.get("/weeks/2").await.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
}

#[tokio::test]
async fn static_assets_are_served_locally_with_long_cache_headers() {
    let app = spawn_app().await;
    let (_, login) = app.get_text("/login").await;
    for needle in [
        "/static/vendor/htmx-",
        "/static/vendor/pico-",
        "/static/app.css",
        "/static/favicon.svg",
    ] {
        let at = login
            .find(needle)
            .unwrap_or_else(|| panic!("the page loads {needle}"));
        let end = login[at..].find('"').unwrap() + at;
        let res = app.get(&login[at..end]).await;
        assert_eq!(res.status().as_u16(), 200, "{needle}");
        let cache = res.headers()["cache-control"].to_str().unwrap().to_string();
        assert!(cache.contains("max-age=31536000"), "{cache}");
    }
    assert!(
        !login.contains("src=\"http"),
        "nothing loads from another host"
    );
    assert!(
        !login.contains("href=\"http"),
        "nothing loads from another host"
    );
    let license = app.get("/static/vendor/LICENSE-htmx").await;
    assert_eq!(license.status().as_u16(), 200);
    // Asked for by browsers on answers without a page around them.
    let icon = app.get("/favicon.ico").await;
    assert_eq!(icon.status().as_u16(), 200);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    assert!(icon.text().await.unwrap().starts_with("<svg"));
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status().as_u16(), 200);
    let (status, ready) = app.get_text("/readyz").await;
    assert_eq!(status, 200, "{ready}");
    app.get("/login").await;
    let (status, metrics) = app.get_text("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains(
            "gauntlet_http_requests_total{method=\"GET\",route=\"/login\",status=\"200\"}"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("gauntlet_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn readyz_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.store.close().await;
    let (status, _) = app.get_text("/readyz").await;
    assert_eq!(status, 503);
    assert_eq!(
        app.get("/healthz").await.status().as_u16(),
        200,
        "the process is still up"
    );
}

#[tokio::test]
async fn pages_work_without_javascript() {
    // Every form is a plain HTML form with an action and a method; htmx only enhances.
    let app = spawn_app().await;
    app.signed_in_learner("ada@example.org").await;
    let (_, map) = app.get_text("/").await;
    assert!(
        map.contains("<form")
            && map.contains("action=\"/logout\"")
            && map.contains("method=\"post\"")
    );
    let fresh = common::app::client();
    let login = fresh
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains("action=\"/login\"") && login.contains("method=\"post\""));
}

#[tokio::test]
async fn a_lab_without_checks_neither_helps_nor_holds_back_its_pillar() {
    let course = Course::valid();
    course.write(
        "curriculum/week-02/module.md",
        &fixture::module(2, "[\"w02-later\"]", "Body of week 2."),
    );
    course.write(
        "labs/w02-later/lab.toml",
        "title = \"Later\"\nweek = 2\nsummary = \"No checks yet\"\n\n[pillars]\nlanguage = 1.0\n",
    );
    course.write("labs/w02-later/README.md", "# Later\n\nChecks to come.\n");
    let app = Spawn::default()
        .curriculum(course.curriculum(), course.labs())
        .start()
        .await;
    app.signed_in_learner("ada@example.org").await;
    let email = gauntlet::domain::Email::parse("ada@example.org").unwrap();
    let user = app.store.user_by_email(&email).await.unwrap().unwrap();
    app.store
        .record_attempt(user.id, "w01-hello", 1.0, true)
        .await
        .unwrap();
    // The language pillar has two labs; only the graded one counts, so passing it is the whole pillar.
    let (_, map) = app.get_text("/").await;
    assert!(map.contains("value=\"100\""), "{map}");
}
