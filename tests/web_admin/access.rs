//! Who may see and manage which cohort (`gauntlet::access`), by page and by POST.

use super::support::{code_of, cohort_of, post};
use crate::common::app::{Db, Spawn};
use gauntlet::domain::Role;

pub async fn an_instructor_manages_the_cohorts_they_teach_and_no_other(db: Db) {
    let app = Spawn::default().db(db).start().await;
    app.signed_in_learner("ada@example.org").await;
    let bob = app.clone_for_another_client();
    bob.signed_in_learner("bob@example.org").await;
    let mine = cohort_of(&app, "ada@example.org").await;
    let theirs = cohort_of(&app, "bob@example.org").await;
    let teacher = app.clone_for_another_client();
    teacher
        .signed_in_staff(
            "teacher@example.org",
            Role::Instructor,
            &["ada@example.org"],
        )
        .await;

    // The nav shows the staff links; the list holds the cohort they teach and not the other.
    let (status, list) = teacher.get_text("/cohorts").await;
    assert_eq!(status, 200);
    assert!(list.contains("href=\"/admin\"") && list.contains("href=\"/cohorts\""));
    assert!(list.contains(&format!("/cohorts/{mine}\"")), "{list}");
    assert!(!list.contains(&format!("/cohorts/{theirs}\"")), "{list}");
    assert!(
        !list.contains(&code_of(&app, theirs).await),
        "no other cohort's code"
    );
    assert_eq!(teacher.get(&format!("/cohorts/{mine}")).await.status(), 200);
    assert_eq!(
        teacher.get(&format!("/cohorts/{theirs}")).await.status(),
        404
    );
    assert_eq!(teacher.get("/cohorts/999999").await.status(), 404);
    assert_eq!(teacher.get("/admin").await.status(), 200);
    // Accounts and the audit log are for admins.
    assert_eq!(teacher.get("/users").await.status(), 403);
    assert_eq!(teacher.get("/admin/audit").await.status(), 403);

    // Every form on the other cohort answers 404 and changes nothing.
    let before = app.store.cohort(theirs).await.unwrap().unwrap();
    for (action, fields) in [
        ("rename", vec![("name", "Hijacked")]),
        ("archive", vec![("archived", "1")]),
        ("rotate", vec![]),
        ("limits", vec![("expires", ""), ("max_uses", "1")]),
        ("learners", vec![("email", "ada@example.org")]),
        ("instructors", vec![("email", "teacher@example.org")]),
    ] {
        let res = post(&teacher, &format!("/cohorts/{theirs}/{action}"), &fields).await;
        assert_eq!(res.status().as_u16(), 404, "{action}");
    }
    let after = app.store.cohort(theirs).await.unwrap().unwrap();
    assert_eq!(
        (
            &after.name,
            &after.invite_code,
            after.archived_at,
            after.invite_max_uses
        ),
        (&before.name, &before.invite_code, None, None)
    );
    assert!(app
        .store
        .cohort_instructors(theirs)
        .await
        .unwrap()
        .is_empty());

    // Nor can they pull a learner out of a cohort they do not teach into theirs.
    let res = post(
        &teacher,
        &format!("/cohorts/{mine}/learners"),
        &[("email", "bob@example.org")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("a cohort you do not teach"));
    assert_eq!(cohort_of(&app, "bob@example.org").await, theirs);

    // A form without the CSRF token is refused even on their own cohort.
    let res = teacher
        .post_form(&format!("/cohorts/{mine}/rename"), &[("name", "No token")])
        .await;
    assert_eq!(res.status().as_u16(), 403);
    // With it, it works.
    let res = post(
        &teacher,
        &format!("/cohorts/{mine}/rename"),
        &[("name", "Evening class")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        app.store.cohort(mine).await.unwrap().unwrap().name,
        "Evening class"
    );
}

pub async fn learners_are_refused_every_staff_page(db: Db) {
    let app = Spawn::default().db(db).start().await;
    app.signed_in_learner("ada@example.org").await;
    let mine = cohort_of(&app, "ada@example.org").await;
    let (_, map) = app.get_text("/").await;
    assert!(
        !map.contains("href=\"/admin\""),
        "no staff links for a learner"
    );
    for path in ["/admin", "/admin/audit", "/cohorts", "/users"] {
        assert_eq!(app.get(path).await.status(), 403, "{path}");
    }
    assert_eq!(app.get(&format!("/cohorts/{mine}")).await.status(), 404);
    let id = super::support::user_id(&app, "ada@example.org").await;
    let res = post(&app, &format!("/cohorts/{mine}/rotate"), &[]).await;
    assert_eq!(res.status().as_u16(), 404);
    let res = post(&app, &format!("/users/{id}/role"), &[("role", "admin")]).await;
    assert_eq!(res.status().as_u16(), 403);
    let res = post(&app, "/cohorts", &[("name", "Mine now")]).await;
    assert_eq!(res.status().as_u16(), 403);
    assert_eq!(app.store.list_cohorts().await.unwrap().len(), 1);
    let me = app.store.user_by_id(id).await.unwrap().unwrap();
    assert_eq!(me.role, "learner");
    // Signed out, the staff pages send to sign-in.
    let visitor = common_visitor(&app);
    let res = visitor.get("/cohorts").await;
    assert_eq!(res.status().as_u16(), 303);
}

fn common_visitor(app: &crate::common::app::TestApp) -> crate::common::app::TestApp {
    app.clone_for_another_client()
}
