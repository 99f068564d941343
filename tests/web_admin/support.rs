//! What the staff tests share: ids from the store, and a form POST with this client's CSRF token.

use crate::common::app::TestApp;
use gauntlet::domain::Email;

/// The account id of `email`.
pub async fn user_id(app: &TestApp, email: &str) -> i64 {
    app.store
        .user_by_email(&Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id
}

/// The cohort `email` is in.
pub async fn cohort_of(app: &TestApp, email: &str) -> i64 {
    app.store
        .user_by_email(&Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap()
        .cohort_id
        .unwrap()
}

/// The cohort's invite code now.
pub async fn code_of(app: &TestApp, cohort: i64) -> String {
    app.store.cohort(cohort).await.unwrap().unwrap().invite_code
}

/// POSTs `fields` to `path` with this client's CSRF token (read from `/register`, which always has a form).
pub async fn post(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let csrf = app.csrf("/register").await;
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    app.post_form(path, &form).await
}

/// The actions in the audit log, newest first.
pub async fn actions(app: &TestApp) -> Vec<String> {
    app.store
        .audit_entries(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}
