//! The staff's queue view (`/admin/queue`): every run queued or being graded, oldest first, with whose it is,
//! its place in the claim order and its age; instructors see only their cohorts' learners' runs (`access`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::cohorts::html;
use super::{AppState, CsrfToken, CurrentUser, Layout, WebError};
use crate::access;

struct QueuedView {
    id: i64,
    email: String,
    lab_id: String,
    state: String,
    /// The place in the claim order (1 = next), for a run that waits for a worker.
    position: Option<i64>,
    attempts: i64,
    worker: String,
    age: String,
}

#[derive(Template)]
#[template(path = "pages/admin_queue.html")]
struct QueuePage {
    layout: Layout,
    runs: Vec<QueuedView>,
    /// Runs of learners this instructor does not teach, counted but not shown.
    others: usize,
}

/// `GET /admin/queue`: staff only.
pub async fn page(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
) -> Result<HttpResponse, WebError> {
    if !access::is_staff(user.viewer()) {
        return Err(WebError::Forbidden);
    }
    let now = state.store.now();
    let mut runs = Vec::new();
    let mut others = 0;
    for r in state.store.live_run_list().await? {
        if !access::may_see_work_of(&state.store, user.viewer(), r.user_id).await? {
            others += 1;
            continue;
        }
        runs.push(QueuedView {
            position: state.store.queue_position(r.id).await?,
            id: r.id,
            email: r.email,
            lab_id: r.lab_id,
            state: r.state,
            attempts: r.attempts,
            worker: r.worker_id.unwrap_or_default(),
            age: age(now - r.created_at),
        });
    }
    let page = QueuePage {
        layout: Layout::new(&state, Some(&user), &csrf),
        runs,
        others,
    };
    Ok(html(StatusCode::OK, page.render()?))
}

/// `93 s`, `12 min`, `3 h 5 min`: how long ago a run was submitted.
fn age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=119 => format!("{s} s"),
        120..=3599 => format!("{} min", s / 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ages_read_in_the_unit_that_fits() {
        assert_eq!(super::age(4_200), "4 s");
        assert_eq!(super::age(600_000), "10 min");
        assert_eq!(super::age(11_100_000), "3 h 5 min");
        assert_eq!(super::age(-5), "0 s");
    }
}
