//! The cohort page's forms as an admin uses them, and what they do to registration.

use super::support::{actions, code_of, cohort_of, post};
use crate::common::app::{Db, Spawn, PASSWORD};
use gauntlet::domain::Role;

pub async fn a_cohort_is_renamed_rotated_limited_and_archived_from_its_page(db: Db) {
    let app = Spawn::default().db(db).start().await;
    let code = app.invite().await;
    let cohort = app.store.cohort_by_invite(&code).await.unwrap().unwrap();
    let admin = app.clone_for_another_client();
    admin
        .signed_in_staff("admin@example.org", Role::Admin, &[])
        .await;
    let page = format!("/cohorts/{cohort}");

    let res = post(
        &admin,
        &format!("{page}/rename"),
        &[("name", "  Autumn 2026 ")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], page.as_str());
    let (status, body) = admin.get_text(&page).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("<h1 id=\"cohort-name\">Autumn 2026</h1>"),
        "{body}"
    );
    assert!(body.contains(&code));
    // A name another cohort has is refused with why.
    app.store
        .create_cohort("Taken", "TAKE-NTAK-ENTA")
        .await
        .unwrap();
    let res = post(&admin, &format!("{page}/rename"), &[("name", "Taken")]).await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("a cohort named `Taken` already exists"));

    // Rotating without JS: back to the page with a new code; the old code no longer registers anyone.
    let res = post(&admin, &format!("{page}/rotate"), &[]).await;
    assert_eq!(res.status().as_u16(), 303);
    let second = code_of(&app, cohort).await;
    assert_ne!(second, code);
    let visitor = app.clone_for_another_client();
    let res = visitor.register(&code, "late@example.org", PASSWORD).await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("This invite code is not valid"));
    // With htmx: only the code's fragment comes back, holding the newest code.
    let csrf = admin.csrf(&page).await;
    let res = admin
        .client
        .post(admin.url(&format!("{page}/rotate")))
        .header("HX-Request", "true")
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let fragment = res.text().await.unwrap();
    let third = code_of(&app, cohort).await;
    assert_ne!(third, second);
    assert!(
        fragment.starts_with("<div id=\"invite-code\""),
        "{fragment}"
    );
    assert!(
        fragment.contains(&third) && !fragment.contains("<html"),
        "{fragment}"
    );

    // A cap of one: the first registration takes it, the second is told why.
    let res = post(
        &admin,
        &format!("{page}/limits"),
        &[("expires", ""), ("max_uses", "1")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let first = app.clone_for_another_client();
    assert_eq!(
        first
            .register(&third, "first@example.org", PASSWORD)
            .await
            .status(),
        303
    );
    let res = visitor
        .register(&third, "second@example.org", PASSWORD)
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("used as many times as it may"));
    let (_, body) = admin.get_text(&page).await;
    assert!(body.contains("Used 1 time(s) · cap 1"), "{body}");
    assert!(body.contains("closed: used up"), "{body}");

    // An expiry (UTC, as a datetime-local field sends it): open before, refused after.
    let res = post(
        &admin,
        &format!("{page}/limits"),
        &[("expires", "2027-01-15T12:00"), ("max_uses", "")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let (_, body) = admin.get_text(&page).await;
    assert!(body.contains("expires 2027-01-15 12:00 UTC"), "{body}");
    assert!(
        body.contains("value=\"2027-01-15T12:00\""),
        "the form shows it back: {body}"
    );
    assert_eq!(
        visitor
            .register(&third, "second@example.org", PASSWORD)
            .await
            .status(),
        303
    );
    let res = post(
        &admin,
        &format!("{page}/limits"),
        &[("expires", "2020-01-01T00:00"), ("max_uses", "")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let third_visitor = app.clone_for_another_client();
    let res = third_visitor
        .register(&third, "third@example.org", PASSWORD)
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("This invite code has expired"));
    // Nonsense limits are refused with why, and nothing changes.
    let res = post(
        &admin,
        &format!("{page}/limits"),
        &[("expires", "soon"), ("max_uses", "0")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("is not a UTC date and time"));

    // Archived: learners and their data stay, joins are refused; reopened, joins work again.
    post(
        &admin,
        &format!("{page}/limits"),
        &[("expires", ""), ("max_uses", "")],
    )
    .await;
    let res = post(&admin, &format!("{page}/archive"), &[("archived", "1")]).await;
    assert_eq!(res.status().as_u16(), 303);
    let res = third_visitor
        .register(&third, "third@example.org", PASSWORD)
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("This cohort is closed (archived)"));
    let row = app.store.cohort(cohort).await.unwrap().unwrap();
    assert!(row.archived_at.is_some());
    assert_eq!(row.members, 2, "archiving keeps the learners");
    let (_, list) = admin.get_text("/cohorts").await;
    assert!(list.contains("archived"), "{list}");
    post(&admin, &format!("{page}/archive"), &[("archived", "0")]).await;
    assert_eq!(
        third_visitor
            .register(&third, "third@example.org", PASSWORD)
            .await
            .status(),
        303
    );

    // Each change is in the audit log, in order, and the codes are not.
    let log = actions(&app).await;
    let ours: Vec<&str> = log
        .iter()
        .rev()
        .map(String::as_str)
        .filter(|a| *a != "cohort.create" && *a != "user.create")
        .collect();
    assert_eq!(
        ours,
        [
            "cohort.rename",
            "cohort.rotate_code",
            "cohort.rotate_code",
            "cohort.set_limits",
            "cohort.set_limits",
            "cohort.set_limits",
            "cohort.set_limits",
            "cohort.archive",
            "cohort.reopen",
        ]
    );
    let entries = app.store.audit_entries(None, 100).await.unwrap();
    assert!(entries
        .iter()
        .all(|e| !e.details.contains(&third) && !e.details.contains(&second)));
    let rename = entries
        .iter()
        .find(|e| e.action == "cohort.rename")
        .unwrap();
    assert_eq!(rename.actor, "admin@example.org");
    let details: serde_json::Value = serde_json::from_str(&rename.details).unwrap();
    assert_eq!(details["to"], "Autumn 2026");
    assert!(details["from"].as_str().unwrap().starts_with("Cohort "));
}

pub async fn staff_create_cohorts_and_place_learners(db: Db) {
    let app = Spawn::default().db(db).start().await;
    app.signed_in_learner("ada@example.org").await;
    let teacher = app.clone_for_another_client();
    teacher
        .signed_in_staff(
            "teacher@example.org",
            Role::Instructor,
            &["ada@example.org"],
        )
        .await;
    let ada_cohort = cohort_of(&app, "ada@example.org").await;

    // An instructor who creates a cohort teaches it.
    let res = post(&teacher, "/cohorts", &[("name", "Weekend")]).await;
    assert_eq!(res.status().as_u16(), 303);
    let weekend = app.store.cohort_named("Weekend").await.unwrap().id;
    assert_eq!(
        res.headers()["location"],
        format!("/cohorts/{weekend}").as_str()
    );
    assert_eq!(
        app.store.cohort_instructors(weekend).await.unwrap(),
        ["teacher@example.org"]
    );
    let res = post(&teacher, "/cohorts", &[("name", "   ")]).await;
    assert_eq!(res.status().as_u16(), 422);

    // They move Ada (in a cohort they teach) to it; her runs' visibility follows.
    let res = post(
        &teacher,
        &format!("/cohorts/{weekend}/learners"),
        &[("email", "ADA@example.org")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(cohort_of(&app, "ada@example.org").await, weekend);
    let (_, body) = teacher.get_text(&format!("/cohorts/{weekend}")).await;
    assert!(body.contains("ada@example.org"), "{body}");
    assert_eq!(
        app.store.cohort(ada_cohort).await.unwrap().unwrap().members,
        0
    );
    // Only learners belong to cohorts; unknown addresses are named.
    let res = post(
        &teacher,
        &format!("/cohorts/{weekend}/learners"),
        &[("email", "teacher@example.org")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.text().await.unwrap().contains("not a learner"));
    let res = post(
        &teacher,
        &format!("/cohorts/{weekend}/learners"),
        &[("email", "nobody@example.org")],
    )
    .await;
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("there is no account nobody@example.org"));

    // Adding an instructor: only instructors can be added.
    let other = app.clone_for_another_client();
    other
        .signed_in_staff("co@example.org", Role::Instructor, &[])
        .await;
    let res = post(
        &teacher,
        &format!("/cohorts/{weekend}/instructors"),
        &[("email", "co@example.org")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        other.get(&format!("/cohorts/{weekend}")).await.status(),
        200
    );
    let res = post(
        &teacher,
        &format!("/cohorts/{weekend}/instructors"),
        &[("email", "ada@example.org")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.text().await.unwrap().contains("not an instructor"));

    // Taken off again, the co-instructor no longer sees it.
    let res = post(
        &teacher,
        &format!("/cohorts/{weekend}/instructors/remove"),
        &[("email", "co@example.org")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        other.get(&format!("/cohorts/{weekend}")).await.status(),
        404
    );

    let log = actions(&app).await;
    for action in [
        "cohort.create",
        "cohort.add_instructor",
        "cohort.place_learner",
        "cohort.remove_instructor",
    ] {
        assert!(log.iter().any(|a| a == action), "{action} in {log:?}");
    }
}

/// Ten people register at once on a code capped at three: exactly three accounts are created, because the use is
/// counted in the same transaction that creates the account, behind a condition only three can meet.
pub async fn a_cap_holds_when_many_register_at_once(db: Db) {
    let app = Spawn::default().db(db).start().await;
    let code = app.invite().await;
    let cohort = app.store.cohort_by_invite(&code).await.unwrap().unwrap();
    app.store
        .set_invite_limits(
            &gauntlet::store::Actor::command_line(),
            cohort,
            None,
            Some(3),
        )
        .await
        .unwrap();
    let attempts = (0..10).map(|i| {
        let visitor = app.clone_for_another_client();
        let code = code.clone();
        async move {
            visitor
                .register(&code, &format!("rush{i}@example.org"), PASSWORD)
                .await
                .status()
                .as_u16()
        }
    });
    let mut statuses = futures_util::future::join_all(attempts).await;
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 303, 303, 422, 422, 422, 422, 422, 422, 422]);
    let row = app.store.cohort(cohort).await.unwrap().unwrap();
    assert_eq!((row.members, row.invite_uses), (3, 3));
}
