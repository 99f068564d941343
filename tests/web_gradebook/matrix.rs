//! What the gradebook says and how it is cut: best verdicts, attempts, pillar averages and at-risk flags;
//! sorting and filters by query string (the htmx partial and the full page alike); the exports; check analytics;
//! the learner page.

use super::seed::{self, Check, DAY};
use crate::common::app::{Db, TestApp};
use gauntlet::domain::{Role, RunState};

/// A cohort of five: Ada passed w01 on her second run and failed w02 once; Bob failed the same w02 check three
/// times (at risk); Cy never submitted; Dee has a run waiting; Eve failed w02 once. Plus an instructor.
struct Cohort {
    app: TestApp,
    teacher: TestApp,
    id: i64,
    ada: i64,
    bob: i64,
    ada_pass: i64,
    bob_last: i64,
}

async fn cohort(db: Db) -> Cohort {
    let app = seed::app(db).await;
    let id = seed::cohort(&app, "Spring").await;
    let ada = seed::learner(&app, id, "ada@example.org", "Ada").await;
    let bob = seed::learner(&app, id, "bob@example.org", "Bob").await;
    let cy = seed::learner(&app, id, "cy@example.org", "Cy").await;
    let dee = seed::learner(&app, id, "dee@example.org", "Dee").await;
    let eve = seed::learner(&app, id, "eve@example.org", "Eve").await;
    let _ = cy;
    let fail_health: [Check; 1] = [("health-json", "fail", "got 500")];
    let pass_health: [Check; 1] = [("health-json", "pass", "")];
    seed::run(&app, ada, "w01-health", RunState::Failed, 0.4, &fail_health).await;
    let ada_pass = seed::run(&app, ada, "w01-health", RunState::Passed, 1.0, &pass_health).await;
    seed::run(
        &app,
        ada,
        "w02-crud",
        RunState::Failed,
        0.6,
        &[("create", "pass", ""), ("list", "fail", "empty list")],
    )
    .await;
    let create = |m| [("create", "fail", m), ("list", "pass", "")];
    seed::run(
        &app,
        bob,
        "w02-crud",
        RunState::Failed,
        0.3,
        &create("expected 201, got 200"),
    )
    .await;
    seed::run(
        &app,
        bob,
        "w02-crud",
        RunState::Failed,
        0.3,
        &create("expected 201, got 200"),
    )
    .await;
    let bob_last = seed::run(
        &app,
        bob,
        "w02-crud",
        RunState::Failed,
        0.3,
        &create("timed out"),
    )
    .await;
    seed::in_progress(&app, dee, "w01-health").await;
    seed::run(
        &app,
        eve,
        "w02-crud",
        RunState::Failed,
        0.5,
        &create("expected 201, got 200"),
    )
    .await;
    let teacher = app.clone_for_another_client();
    teacher
        .signed_in_staff(
            "teacher@example.org",
            Role::Instructor,
            &["ada@example.org"],
        )
        .await;
    Cohort {
        app,
        teacher,
        id,
        ada,
        bob,
        ada_pass,
        bob_last,
    }
}

/// The learners' e-mails in the order a page lists them.
fn order(body: &str) -> Vec<&'static str> {
    let mut found: Vec<(usize, &'static str)> = ["ada", "bob", "cy", "dee", "eve"]
        .iter()
        .filter_map(|n| {
            let email: &'static str = Box::leak(format!("{n}@example.org").into_boxed_str());
            body.find(&format!("<small class=\"muted\">{email}</small>"))
                .map(|i| (i, *n))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, n)| n).collect()
}

pub async fn cells_show_the_best_verdict_attempts_and_flags(db: Db) {
    let c = cohort(db).await;
    let (status, page) = c
        .teacher
        .get_text(&format!("/cohorts/{}/gradebook", c.id))
        .await;
    assert_eq!(status, 200);
    // Ada's w01 cell: passed (her best run, linked), 100 %, two runs; colour comes with the word.
    assert!(
        page.contains(&format!("<a href=\"/runs/{}\">passed</a>", c.ada_pass)),
        "{page}"
    );
    assert!(
        page.contains("100 %") && page.contains("2 run(s)"),
        "{page}"
    );
    assert!(
        page.contains("gb-cell gb-pending") && page.contains("pending"),
        "{page}"
    );
    assert!(page.contains("not attempted"));
    // Bob is flagged, with the reason in words, and Ada is not.
    assert!(
        page.contains("w02-crud: check `create` failed in the last 3 runs, no pass since"),
        "{page}"
    );
    assert_eq!(page.matches("⚠ at risk").count(), 1, "{page}");
    // The heatmap has a square per learner and lab, each with its title.
    assert_eq!(page.matches("<rect ").count(), 5 * 12, "{page}");
    assert!(
        page.contains("<title>Ada · w01-health: passed, best 100 %</title>"),
        "{page}"
    );
    assert!(
        page.contains("<title>Bob · w02-crud: failed, best 30 %, at risk</title>"),
        "{page}"
    );

    let json: serde_json::Value = c
        .teacher
        .get(&format!("/cohorts/{}/gradebook.json", c.id))
        .await
        .json()
        .await
        .unwrap();
    let learners = json["learners"].as_array().unwrap();
    assert_eq!(learners.len(), 5);
    let ada = &learners[0];
    assert_eq!(ada["user_id"], c.ada);
    assert_eq!(ada["cells"].as_array().unwrap().len(), 12);
    assert_eq!(ada["cells"][0]["lab"], "w01-health");
    assert_eq!(ada["cells"][0]["state"], "passed");
    assert_eq!(ada["cells"][0]["attempts"], 2);
    assert_eq!(ada["pillars"].as_array().unwrap().len(), 7);
    let bob = &learners[1];
    assert_eq!(bob["user_id"], c.bob);
    assert_eq!(bob["cells"][1]["flags"][0]["kind"], "repeated_failure");
    assert_eq!(bob["cells"][1]["last_run"], c.bob_last);
    // Pillar averages come from the best scores (progress.rs): Ada's passed lab lifts hers above Cy's zeros.
    let sum = |l: &serde_json::Value| -> u64 {
        l["pillars"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["percent"].as_u64().unwrap())
            .sum()
    };
    assert!(sum(ada) > 0);
    assert_eq!(sum(&learners[2]), 0);
}

pub async fn the_gradebook_sorts_and_filters_by_query_string(db: Db) {
    let c = cohort(db).await;
    let base = format!("/cohorts/{}/gradebook", c.id);
    let get = |q: &str| {
        let url = format!("{base}?{q}");
        let t = &c.teacher;
        async move { t.get_text(&url).await.1 }
    };
    assert_eq!(order(&get("").await), ["ada", "bob", "cy", "dee", "eve"]);
    assert_eq!(
        order(&get("sort=name&dir=desc").await),
        ["eve", "dee", "cy", "bob", "ada"]
    );
    // By a lab's best score, highest first; unattempted last.
    let by_w02 = order(&get("sort=lab:w02-crud&dir=desc").await);
    assert_eq!(by_w02[..3], ["ada", "eve", "bob"], "{by_w02:?}");
    // By last activity: Eve's run was the last.
    assert_eq!(order(&get("sort=last&dir=desc").await)[0], "eve");
    // By a pillar's average, highest first: Ada has the most.
    assert_eq!(order(&get("sort=pillar:language&dir=desc").await)[0], "ada");
    // The header of the sorted column says so, and its link flips the direction.
    let page = get("sort=lab:w02-crud&dir=asc").await;
    assert!(page.contains("aria-sort=\"ascending\""), "{page}");
    assert!(page.contains("sort=lab%3Aw02-crud&#38;dir=desc"), "{page}");

    // Filters: at risk; a lab and a state (one column left); nobody inactive yet, then all but the active.
    assert_eq!(order(&get("state=at-risk").await), ["bob"]);
    let passed = get("lab=w01-health&state=passed").await;
    assert_eq!(order(&passed), ["ada"]);
    assert_eq!(passed.matches("<rect ").count(), 1, "one learner, one lab");
    assert_eq!(
        order(&get("state=not-attempted&lab=w01-health").await),
        ["bob", "cy", "eve"]
    );
    assert!(
        order(&get("inactive=7").await).contains(&"cy"),
        "no activity at all counts as inactive"
    );
    c.app.clock.advance_ms(10 * DAY);
    seed::run(&c.app, c.ada, "w03-persistence", RunState::Failed, 0.1, &[]).await;
    assert_eq!(order(&get("inactive=7").await), ["bob", "cy", "dee", "eve"]);
    // Nonsense falls back to the defaults rather than failing.
    let (status, body) = c
        .teacher
        .get_text(&format!(
            "{base}?sort=lab:nope&dir=sideways&state=x&inactive=-3&lab=nope"
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(order(&body), ["ada", "bob", "cy", "dee", "eve"]);

    // htmx asks for the table alone; the same address without it is the whole page (no JavaScript needed).
    let partial = c
        .teacher
        .client
        .get(c.teacher.url(&format!("{base}?state=at-risk")))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(partial.headers()["vary"], "HX-Request");
    let partial = partial.text().await.unwrap();
    assert!(
        partial.starts_with("<div id=\"gradebook\">") && !partial.contains("<html"),
        "{partial}"
    );
    assert_eq!(order(&partial), ["bob"]);
    let full = get("state=at-risk").await;
    assert!(
        full.contains("<html") && full.contains("hx-get=\"/cohorts/"),
        "{full}"
    );
    // The exports follow the view.
    let csv = c
        .teacher
        .get(&format!("/cohorts/{}/gradebook.csv?state=at-risk", c.id))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
}

pub async fn exports_neutralise_formulas_and_list_every_check_of_the_latest_run(db: Db) {
    let c = cohort(db).await;
    let mallory = seed::learner(
        &c.app,
        c.id,
        "mallory@example.org",
        "=HYPERLINK(\"http://evil\",\"x\")",
    )
    .await;
    seed::run(
        &c.app,
        mallory,
        "w01-health",
        RunState::Failed,
        0.0,
        &[
            ("health-json", "fail", "@SUM(1+1)"),
            ("other", "fail", "-2+3"),
            ("third", "fail", "+cmd"),
        ],
    )
    .await;
    let res = c
        .teacher
        .get(&format!("/cohorts/{}/gradebook.csv", c.id))
        .await;
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let csv = res.text().await.unwrap();
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 1 + 6);
    let header = csv.lines().next().unwrap();
    assert!(
        header.contains("\"w12-llm attempts\"") && header.contains("\"pillar ai %\""),
        "{header}"
    );
    for line in csv.lines() {
        for cell in line.split("\",\"") {
            let cell = cell.trim_start_matches('"');
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "an active cell: {cell} in {line}"
            );
        }
    }

    let checks = c
        .teacher
        .get(&format!("/cohorts/{}/checks.csv", c.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        checks.contains("\"'@SUM(1+1)\"")
            && checks.contains("\"'-2+3\"")
            && checks.contains("\"'+cmd\""),
        "{checks}"
    );
    // Bob: his latest w02 run only, one line per check.
    let bob: Vec<&str> = checks
        .lines()
        .filter(|l| l.starts_with("\"bob@example.org\""))
        .collect();
    assert_eq!(bob.len(), 2, "{checks}");
    assert!(
        bob.iter()
            .all(|l| l.contains(&format!("\"{}\"", c.bob_last))),
        "{bob:?}"
    );
    let json: serde_json::Value = c
        .teacher
        .get(&format!("/cohorts/{}/checks.json", c.id))
        .await
        .json()
        .await
        .unwrap();
    let rows = json.as_array().unwrap();
    assert!(
        rows.iter().any(|r| r["message"] == "@SUM(1+1)"),
        "JSON keeps the text as it is"
    );
    // Ada's two w01 runs: only the passing, latest one is listed; Dee's queued run is not graded.
    let ada_w01: Vec<_> = rows
        .iter()
        .filter(|r| r["email"] == "ada@example.org" && r["lab"] == "w01-health")
        .collect();
    assert_eq!(ada_w01.len(), 1);
    assert_eq!(ada_w01[0]["run_id"], c.ada_pass);
    assert!(!rows.iter().any(|r| r["email"] == "dee@example.org"));
}

pub async fn check_analytics_give_the_share_failing_and_the_common_message(db: Db) {
    let c = cohort(db).await;
    let (status, page) = c
        .teacher
        .get_text(&format!("/cohorts/{}/labs/w02-crud/analytics", c.id))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("3 learner(s) with a graded run"), "{page}");
    // `create`: Bob (timed out) and Eve (expected 201) fail it, Ada passes: 67 %; a tie goes to the first message.
    let row = |id: &str| -> String {
        let start = page
            .find(&format!("<code>{id}</code>"))
            .unwrap_or_else(|| panic!("{id} in {page}"));
        let end = page[start..].find("</tr>").unwrap() + start;
        page[start..end].to_string()
    };
    assert!(
        row("create").contains("67 %") && row("create").contains("(2 of 3)"),
        "{}",
        row("create")
    );
    assert!(
        row("create").contains("expected 201, got 200"),
        "{}",
        row("create")
    );
    assert!(
        row("list").contains("33 %") && row("list").contains("empty list"),
        "{}",
        row("list")
    );
    // The lab's own checks are listed even when no run reached them.
    assert!(row("create-note").contains("0 %") && row("create-note").contains("(0 of 0)"));
    // Another lab, and a lab that does not exist.
    let (status, _) = c
        .teacher
        .get_text(&format!("/cohorts/{}/labs/w01-health/analytics", c.id))
        .await;
    assert_eq!(status, 200);
    let (status, _) = c
        .teacher
        .get_text(&format!("/cohorts/{}/labs/w99-nope/analytics", c.id))
        .await;
    assert_eq!(status, 404);
}

pub async fn the_learner_page_draws_the_radar_the_timeline_and_links_every_run(db: Db) {
    let c = cohort(db).await;
    let (status, page) = c
        .teacher
        .get_text(&format!("/cohorts/{}/learners/{}", c.id, c.bob))
        .await;
    assert_eq!(status, 200);
    // Seven axes and a table with the same figures beside the radar; a row per lab and per module's quiz.
    assert_eq!(page.matches("class=\"radar-label\"").count(), 7, "{page}");
    assert_eq!(page.matches("<th scope=\"row\">").count(), 7 + 12 + 12);
    // Three runs on the timeline, each a link with its verdict in words and a letter.
    assert_eq!(page.matches("class=\"tl-mark\"").count(), 3, "{page}");
    assert!(
        page.contains(&format!(
            "<a href=\"/runs/{}\"><g class=\"tl-mark\"><title>Run #{} of w02-crud: failed",
            c.bob_last, c.bob_last
        )),
        "{page}"
    );
    // Every lab's best and last run, and the flag with its reason.
    assert!(
        page.contains(&format!(
            "<a href=\"/runs/{}\">#{}</a> failed",
            c.bob_last, c.bob_last
        )),
        "{page}"
    );
    assert!(
        page.contains("check `create` failed in the last 3 runs"),
        "{page}"
    );
    // The gradebook links to it.
    let (_, book) = c
        .teacher
        .get_text(&format!("/cohorts/{}/gradebook", c.id))
        .await;
    assert!(book.contains(&format!("href=\"/cohorts/{}/learners/{}\"", c.id, c.bob)));
}
