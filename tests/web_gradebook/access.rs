//! Who may read a cohort's gradebook, learner pages, analytics and exports: its instructors and the admins;
//! everyone else is told it does not exist (404), whatever the door.

use super::seed;
use crate::common::app::{Db, TestApp};
use gauntlet::domain::{Role, RunState};

/// Every door of a cohort's work, for the learner `learner` in it.
fn doors(cohort: i64, learner: i64) -> Vec<String> {
    vec![
        format!("/cohorts/{cohort}/gradebook"),
        format!("/cohorts/{cohort}/gradebook?sort=last&dir=desc&state=failed"),
        format!("/cohorts/{cohort}/gradebook.csv"),
        format!("/cohorts/{cohort}/gradebook.json"),
        format!("/cohorts/{cohort}/checks.csv"),
        format!("/cohorts/{cohort}/checks.json"),
        format!("/cohorts/{cohort}/learners/{learner}"),
        format!("/cohorts/{cohort}/labs/w02-crud/analytics"),
    ]
}

/// The status of each door, asked as a full page and as htmx's partial request.
async fn statuses(client: &TestApp, paths: &[String]) -> Vec<u16> {
    let mut out = Vec::new();
    for p in paths {
        out.push(client.get(p).await.status().as_u16());
        let partial = client
            .client
            .get(client.url(p))
            .header("HX-Request", "true")
            .send()
            .await
            .unwrap();
        out.push(partial.status().as_u16());
    }
    out
}

struct Two {
    app: TestApp,
    a: i64,
    b: i64,
    ada: i64,
    bob: i64,
}

async fn two_cohorts(db: Db) -> Two {
    let app = seed::app(db).await;
    let a = seed::cohort(&app, "Cohort A").await;
    let b = seed::cohort(&app, "Cohort B").await;
    let ada = seed::learner(&app, a, "ada@example.org", "Ada").await;
    let bob = seed::learner(&app, b, "bob@example.org", "Bob").await;
    let fail = [("create", "fail", "expected 201")];
    seed::run(&app, ada, "w02-crud", RunState::Failed, 0.5, &fail).await;
    seed::run(&app, bob, "w02-crud", RunState::Failed, 0.5, &fail).await;
    Two {
        app,
        a,
        b,
        ada,
        bob,
    }
}

pub async fn an_instructor_reads_the_cohorts_they_teach_through_every_door_and_no_other(db: Db) {
    let Two {
        app,
        a,
        b,
        ada,
        bob,
    } = two_cohorts(db).await;
    let teacher = app.clone_for_another_client();
    teacher
        .signed_in_staff(
            "teacher@example.org",
            Role::Instructor,
            &["ada@example.org"],
        )
        .await;
    let own = doors(a, ada);
    assert!(statuses(&teacher, &own).await.iter().all(|s| *s == 200));
    let other = doors(b, bob);
    assert!(
        statuses(&teacher, &other).await.iter().all(|s| *s == 404),
        "{:?}",
        statuses(&teacher, &other).await
    );
    // Nor through their own cohort's address with another cohort's learner.
    let crossed = [format!("/cohorts/{a}/learners/{bob}")];
    assert_eq!(statuses(&teacher, &crossed).await, [404, 404]);
    // The gradebook of A never names B's learner, nor its exports.
    for path in &own {
        let (_, body) = teacher.get_text(path).await;
        assert!(!body.contains("bob@example.org"), "{path}: {body}");
    }
    // Analytics across every cohort are for admins.
    assert_eq!(
        statuses(&teacher, &["/labs/w02-crud/analytics".to_string()]).await,
        [404, 404]
    );

    let admin = app.clone_for_another_client();
    admin
        .signed_in_staff("admin@example.org", Role::Admin, &[])
        .await;
    assert!(statuses(&admin, &other).await.iter().all(|s| *s == 200));
    let (status, all) = admin.get_text("/labs/w02-crud/analytics").await;
    assert_eq!(status, 200);
    assert!(all.contains("2 learner(s) with a graded run"), "{all}");

    // The cohort page links to its gradebook.
    let (_, page) = teacher.get_text(&format!("/cohorts/{a}")).await;
    assert!(
        page.contains(&format!("href=\"/cohorts/{a}/gradebook\"")),
        "{page}"
    );
}

pub async fn learners_are_refused_every_gradebook_door(db: Db) {
    let Two {
        app,
        a,
        b,
        ada,
        bob,
    } = two_cohorts(db).await;
    let learner = app.clone_for_another_client();
    let res = learner
        .login("ada@example.org", crate::common::app::PASSWORD)
        .await;
    assert_eq!(res.status().as_u16(), 303);
    // Not even their own cohort's, nor their own learner page.
    let mut paths = doors(a, ada);
    paths.extend(doors(b, bob));
    paths.push("/labs/w02-crud/analytics".into());
    let got = statuses(&learner, &paths).await;
    assert!(got.iter().all(|s| *s == 404), "{got:?}");
    // Signed out: sent to sign in.
    let anon = app.clone_for_another_client();
    assert_eq!(
        anon.get(&format!("/cohorts/{a}/gradebook.csv"))
            .await
            .status()
            .as_u16(),
        303
    );
}
